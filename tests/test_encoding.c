/* test_encoding.c - Accept-Encoding negotiation table (RFC 9110 12.5.3). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/encoding.c"

struct enc_row {
    const char *value;
    bool gzip;
};

static const struct enc_row rows[] = {
    {"gzip", true},
    {"GZIP", true},
    {"Gzip", true},
    {"x-gzip", true},
    {"X-GZIP", true},
    {"*", true},
    {"gzip;q=0", false},
    {"gzip;q=0.000", false},
    {"gzip;q=0.", false},
    {"gzip;q=0.001", true},
    {"gzip;q=1", true},
    {"gzip;q=1.0", true},
    {"gzip;q=1.000", true},
    {"gzip;Q=0.5", true},
    {"*;q=0", false},
    {"*;q=0.5", true},
    {"encoding-1, gzip, encoding-2", true},
    {"invalid-encoding-1, invalid-encoding-2", false},
    {"identity", false},
    {"identity;q=1, *;q=0", false},
    {"br, gzip;q=0.5", true},
    {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
    {"gzip ; q=1.0", true},
    {"gzip\t;\tq=1.0", true},
    {"gzip;q = 0.5", true},
    {"  gzip  ", true},
    {"deflate, gzip", true},
    {"gzip, deflate, br, zstd", true},
    {"br", false},
    {"", false},
    {",", false},
    {", , gzip", true},
    /* an explicit gzip entry beats "*" either way */
    {"gzip;q=0, *", false},
    {"*, gzip;q=0", false},
    {"*;q=0, gzip", true},
    {"x-gzip;q=0, *;q=1", false},
    /* the largest weight of repeated entries */
    {"gzip;q=0, gzip;q=0.5", true},
    /* garbage weights: the element is dropped */
    {"gzip;q=abc", false},
    {"gzip;q=", false},
    {"gzip;q=1.5", false},
    {"gzip;q=2", false},
    {"gzip;q=-1", false},
    {"gzip;q=0.0001", false},
    {"gzip;q=1.001", false},
    {"gzip;q=.5", false},
    {"gzip;q=0.5x", false},
    {"gzip;q=\"0.5\"", false},
    {"gzip;q", false},
    {"gzip;", false},
    {"gzip;;q=1", false},
    {"gzip;q=abc, *", true}, /* the broken gzip entry is gone, "*" remains */
    {"gzip;q=abc, br", false},
    /* other parameters are allowed and skipped */
    {"gzip;level=9", true},
    {"gzip;foo=\"a;b,c\";q=0.5", true},
    {"gzip;foo=\"a;b,c\";q=0", false},
    {"gzip;foo=\"unterminated", false},
    /* tokens only: not a gzip entry */
    {"gzip/1", false},
    {"gz ip", false},
    {"\"gzip\"", false},
    {"gzipx", false},
    {"xgzip", false},
    {"gzip-x", false},
};

static void
test_encoding_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        /* A heap copy without a NUL, so ASan sees any over-read. */
        size_t len = strlen(rows[i].value);
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, rows[i].value, len);
        bool got = http_accepts_gzip(slice_make(copy, len));
        free(copy);
        if (got != rows[i].gzip)
            fail_msg("\"%s\": got %d, want %d", rows[i].value, got, rows[i].gzip);
    }
}

static void
test_encoding_absent(void **state)
{
    (void)state;
    assert_false(http_accepts_gzip(slice_make(NULL, 0)));
}

/* Accept-Encoding in several lines is one list (RFC 9110 5.3). */
static void
test_encoding_lines(void **state)
{
    (void)state;
    static const struct enc_row heads[] = {
        {"Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n", true},
        {"Accept-Encoding: gzip;q=0\r\nAccept-Encoding: *\r\n", false},
        {"Accept-Encoding: *\r\nAccept-Encoding: gzip;q=0\r\n", false},
        {"Accept-Encoding: gzip;q=0\r\nAccept-Encoding: gzip;q=0.5\r\n", true},
        {"Accept-Encoding: identity\r\nAccept-Encoding: br\r\n", false},
        {"Accept-Encoding:\r\nAccept-Encoding: x-gzip\r\n", true},
        {"Accept-Encoding: gzip\r\n", true},
        {"Accept-Encoding:\r\n", false},
        {"X-Accept-Encoding: gzip\r\n", false},
    };
    static struct http_request req;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        char head[256];
        int len =
            snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", heads[i].value);
        assert_int_equal(http_parse_request(head, (size_t)len, &req), len);
        if (http_request_accepts_gzip(&req) != heads[i].gzip)
            fail_msg("%s: want %d", heads[i].value, heads[i].gzip);
    }
}

static void
test_encoding_qvalue(void **state)
{
    (void)state;
    assert_int_equal(parse_qvalue(SLICE_LIT("0")), 0);
    assert_int_equal(parse_qvalue(SLICE_LIT("0.5")), 500);
    assert_int_equal(parse_qvalue(SLICE_LIT("0.25")), 250);
    assert_int_equal(parse_qvalue(SLICE_LIT("0.125")), 125);
    assert_int_equal(parse_qvalue(SLICE_LIT("1.")), 1000);
    assert_int_equal(parse_qvalue(SLICE_LIT("1.00")), 1000);
    assert_int_equal(parse_qvalue(SLICE_LIT("0.1250")), Q_INVALID);
    assert_int_equal(parse_qvalue(SLICE_LIT("1.01")), Q_INVALID);
    assert_int_equal(parse_qvalue(SLICE_LIT("")), Q_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_table),
        cmocka_unit_test(test_encoding_absent),
        cmocka_unit_test(test_encoding_lines),
        cmocka_unit_test(test_encoding_qvalue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
