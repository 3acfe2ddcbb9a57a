/* httpdate.c - HTTP-date formatting and parsing; see httpdate.h.
 *
 * Calendar arithmetic counts days from 0001-01-01 (day 0) in the proleptic
 * Gregorian calendar, whose leap rule repeats every 400 years (146097 days);
 * a 400-year cycle holds four 100-year blocks of 36524 days (the last one
 * a day longer), each holding 4-year blocks of 1461 days (again the last
 * one shorter or longer by a day at century boundaries). Splitting a day
 * count into those blocks gives the year without a loop; the reverse is a
 * closed formula. Unix time 0 is day 719162.
 *
 * Parsing is by fixed positions: each of the three forms has fields at known
 * offsets (rfc850 after its variable-length day name), so a wrong length or
 * a character out of place rejects the date. Every rejected date makes the
 * caller ignore the header (RFC 9110 13.1.3: an invalid If-Modified-Since is
 * ignored), never fail the request. */
#include "httpdate.h"

#include <string.h>

#define DAYS_TO_EPOCH   719162LL /* 0001-01-01 to 1970-01-01 */
#define DAYS_PER_400Y   146097LL
#define DAYS_PER_100Y   36524LL
#define DAYS_PER_4Y     1461LL
#define SECONDS_PER_DAY 86400LL

/* The first and last second with a four-digit year: 0001-01-01T00:00:00Z
 * and 9999-12-31T23:59:59Z. */
#define HTTPDATE_MIN (-62135596800LL)
#define HTTPDATE_MAX 253402300799LL

