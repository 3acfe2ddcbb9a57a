/* test_multipart.c - multipart/form-data: bodies as curl and browsers send
 * them, parameters, and malformed bodies, all over exact-size buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/multipart.c"

#include <stdlib.h>
#include <string.h>

#define B "------------------------d74496d66958873e"

/* As `curl -F to=sam@example.org -F subject=Hi -F attachment=@a.bin` sends it. */
static const char curl_body[] =
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"to\"\r\n"
    "\r\n"
    "sam@example.org\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"subject\"\r\n"
    "\r\n"
    "Hi\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"attachment\"; filename=\"a.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "\x00\x01\r\n--not-the-boundary\r\n\x02\r\n"
    "--" B "--\r\n";

struct parsed {
    char *copy;
    struct multipart_part parts[8];
    int n, rc;
};

/* Parses an exact-size copy of body (no NUL): ASan sees any over-read. */
static void
parse(struct parsed *out, const char *content_type, const char *body, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->copy = malloc(len ? len : 1);
    assert_non_null(out->copy);
    memcpy(out->copy, body, len);
    struct slice boundary;
    out->rc = multipart_boundary(slice_make(content_type, strlen(content_type)), &boundary);
    if (out->rc < 0)
        return;
    struct multipart_reader r;
    multipart_init(&r, boundary, out->copy, len);
    while ((out->rc = multipart_next(&r, &out->parts[out->n])) == 1)
        if (++out->n == 8)
            break;
    /* Once finished, it stays finished. */
    struct multipart_part extra;
    assert_int_equal(multipart_next(&r, &extra), out->rc);
}

static void
assert_slice(struct slice s, const char *want, size_t len)
{
    assert_int_equal(s.len, len);
    assert_memory_equal(s.ptr, want, len);
}

#define assert_slice_str(s, want) assert_slice((s), (want), strlen(want))

static void
test_multipart_curl(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "multipart/form-data; boundary=" B, curl_body, sizeof(curl_body) - 1);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 3);
    assert_slice_str(p.parts[0].name, "to");
    assert_slice_str(p.parts[0].data, "sam@example.org");
    assert_false(p.parts[0].is_file);
    assert_int_equal(p.parts[0].content_type.len, 0);
    assert_slice_str(p.parts[1].name, "subject");
    assert_slice_str(p.parts[1].data, "Hi");
    assert_true(p.parts[2].is_file);
    assert_slice_str(p.parts[2].filename, "a.bin");
    assert_slice_str(p.parts[2].content_type, "application/octet-stream");
    static const char data[] = "\x00\x01\r\n--not-the-boundary\r\n\x02";
    assert_slice(p.parts[2].data, data, sizeof(data) - 1);
    free(p.copy);
}

static void
test_multipart_browser(void **state)
{
    (void)state;
    /* Quoted boundary, preamble, an empty file input, epilogue, odd case. */
    static const char body[] = "preamble to ignore\r\n"
                               "--x\r\n"
                               "content-disposition: Form-Data; Name=\"text\"\r\n"
                               "\r\n"
                               "line 1\r\nline 2\r\n"
                               "--x  \r\n"
                               "Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
                               "Content-Type: application/octet-stream\r\n"
                               "\r\n"
                               "\r\n"
                               "--x\r\n"
                               "Content-Disposition: form-data; name=\"f\"; "
                               "filename=\"C:\\\\dir\\\\a \\\"q\\\".txt\"; "
                               "filename*=UTF-8''%E2%82%AC.txt\r\n"
                               "\r\n"
                               "data\r\n"
                               "--x--\r\n"
                               "epilogue\r\n";
    struct parsed p;
    parse(&p, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"x\"", body, sizeof(body) - 1);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 3);
    assert_slice_str(p.parts[0].name, "text");
    assert_slice_str(p.parts[0].data, "line 1\r\nline 2");
    assert_true(p.parts[1].is_file);
    assert_int_equal(p.parts[1].filename.len, 0);
    assert_int_equal(p.parts[1].data.len, 0);
    assert_slice_str(p.parts[2].filename_ext, "UTF-8''%E2%82%AC.txt");
    char name[64];
    size_t n = multipart_unquote(name, p.parts[2].filename);
    assert_int_equal(n, strlen("C:\\dir\\a \"q\".txt"));
    assert_memory_equal(name, "C:\\dir\\a \"q\".txt", n);
    free(p.copy);
}

static void
test_multipart_boundary(void **state)
{
    (void)state;
    struct slice b;
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data; boundary=abc"), &b), 0);
    assert_slice_str(b, "abc");
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data;boundary=\"a b:c\""), &b),
                     0);
    assert_slice_str(b, "a b:c");
    char ct[128] = "multipart/form-data; boundary=";
    memset(ct + strlen(ct), 'b', 70);
    assert_int_equal(multipart_boundary(slice_make(ct, strlen(ct)), &b), 0);
    strcat(ct, "b");
    assert_int_equal(multipart_boundary(slice_make(ct, strlen(ct)), &b), -1); /* 71 */
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data"), &b), -1);
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data; boundary="), &b), -1);
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data; boundary=\"\""), &b), -1);
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data; boundary=\"a \""), &b), -1);
    assert_int_equal(multipart_boundary(SLICE_LIT("multipart/form-data; boundary=\"a\r\n\""), &b),
                     -1);
    assert_int_equal(
        multipart_boundary(SLICE_LIT("multipart/form-data; boundary=\"unterminated"), &b), -1);
}

