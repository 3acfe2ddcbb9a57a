/* response.h - what a handler hands back, and how it becomes bytes.
 *
 * A handler fills a struct response (usually on the stack): status, type,
 * extra header lines and at most one body, from memory or from a file. The
 * connection layer writes the head with response_head() and then sends the
 * body (write, or sendfile for files), so a handler never touches a socket. */
#ifndef RESPONSE_H
#define RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "slice.h"

/* Values are the status codes themselves (quark http.h). */
enum http_status {
    HTTP_CONTINUE = 100,
    HTTP_OK = 200,
    HTTP_CREATED = 201,
    HTTP_NO_CONTENT = 204,
    HTTP_PARTIAL_CONTENT = 206,
    HTTP_MOVED_PERMANENTLY = 301,
    HTTP_NOT_MODIFIED = 304,
    HTTP_BAD_REQUEST = 400,
    HTTP_UNAUTHORIZED = 401,
    HTTP_FORBIDDEN = 403,
    HTTP_NOT_FOUND = 404,
    HTTP_METHOD_NOT_ALLOWED = 405,
    HTTP_REQUEST_TIMEOUT = 408,
    HTTP_CONFLICT = 409,
    HTTP_LENGTH_REQUIRED = 411,
    HTTP_PRECONDITION_FAILED = 412,
    HTTP_CONTENT_TOO_LARGE = 413,
    HTTP_URI_TOO_LONG = 414,
    HTTP_UNSUPPORTED_MEDIA_TYPE = 415,
    HTTP_RANGE_NOT_SATISFIABLE = 416,
    HTTP_EXPECTATION_FAILED = 417,
    HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE = 431,
    HTTP_INTERNAL_SERVER_ERROR = 500,
    HTTP_NOT_IMPLEMENTED = 501,
    HTTP_BAD_GATEWAY = 502,
    HTTP_SERVICE_UNAVAILABLE = 503,
    HTTP_GATEWAY_TIMEOUT = 504,
    HTTP_VERSION_NOT_SUPPORTED = 505,
    HTTP_INSUFFICIENT_STORAGE = 507,
};

/* The reason phrase exactly as RFC 9110 section 15 spells it; "Unknown" for others. */
const char *http_reason(int status);

/* Room for the extra header lines one response carries (ETag, Last-Modified,
 * Content-Range, Allow, Location, Vary, Content-Encoding, ...). */
#define RESPONSE_HEADERS_CAP 768

struct response {
    int status;
    const char *content_type;           /* NUL-terminated, static; NULL for none */
    char headers[RESPONSE_HEADERS_CAP]; /* extra lines, each "Name: value\r\n" */
    size_t headers_len;

    /* The body: memory (body/body_len) or a file (fd >= 0), never both. A
     * memory body must stay valid until the response is sent; when body_free
     * is set the connection calls it with body_arg once it is done with the
     * body (sent, or dropped on error). The connection closes fd, unless
     * body_free is set: then fd is lent (a cache's) and body_free returns it. */
    const char *body;
    size_t body_len;
    void (*body_free)(void *arg);
    void *body_arg;
    int fd;
    off_t offset, length;

    char text[256]; /* storage for short generated bodies (errors) */

    bool head;      /* HEAD: every header as for GET, no body bytes */
    bool close;     /* answer with Connection: close and close afterwards */
    bool no_length; /* 1xx/204/304: no Content-Length header */
    bool http10;    /* an HTTP/1.0 request: keep-alive must be said out loud */
};

/* Resets r to an empty 200 with no body and no file. */
void response_init(struct response *r);

/* Appends one header line; "Name: value" without CRLF. Returns 0, or -1 if
 * the line does not fit (the response keeps the lines it had). */
int response_header(struct response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one fixed header line without formatting it: the per-request
 * path uses this for constant lines. Returns 0, or -1 if it does not fit. */
int response_line(struct response *r, const char *line, size_t len);
#define RESPONSE_LINE(r, lit) response_line((r), (lit), sizeof(lit) - 1)

/* Sets a short text/plain body from static memory. */
void response_static(struct response *r, int status, const char *content_type, const char *body);

/* Sets status and a short text/plain body "<reason>: <detail>\n" (just the
 * reason when detail is NULL), kept in r->text. */
void response_error(struct response *r, int status, const char *detail);

/* Takes ownership of b's bytes as the body (freed with free() when sent). */
void response_take_buf(struct response *r, int status, const char *content_type, struct buf *b);

/* Releases the body (calls body_free, closes fd) without sending it. */
void response_discard(struct response *r);

/* Writes the status line and headers, ending with the blank line, into
 * out[0..cap). keep_alive false adds Connection: close. Returns the length,
 * or 0 if it does not fit. */
size_t response_head(const struct response *r, bool keep_alive, char *out, size_t cap);

/* The Content-Length the head announces (the body's length, also for HEAD). */
off_t response_body_length(const struct response *r);

#endif