static const char wday_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wday_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
/* Days before the first of each month in a common year. */
static const int month_start[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static bool
is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(long long y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 1 && is_leap(y) ? 29 : len[m];
}

/* Days from 1970-01-01 to y-m-d; m is 0..11, d is 1..31, y >= 1. */
static long long
days_from_date(long long y, int m, int d)
{
    long long prev = y - 1; /* whole years before y */
    long long days = prev * 365 + prev / 4 - prev / 100 + prev / 400;
    days += month_start[m] + (m > 1 && is_leap(y)) + (d - 1);
    return days - DAYS_TO_EPOCH;
}

/* The inverse: splits days since 1970-01-01 into year, month 0..11, day 1..31. */
static void
date_from_days(long long days, long long *y, int *m, int *d)
{
    long long z = days + DAYS_TO_EPOCH; /* >= 0 for every clamped input */
    long long n400 = z / DAYS_PER_400Y;
    z %= DAYS_PER_400Y;
    long long n100 = z / DAYS_PER_100Y;
    if (n100 == 4) /* the 400th year's 31 December */
        n100 = 3;
    z -= n100 * DAYS_PER_100Y;
    long long n4 = z / DAYS_PER_4Y;
    z %= DAYS_PER_4Y;
    long long n1 = z / 365;
    if (n1 == 4) /* a leap year's 31 December */
        n1 = 3;
    z -= n1 * 365;
    *y = 400 * n400 + 100 * n100 + 4 * n4 + n1 + 1;
    int month = 11;
    while (month > 0 && z < month_start[month] + (month > 1 && is_leap(*y)))
        month--;
    *m = month;
    *d = (int)(z - month_start[month] - (month > 1 && is_leap(*y))) + 1;
}

static void
put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

size_t
httpdate_format(time_t t, char *out)
{
    long long secs = (long long)t;
    if (secs < HTTPDATE_MIN)
        secs = HTTPDATE_MIN;
    if (secs > HTTPDATE_MAX)
        secs = HTTPDATE_MAX;
    /* Floor division, so times before 1970 land on the right day. */
    long long days = secs / SECONDS_PER_DAY;
    long long rem = secs % SECONDS_PER_DAY;
    if (rem < 0) {
        rem += SECONDS_PER_DAY;
        days--;
    }
    long long y;
    int m, d;
    date_from_days(days, &y, &m, &d);
    int wday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */

    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(out, wday_names[wday], 3);
    memcpy(out + 3, ", ", 2);
    put2(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, month_names[m], 3);
    out[11] = ' ';
    put2(out + 12, (int)(y / 100));
    put2(out + 14, (int)(y % 100));
    out[16] = ' ';
    put2(out + 17, (int)(rem / 3600));
    out[19] = ':';
    put2(out + 20, (int)(rem / 60 % 60));
    out[22] = ':';
    put2(out + 23, (int)(rem % 60));
    memcpy(out + 25, " GMT", 5); /* with the NUL */
    return HTTPDATE_LEN;
}

/* Reads n decimal digits at p into *v; false if any is not a digit. */
static bool
get_digits(const char *p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

static int
find_month(const char *p)
{
    for (int m = 0; m < 12; m++)
        if (memcmp(p, month_names[m], 3) == 0)
            return m;
    return -1;
}

static bool
is_short_wday(const char *p)
{
    for (int i = 0; i < 7; i++)
        if (memcmp(p, wday_names[i], 3) == 0)
            return true;
    return false;
}

/* The calendar fields of a date being parsed; month is 0..11. */
struct httpdate_fields {
    int year, month, day, hour, min, sec;
};

/* "HH:MM:SS" at p; a leap second (60) is allowed and rolls over. */
static bool
get_time(const char *p, struct httpdate_fields *f)
{
    return get_digits(p, 2, &f->hour) && p[2] == ':' && get_digits(p + 3, 2, &f->min) &&
           p[5] == ':' && get_digits(p + 6, 2, &f->sec) && f->hour <= 23 && f->min <= 59 &&
           f->sec <= 60;
}

static bool
fields_to_time(const struct httpdate_fields *f, time_t *t)
{
    if (f->year < 1 || f->month < 0 || f->day < 1 || f->day > days_in_month(f->year, f->month))
        return false;
    long long days = days_from_date(f->year, f->month, f->day);
    *t = (time_t)(days * SECONDS_PER_DAY + f->hour * 3600LL + f->min * 60LL + f->sec);
    return true;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool
parse_imf(const char *p, struct httpdate_fields *f)
{
    return is_short_wday(p) && memcmp(p + 3, ", ", 2) == 0 && get_digits(p + 5, 2, &f->day) &&
           p[7] == ' ' && (f->month = find_month(p + 8)) >= 0 && p[11] == ' ' &&
           get_digits(p + 12, 4, &f->year) && p[16] == ' ' && get_time(p + 17, f) &&
           memcmp(p + 25, " GMT", 4) == 0;
}

/* "Sun Nov  6 08:49:37 1994" (the day is "SP DIGIT" or two digits) */
static bool
parse_asctime(const char *p, struct httpdate_fields *f)
{
    if (!is_short_wday(p) || p[3] != ' ' || (f->month = find_month(p + 4)) < 0 || p[7] != ' ')
        return false;
    if (p[8] == ' ') {
        if (!get_digits(p + 9, 1, &f->day))
            return false;
    } else if (!get_digits(p + 8, 2, &f->day)) {
        return false;
    }
    return p[10] == ' ' && get_time(p + 11, f) && p[19] == ' ' && get_digits(p + 20, 4, &f->year);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT"; now_year resolves the century. */
static bool
parse_rfc850(const char *p, size_t len, int now_year, struct httpdate_fields *f)
{
    const char *comma = memchr(p, ',', len);
    if (comma == NULL)
        return false;
    size_t name_len = (size_t)(comma - p);
    bool named = false;
    for (int i = 0; i < 7 && !named; i++)
        named = strlen(wday_long[i]) == name_len && memcmp(p, wday_long[i], name_len) == 0;
    /* ", 06-Nov-94 08:49:37 GMT" is 24 bytes. */
    const char *q = comma;
    if (!named || len - name_len != 24)
        return false;
    int yy = 0;
    if (!(q[1] == ' ' && get_digits(q + 2, 2, &f->day) && q[4] == '-' &&
          (f->month = find_month(q + 5)) >= 0 && q[8] == '-' && get_digits(q + 9, 2, &yy) &&
          q[11] == ' ' && get_time(q + 12, f) && memcmp(q + 20, " GMT", 4) == 0))
        return false;
    /* RFC 9110 5.6.7: a year that seems more than 50 years ahead is in the
     * past century; take the one within 50 years either side of now. */
    int year = now_year - now_year % 100 + yy;
    if (year > now_year + 50)
        year -= 100;
    else if (year <= now_year - 50)
        year += 100;
    f->year = year;
    return true;
}

/* httpdate_parse with the current time supplied (for the rfc850 century). */
static bool
httpdate_parse_at(struct slice s, time_t now, time_t *t)
{
    struct httpdate_fields f = {0};
    s = slice_trim(s);
    const char *p = s.ptr;
    bool ok;
    if (s.len == HTTPDATE_LEN && p[3] == ',') {
        ok = parse_imf(p, &f);
    } else if (s.len == 24 && p[3] == ' ') {
        ok = parse_asctime(p, &f);
    } else if (s.len > 24) {
        long long days = (long long)now / SECONDS_PER_DAY;
        long long y;
        int m, d;
        date_from_days(days < 0 ? 0 : days, &y, &m, &d);
        ok = parse_rfc850(p, s.len, (int)y, &f);
    } else {
        ok = false;
    }
    return ok && fields_to_time(&f, t);
}

bool
httpdate_parse(struct slice s, time_t *t)
{
    return httpdate_parse_at(s, time(NULL), t);
}
