/* httpdate.h - HTTP-date (RFC 9110 section 5.6.7): format and parse.
 *
 * Pure arithmetic on the proleptic Gregorian calendar in UTC: no gmtime()
 * with its static buffer, no locale, no time zone, so every function here is
 * thread-safe and async-signal-safe. */
#ifndef HTTPDATE_H
#define HTTPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "slice.h"

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". */
#define HTTPDATE_LEN 29

/* Writes t as an IMF-fixdate into out, NUL-terminated, and returns
 * HTTPDATE_LEN. out must hold HTTPDATE_LEN + 1 bytes. Years outside
 * 0..9999 are clamped to the first or last second of that range, since the
 * format has exactly four year digits. */
size_t httpdate_format(time_t t, char *out);

/* Parses an HTTP-date in any of the three forms a recipient must accept:
 *     IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *     rfc850-date  "Sunday, 06-Nov-94 08:49:37 GMT"
 *     asctime      "Sun Nov  6 08:49:37 1994"
 * Names are case-sensitive as the grammar says; surrounding spaces are
 * ignored. The weekday must be a real day name but need not agree with the
 * date. A two-digit rfc850 year that would lie more than 50 years in the
 * future means the century before (RFC 9110 5.6.7). Returns true and sets
 * *t, or false for anything else (wrong shape, day 31 of a 30-day month,
 * 24:00:00, ...), leaving *t alone. */
bool httpdate_parse(struct slice s, time_t *t);

#endif
