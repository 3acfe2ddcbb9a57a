/* response.c - status lines, header sections and error bodies; see response.h. */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* RFC 9110 section 15, spelled exactly as there (quark's status_str[]). */
static const char *const reasons[] = {
    [100] = "Continue",
    [200] = "OK",
    [201] = "Created",
    [204] = "No Content",
    [206] = "Partial Content",
    [301] = "Moved Permanently",
    [304] = "Not Modified",
    [400] = "Bad Request",
    [401] = "Unauthorized",
    [403] = "Forbidden",
    [404] = "Not Found",
    [405] = "Method Not Allowed",
    [408] = "Request Timeout",
    [409] = "Conflict",
    [411] = "Length Required",
    [412] = "Precondition Failed",
    [413] = "Content Too Large",
    [414] = "URI Too Long",
    [415] = "Unsupported Media Type",
    [416] = "Range Not Satisfiable",
    [417] = "Expectation Failed",
    [431] = "Request Header Fields Too Large", /* RFC 6585 section 5 */
    [500] = "Internal Server Error",
    [501] = "Not Implemented",
    [502] = "Bad Gateway",
    [503] = "Service Unavailable",
    [504] = "Gateway Timeout",
    [505] = "HTTP Version Not Supported",
    [507] = "Insufficient Storage", /* RFC 4918 section 11.5 */
};

const char *
http_reason(int status)
{
    if (status < 0 || (size_t)status >= sizeof(reasons) / sizeof(reasons[0]) ||
        reasons[status] == NULL)
        return "Unknown";
    return reasons[status];
}

void
response_init(struct response *r)
{
    r->status = HTTP_OK;
    r->content_type = NULL;
    r->headers_len = 0;
    r->body = NULL;
    r->body_len = 0;
    r->body_free = NULL;
    r->body_arg = NULL;
    r->fd = -1;
    r->offset = r->length = 0;
    r->head = r->close = r->no_length = r->http10 = false;
}

int
response_header(struct response *r, const char *fmt, ...)
{
    size_t room = sizeof(r->headers) - r->headers_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->headers + r->headers_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 2 >= room) {
        r->headers[r->headers_len] = '\0';
        return -1;
    }
    memcpy(r->headers + r->headers_len + (size_t)n, "\r\n", 2);
    r->headers_len += (size_t)n + 2;
    return 0;
}

int
response_line(struct response *r, const char *line, size_t len)
{
    if (len + 2 > sizeof(r->headers) - r->headers_len)
        return -1;
    memcpy(r->headers + r->headers_len, line, len);
    memcpy(r->headers + r->headers_len + len, "\r\n", 2);
    r->headers_len += len + 2;
    return 0;
}

void
response_discard(struct response *r)
{
    if (r->body_free)
        r->body_free(r->body_arg);
    else if (r->fd >= 0)
        close(r->fd);
    r->body_free = NULL;
    r->body = NULL;
    r->body_len = 0;
    r->fd = -1;
}

void
response_static(struct response *r, int status, const char *content_type, const char *body)
{
    response_discard(r);
    r->status = status;
    r->content_type = content_type;
    r->body = body;
    r->body_len = strlen(body);
}

void
response_error(struct response *r, int status, const char *detail)
{
    response_discard(r);
    int n;
    if (detail)
        n = snprintf(r->text, sizeof(r->text), "%s: %s\n", http_reason(status), detail);
    else
        n = snprintf(r->text, sizeof(r->text), "%s\n", http_reason(status));
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->body = r->text;
    r->body_len = n < 0 ? 0 : ((size_t)n < sizeof(r->text) ? (size_t)n : sizeof(r->text) - 1);
}

void
response_take_buf(struct response *r, int status, const char *content_type, struct buf *b)
{
    response_discard(r);
    r->status = status;
    r->content_type = content_type;
    r->body_len = b->len;
    r->body = buf_steal(b);
    r->body_arg = (void *)r->body;
    r->body_free = free;
}

off_t
response_body_length(const struct response *r)
{
    return r->fd >= 0 ? r->length : (off_t)r->body_len;
}

/* Appends s to out, or fails (returns NULL) if it does not fit. */
static char *
put(char *p, const char *end, const char *s, size_t len)
{
    if (p == NULL || (size_t)(end - p) < len)
        return NULL;
    memcpy(p, s, len);
    return p + len;
}

static char *
put_str(char *p, const char *end, const char *s)
{
    return put(p, end, s, strlen(s));
}

/* Decimal without printf: this runs once per response. */
static char *
put_num(char *p, const char *end, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return put(p, end, tmp + i, sizeof(tmp) - i);
}

size_t
response_head(const struct response *r, bool keep_alive, char *out, size_t cap)
{
    const char *end = out + cap;
    char *p = put(out, end, "HTTP/1.1 ", 9);
    p = put_num(p, end, (unsigned)r->status);
    p = put(p, end, " ", 1);
    p = put_str(p, end, http_reason(r->status));
    p = put(p, end, "\r\n", 2);
    if (r->content_type) {
        p = put(p, end, "Content-Type: ", 14);
        p = put_str(p, end, r->content_type);
        p = put(p, end, "\r\n", 2);
    }
    if (!r->no_length) {
        p = put(p, end, "Content-Length: ", 16);
        p = put_num(p, end, (unsigned long long)response_body_length(r));
        p = put(p, end, "\r\n", 2);
    }
    p = put(p, end, r->headers, r->headers_len);
    if (!keep_alive)
        p = put(p, end, "Connection: close\r\n", 19);
    else if (r->http10)
        p = put(p, end, "Connection: keep-alive\r\n", 24); /* RFC 9112 section 9.3 */
    p = put(p, end, "\r\n", 2);
    return p ? (size_t)(p - out) : 0;
}
