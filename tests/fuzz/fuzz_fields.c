/* fuzz_fields.c - libFuzzer target for the header-field and form parsers.
 *
 * Every input goes through each parser that takes client bytes after the
 * request head: Range, Accept-Encoding, HTTP-date (If-Modified-Since,
 * If-Range) and urlencoded forms. Besides "does not crash", it checks:
 *   - a satisfiable range lies inside the representation;
 *   - a date that parses formats to an IMF-fixdate that parses to the same
 *     second;
 *   - Accept-Encoding selects gzip only if it names gzip or "*", and always
 *     once an element ", gzip" follows (unless a quote swallows it);
 *   - form pairs lie inside the input, the walk always advances, and decoding
 *     never grows a field. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/encoding.c"
#include "../../http/form.c"
#include "../../http/httpdate.c"
#include "../../http/parse.c"
#include "../../http/pct.c"
#include "../../http/range.c"

/* Representation sizes the range is evaluated against: empty, tiny, typical,
 * and one where positions saturate. */
static const off_t sizes[] = {0, 1, 100, 1 << 20, INT64_MAX};

static void
check_range(struct slice v)
{
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct byte_range r = {-1, -1};
        enum range_result res = range_parse(v, sizes[i], &r);
        if (res == RANGE_SATISFIABLE) {
            assert(r.start >= 0 && r.length > 0);
            assert(r.start < sizes[i] && r.length <= sizes[i] - r.start);
        } else {
            assert(r.start == -1 && r.length == -1); /* untouched */
            assert(sizes[i] > 0 || res == RANGE_NONE);
        }
    }
}

static void
check_date(struct slice v)
{
    time_t t = 12345, back = 0;
    if (!httpdate_parse(v, &t)) {
        assert(t == 12345); /* untouched on failure */
        return;
    }
    char buf[HTTPDATE_LEN + 1];
    assert(httpdate_format(t, buf) == HTTPDATE_LEN && strlen(buf) == HTTPDATE_LEN);
    assert(httpdate_parse(slice_make(buf, HTTPDATE_LEN), &back));
    assert(back == t);
}

static void
check_accept(struct slice v)
{
    bool named = false, quote = false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        named |= c == 'g' || c == 'G' || c == '*';
        quote |= c == '"';
    }
    if (!named)
        assert(!http_accepts_gzip(v));
    if (!quote) {
        char *more = malloc(v.len + 6);
        memcpy(more, v.ptr, v.len);
        memcpy(more + v.len, ", gzip", 6);
        assert(http_accepts_gzip(slice_make(more, v.len + 6)));
        free(more);
    }
}

static void
check_form(struct slice body)
{
    struct slice rest = body, name, value;
    char *out = malloc(body.len ? body.len : 1);
    while (form_next(&rest, &name, &value)) {
        assert(name.ptr >= body.ptr && name.ptr + name.len <= body.ptr + body.len);
        assert(value.ptr >= body.ptr && value.ptr + value.len <= body.ptr + body.len);
        assert(rest.ptr + rest.len == body.ptr + body.len && rest.ptr > name.ptr);
        ssize_t n = form_decode(out, name);
        assert(n >= -1 && n <= (ssize_t)name.len);
        n = form_decode(out, value);
        assert(n >= -1 && n <= (ssize_t)value.len);
    }
    assert(rest.len == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct slice v = slice_make(buf, size);
    check_range(v);
    check_date(v);
    check_accept(v);
    check_form(v);
    free(buf);
    return 0;
}
