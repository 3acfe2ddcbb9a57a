/* test_parse.c - the request head parser and the chunked decoder.
 *
 * Every input is copied into a malloc'd buffer of exactly its length, with
 * no NUL after it, so AddressSanitizer catches a read one byte too far. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/parse.c"

static struct http_request req;

static int
parse_len(const char *s, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, s, len);
    int r = http_parse_request(copy, len, &req);
    /* Slices would dangle after free: keep only what tests look at. */
    static char keep[4096];
    size_t n = len < sizeof(keep) ? len : sizeof(keep);
    memcpy(keep, copy, n);
    if (r > 0) {
        struct slice *all[] = {&req.method, &req.target, &req.path,
                               &req.query,  &req.host,   &req.user_agent};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            if (all[i]->ptr >= copy && all[i]->ptr <= copy + len)
                all[i]->ptr = keep + (all[i]->ptr - copy);
    }
    free(copy);
    return r;
}

static int
parse(const char *s)
{
    return parse_len(s, strlen(s));
}

static void
assert_slice(struct slice s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

static void
test_parse_simple_get(void **state)
{
    (void)state;
    const char *r = "GET /echo/abc HTTP/1.1\r\nHost: localhost:4221\r\nUser-Agent: curl/8\r\n"
                    "Accept: */*\r\n\r\n";
    assert_int_equal(parse(r), (int)strlen(r));
    assert_slice(req.method, "GET");
    assert_int_equal(req.method_id, HTTP_METHOD_GET);
    assert_slice(req.path, "/echo/abc");
    assert_slice(req.user_agent, "curl/8");
    assert_int_equal(req.minor_version, 1);
    assert_int_equal(req.nheaders, 3);
    assert_true(req.keep_alive);
    assert_int_equal(req.content_length, -1);
}

/* A list field may come in several lines: the parser keeps the first, and
 * http_header_next walks them all in order (RFC 9110 5.3). */
static void
test_parse_field_lines(void **state)
{
    (void)state;
    static const char r[] = "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\nX: 1\r\n"
                            "accept-encoding: gzip;q=0\r\nIf-None-Match: \"a\"\r\n"
                            "If-None-Match: \"b\"\r\n\r\n";
    static struct http_request q;
    assert_int_equal(http_parse_request(r, sizeof(r) - 1, &q), (int)sizeof(r) - 1);
    assert_slice(q.accept_encoding, "br");
    assert_slice(q.if_none_match, "\"a\"");
    size_t i = 0;
    struct slice v;
    assert_true(http_header_next(&q, SLICE_LIT("Accept-Encoding"), &i, &v));
    assert_slice(v, "br");
    assert_true(http_header_next(&q, SLICE_LIT("Accept-Encoding"), &i, &v));
    assert_slice(v, "gzip;q=0");
    assert_false(http_header_next(&q, SLICE_LIT("Accept-Encoding"), &i, &v));
    assert_false(http_header_next(&q, SLICE_LIT("Accept-Encoding"), &i, &v));
    i = 0;
    assert_true(http_header_next(&q, SLICE_LIT("if-none-match"), &i, &v));
    assert_true(http_header_next(&q, SLICE_LIT("if-none-match"), &i, &v));
    assert_slice(v, "\"b\"");
    i = 0;
    assert_false(http_header_next(&q, SLICE_LIT("Range"), &i, &v));
    assert_slice(http_header_get(&q, SLICE_LIT("IF-NONE-MATCH")), "\"a\"");
    assert_null(http_header_get(&q, SLICE_LIT("Range")).ptr);
}

/* Every strict prefix of a valid request is incomplete, never an error. */
static void
test_parse_every_prefix_incomplete(void **state)
{
    (void)state;
    const char *r = "POST /files/x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding-X: q\r\nX-Empty:\r\n\r\n";
    size_t len = strlen(r);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(parse_len(r, i), HTTP_PARSE_INCOMPLETE);
    assert_int_equal(parse_len(r, len), (int)len);
    assert_int_equal(req.content_length, 5);
    assert_slice(req.query, "y=1");
}

static void
test_parse_pipelined(void **state)
{
    (void)state;
    const char *a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    char two[128];
    snprintf(two, sizeof(two), "%sGET /b HTTP/1.1\r\nHost: x\r\n\r\n", a);
    int n = parse(two);
    assert_int_equal(n, (int)strlen(a));
    assert_int_equal(parse(two + n), (int)strlen(two + n));
    assert_slice(req.path, "/b");
}

struct row {
    const char *input;
    int want;   /* bytes consumed (> 0 means "the whole input"), or -1/-2 */
    int status; /* with -1: the status the parser chose */
    const char *note;
};

static const struct row rows[] = {
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0, "minimal"},
    {"GET / HTTP/1.0\r\n\r\n", 1, 0, "HTTP/1.0 needs no Host"},
    {"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0, "leading empty line ignored"},
    {"GET / HTTP/1.1\nHost: x\r\n\r\n", -1, 400, "bare LF after request line"},
    {"GET / HTTP/1.1\r\nHost: x\n\r\n", -1, 400, "bare LF after a field"},
    {"GET / HTTP/1.1\r\nHost: x\r\n\n", -1, 400, "bare LF ending the head"},
    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", -1, 400, "space before the colon"},
    {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -1, 400, "obs-fold"},
    {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", -1, 400, "control byte in a value"},
    {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", -1, 400, "DEL in a value"},
    {"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n", -1, 400, "control byte in a name"},
    {"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", -1, 400, "control byte in the method"},
    {"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", -1, 400, "control byte in the target"},
    {"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", -1, 400, "DEL in the target"},
    {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", -1, 400, "two spaces"},
    {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", -1, 400, "trailing space"},
    {"GET / http/1.1\r\nHost: x\r\n\r\n", -1, 400, "lower-case version"},
    {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", -1, 505, "HTTP/2 over this syntax"},
    {"GET / HTTP/1.1\r\n\r\n", -1, 400, "no Host on HTTP/1.1"},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -1, 400, "two Hosts"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", -1,
     400, "Content-Length with Transfer-Encoding"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -1, 400,
     "conflicting Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\n", 1, 0,
     "identical Content-Length list"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -1, 400, "negative length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", -1, 400, "garbage length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", -1, 400,
     "overflowing length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", -1, 501, "gzip coding"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -1, 501,
     "chunked not last"},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 400, "chunked on HTTP/1.0"},
    {"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", -1, 501, "unknown method"},
    {"get / HTTP/1.1\r\nHost: a\r\n\r\n", -1, 501, "methods are case-sensitive"},
    {"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", 1, 0, "100-continue"},
    {"GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", -1, 417, "unknown expectation"},
    {"GET http://example.org/echo/x?q HTTP/1.1\r\nHost: a\r\n\r\n", 1, 0, "absolute form"},
    {"GET ftp://example.org/ HTTP/1.1\r\nHost: a\r\n\r\n", -1, 400, "not http"},
    {"GET echo HTTP/1.1\r\nHost: a\r\n\r\n", -1, 400, "relative target"},
    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1, 0, "asterisk form"},
    {"GET / HTTP/1.1\r\n: x\r\nHost: a\r\n\r\n", -1, 400, "empty field name"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", 1, 0, "empty field value"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: \xc3\xa9t\xc3\xa9\r\n\r\n", 1, 0, "obs-text in a value"},
    {"GET / HTTP/1.1\rHost: a\r\n\r\n", -1, 400, "bare CR"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", -1, 400, "bare CR in a value"},
    {"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", -1, 400, "NUL in the target"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a", -2, 0, "incomplete value"},
    {"GET / HTTP/1.1\r\nHost:\r\n\r\n", 1, 0, "empty Host (an empty reg-name)"},
    {"GET / HTTP/1.1\r\nHost: a-b.example_~!$&'()*+,;=%41:8080\r\n\r\n", 1, 0,
     "every byte a reg-name allows, and a port"},
    {"GET / HTTP/1.1\r\nHost: [::1]:4221\r\n\r\n", 1, 0, "IPv6 literal Host"},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -1, 400, "space in Host"},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", -1, 400, "slash in Host"},
    {"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", -1, 400, "userinfo in Host"},
    {"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", -1, 400, "port not a number"},
    {"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", -1, 400, "two colons outside brackets"},
    {"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", -1, 400, "unclosed IPv6 literal"},
    {"GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", -1, 400, "cut percent escape in Host"},
    {"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", -1, 400, "userinfo in absolute form"},
    {"GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n", -1, 400, "space splits the target"},
};

static void
test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        /* The NUL row is one byte longer than strlen says. */
        size_t len = strlen(r->input);
        if (strstr(r->note, "NUL"))
            len = 5 + strlen(r->input + 6) + 1;
        int got = parse_len(r->input, len);
        int want = r->want > 0 ? (int)len : r->want;
        if (got != want || (want == -1 && req.error != r->status))
            fail_msg("row %zu (%s): got %d (status %d), want %d (status %d)", i, r->note, got,
                     req.error, want, r->status);
    }
}

static void
test_parse_absolute_form_routes_by_path(void **state)
{
    (void)state;
    assert_true(parse("GET http://example.org:8080/echo/x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_slice(req.path, "/echo/x");
    assert_slice(req.query, "q=1");
    assert_slice(req.host, "example.org:8080");
    assert_true(parse("GET http://example.org HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_slice(req.path, "/");
}

static void
test_parse_connection_semantics(void **state)
{
    (void)state;
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") > 0);
    assert_false(req.keep_alive);
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n") > 0);
    assert_false(req.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_false(req.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") > 0);
    assert_true(req.keep_alive);
    assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n") > 0);
    assert_true(req.chunked);
    /* 100-continue is for HTTP/1.1; an HTTP/1.0 client is never sent a 1xx. */
    assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n") > 0);
    assert_true(req.expect_continue);
    assert_true(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n") > 0);
    assert_false(req.expect_continue);
}

static void
fill(char *buf, size_t len, char c)
{
    memset(buf, c, len);
}

static void
test_parse_limits(void **state)
{
    (void)state;
    size_t big = HTTP_MAX_HEAD + 64;
    char *buf = malloc(big);

    /* A request line that never ends: 414 as soon as the limit is passed. */
    memcpy(buf, "GET /", 5);
    fill(buf + 5, HTTP_MAX_REQUEST_LINE, 'a');
    assert_int_equal(parse_len(buf, HTTP_MAX_REQUEST_LINE + 5), HTTP_PARSE_ERROR);
    assert_int_equal(req.error, 414);

    /* One huge field: 431 before the head completes. */
    const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    size_t n = strlen(start);
    memcpy(buf, start, n);
    fill(buf + n, HTTP_MAX_FIELD + 10, 'v');
    assert_int_equal(parse_len(buf, n + HTTP_MAX_FIELD + 10), HTTP_PARSE_ERROR);
    assert_int_equal(req.error, 431);

    /* Too many fields. */
    size_t len = (size_t)snprintf(buf, big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        len += (size_t)snprintf(buf + len, big - len, "X-%d: v\r\n", i);
    len += (size_t)snprintf(buf + len, big - len, "\r\n");
    assert_int_equal(parse_len(buf, len), HTTP_PARSE_ERROR);
    assert_int_equal(req.error, 431);

    /* A whole head past the limit made of legal fields. */
    free(buf);
    big = 2 * HTTP_MAX_HEAD;
    buf = malloc(big);
    len = (size_t)snprintf(buf, big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; len <= HTTP_MAX_HEAD; i++) {
        len += (size_t)snprintf(buf + len, big - len, "X-%d: ", i);
        fill(buf + len, 4000, 'v');
        len += 4000;
        len += (size_t)snprintf(buf + len, big - len, "\r\n");
    }
    len += (size_t)snprintf(buf + len, big - len, "\r\n");
    assert_true(len > HTTP_MAX_HEAD);
    assert_int_equal(parse_len(buf, len), HTTP_PARSE_ERROR);
    assert_int_equal(req.error, 431);
    free(buf);
}

static void
test_parse_more_waits_for_blank_line(void **state)
{
    (void)state;
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = strlen(r);
    char *copy = malloc(len);
    memcpy(copy, r, len);
    size_t last = 0;
    for (size_t i = 1; i < len; i++) {
        assert_int_equal(http_parse_request_more(copy, i, last, &req), HTTP_PARSE_INCOMPLETE);
        last = i;
    }
    assert_int_equal(http_parse_request_more(copy, len, last, &req), (int)len);
    free(copy);
}

/* Runs the decoder over input fed in pieces of `step` bytes. */
static ssize_t
dechunk(const char *in, size_t len, size_t step, char *out, size_t *out_len, bool *done)
{
    struct http_chunked d = {0};
    char *copy = malloc(len ? len : 1);
    memcpy(copy, in, len);
    size_t pos = 0, avail = 0;
    *out_len = 0;
    *done = false;
    ssize_t total = 0;
    while (!*done) {
        if (avail < len)
            avail = avail + step < len ? avail + step : len;
        if (pos == avail)
            break;
        struct slice data;
        ssize_t r = http_chunked_decode(&d, copy + pos, avail - pos, &data, done);
        if (r < 0) {
            free(copy);
            return -1;
        }
        memcpy(out + *out_len, data.ptr, data.len);
        *out_len += data.len;
        pos += (size_t)r;
        total = (ssize_t)pos;
        if (r == 0 && avail == len)
            break;
    }
    free(copy);
    return total;
}

static void
test_chunked_decode(void **state)
{
    (void)state;
    const char *body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                       "Trailer: x\r\n\r\nNEXT";
    size_t len = strlen(body);
    for (size_t step = 1; step <= len; step++) {
        char out[64];
        size_t out_len;
        bool done;
        ssize_t used = dechunk(body, len, step, out, &out_len, &done);
        assert_true(done);
        assert_int_equal(used, (ssize_t)(len - 4));
        assert_int_equal(out_len, 23);
        assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
    }
}

/* Whitespace before ';' (BWS) and leading zeros are valid chunk syntax. */
static void
test_chunked_lenient_where_the_grammar_is(void **state)
{
    (void)state;
    const char *body = "00000000000000000004 \t;x=y\r\nWiki\r\n0\t\r\n\r\n";
    char out[16];
    size_t out_len;
    bool done;
    assert_int_equal(dechunk(body, strlen(body), 1, out, &out_len, &done), (ssize_t)strlen(body));
    assert_true(done);
    assert_int_equal(out_len, 4);
    assert_memory_equal(out, "Wiki", 4);
}

static void
test_chunked_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "x\r\n",                                /* not hex */
        "\r\n",                                 /* no size */
        "4\r\nWikiX\r\n",                       /* data longer than its size */
        "4\nWiki\r\n",                          /* bare LF */
        "11111111111111111\r\n",                /* 17 hex digits: overflow */
        "4\r\nWiki\r\n0\r\nBad\x01: x\r\n\r\n", /* control byte in a trailer */
        "4 junk\r\nWiki\r\n0\r\n\r\n",          /* junk after the size, no ';' */
        "4 \t x\r\nWiki\r\n0\r\n\r\n",          /* junk after whitespace */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[64];
        size_t out_len;
        bool done;
        assert_int_equal(dechunk(bad[i], strlen(bad[i]), strlen(bad[i]), out, &out_len, &done), -1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_simple_get),
        cmocka_unit_test(test_parse_field_lines),
        cmocka_unit_test(test_parse_every_prefix_incomplete),
        cmocka_unit_test(test_parse_pipelined),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_absolute_form_routes_by_path),
        cmocka_unit_test(test_parse_connection_semantics),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_more_waits_for_blank_line),
        cmocka_unit_test(test_chunked_decode),
        cmocka_unit_test(test_chunked_lenient_where_the_grammar_is),
        cmocka_unit_test(test_chunked_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
