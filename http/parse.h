/* parse.h - the HTTP/1.1 request head parser and the chunked body decoder.
 *
 * Stateless and zero-copy (after picohttpparser): the caller owns the bytes;
 * every slice in struct http_request points into them and lives until the
 * caller moves or reuses its buffer. Nothing is allocated. */
#ifndef PARSE_H
#define PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "slice.h"

#define HTTP_PARSE_ERROR      (-1)
#define HTTP_PARSE_INCOMPLETE (-2)

struct http_header {
    struct slice name, value;
};

enum http_method {
    HTTP_METHOD_UNKNOWN,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_TRACE,
    HTTP_METHOD_CONNECT,
    NUM_HTTP_METHODS
};

struct http_request {
    struct slice method, target;
    enum http_method method_id;
    int minor_version;        /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    struct slice path, query; /* target split at '?'; absolute-form reduced to its path */
    /* Taken from the headers while parsing, so handlers need not search.
     * Accept-Encoding and If-None-Match are lists that may come in several
     * lines: these hold the first; http_header_next walks them all. */
    struct slice host, user_agent, content_type, accept_encoding, authorization;
    struct slice if_none_match, if_modified_since, range, if_range;
    struct slice forwarded_for; /* X-Forwarded-For, trusted only from --trusted-proxy */
    long long content_length;   /* -1 when absent */
    bool chunked;               /* Transfer-Encoding: chunked */
    bool keep_alive;            /* after Connection and the version's default */
    bool expect_continue;       /* Expect: 100-continue */

    int error;                /* with HTTP_PARSE_ERROR: the status to answer */
    const char *error_detail; /* and, when known, why (a static string) */

    size_t nheaders;
    struct http_header headers[HTTP_MAX_HEADERS]; /* last: reset costs nothing */
};

/* Parses one request head from buf[0..len). Returns the bytes consumed (> 0),
 * HTTP_PARSE_ERROR with req->error set to the status to answer (400, 414,
 * 431, 501, 505), or HTTP_PARSE_INCOMPLETE. Bytes after the consumed count
 * are the body or the next pipelined request. Never reads past buf + len,
 * never writes to buf, needs no NUL. On a limit breach it fails as soon as
 * the breach is visible, before the head is complete. */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Like http_parse_request, for a buffer that held last_len bytes at the last
 * call: when no blank line has arrived since, it returns INCOMPLETE after
 * looking only at the new bytes (a slowloris guard). */
int http_parse_request_more(const char *buf, size_t len, size_t last_len, struct http_request *req);

/* Returns the first header named name (case-insensitive), or an empty slice. */
struct slice http_header_get(const struct http_request *req, struct slice name);

/* Walks the lines of the field name in order: start with *i = 0; each call
 * sets *value to the next line's value and returns true, or returns false
 * after the last. The lines of a list field make one list, as if joined with
 * commas (RFC 9110 section 5.3). */
bool http_header_next(const struct http_request *req, struct slice name, size_t *i,
                      struct slice *value);

/* The chunked transfer coding (RFC 9112 section 7.1), decoded as it arrives.
 * Zero the struct before the first call. */
struct http_chunked {
    int state;
    unsigned long long remaining; /* data bytes left in the current chunk */
    size_t line_len;              /* bytes of the current size or trailer line */
    size_t trailer_len;           /* bytes of trailer section so far */
};

/* Decodes from buf[0..len). Returns the number of input bytes used (>= 0) and
 * sets *data to the next run of body bytes inside buf (possibly empty); call
 * again with the rest. Returns -1 on a malformed stream. *done turns true after
 * the last chunk and its trailers: bytes after the returned count belong to
 * the next request. */
ssize_t http_chunked_decode(struct http_chunked *d, const char *buf, size_t len, struct slice *data,
                            bool *done);

#endif
