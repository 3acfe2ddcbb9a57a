/* parse.c - HTTP/1.1 request head parser and chunked decoder (RFC 9112).
 *
 * Design: stateless over the caller's buffer, as picohttpparser is. Each call
 * starts at the first byte; a connection re-parses only once a blank line
 * has arrived (http_parse_request_more), so a slow client costs a scan of
 * its new bytes, not of the whole head, per read.
 *
 *   GET /echo/hi HTTP/1.1\r\nHost: x\r\n\r\n<body or next request>
 *   ^method ^target  ^version ^name ^value  ^ returned count ends here
 *
 * Strictness is deliberate where laxness enables request smuggling or
 * desynchronisation: lines end in CRLF only (a bare LF or CR is an error,
 * lwan and RFC 9112 section 2.2 allow rejecting it), no whitespace before a
 * field's colon (section 5.1), no obs-fold (section 5.2), no control bytes
 * in tokens or values, one Host on HTTP/1.1 (RFC 9112 section 3.2), and
 * Content-Length never together with Transfer-Encoding (section 6.3).
 *
 * References: RFC 9110 (semantics), RFC 9112 (message syntax). */
#include "parse.h"

#include <string.h>

#include "pct.h"

/* tchar from RFC 9110 section 5.6.2: the bytes allowed in methods and field names. */
static const unsigned char token_table[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static inline bool
is_token(unsigned char c)
{
    return token_table[c] != 0;
}

/* Field values: VCHAR, SP, HTAB and obs-text; never NUL, CR, LF or DEL. */
static inline bool
is_value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Request targets: visible ASCII only (RFC 3986 plus the bytes clients send
 * unencoded anyway, such as '"' or '{'); never a space or control byte. */
static inline bool
is_target_byte(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static const struct {
    struct slice name;
    enum http_method id;
} methods[] = {
    {SLICE_INIT("GET"), HTTP_METHOD_GET},         {SLICE_INIT("HEAD"), HTTP_METHOD_HEAD},
    {SLICE_INIT("POST"), HTTP_METHOD_POST},       {SLICE_INIT("PUT"), HTTP_METHOD_PUT},
    {SLICE_INIT("DELETE"), HTTP_METHOD_DELETE},   {SLICE_INIT("OPTIONS"), HTTP_METHOD_OPTIONS},
    {SLICE_INIT("PATCH"), HTTP_METHOD_PATCH},     {SLICE_INIT("TRACE"), HTTP_METHOD_TRACE},
    {SLICE_INIT("CONNECT"), HTTP_METHOD_CONNECT},
};

/* Methods are case-sensitive (RFC 9110 section 9.1): "get" is an unknown method. */
static enum http_method
method_lookup(struct slice m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (slice_eq(m, methods[i].name))
            return methods[i].id;
    return HTTP_METHOD_UNKNOWN;
}

static int
parse_fail_why(struct http_request *req, int status, const char *why)
{
    req->error = status;
    req->error_detail = why;
    return HTTP_PARSE_ERROR;
}

static int
parse_fail(struct http_request *req, int status)
{
    return parse_fail_why(req, status, NULL);
}

#define BARE_LF "lines must end in CRLF (typing by hand? use nc -C)"

/* An ASCII letter or digit, or one of extra. */
static bool
host_byte(char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(extra, c) != NULL);
}

/* uri-host [ ":" port ] (RFC 9110 section 7.2, RFC 3986 section 3.2.2):
 * a reg-name of unreserved, sub-delims and %XX, or an [IP-literal]. Empty is
 * a valid reg-name. Anything else (a space, '/', '@', a quote) cannot be a
 * host and would only travel on into logs and redirects. */
static bool
host_valid(struct slice v)
{
    const char *p = v.ptr, *end = p + v.len;
    if (p < end && *p == '[') {
        while (++p < end && *p != ']')
            if (!host_byte(*p, ":.-_~!$&'()*+,;="))
                return false;
        if (p == end)
            return false;
        p++;
    } else {
        for (; p < end && *p != ':'; p++) {
            if (*p == '%') {
                if (end - p < 3 || pct_hex_digit(p[1]) < 0 || pct_hex_digit(p[2]) < 0)
                    return false;
                p += 2;
            } else if (!host_byte(*p, "-._~!$&'()*+,;=")) {
                return false;
            }
        }
    }
    if (p < end && *p++ != ':')
        return false;
    for (; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Splits the target into path and query. The absolute form
 * ("http://host:port/path?q", RFC 9112 section 3.2.2) is routed by its path;
 * its authority overrides Host. Returns false for a target we cannot route. */
static bool
split_target(struct http_request *req)
{
    const char *p = req->target.ptr, *end = p + req->target.len;
    if (p[0] != '/') {
        if (req->target.len == 1 && p[0] == '*') {
            req->path = req->target;
            req->query = slice_make(end, 0);
            return true;
        }
        const char *colon = memchr(p, ':', req->target.len);
        if (colon == NULL || end - colon < 3 || colon[1] != '/' || colon[2] != '/')
            return false;
        struct slice scheme = slice_make(p, (size_t)(colon - p));
        if (!slice_eq_ci(scheme, SLICE_LIT("http")) && !slice_eq_ci(scheme, SLICE_LIT("https")))
            return false;
        const char *auth = colon + 3, *q = auth;
        while (q < end && *q != '/' && *q != '?')
            q++;
        req->host = slice_make(auth, (size_t)(q - auth));
        if (q == auth || !host_valid(req->host))
            return false; /* no host, or userinfo ('@'), which RFC 9110 section 4.2.4 forbids */
        if (q == end || *q == '?') {
            /* "http://host" and "http://host?x" mean the path "/". */
            req->path = SLICE_LIT("/");
            req->query = slice_make(q == end ? end : q + 1, q == end ? 0 : (size_t)(end - q - 1));
            return true;
        }
        p = q;
    }
    const char *qm = memchr(p, '?', (size_t)(end - p));
    if (qm) {
        req->path = slice_make(p, (size_t)(qm - p));
        req->query = slice_make(qm + 1, (size_t)(end - qm - 1));
    } else {
        req->path = slice_make(p, (size_t)(end - p));
        req->query = slice_make(end, 0);
    }
    return true;
}

/* Content-Length = 1*DIGIT (RFC 9110 section 8.6); a list of identical
 * values is accepted, anything else is an error. Returns -1 if invalid. */
static long long
parse_content_length(struct slice v)
{
    long long value = -1;
    const char *p = v.ptr, *end = p + v.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return -1;
        long long n = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (n > (0x7fffffffffffffffLL - 9) / 10)
                return -1;
            n = n * 10 + (*p++ - '0');
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p++ != ',')
            return -1;
        if (value >= 0 && n != value)
            return -1;
        value = n;
    }
    return value;
}

/* True when the comma-separated list v contains token t (case-insensitive). */
static bool
list_has_token(struct slice v, struct slice t)
{
    const char *p = v.ptr, *end = p + v.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (slice_eq_ci(slice_trim(slice_make(p, (size_t)(e - p))), t))
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

/* Transfer-Encoding: we decode chunked only, and it must be the final coding
 * (RFC 9112 section 6.3). Returns 0, or the status to answer. */
static int
parse_transfer_encoding(struct slice v, struct http_request *req)
{
    struct slice last = {v.ptr, 0};
    const char *p = v.ptr, *end = p + v.len;
    size_t n = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        struct slice t = slice_trim(slice_make(p, (size_t)(e - p)));
        if (t.len > 0) {
            last = t;
            n++;
        }
        p = comma ? comma + 1 : end;
    }
    if (n == 0)
        return 400;
    /* Other codings (gzip, compress, ...) are not implemented (section 6.1). */
    if (n > 1 || !slice_eq_ci(last, SLICE_LIT("chunked")))
        return 501;
    if (req->chunked)
        return 400; /* "chunked" twice would mean decoding twice */
    req->chunked = true;
    return 0;
}

/* Records what the server acts on from one field. Returns 0 or a status. */
static int
note_header(struct http_request *req, struct slice name, struct slice value, size_t *hosts,
            bool *has_te, bool *has_cl, bool *conn_close, bool *conn_keep)
{
    switch (name.len) {
    case 4:
        if (slice_eq_ci(name, SLICE_LIT("Host"))) {
            if (++*hosts == 1 && req->host.ptr == NULL)
                req->host = value;
        }
        break;
    case 5:
        if (slice_eq_ci(name, SLICE_LIT("Range")))
            req->range = value;
        break;
    case 6:
        if (slice_eq_ci(name, SLICE_LIT("Expect"))) {
            if (!slice_eq_ci(value, SLICE_LIT("100-continue")))
                return 417;
            req->expect_continue = true;
        }
        break;
    case 8:
        if (slice_eq_ci(name, SLICE_LIT("If-Range")))
            req->if_range = value;
        break;
    case 10:
        if (slice_eq_ci(name, SLICE_LIT("User-Agent")))
            req->user_agent = value;
        else if (slice_eq_ci(name, SLICE_LIT("Connection"))) {
            *conn_close |= list_has_token(value, SLICE_LIT("close"));
            *conn_keep |= list_has_token(value, SLICE_LIT("keep-alive"));
        }
        break;
    case 12:
        if (slice_eq_ci(name, SLICE_LIT("Content-Type")))
            req->content_type = value;
        break;
    case 13:
        if (slice_eq_ci(name, SLICE_LIT("If-None-Match"))) {
            if (req->if_none_match.ptr == NULL)
                req->if_none_match = value;
        } else if (slice_eq_ci(name, SLICE_LIT("Authorization")))
            req->authorization = value;
        break;
    case 14:
        if (slice_eq_ci(name, SLICE_LIT("Content-Length"))) {
            long long n = parse_content_length(value);
            if (n < 0 || (*has_cl && n != req->content_length))
                return 400;
            *has_cl = true;
            req->content_length = n;
        }
        break;
    case 15:
        if (slice_eq_ci(name, SLICE_LIT("Accept-Encoding"))) {
            if (req->accept_encoding.ptr == NULL)
                req->accept_encoding = value;
        } else if (slice_eq_ci(name, SLICE_LIT("X-Forwarded-For")))
            req->forwarded_for = value;
        break;
    case 17:
        if (slice_eq_ci(name, SLICE_LIT("Transfer-Encoding"))) {
            *has_te = true;
            return parse_transfer_encoding(value, req);
        } else if (slice_eq_ci(name, SLICE_LIT("If-Modified-Since")))
            req->if_modified_since = value;
        break;
    default:
        break;
    }
    return 0;
}

/* Parses the request line at buf[0..len). Returns the offset after its CRLF. */
static int
parse_request_line(const char *buf, size_t len, struct http_request *req)
{
    const char *p = buf, *end = buf + len;
    size_t limit = len < HTTP_MAX_REQUEST_LINE ? len : HTTP_MAX_REQUEST_LINE;
    const char *lf = memchr(buf, '\n', limit);
    if (lf == NULL) {
        /* Nothing malformed yet? Then wait, unless the line is already too long. */
        for (const char *q = buf; q < buf + limit; q++) {
            unsigned char c = (unsigned char)*q;
            if (c != ' ' && c != '\r' && !is_target_byte(c))
                return parse_fail(req, 400);
        }
        const char *cr = memchr(buf, '\r', limit);
        if (cr && cr + 1 < buf + limit)
            return parse_fail(req, 400);
        return len >= HTTP_MAX_REQUEST_LINE ? parse_fail(req, 414) : HTTP_PARSE_INCOMPLETE;
    }
    if (lf == buf || lf[-1] != '\r')
        return parse_fail_why(req, 400, BARE_LF);
    const char *line_end = lf - 1;

    const char *m = p;
    while (p < line_end && is_token((unsigned char)*p))
        p++;
    if (p == m || p == line_end || *p != ' ')
        return parse_fail(req, 400);
    req->method = slice_make(m, (size_t)(p - m));
    p++;

    const char *t = p;
    while (p < line_end && is_target_byte((unsigned char)*p))
        p++;
    if (p == t || p == line_end || *p != ' ')
        return parse_fail(req, 400);
    req->target = slice_make(t, (size_t)(p - t));
    p++;

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (section 2.3). */
    if (line_end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' ||
        p[6] != '.' || p[7] < '0' || p[7] > '9')
        return parse_fail(req, 400);
    if (p[5] != '1')
        return parse_fail(req, 505);
    req->minor_version = p[7] - '0';
    (void)end;
    return (int)(lf + 1 - buf);
}

/* An unfinished head is an error once len bytes could not hold it. */
static int
incomplete(size_t len, struct http_request *req)
{
    return len >= HTTP_MAX_HEAD ? parse_fail(req, 431) : HTTP_PARSE_INCOMPLETE;
}

int
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
    /* Everything but the header array, which is filled as far as nheaders says. */
    memset(req, 0, offsetof(struct http_request, headers));
    req->content_length = -1;

    /* RFC 9112 section 2.2: ignore empty lines before the request line (some
     * clients send a CRLF after a POST body). Bounded by the head limit. */
    size_t skip = 0;
    while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n')
        skip += 2;
    if (skip >= HTTP_MAX_HEAD)
        return parse_fail(req, 400);
    if (skip == len || (skip + 1 == len && buf[skip] == '\r'))
        return HTTP_PARSE_INCOMPLETE;

    int r = parse_request_line(buf + skip, len - skip, req);
    if (r < 0)
        return r;
    const char *p = buf + skip + r, *end = buf + len;
    req->method_id = method_lookup(req->method);

    size_t hosts = 0;
    bool has_te = false, has_cl = false, conn_close = false, conn_keep = false;
    int pending = 0; /* a semantic error is reported once the head is complete */
    for (;;) {
        if ((size_t)(p - buf) > HTTP_MAX_HEAD)
            return parse_fail(req, 431);
        if (p == end)
            return incomplete(len, req);
        if (*p == '\r') {
            if (p + 1 == end)
                return incomplete(len, req);
            if (p[1] != '\n')
                return parse_fail_why(req, 400, "a CR not followed by LF");
            p += 2;
            break;
        }
        /* field-name ":" OWS field-value OWS CRLF */
        const char *name = p;
        while (p < end && is_token((unsigned char)*p))
            p++;
        if (p == end) {
            if ((size_t)(p - name) > HTTP_MAX_FIELD)
                return parse_fail(req, 431);
            return incomplete(len, req);
        }
        if (p == name || *p != ':')
            return parse_fail_why(req, 400,
                                  *p == '\n'  ? BARE_LF
                                  : p == name ? "a field line must start with its name"
                                              : "no space or other byte may come "
                                                "between a field name and its colon");
        struct slice fname = slice_make(name, (size_t)(p - name));
        p++;
        const char *value = p;
        while (p < end && is_value_byte((unsigned char)*p))
            p++;
        if ((size_t)(p - name) > HTTP_MAX_FIELD)
            return parse_fail(req, 431);
        if (p == end)
            return incomplete(len, req);
        if (*p != '\r')
            return parse_fail_why(req, 400,
                                  *p == '\n' ? BARE_LF : "a control byte in a field value");
        if (p + 1 == end)
            return incomplete(len, req);
        if (p[1] != '\n')
            return parse_fail_why(req, 400, "a CR not followed by LF");
        struct slice fvalue = slice_trim(slice_make(value, (size_t)(p - value)));
        p += 2;
        if (req->nheaders == HTTP_MAX_HEADERS)
            return parse_fail(req, 431);
        req->headers[req->nheaders++] = (struct http_header){fname, fvalue};
        int s = note_header(req, fname, fvalue, &hosts, &has_te, &has_cl, &conn_close, &conn_keep);
        if (s != 0 && pending == 0)
            pending = s;
    }
    if ((size_t)(p - buf) > HTTP_MAX_HEAD)
        return parse_fail(req, 431);
    if (pending)
        return parse_fail(req, pending);
    if (req->method_id == HTTP_METHOD_UNKNOWN)
        return parse_fail(req, 501);
    /* A server MUST answer 400 to an HTTP/1.1 request without Host or with
     * more than one (RFC 9112 section 3.2). */
    if ((req->minor_version >= 1 && hosts == 0) || hosts > 1)
        return parse_fail_why(
            req, 400, hosts ? "more than one Host field" : "HTTP/1.1 requests need a Host field");
    if (hosts == 1 && !host_valid(req->host))
        return parse_fail_why(req, 400, "the Host field is not a host name and port");
    /* Both framing headers: a smuggling attempt or a broken proxy (section 6.3). */
    if (has_te && has_cl)
        return parse_fail_why(req, 400, "Content-Length and Transfer-Encoding together");
    if (has_te && req->minor_version == 0)
        return parse_fail_why(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (!split_target(req))
        return parse_fail_why(req, 400, "the request target is not a path or an http URL");
    if (req->minor_version >= 1) {
        req->keep_alive = !conn_close;
    } else {
        req->keep_alive = conn_keep && !conn_close;
        /* An HTTP/1.0 client is never sent a 1xx (RFC 9110 section 15.2),
         * so its 100-continue is ignored (section 10.1.1). */
        req->expect_continue = false;
    }
    return (int)(p - buf);
}

int
http_parse_request_more(const char *buf, size_t len, size_t last_len, struct http_request *req)
{
    /* Until a blank line arrives the head cannot be complete: look for one
     * among the new bytes (and the three before them, where it may have
     * begun). Errors in the partial head surface at the full parse, or as
     * 414/431 once the limits are reached. */
    if (last_len > 0 && len > last_len && len < HTTP_MAX_HEAD) {
        size_t from = last_len > 3 ? last_len - 3 : 0;
        bool line_done =
            memchr(buf, '\n', len < HTTP_MAX_REQUEST_LINE ? len : HTTP_MAX_REQUEST_LINE);
        if (memmem(buf + from, len - from, "\r\n\r\n", 4) == NULL &&
            (line_done || len < HTTP_MAX_REQUEST_LINE))
            return HTTP_PARSE_INCOMPLETE;
    }
    return http_parse_request(buf, len, req);
}

struct slice
http_header_get(const struct http_request *req, struct slice name)
{
    size_t i = 0;
    struct slice value = {NULL, 0};
    http_header_next(req, name, &i, &value);
    return value;
}

bool
http_header_next(const struct http_request *req, struct slice name, size_t *i, struct slice *value)
{
    for (; *i < req->nheaders; ++*i) {
        if (slice_eq_ci(req->headers[*i].name, name)) {
            *value = req->headers[(*i)++].value;
            return true;
        }
    }
    return false;
}

/* Chunked decoder states. */
enum {
    CH_SIZE,       /* hex digits of the chunk size */
    CH_SIZE_WS,    /* BWS after the size: only ';' or CR may follow */
    CH_EXT,        /* chunk extensions up to CR */
    CH_SIZE_LF,    /* LF after the size line */
    CH_DATA,       /* chunk data */
    CH_DATA_CR,    /* CR after the data */
    CH_DATA_LF,    /* LF after the data */
    CH_TRAILER,    /* a trailer line, or the final CRLF */
    CH_TRAILER_LF, /* LF ending a trailer line */
    CH_DONE,
};

ssize_t
http_chunked_decode(struct http_chunked *d, const char *buf, size_t len, struct slice *data,
                    bool *done)
{
    const char *p = buf, *end = buf + len;
    *data = slice_make(buf, 0);
    *done = d->state == CH_DONE;
    while (p < end && d->state != CH_DONE) {
        char c = *p;
        switch (d->state) {
        case CH_SIZE: {
            /* chunk-size = 1*HEXDIG: leading zeros are allowed (but bounded),
             * a value over 64 bits is not. */
            int h = pct_hex_digit(c);
            if (h >= 0) {
                if (d->remaining > (~0ULL >> 4) || ++d->line_len > 4096)
                    return -1;
                d->remaining = d->remaining << 4 | (unsigned)h;
                p++;
            } else if (d->line_len == 0) {
                return -1;
            } else if (c == ';') {
                d->state = CH_EXT;
            } else if (c == ' ' || c == '\t') {
                d->state = CH_SIZE_WS;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
                p++;
            } else {
                return -1;
            }
            break;
        }
        case CH_SIZE_WS:
            /* chunk-size [ BWS ";" chunk-ext ] CRLF: after the whitespace,
             * anything but ';' or CR is junk, which a stricter parser in
             * front of us could read differently. */
            if (c == ';')
                d->state = CH_EXT;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else if ((c != ' ' && c != '\t') || ++d->line_len > 4096)
                return -1;
            p++;
            break;
        case CH_EXT:
            /* Extensions are ignored but bounded and must be clean bytes. */
            if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (!is_value_byte((unsigned char)c) || ++d->line_len > 4096) {
                return -1;
            }
            p++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return -1;
            p++;
            d->line_len = 0;
            d->state = d->remaining ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA: {
            size_t avail = (size_t)(end - p);
            size_t n = d->remaining < avail ? (size_t)d->remaining : avail;
            *data = slice_make(p, n);
            d->remaining -= n;
            p += n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            /* Hand back one run of data at a time. */
            return p - buf;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return -1;
            d->state = CH_DATA_LF;
            p++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return -1;
            d->state = CH_SIZE;
            p++;
            break;
        case CH_TRAILER:
            if (c == '\r') {
                d->state = CH_TRAILER_LF;
            } else if (!is_value_byte((unsigned char)c) || ++d->line_len > HTTP_MAX_FIELD) {
                return -1;
            }
            if (++d->trailer_len > HTTP_MAX_TRAILER)
                return -1;
            p++;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return -1;
            p++;
            if (d->line_len == 0) {
                d->state = CH_DONE;
                *done = true;
            } else {
                d->line_len = 0;
                d->state = CH_TRAILER;
            }
            break;
        default:
            return -1;
        }
    }
    return p - buf;
}