static void
test_multipart_params(void **state)
{
    (void)state;
    struct slice v;
    struct slice hv = SLICE_LIT("form-data; name=\"a;b\"; x = y ;filename=\"q\\\"\"");
    assert_int_equal(multipart_param(hv, "name", &v), 1);
    assert_slice_str(v, "a;b");
    assert_int_equal(multipart_param(hv, "X", &v), 1);
    assert_slice_str(v, "y");
    assert_int_equal(multipart_param(hv, "filename", &v), 1);
    assert_slice_str(v, "q\\\"");
    assert_int_equal(multipart_param(hv, "missing", &v), 0);
    assert_int_equal(multipart_param(SLICE_LIT("text/plain"), "charset", &v), 0);
    assert_int_equal(multipart_param(SLICE_LIT("text/plain;"), "charset", &v), 0);
    assert_int_equal(multipart_param(SLICE_LIT("text/plain; charset"), "charset", &v), -1);
    assert_int_equal(multipart_param(SLICE_LIT("text/plain; =x"), "charset", &v), -1);
    assert_int_equal(multipart_param(SLICE_LIT("text/plain; a=b c"), "a", &v), -1);
    assert_slice_str(multipart_type(SLICE_LIT("  Text/Plain ; charset=x")), "Text/Plain");
}

static void
test_multipart_check_type(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want;
    } rows[] = {
        {"text/plain", 0},
        {"Image/JPEG", 0},
        {"application/vnd.oasis.opendocument.text", 0},
        {"text/plain; charset=utf-8", 0},
        {"text/plain;charset=\"utf-8\"", 0},
        {"application/x-a ; name = \"a;b \\\"c\\\"\" ; x=y", 0},
        {"text/ plain", -1},
        {"text /plain", -1},
        {"text/plain x", -1},
        {"text", -1},
        {"/plain", -1},
        {"text/", -1},
        {"text/plain/x", -1},
        {"te(x)t/plain", -1},
        {"text/pl@in", -1},
        {"text/plain;", -1},
        {"text/plain; ; a=b", -1},
        {"text/plain; charset", -1},
        {"text/plain; charset=", -1},
        {"text/plain; =utf-8", -1},
        {"text/plain; name=\"a.txt", -1},
        {"text/plain; name=\"a.txt\\\"", -1},
        {"text/plain; name=a b", -1},
        {"text/plain; name=a/b", -1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (multipart_check_type(slice_make(rows[i].in, strlen(rows[i].in))) != rows[i].want)
            fail_msg("%s: want %d", rows[i].in, rows[i].want);
}

static void
test_multipart_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *body, *note;
    } bad[] = {
        {"", "empty body"},
        {"no delimiter at all", "no delimiter"},
        {"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", "no closing delimiter"},
        {"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--x",
         "delimiter cut short"},
        {"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--", "no Content-Disposition"},
        {"--x\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--x--", "not form-data"},
        {"--x\r\nContent-Disposition form-data\r\n\r\nv\r\n--x--", "header without colon"},
        {"--x\nContent-Disposition: form-data; name=\"a\"\n\nv\n--x--", "bare LF"},
        {"--x\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--x--", "open quote"},
        {"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\ndg==\r\n--x--",
         "encoded part"},
        {"--xy\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--x--", "other boundary"},
        {"--x\r\nContent-Disposition: form-data; name=\"a\"", "headers cut short"},
        {"--x junk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--x--",
         "junk after delimiter"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct parsed p;
        parse(&p, "multipart/form-data; boundary=x", bad[i].body, strlen(bad[i].body));
        if (p.rc != -1)
            fail_msg("%s: got %d", bad[i].note, p.rc);
        free(p.copy);
    }
}

static void
test_multipart_empty_form(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "multipart/form-data; boundary=x", "--x--\r\n", 7);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 0);
    free(p.copy);
}

static void
test_multipart_prefixes(void **state)
{
    (void)state;
    /* Every proper prefix of a body (that stops before the closing "--") fails
     * cleanly; none reads past its end. */
    size_t len = sizeof(curl_body) - 1;
    size_t close = len - 4; /* at "--\r\n" after the last boundary */
    for (size_t n = 0; n < close; n++) {
        struct parsed p;
        parse(&p, "multipart/form-data; boundary=" B, curl_body, n);
        if (p.rc != -1)
            fail_msg("prefix of %zu bytes: got %d", n, p.rc);
        free(p.copy);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_curl),      cmocka_unit_test(test_multipart_browser),
        cmocka_unit_test(test_multipart_boundary),  cmocka_unit_test(test_multipart_params),
        cmocka_unit_test(test_multipart_malformed), cmocka_unit_test(test_multipart_empty_form),
        cmocka_unit_test(test_multipart_prefixes),  cmocka_unit_test(test_multipart_check_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
