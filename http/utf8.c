/* utf8.c - UTF-8 well-formedness checks; see utf8.h.
 *
 * The table of well-formed byte sequences is RFC 3629 section 4: the second
 * byte's range depends on the first byte (E0 and F0 exclude overlong forms,
 * ED excludes the UTF-16 surrogates D800-DFFF, F4 stops at U+10FFFF), and
 * C0, C1 and F5-FF never appear. */
#include "utf8.h"

size_t
utf8_seq_len(const char *p, const char *end)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        if (s[0] == 0xe0)
            lo = 0xa0;
        else if (s[0] == 0xed)
            hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        if (s[0] == 0xf0)
            lo = 0x90;
        else if (s[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

bool
utf8_valid(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        size_t n = utf8_seq_len(p, end);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}
