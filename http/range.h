/* range.h - the Range request header for byte ranges (RFC 9110 section 14).
 *
 * The server answers at most one range per response: a set that is, or
 * merges into, one contiguous span gets 206; any other set of several
 * satisfiable ranges gets the whole representation (200), which RFC 9110
 * 14.2 allows and which spares us multipart/byteranges. */
#ifndef RANGE_H
#define RANGE_H

#include <sys/types.h>

#include "slice.h"

/* More range-specs than this in one header are treated as abuse (RFC 9110
 * section 17.15) and the header is ignored. Browsers and download tools send
 * one; sixteen leaves room for media players that probe a few spans. */
#define RANGE_MAX_SPECS 16

enum range_result {
    RANGE_NONE,          /* absent, malformed, not "bytes", or not one span: send all (200) */
    RANGE_SATISFIABLE,   /* *out is the one span to send (206) */
    RANGE_UNSATISFIABLE, /* no range overlaps the representation (416) */
};

/* One span of bytes: start..start+length-1, length > 0. */
struct byte_range {
    off_t start;
    off_t length;
};

/* Evaluates the Range field value `value` against a representation of size
 * bytes. "bytes" is matched without regard to case; list elements may be
 * empty and surrounded by spaces. Forms:
 *     a-b  bytes a..b, b clamped to size-1 (b < a makes the header invalid)
 *     a-   bytes a..size-1
 *     -n   the last n bytes (all of them when n >= size; n = 0 never matches)
 * Numbers too large for off_t saturate: a huge first position is beyond the
 * end, a huge last position or suffix means "to the end". A zero-length
 * representation ignores Range (a 206 cannot describe zero bytes). Fills
 * *out only for RANGE_SATISFIABLE. */
enum range_result range_parse(struct slice value, off_t size, struct byte_range *out);

#endif
