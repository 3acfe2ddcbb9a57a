/* qp.h - quoted-printable encoding of text bodies (RFC 2045 section 6.7).
 *
 * Line breaks in the input (CRLF, bare LF or bare CR) are hard line breaks and
 * come out as CRLF; everything else that is not printable ASCII, and '=',
 * becomes =XX; space or tab before a line break becomes =20 / =09; lines longer
 * than 76 characters get soft line breaks ("=" CRLF). The output is 7-bit
 * with CRLF line ends, ready for a MIME body. */
#ifndef QP_H
#define QP_H

#include <stddef.h>

/* Characters per encoded line, soft break '=' included (RFC 2045 rule 5). */
#define QP_LINE_MAX 76

/* An upper bound of qp_encode()'s output for len input bytes, or 0 when it
 * would not fit in a size_t. */
size_t qp_encode_bound(size_t len);

/* Encodes in[0..len) into out, which must hold qp_encode_bound(len) bytes;
 * writes no NUL. The output ends in CRLF only when the input ended in a line
 * break. Returns the number of bytes written. */
size_t qp_encode(char *out, const char *in, size_t len);

#endif
