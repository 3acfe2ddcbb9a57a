/* test_base64.c - base64 against the RFC 4648 section 10 vectors, MIME line
 * wrapping, strict decoding and round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/base64.c"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

/* Decodes an exact-size copy (no NUL) so ASan sees any over-read. */
static ssize_t
decode_exact(const char *in, size_t len, unsigned char *out)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    ssize_t n = base64_decode(out, copy, len);
    free(copy);
    return n;
}

static void
test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const char *p = rfc4648[i].plain, *e = rfc4648[i].encoded;
        char out[16];
        assert_int_equal(base64_encoded_len(strlen(p), false), strlen(e));
        size_t n = base64_encode(out, p, strlen(p), false);
        assert_int_equal(n, strlen(e));
        assert_memory_equal(out, e, n);
        unsigned char dec[16];
        assert_true(base64_decoded_bound(strlen(e)) <= sizeof(dec));
        assert_int_equal(decode_exact(e, strlen(e), dec), (ssize_t)strlen(p));
        assert_memory_equal(dec, p, strlen(p));
    }
}

static void
test_base64_all_bytes(void **state)
{
    (void)state;
    /* "+" and "/" come out of 0xfb 0xff: RFC 4648 table, values 62 and 63. */
    char out[8];
    size_t n = base64_encode(out, "\xfb\xff", 2, false);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "+/8=", 4);
}

static void
test_base64_wrap(void **state)
{
    (void)state;
    unsigned char in[200];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 7);
    char out[400];
    /* 57 bytes are exactly one 76-character line. */
    size_t n = base64_encode(out, in, 57, true);
    assert_int_equal(n, 78);
    assert_int_equal(n, base64_encoded_len(57, true));
    assert_memory_equal(out + 76, "\r\n", 2);
    n = base64_encode(out, in, 58, true);
    assert_int_equal(n, 76 + 2 + 4 + 2);
    assert_int_equal(n, base64_encoded_len(58, true));
    assert_int_equal(base64_encode(out, in, 0, true), 0);
    assert_int_equal(base64_encoded_len(0, true), 0);
    n = base64_encode(out, in, 200, true);
    assert_int_equal(n, base64_encoded_len(200, true));
    /* Every line: at most 76 characters, then CRLF. */
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '\r') {
            assert_int_equal(out[i + 1], '\n');
            assert_true(col <= BASE64_MIME_LINE);
            col = 0;
            i++;
        } else {
            col++;
        }
    }
    assert_int_equal(col, 0);
}

static void
test_base64_decode_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg=",      /* short padding */
        "Zg",       /* no padding */
        "Zm9vY",    /* one sextet left over */
        "Z===",     /* too much padding */
        "====",     /* padding only */
        "Zh==",     /* non-zero pad bits */
        "Zm9=",     /* non-zero pad bits, one '=' */
        "Zm9v!",    /* not in the alphabet */
        "Zm9v-_",   /* base64url is another alphabet */
        "Zg==Zg==", /* data after padding */
        "=Zg=",     /* padding first */
        "Zm\x00v",  /* NUL */
        "Zm9v\x80", /* 8-bit */
    };
    unsigned char out[16];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = i == 11 ? 4 : strlen(bad[i]);
        if (decode_exact(bad[i], len, out) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void
test_base64_decode_whitespace(void **state)
{
    (void)state;
    unsigned char out[16];
    const char *in = " Zm9v\r\nYmFy\tZg =\n=\r\n";
    assert_int_equal(decode_exact(in, strlen(in), out), 7);
    assert_memory_equal(out, "foobarf", 7);
    assert_int_equal(decode_exact("\r\n", 2, out), 0);
}

static void
test_base64_round_trip(void **state)
{
    (void)state;
    srand(4648);
    for (size_t len = 0; len < 400; len++) {
        unsigned char *in = malloc(len + 1);
        assert_non_null(in);
        for (size_t i = 0; i < len; i++)
            in[i] = (unsigned char)rand();
        for (int wrap = 0; wrap < 2; wrap++) {
            size_t elen = base64_encoded_len(len, wrap);
            char *enc = malloc(elen + 1);
            assert_non_null(enc);
            assert_int_equal(base64_encode(enc, in, len, wrap), elen);
            unsigned char *dec = malloc(base64_decoded_bound(elen));
            assert_non_null(dec);
            assert_int_equal(decode_exact(enc, elen, dec), (ssize_t)len);
            assert_memory_equal(dec, in, len);
            /* In place, as the header allows. */
            assert_int_equal(base64_decode(enc, enc, elen), (ssize_t)len);
            assert_memory_equal(enc, in, len);
            free(dec);
            free(enc);
        }
        free(in);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_all_bytes),
        cmocka_unit_test(test_base64_wrap),
        cmocka_unit_test(test_base64_decode_invalid),
        cmocka_unit_test(test_base64_decode_whitespace),
        cmocka_unit_test(test_base64_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
