/* pct.h - percent-decoding (RFC 3986 section 2.1) for paths, query strings and forms. */
#ifndef PCT_H
#define PCT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The value of one hex digit (either case), or -1. */
int pct_hex_digit(char c);

/* Decodes in[0..len) into out, which must hold len bytes (decoding never
 * grows). With plus_is_space, '+' becomes ' ' (application/x-www-form-urlencoded).
 * Decodes exactly once: "%252e" gives "%2e", not ".". Returns the decoded
 * length, or -1 for a '%' not followed by two hex digits. out may equal in. */
ssize_t pct_decode(char *out, const char *in, size_t len, bool plus_is_space);

#endif
