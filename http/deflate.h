/* deflate.h - DEFLATE compressor (RFC 1951) for inputs held whole in memory.
 *
 * One call turns a buffer into a complete raw DEFLATE stream (no zlib or gzip
 * framing; gzip.h adds that). The encoder keeps no global state: every call
 * allocates its own match finder and frees it before returning, so any number
 * of threads may compress at once. */
#ifndef DEFLATE_H
#define DEFLATE_H

#include <stddef.h>

#define DEFLATE_MIN_LEVEL     1
#define DEFLATE_MAX_LEVEL     9
#define DEFLATE_DEFAULT_LEVEL 6

/* Compresses in[0..n) into out[0..cap) as one DEFLATE stream whose last block
 * has BFINAL set. level 1 is the fastest, 9 the smallest, 6 the usual balance;
 * 0 writes stored (uncompressed) blocks only, a negative level means 6 and
 * anything above 9 means 9. The output is the same for the same input and
 * level. Returns the number of bytes written (at least 2: even empty input
 * yields a valid stream), or 0 when cap is too small; out[0..cap) may then
 * hold garbage. A cap of deflate_bound(n) never fails. If the working memory
 * (about 200 KiB for large inputs, less for small ones) cannot be allocated,
 * the data is sent in stored blocks instead, so 0 still means only "cap too
 * small". in may be NULL when n is 0; in and out must not overlap. */
size_t deflate_compress(const void *in, size_t n, void *out, size_t cap, int level);

/* Returns the largest size deflate_compress() can produce for n input bytes at
 * any level: n plus about 0.05% plus a few bytes. Saturates at SIZE_MAX. */
size_t deflate_bound(size_t n);

#endif
