/* test_json.c - the JSON parser: tables of valid and invalid documents, string
 * decoding, limits, prefixes, and the string writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/json.c"

#include <stdlib.h>
#include <string.h>

/* Parses an exact-size copy (no NUL) so ASan sees any over-read. */
static int
parse(struct json_doc *doc, const char *in, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    char err[128];
    int r = json_parse(doc, copy, len, err, sizeof(err));
    if (r == -1)
        assert_non_null(strstr(err, "JSON error at byte"));
    free(copy); /* the tree must not point into the input */
    return r;
}

static const struct {
    const char *in;
    int ret;
    const char *note;
} cases[] = {
    {"{}", 0, "empty object"},
    {"[]", 0, "empty array"},
    {" \t\r\n{ } \n", 0, "white space around"},
    {"\"a\"", 0, "top-level string"},
    {"0", 0, "zero"},
    {"-0.5e+10", 0, "full number"},
    {"1E-2", 0, "capital exponent"},
    {"true", 0, "true"},
    {"null", 0, "null"},
    {"{\"a\":[1,2,{\"b\":null}],\"c\":false}", 0, "nested"},
    {"[\"\\u00e9\", \"\\ud83d\\ude00\"]", 0, "escapes"},
    {"", -1, "empty input"},
    {" ", -1, "only white space"},
    {"{", -1, "unterminated object"},
    {"[1", -1, "unterminated array"},
    {"{\"a\"}", -1, "member without value"},
    {"{\"a\":1,}", -1, "trailing comma in object"},
    {"[1,]", -1, "trailing comma in array"},
    {"[,1]", -1, "leading comma"},
    {"{a:1}", -1, "unquoted name"},
    {"{1:1}", -1, "number as name"},
    {"{\"a\" 1}", -1, "missing colon"},
    {"[1 2]", -1, "missing comma"},
    {"01", -1, "leading zero"},
    {"1.", -1, "no fraction digits"},
    {".5", -1, "no integer part"},
    {"-", -1, "lone minus"},
    {"1e", -1, "no exponent digits"},
    {"+1", -1, "plus sign"},
    {"0x10", -1, "hex"},
    {"NaN", -1, "NaN"},
    {"nul", -1, "truncated null"},
    {"tru", -1, "truncated true"},
    {"True", -1, "capital True"},
    {"'a'", -1, "single quotes"},
    {"\"abc", -1, "unterminated string"},
    {"\"\\x\"", -1, "bad escape"},
    {"\"\\u12\"", -1, "short \\u"},
    {"\"\\u12g4\"", -1, "non-hex \\u"},
    {"\"\\ud800\"", -1, "lone high surrogate"},
    {"\"\\udc00\"", -1, "lone low surrogate"},
    {"\"\\ud800\\u0041\"", -1, "high surrogate then non-surrogate"},
    {"\"a\nb\"", -1, "raw newline in string"},
    {"\"a\x01\"", -1, "raw control character"},
    {"\"\xff\"", -1, "invalid UTF-8"},
    {"\"\xc0\xaf\"", -1, "overlong UTF-8"},
    {"\"\xed\xa0\x80\"", -1, "UTF-8 surrogate"},
    {"\"\xe2\x82\"", -1, "truncated UTF-8"},
    {"[1] x", -1, "trailing garbage"},
    {"{} {}", -1, "two documents"},
    {"\"\\", -1, "backslash at the end"},
};

static void
test_json_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_doc doc;
        int r = parse(&doc, cases[i].in, strlen(cases[i].in));
        if (r != cases[i].ret)
            fail_msg("%s: got %d, want %d", cases[i].note, r, cases[i].ret);
        if (r == 0)
            assert_non_null(doc.root);
        json_free(&doc);
    }
}

static void
test_json_tree(void **state)
{
    (void)state;
    const char *in = "{\"to\": [\"a@x\", \"b@x\"], \"n\": -12.5e3, \"t\": true, \"z\": null,"
                     " \"o\": {}}";
    struct json_doc doc;
    assert_int_equal(parse(&doc, in, strlen(in)), 0);
    const struct json_value *root = doc.root;
    assert_int_equal(root->type, JSON_OBJECT);
    assert_int_equal(root->n, 5);
    const struct json_value *to = json_get(root, "to");
    assert_non_null(to);
    assert_int_equal(to->type, JSON_ARRAY);
    assert_int_equal(to->n, 2);
    assert_string_equal(to->child->str.ptr, "a@x");
    assert_string_equal(to->child->next->str.ptr, "b@x");
    assert_null(to->child->next->next);
    const struct json_value *n = json_get(root, "n");
    assert_int_equal(n->type, JSON_NUMBER);
    assert_string_equal(n->str.ptr, "-12.5e3");
    assert_int_equal(json_get(root, "t")->type, JSON_TRUE);
    assert_int_equal(json_get(root, "z")->type, JSON_NULL);
    assert_int_equal(json_get(root, "o")->n, 0);
    assert_null(json_get(root, "missing"));
    assert_null(json_get(to, "to"));
    json_free(&doc);
    json_free(&doc); /* twice is fine */
}

