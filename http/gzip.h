/* gzip.h - gzip member (RFC 1952) around a DEFLATE stream, for Content-Encoding: gzip.
 *
 * Output is one gzip member with a minimal header: no name, comment, extra
 * field or header CRC, MTIME 0 ("not available"), OS 255 ("unknown"), so the
 * same input always gives the same bytes. Thread-safe, like deflate.h. */
#ifndef GZIP_H
#define GZIP_H

#include <stddef.h>

/* Compresses in[0..n) into out[0..cap) as a complete gzip member at the given
 * level (1 fastest .. 9 smallest, 6 the usual; see deflate_compress() for 0
 * and out-of-range values). Returns the number of bytes written, or 0 when
 * cap is too small, in which case out[0..cap) may hold garbage. A cap of
 * gzip_bound(n) always suffices. in may be NULL when n is 0; in and out must
 * not overlap. */
size_t gzip_compress(const void *in, size_t n, void *out, size_t cap, int level);

/* Returns the largest size gzip_compress() can produce for n input bytes: the
 * DEFLATE worst case plus 18 bytes of header and trailer. Saturates at SIZE_MAX. */
size_t gzip_bound(size_t n);

#endif
