/* test_crc32.c - CRC-32: published check values, chaining, slicing vs bytewise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../http/crc32.c"

/* Bit at a time, straight from the definition (RFC 1952 section 8 does the
 * same a byte at a time): the oracle for the sliced tables. */
static uint32_t
ref_crc32(const uint8_t *p, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static uint32_t
xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void
test_crc32_check_values(void **state)
{
    static const struct {
        const char *in;
        uint32_t crc;
    } rows[] = {
        {"", 0x00000000u},
        {"a", 0xE8B7BE43u},
        {"abc", 0x352441C2u},
        {"123456789", 0xCBF43926u}, /* the catalogued check value */
        {"The quick brown fox jumps over the lazy dog", 0x414FA339u},
        {"message digest", 0x20159D7Fu},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(crc32_update(0, rows[i].in, strlen(rows[i].in)), rows[i].crc);
        assert_int_equal(ref_crc32((const uint8_t *)rows[i].in, strlen(rows[i].in)), rows[i].crc);
    }
}

static void
test_crc32_empty_keeps_value(void **state)
{
    (void)state;
    assert_int_equal(crc32_update(0, NULL, 0), 0);
    assert_int_equal(crc32_update(0xCBF43926u, NULL, 0), 0xCBF43926u);
    assert_int_equal(crc32_update(0xCBF43926u, "x", 0), 0xCBF43926u);
}

static void
test_crc32_known_blocks(void **state)
{
    uint8_t buf[64];
    (void)state;
    /* 32 zeros, 32 ones, 0..31: values cross-checked with python3 zlib.crc32. */
    memset(buf, 0, 32);
    assert_int_equal(crc32_update(0, buf, 32), 0x190A55ADu);
    memset(buf, 0xFF, 32);
    assert_int_equal(crc32_update(0, buf, 32), 0xFF6CAB0Bu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(crc32_update(0, buf, 32), 0x91267E8Au);
}

static void
test_crc32_chaining(void **state)
{
    enum { N = 4096 };
    uint8_t *buf = malloc(N);
    uint32_t seed = 12345;
    (void)state;
    assert_non_null(buf);
    for (size_t i = 0; i < N; i++)
        buf[i] = (uint8_t)xorshift32(&seed);
    uint32_t whole = crc32_update(0, buf, N);
    assert_int_equal(whole, ref_crc32(buf, N));
    for (size_t cut = 0; cut <= N; cut += 97) {
        uint32_t c = crc32_update(crc32_update(0, buf, cut), buf + cut, N - cut);
        assert_int_equal(c, whole);
    }
    /* Many small pieces, including empty ones. */
    uint32_t c = 0;
    for (size_t off = 0; off < N;) {
        size_t len = xorshift32(&seed) % 20;
        if (len > N - off)
            len = N - off;
        c = crc32_update(c, buf + off, len);
        off += len;
    }
    assert_int_equal(c, whole);
    free(buf);
}

static void
test_crc32_slicing_matches_bytewise(void **state)
{
    enum { N = 1024 };
    uint8_t *buf = malloc(N + 8);
    uint32_t seed = 777;
    (void)state;
    assert_non_null(buf);
    for (size_t i = 0; i < N + 8; i++)
        buf[i] = (uint8_t)xorshift32(&seed);
    for (int round = 0; round < 2000; round++) {
        size_t align = xorshift32(&seed) % 8;
        size_t len = round < 64 ? (size_t)round : xorshift32(&seed) % (N + 1);
        assert_int_equal(crc32_update(0, buf + align, len), ref_crc32(buf + align, len));
    }
    free(buf);
}

static void *
crc32_thread(void *arg)
{
    const uint8_t *buf = arg;
    uintptr_t ok = crc32_update(0, buf, 1000) == ref_crc32(buf, 1000);
    return (void *)ok;
}

static void
test_crc32_first_use_from_threads(void **state)
{
    /* Built with -fsanitize=thread, this shows the lazy tables are safe. */
    uint8_t buf[1000];
    pthread_t t[4];
    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, crc32_thread, buf), 0);
    for (int i = 0; i < 4; i++) {
        void *ok;
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_true(ok != NULL);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_first_use_from_threads),
        cmocka_unit_test(test_crc32_check_values),
        cmocka_unit_test(test_crc32_empty_keeps_value),
        cmocka_unit_test(test_crc32_known_blocks),
        cmocka_unit_test(test_crc32_chaining),
        cmocka_unit_test(test_crc32_slicing_matches_bytewise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
