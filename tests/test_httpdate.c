/* test_httpdate.c - IMF-fixdate formatting, the three parse forms, bad dates.
 *
 * gmtime_r() is the oracle for the calendar arithmetic: it is not used by
 * the module, so a shared mistake is unlikely. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../http/httpdate.c"

static struct slice
cstr(const char *s)
{
    return slice_make(s, strlen(s));
}

static void
test_httpdate_format_known(void **state)
{
    static const struct {
        long long t;
        const char *s;
    } rows[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 9110's example */
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {951868799, "Tue, 29 Feb 2000 23:59:59 GMT"},
        {978307199, "Sun, 31 Dec 2000 23:59:59 GMT"},
        {1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"},
        {4107542400LL, "Mon, 01 Mar 2100 00:00:00 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {-86400, "Wed, 31 Dec 1969 00:00:00 GMT"},
        {-2208988800LL, "Mon, 01 Jan 1900 00:00:00 GMT"},
        {253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT"}, /* clamped */
        {-62135596800LL, "Mon, 01 Jan 0001 00:00:00 GMT"},
        {-99999999999LL, "Mon, 01 Jan 0001 00:00:00 GMT"}, /* clamped */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[HTTPDATE_LEN + 1];
        memset(out, 'x', sizeof(out));
        assert_int_equal(httpdate_format((time_t)rows[i].t, out), HTTPDATE_LEN);
        assert_string_equal(out, rows[i].s);
    }
}

static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
test_httpdate_round_trip_against_gmtime(void **state)
{
    /* Random times from year 1 to 9999, plus every day boundary near 1970. */
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    (void)state;
    for (int i = 0; i < 200000; i++) {
        long long span = HTTPDATE_MAX - HTTPDATE_MIN + 1;
        long long t = i < 1000 ? (i - 500) * 86400LL + (i % 2)
                               : HTTPDATE_MIN + (long long)(next_rand(&seed) % (uint64_t)span);
        char out[HTTPDATE_LEN + 1], want[64];
        struct tm tm;
        time_t tt = (time_t)t;
        assert_non_null(gmtime_r(&tt, &tm));
        snprintf(want, sizeof(want), "%s, %02d %s %04d %02d:%02d:%02d GMT", wday_names[tm.tm_wday],
                 tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        httpdate_format(tt, out);
        if (strcmp(out, want) != 0)
            fail_msg("t=%lld: got %s, want %s", t, out, want);
        time_t back;
        assert_true(httpdate_parse(cstr(out), &back));
        assert_true((long long)back == t);
    }
}

static void
test_httpdate_parse_three_forms(void **state)
{
    time_t t;
    (void)state;
    assert_true(httpdate_parse(cstr("Sun, 06 Nov 1994 08:49:37 GMT"), &t));
    assert_int_equal((long long)t, 784111777);
    assert_true(httpdate_parse(cstr("Sunday, 06-Nov-94 08:49:37 GMT"), &t));
    assert_int_equal((long long)t, 784111777);
    assert_true(httpdate_parse(cstr("Sun Nov  6 08:49:37 1994"), &t));
    assert_int_equal((long long)t, 784111777);
    assert_true(httpdate_parse(cstr("Sun Nov 06 08:49:37 1994"), &t));
    assert_int_equal((long long)t, 784111777);
    assert_true(httpdate_parse(cstr("Thu Nov 16 08:49:37 1994"), &t));
    assert_int_equal((long long)t, 784111777 + 10 * 86400);
    /* Surrounding whitespace is tolerated; the weekday is not checked
     * against the date. */
    assert_true(httpdate_parse(cstr("  Mon, 06 Nov 1994 08:49:37 GMT \t"), &t));
    assert_int_equal((long long)t, 784111777);
    assert_true(httpdate_parse(cstr("Wednesday, 06-Nov-94 08:49:37 GMT"), &t));
    /* A leap second rolls into the next minute. */
    assert_true(httpdate_parse(cstr("Sat, 31 Dec 2016 23:59:60 GMT"), &t));
    assert_int_equal((long long)t, 1483228800);
}

static void
test_httpdate_parse_not_terminated(void **state)
{
    /* The slice is all that is read: a date inside a longer buffer. */
    const char buf[] = "Sun, 06 Nov 1994 08:49:37 GMTxyz";
    time_t t;
    (void)state;
    assert_true(httpdate_parse(slice_make(buf, HTTPDATE_LEN), &t));
    assert_int_equal((long long)t, 784111777);
    assert_false(httpdate_parse(slice_make(buf, HTTPDATE_LEN - 1), &t));
}

static void
test_httpdate_rfc850_century(void **state)
{
    /* now = 2025-06-01: "75" is 2075 (50 years ahead), "76" is 1976. */
    time_t now = 1748736000, t;
    char want[HTTPDATE_LEN + 1];
    (void)state;
    assert_true(httpdate_parse_at(cstr("Monday, 01-Jan-75 00:00:00 GMT"), now, &t));
    httpdate_format(t, want);
    assert_string_equal(want, "Tue, 01 Jan 2075 00:00:00 GMT");
    assert_true(httpdate_parse_at(cstr("Monday, 01-Jan-76 00:00:00 GMT"), now, &t));
    httpdate_format(t, want);
    assert_string_equal(want, "Thu, 01 Jan 1976 00:00:00 GMT");
    assert_true(httpdate_parse_at(cstr("Monday, 01-Jan-00 00:00:00 GMT"), now, &t));
    httpdate_format(t, want);
    assert_string_equal(want, "Sat, 01 Jan 2000 00:00:00 GMT");
    /* now = 2090: the year with digits "20" within 50 years of now is 2120
     * (30 ahead), not 2020 (70 back). */
    time_t now2090 = 3786912000LL;
    assert_true(httpdate_parse_at(cstr("Monday, 01-Jan-20 00:00:00 GMT"), now2090, &t));
    httpdate_format(t, want);
    assert_string_equal(want, "Mon, 01 Jan 2120 00:00:00 GMT");
}

static void
test_httpdate_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 23:60:00 GMT",
        "Sun, 06 Nov 1994 23:59:61 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Thu, 29 Feb 1900 00:00:00 GMT", /* 1900 is not a leap year */
        "Sun, 30 Feb 2000 00:00:00 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ; length=1234",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:3a GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sundae, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sunday, 31-Apr-94 08:49:37 GMT",
        "Sunday 06-Nov-94 08:49:37 GMT ",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  x 08:49:37 1994",
        "Sun Nov  6 08:49:37 199x",
        "Sun Nov  6 24:49:37 1994",
        "1994-11-06T08:49:37Z",
        "784111777",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        time_t t = 12345;
        if (httpdate_parse(cstr(bad[i]), &t))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal((long long)t, 12345);
    }
    time_t t;
    assert_false(httpdate_parse(slice_make(NULL, 0), &t));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpdate_format_known),
        cmocka_unit_test(test_httpdate_round_trip_against_gmtime),
        cmocka_unit_test(test_httpdate_parse_three_forms),
        cmocka_unit_test(test_httpdate_parse_not_terminated),
        cmocka_unit_test(test_httpdate_rfc850_century),
        cmocka_unit_test(test_httpdate_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
