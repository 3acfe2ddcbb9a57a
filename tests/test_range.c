/* test_range.c - Range header evaluation: every form, clamping, 416 cases,
 * malformed headers (ignored), overflow, several ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../http/range.c"

struct range_row {
    const char *value;
    off_t size;
    enum range_result want;
    off_t start, length; /* for RANGE_SATISFIABLE */
};

#define OK(v, size, start, len)                \
    {                                          \
        v, size, RANGE_SATISFIABLE, start, len \
    }
#define NO(v, size)                        \
    {                                      \
        v, size, RANGE_UNSATISFIABLE, 0, 0 \
    }
#define ALL(v, size)              \
    {                             \
        v, size, RANGE_NONE, 0, 0 \
    }

static const struct range_row rows[] = {
    /* the three forms */
    OK("bytes=0-9", 100, 0, 10),
    OK("bytes=10-19", 100, 10, 10),
    OK("bytes=0-0", 100, 0, 1),
    OK("bytes=99-99", 100, 99, 1),
    OK("bytes=50-", 100, 50, 50),
    OK("bytes=0-", 100, 0, 100),
    OK("bytes=-10", 100, 90, 10),
    OK("bytes=-1", 100, 99, 1),
    /* clamping */
    OK("bytes=90-200", 100, 90, 10),
    OK("bytes=-100", 100, 0, 100),
    OK("bytes=-500", 100, 0, 100),
    OK("bytes=0-99999999999999999999999999", 100, 0, 100), /* last-pos overflow */
    OK("bytes=-99999999999999999999999999", 100, 0, 100),  /* suffix overflow */
    /* unit and spacing */
    OK("Bytes=0-9", 100, 0, 10),
    OK("BYTES=0-9", 100, 0, 10),
    OK("  bytes=0-9  ", 100, 0, 10),
    OK("bytes= 0-9", 100, 0, 10),
    OK("bytes=0-9 ,", 100, 0, 10),
    OK("bytes=,,0-9,,", 100, 0, 10),
    /* unsatisfiable */
    NO("bytes=100-", 100),
    NO("bytes=100-200", 100),
    NO("bytes=1000-2000", 100),
    NO("bytes=-0", 100),
    NO("bytes=99999999999999999999999999-", 100), /* first-pos overflow */
    NO("bytes=100-, 200-300, -0", 100),
    /* several ranges: merged when they make one span, else the whole file */
    OK("bytes=0-9,10-19", 100, 0, 20),
    OK("bytes=10-19,0-9", 100, 0, 20),
    OK("bytes=0-50,20-30", 100, 0, 51),
    OK("bytes=0-9, 5-", 100, 0, 100),
    OK("bytes=200-300, 0-9", 100, 0, 10), /* the unsatisfiable one is dropped */
    OK("bytes=-0, 0-9", 100, 0, 10),
    ALL("bytes=0-9,20-29", 100),
    ALL("bytes=0-0,-1", 100),
    ALL("bytes=0-1,3-4,6-7", 100),
    /* malformed: the header is ignored */
    ALL("", 100),
    ALL("bytes", 100),
    ALL("bytes=", 100),
    ALL("bytes=,", 100),
    ALL("bytes=-", 100),
    ALL("bytes=a-b", 100),
    ALL("bytes=1-a", 100),
    ALL("bytes=--5", 100),
    ALL("bytes=5", 100),
    ALL("bytes=5-4", 100),     /* last < first */
    ALL("bytes=0-9,5-4", 100), /* one invalid spec spoils the set */
    ALL("bytes=0 -9", 100),
    ALL("bytes=0- 9", 100),
    ALL("bytes=+0-9", 100),
    ALL("bytes=0x10-20", 100),
    ALL("bytes=-5-", 100),
    ALL("bytes=1-2-3", 100),
    ALL("bytes 0-9", 100),
    ALL("bytes:0-9", 100),
    ALL("items=0-9", 100),
    ALL("bytesx=0-9", 100),
    ALL("=0-9", 100),
    /* a zero-length representation ignores Range */
    ALL("bytes=0-", 0),
    ALL("bytes=-5", 0),
    ALL("bytes=0-0", 0),
};

static void
test_range_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct range_row *r = &rows[i];
        struct byte_range out = {-1, -1};
        enum range_result got = range_parse(slice_make(r->value, strlen(r->value)), r->size, &out);
        if (got != r->want)
            fail_msg("\"%s\" size %lld: got %d, want %d", r->value, (long long)r->size, got,
                     r->want);
        if (got == RANGE_SATISFIABLE && (out.start != r->start || out.length != r->length))
            fail_msg("\"%s\": got %lld+%lld, want %lld+%lld", r->value, (long long)out.start,
                     (long long)out.length, (long long)r->start, (long long)r->length);
        if (got != RANGE_SATISFIABLE)
            assert_true(out.start == -1 && out.length == -1);
    }
}

static void
test_range_huge_sizes(void **state)
{
    struct byte_range out;
    const char *v = "bytes=9223372036854775806-";
    (void)state;
    off_t max = (off_t)INT64_MAX;
    assert_int_equal(range_parse(slice_make(v, strlen(v)), max, &out), RANGE_SATISFIABLE);
    assert_true(out.start == max - 1 && out.length == 1);
    v = "bytes=-9223372036854775807";
    assert_int_equal(range_parse(slice_make(v, strlen(v)), max, &out), RANGE_SATISFIABLE);
    assert_true(out.start == 0 && out.length == max);
    v = "bytes=0-";
    assert_int_equal(range_parse(slice_make(v, strlen(v)), max, &out), RANGE_SATISFIABLE);
    assert_true(out.start == 0 && out.length == max);
}

static void
test_range_too_many_specs(void **state)
{
    char buf[1024] = "bytes=";
    struct byte_range out;
    (void)state;
    /* RANGE_MAX_SPECS touching spans merge into one; one more is abuse. */
    for (int i = 0; i < RANGE_MAX_SPECS; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%d-%d", i ? "," : "", i * 10,
                 i * 10 + 9);
    assert_int_equal(range_parse(slice_make(buf, strlen(buf)), 1000, &out), RANGE_SATISFIABLE);
    assert_true(out.start == 0 && out.length == RANGE_MAX_SPECS * 10);
    strcat(buf, ",500-509");
    assert_int_equal(range_parse(slice_make(buf, strlen(buf)), 1000, &out), RANGE_NONE);
    /* Empty elements do not count toward the limit. */
    char empties[256] = "bytes=";
    for (int i = 0; i < 40; i++)
        strcat(empties, ",");
    strcat(empties, "0-9");
    assert_int_equal(range_parse(slice_make(empties, strlen(empties)), 100, &out),
                     RANGE_SATISFIABLE);
}

static void
test_range_not_terminated(void **state)
{
    /* Only the slice is read: "bytes=0-9" followed by more digits. */
    const char buf[] = "bytes=0-99999";
    struct byte_range out;
    (void)state;
    assert_int_equal(range_parse(slice_make(buf, 9), 100, &out), RANGE_SATISFIABLE);
    assert_true(out.start == 0 && out.length == 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_table),
        cmocka_unit_test(test_range_huge_sizes),
        cmocka_unit_test(test_range_too_many_specs),
        cmocka_unit_test(test_range_not_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
