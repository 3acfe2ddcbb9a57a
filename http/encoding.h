/* encoding.h - content-coding negotiation from Accept-Encoding (RFC 9110 12.5.3).
 *
 * The server has one coding besides identity, gzip, so negotiation reduces to
 * one question: does the client take gzip with a non-zero weight? */
#ifndef ENCODING_H
#define ENCODING_H

#include <stdbool.h>

#include "slice.h"

/* True when the Accept-Encoding field value accept_encoding selects gzip:
 *   - "gzip" or "x-gzip" (any case) listed with q > 0 (q defaults to 1);
 *   - or, with neither listed, "*" with q > 0.
 * An explicit "gzip;q=0" wins over "*". Codings we do not know are skipped;
 * so is an element whose q is not a valid qvalue ("0", "0.5", "1.000", at
 * most three decimals, never above 1). Spaces and tabs around ',', ';' and
 * '=' and empty list elements are tolerated. If gzip is listed more than
 * once, the largest weight counts. An empty or absent field selects nothing
 * (identity only), as browsers and servers treat it. */
bool http_accepts_gzip(struct slice accept_encoding);

struct http_request;

/* The same for all of req's Accept-Encoding lines, taken as one list. */
bool http_request_accepts_gzip(const struct http_request *req);

#endif
