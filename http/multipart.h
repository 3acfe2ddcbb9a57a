/* multipart.h - multipart/form-data parsing over a body held in memory.
 *
 * Zero-copy: every slice a part hands out points into the caller's body,
 * which must outlive them. Quoted parameter values come as they are between
 * the quotes; multipart_unquote() undoes backslash escapes when wanted. The
 * same parameter scanner reads the request's Content-Type (boundary, charset).
 *
 * Usage:
 *     struct slice boundary;
 *     if (multipart_boundary(content_type, &boundary) < 0) -> 400
 *     struct multipart_reader r;
 *     multipart_init(&r, boundary, body, len);
 *     struct multipart_part part;
 *     while ((rc = multipart_next(&r, &part)) == 1) ...use part...
 *     if (rc < 0) -> 400 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "slice.h"

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */

struct multipart_part {
    struct slice name;         /* Content-Disposition name="...", raw */
    struct slice filename;     /* filename="...", raw; empty when absent */
    struct slice filename_ext; /* filename*=charset'lang'pct-encoded (RFC 5987), raw */
    bool is_file;              /* a filename or filename* parameter was present */
    struct slice content_type; /* the part's Content-Type value, trimmed; may be empty */
    struct slice data;         /* the part's content, without the CRLF before the delimiter */
};

struct multipart_reader {
    const char *p, *end; /* p: at the next "--boundary", or NULL before the first */
    const char *body;
    struct slice boundary;
    int final; /* 1 while parts may remain; then 0 (closed) or -1 (malformed) */
};

/* Finds parameter `name` (case-insensitive) in a header value of the form
 * `token *( ";" attribute "=" value )` (RFC 2045 5.1, RFC 2183). Stores the
 * value, without quotes if quoted, in *value. Returns 1 when found, 0 when
 * absent, -1 when the parameter list is malformed. */
int multipart_param(struct slice header_value, const char *name, struct slice *value);

/* The value's media type or disposition type: what precedes the first ';',
 * trimmed ("multipart/form-data" from "multipart/form-data; boundary=x"). */
struct slice multipart_type(struct slice header_value);

/* Checks a Content-Type value against RFC 2045 5.1: type "/" subtype, both
 * tokens with nothing between them, then any number of ";" attribute "="
 * value, the value a token or a quoted-string, white space allowed around
 * ';' and '='. Returns 0, or -1 ("text/ plain", an unclosed quote, a
 * parameter without a value, a trailing ';'). */
int multipart_check_type(struct slice content_type);

/* Extracts the boundary parameter from a multipart Content-Type value.
 * Returns 0, or -1 when it is missing or not a valid boundary (1-70 bchars). */
int multipart_boundary(struct slice content_type, struct slice *boundary);

void multipart_init(struct multipart_reader *r, struct slice boundary, const char *body,
                    size_t len);

/* Reads the next part. Returns 1 with *part filled, 0 after the closing
 * delimiter, -1 for a malformed body (no opening or closing delimiter, a part
 * without Content-Disposition: form-data, a header line without ':', an
 * encoded Content-Transfer-Encoding). After 0 or -1 it keeps returning that. */
int multipart_next(struct multipart_reader *r, struct multipart_part *part);

/* Copies a raw quoted-string body to out (which must hold in.len bytes),
 * turning \" into " and \\ into \; any other backslash is kept, since
 * browsers send Windows paths unescaped. Returns the length written. */
size_t multipart_unquote(char *out, struct slice in);

#endif
