/* base64.h - base64 encoding and strict decoding (RFC 4648 section 4).
 *
 * The encoder writes the standard alphabet with '=' padding, optionally broken
 * into lines of BASE64_MIME_LINE characters ending in CRLF as MIME wants for
 * attachments (RFC 2045 section 6.8). The decoder is strict: every character
 * other than the alphabet, final padding and white space is an error, and so
 * are missing padding and non-zero pad bits (RFC 4648 section 3.5). */
#ifndef BASE64_H
#define BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Characters per encoded line in MIME bodies (RFC 2045 section 6.8: at most 76). */
#define BASE64_MIME_LINE 76

/* The exact encoded length of len input bytes; with wrap, including the CRLF
 * after every line (the last line too, when len > 0). Returns 0 when the
 * result would not fit in a size_t. */
size_t base64_encoded_len(size_t len, bool wrap);

/* Encodes in[0..len) into out, which must hold base64_encoded_len(len, wrap)
 * bytes; writes no NUL. With wrap, every BASE64_MIME_LINE characters and the
 * end of the output get a CRLF. Returns the number of bytes written. */
size_t base64_encode(char *out, const void *in, size_t len, bool wrap);

/* The largest possible decoded length of len input characters. */
size_t base64_decoded_bound(size_t len);

/* Decodes in[0..len) into out, which must hold base64_decoded_bound(len)
 * bytes. Space, tab, CR and LF anywhere are skipped. Returns the decoded
 * length, or -1 for anything else that is not canonical padded base64.
 * out may equal in: the decoder never writes ahead of what it has read. */
ssize_t base64_decode(void *out, const char *in, size_t len);

#endif
