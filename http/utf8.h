/* utf8.h - UTF-8 well-formedness checks (RFC 3629 section 4).
 *
 * Shared by the JSON parser, the address checker and the MIME builder, which
 * must never pass malformed UTF-8 on while labelling it charset=utf-8. */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence that starts at p and ends
 * before end, or 0 when there is none: a stray continuation byte, a truncated
 * sequence, an overlong form, a surrogate or a code point above U+10FFFF.
 * p must be below end. */
size_t utf8_seq_len(const char *p, const char *end);

/* True when s[0..len) is entirely well-formed UTF-8 (NUL counts as valid). */
bool utf8_valid(const char *s, size_t len);

#endif
