/* range.c - Range header evaluation; see range.h.
 *
 * One pass over the comma-separated range-set (RFC 9110 14.1.1):
 *
 *     bytes=0-99, 200-, -50
 *           ^^^^  ^^^^  ^^^  each element trimmed, then one of three forms
 *
 * A syntax error anywhere makes the whole header invalid, which a server
 * ignores (RFC 9110 14.2) rather than answers with an error. Satisfiable
 * spans are clamped to the representation and kept; at the end they are
 * sorted and merged (overlapping or touching spans become one, which 14.2
 * permits), and only a single resulting span is answered with 206. */
#include "range.h"

#include <stdbool.h>
#include <stdint.h>

_Static_assert(sizeof(off_t) == 8, "range arithmetic assumes a 64-bit off_t");
#define RANGE_OFF_MAX ((off_t)INT64_MAX)

/* Parses 1*DIGIT from [*pp, end), saturating at RANGE_OFF_MAX. Returns false
 * if there is no digit. */
static bool
parse_pos(const char **pp, const char *end, off_t *v)
{
    const char *p = *pp;
    off_t x = 0;
    if (p == end || *p < '0' || *p > '9')
        return false;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        x = x > (RANGE_OFF_MAX - digit) / 10 ? RANGE_OFF_MAX : x * 10 + digit;
    }
    *pp = p;
    *v = x;
    return true;
}

enum spec_result { SPEC_INVALID, SPEC_OUTSIDE, SPEC_SPAN };

/* One range-spec in [p, end), already trimmed; a span is clamped to size. */
static enum spec_result
parse_spec(const char *p, const char *end, off_t size, struct byte_range *span)
{
    off_t first, last = RANGE_OFF_MAX;
    if (*p == '-') {
        /* suffix-range: the last n bytes */
        p++;
        if (!parse_pos(&p, end, &last) || p != end)
            return SPEC_INVALID;
        if (last == 0)
            return SPEC_OUTSIDE;
        span->start = last >= size ? 0 : size - last;
        span->length = size - span->start;
        return SPEC_SPAN;
    }
    /* int-range: first "-" [last] */
    if (!parse_pos(&p, end, &first) || p == end || *p != '-')
        return SPEC_INVALID;
    p++;
    if (p != end && (!parse_pos(&p, end, &last) || p != end))
        return SPEC_INVALID;
    if (last < first)
        return SPEC_INVALID;
    if (first >= size)
        return SPEC_OUTSIDE;
    if (last >= size)
        last = size - 1;
    span->start = first;
    span->length = last - first + 1;
    return SPEC_SPAN;
}

/* Sorts spans by start and merges overlapping or adjacent ones in place;
 * returns how many remain. n is at most RANGE_MAX_SPECS, so insertion sort. */
static size_t
merge_spans(struct byte_range *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct byte_range key = s[i];
        size_t j = i;
        for (; j > 0 && s[j - 1].start > key.start; j--)
            s[j] = s[j - 1];
        s[j] = key;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        off_t end = s[i].start + s[i].length;
        if (out > 0 && s[i].start <= s[out - 1].start + s[out - 1].length) {
            off_t prev_end = s[out - 1].start + s[out - 1].length;
            if (end > prev_end)
                s[out - 1].length = end - s[out - 1].start;
        } else {
            s[out++] = s[i];
        }
    }
    return out;
}

enum range_result
range_parse(struct slice value, off_t size, struct byte_range *out)
{
    static const struct slice unit = SLICE_INIT("bytes=");
    struct byte_range spans[RANGE_MAX_SPECS];
    size_t nspans = 0, nspecs = 0;

    value = slice_trim(value);
    if (size <= 0 || value.len < unit.len || !slice_eq_ci(slice_make(value.ptr, unit.len), unit))
        return RANGE_NONE;
    const char *p = value.ptr + unit.len, *end = value.ptr + value.len;
    for (;;) {
        const char *comma = p;
        while (comma < end && *comma != ',')
            comma++;
        struct slice elem = slice_trim(slice_make(p, (size_t)(comma - p)));
        /* Empty list elements are allowed (RFC 9110 5.6.1). */
        if (elem.len > 0) {
            if (++nspecs > RANGE_MAX_SPECS)
                return RANGE_NONE;
            switch (parse_spec(elem.ptr, elem.ptr + elem.len, size, &spans[nspans])) {
            case SPEC_INVALID:
                return RANGE_NONE;
            case SPEC_OUTSIDE:
                break;
            case SPEC_SPAN:
                nspans++;
                break;
            }
        }
        if (comma == end)
            break;
        p = comma + 1;
    }
    if (nspecs == 0)
        return RANGE_NONE;
    if (nspans == 0)
        return RANGE_UNSATISFIABLE;
    if (merge_spans(spans, nspans) != 1)
        return RANGE_NONE;
    *out = spans[0];
    return RANGE_SATISFIABLE;
}
