/* qp.c - quoted-printable encoder; see qp.h.
 *
 * One pass over the input, one "token" at a time: a literal character (one
 * column) or an =XX escape (three columns). Before a token goes out we check
 * that it fits: a token that ends its line may reach column 76, any other
 * must leave room for the '=' of a soft line break, so it may reach 75.
 *
 * REFERENCES
 *   RFC 2045 section 6.7 "Quoted-Printable Content-Transfer-Encoding",
 *   rules (1) general 8-bit representation, (2) literal representation,
 *   (3) white space, (4) line breaks, (5) soft line breaks. */
#include "qp.h"

#include <stdbool.h>
#include <stdint.h>

static const char hex[] = "0123456789ABCDEF";

size_t
qp_encode_bound(size_t len)
{
    if (len > SIZE_MAX / 4)
        return 0;
    size_t n = 3 * len;
    /* A soft break (3 bytes) follows at least 73 columns of output. */
    return n + (n / 73 + 1) * 3;
}

static bool
is_break(const char *p, const char *end)
{
    return p < end && (*p == '\r' || *p == '\n');
}

size_t
qp_encode(char *out, const char *in, size_t len)
{
    const char *p = in, *end = in + len;
    size_t o = 0, col = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '\r' || c == '\n') {
            /* CRLF, bare CR and bare LF are all one hard line break (rule 4). */
            p += (c == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
            continue;
        }
        p++;
        bool last = p == end || is_break(p, end);
        bool literal;
        if (c == ' ' || c == '\t')
            literal = !last; /* rule 3: no white space at the end of a line */
        else
            literal = c >= 33 && c <= 126 && c != '=';
        size_t width = literal ? 1 : 3;
        if (col + width > (last ? QP_LINE_MAX : QP_LINE_MAX - 1)) {
            out[o++] = '=';
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
        }
        if (literal) {
            out[o++] = (char)c;
        } else {
            out[o++] = '=';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        col += width;
    }
    return o;
}
