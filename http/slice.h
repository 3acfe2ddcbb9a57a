/* slice.h - a borrowed {ptr, len} view of bytes that live elsewhere.
 *
 * The parser hands out slices into the connection's read buffer; nothing is
 * copied or NUL-terminated. Print one with "%.*s", (int)s.len, s.ptr. */
#ifndef SLICE_H
#define SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
    const char *ptr;
    size_t len;
};

/* A slice of a string literal, without its NUL (nginx ngx_string()). */
#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})
/* The same, as a static initializer. */
#define SLICE_INIT(s)      \
    {                      \
        (s), sizeof(s) - 1 \
    }

static inline struct slice
slice_make(const char *ptr, size_t len)
{
    return (struct slice){ptr, len};
}

static inline bool
slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline char
ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive ASCII comparison, as header names and tokens need (RFC 9110 5.1). */
static inline bool
slice_eq_ci(struct slice a, struct slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (ascii_lower(a.ptr[i]) != ascii_lower(b.ptr[i]))
            return false;
    return true;
}

static inline bool
slice_starts_with(struct slice s, struct slice prefix)
{
    return s.len >= prefix.len && memcmp(s.ptr, prefix.ptr, prefix.len) == 0;
}

/* The slice without leading and trailing spaces and horizontal tabs (OWS). */
static inline struct slice
slice_trim(struct slice s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

#endif