static void
check_string(const char *in, const char *want, size_t want_len)
{
    struct json_doc doc;
    assert_int_equal(parse(&doc, in, strlen(in)), 0);
    assert_int_equal(doc.root->type, JSON_STRING);
    assert_int_equal(doc.root->str.len, want_len);
    assert_memory_equal(doc.root->str.ptr, want, want_len);
    assert_int_equal(doc.root->str.ptr[want_len], '\0');
    json_free(&doc);
}

static void
test_json_strings(void **state)
{
    (void)state;
    check_string("\"\"", "", 0);
    check_string("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    check_string("\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac", 6);
    check_string("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4); /* U+1F600 */
    check_string("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4); /* U+10FFFF */
    check_string("\"a\\u0000b\"", "a\0b", 3);
    check_string("\"Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80\"",
                 "Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80", 13);
}

static void
test_json_depth(void **state)
{
    (void)state;
    char in[2 * JSON_MAX_DEPTH + 8];
    struct json_doc doc;
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(in, '[', (size_t)depth);
        memset(in + depth, ']', (size_t)depth);
        int r = parse(&doc, in, 2 * (size_t)depth);
        assert_int_equal(r, depth == JSON_MAX_DEPTH ? 0 : -1);
        json_free(&doc);
    }
}

static void
test_json_value_limit(void **state)
{
    (void)state;
    for (size_t count = JSON_MAX_VALUES - 1; count <= JSON_MAX_VALUES; count++) {
        /* The array itself is one value. */
        size_t len = 2 * count + 1;
        char *in = malloc(len);
        assert_non_null(in);
        in[0] = '[';
        for (size_t i = 0; i < count; i++) {
            in[1 + 2 * i] = '0';
            in[2 + 2 * i] = i + 1 < count ? ',' : ']';
        }
        struct json_doc doc;
        int r = parse(&doc, in, len);
        assert_int_equal(r, count == JSON_MAX_VALUES - 1 ? 0 : -1);
        json_free(&doc);
        free(in);
    }
}

static void
test_json_prefixes(void **state)
{
    (void)state;
    /* No proper prefix of an object document is a document. */
    const char *in = "{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\"], \"b\": {\"c\": null}}";
    size_t len = strlen(in);
    for (size_t n = 0; n < len; n++) {
        struct json_doc doc;
        if (parse(&doc, in, n) != -1)
            fail_msg("prefix of %zu bytes accepted", n);
        json_free(&doc);
    }
    struct json_doc doc;
    assert_int_equal(parse(&doc, in, len), 0);
    json_free(&doc);
}

static void
test_json_large_string(void **state)
{
    (void)state;
    /* Bigger than one arena chunk. */
    size_t n = 100000;
    char *in = malloc(n + 2);
    assert_non_null(in);
    in[0] = '"';
    memset(in + 1, 'x', n);
    in[n + 1] = '"';
    struct json_doc doc;
    assert_int_equal(parse(&doc, in, n + 2), 0);
    assert_int_equal(doc.root->str.len, n);
    json_free(&doc);
    free(in);
}

static void
check_write(const char *in, size_t len, const char *want)
{
    struct buf out = {0};
    assert_int_equal(json_write_string(&out, in, len), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_free(&out);
}

static void
test_json_write_string(void **state)
{
    (void)state;
    check_write("", 0, "\"\"");
    check_write("plain", 5, "\"plain\"");
    check_write("q\"b\\", 4, "\"q\\\"b\\\\\"");
    check_write("a\r\n\tb", 5, "\"a\\r\\n\\tb\"");
    check_write("\0\x01\x1f", 3, "\"\\u0000\\u0001\\u001f\"");
    check_write("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    check_write("bad\xff!", 5, "\"bad\\ufffd!\"");
    check_write("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");
    /* What the writer makes, the parser reads back. */
    const char raw[] = "x\"\\\n\x01\xc3\xa9\xf0\x9f\x98\x80";
    struct buf out = {0};
    assert_int_equal(json_write_string(&out, raw, sizeof(raw) - 1), 0);
    struct json_doc doc;
    assert_int_equal(parse(&doc, out.data, out.len), 0);
    assert_int_equal(doc.root->str.len, sizeof(raw) - 1);
    assert_memory_equal(doc.root->str.ptr, raw, sizeof(raw) - 1);
    json_free(&doc);
    buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_table),        cmocka_unit_test(test_json_tree),
        cmocka_unit_test(test_json_strings),      cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_value_limit),  cmocka_unit_test(test_json_prefixes),
        cmocka_unit_test(test_json_large_string), cmocka_unit_test(test_json_write_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
