/* test_mimetype.c - extension table and the compressibility rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../http/mimetype.c"

struct type_row {
    const char *name;
    const char *type;
};

static void
test_mimetype_table(void **state)
{
    static const struct type_row rows[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a/b/page.htm", "text/html; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"mod.mjs", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"app.js.map", "application/json"},
        {"logo.svg", "image/svg+xml"},
        {"p.png", "image/png"},
        {"p.jpg", "image/jpeg"},
        {"p.jpeg", "image/jpeg"},
        {"p.gif", "image/gif"},
        {"p.webp", "image/webp"},
        {"p.avif", "image/avif"},
        {"favicon.ico", "image/x-icon"},
        {"f.woff", "font/woff"},
        {"f.woff2", "font/woff2"},
        {"f.ttf", "font/ttf"},
        {"f.otf", "font/otf"},
        {"readme.txt", "text/plain; charset=utf-8"},
        {"README.md", "text/markdown; charset=utf-8"},
        {"t.csv", "text/csv; charset=utf-8"},
        {"m.wasm", "application/wasm"},
        {"d.pdf", "application/pdf"},
        {"feed.xml", "application/xml"},
        {"v.mp4", "video/mp4"},
        {"v.webm", "video/webm"},
        {"s.mp3", "audio/mpeg"},
        {"s.ogg", "audio/ogg"},
        {"s.wav", "audio/wav"},
        {"a.zip", "application/zip"},
        {"a.tar.gz", "application/gzip"},
        {"a.tar", "application/x-tar"},
        /* case-insensitive */
        {"INDEX.HTML", "text/html; charset=utf-8"},
        {"Photo.JpG", "image/jpeg"},
        /* no or unknown extension */
        {"Makefile", MIMETYPE_DEFAULT},
        {"file.unknownext", MIMETYPE_DEFAULT},
        {"file.", MIMETYPE_DEFAULT},
        {".html", MIMETYPE_DEFAULT},
        {"dir/.css", MIMETYPE_DEFAULT},
        {"dir.html/file", MIMETYPE_DEFAULT},
        {"", MIMETYPE_DEFAULT},
        {"x.averyveryverylongextension", MIMETYPE_DEFAULT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = mimetype_for_name(rows[i].name, strlen(rows[i].name));
        if (strcmp(got, rows[i].type) != 0)
            fail_msg("%s: got %s, want %s", rows[i].name, got, rows[i].type);
    }
}

static void
test_mimetype_name_not_terminated(void **state)
{
    /* Only len bytes count: "a.css" inside "a.cssX". */
    (void)state;
    assert_string_equal(mimetype_for_name("a.cssX", 5), "text/css; charset=utf-8");
    assert_string_equal(mimetype_for_name("a.html", 4), MIMETYPE_DEFAULT); /* "a.ht" */
}

static void
test_mimetype_compressible(void **state)
{
    static const char *const yes[] = {
        "text/html; charset=utf-8",
        "text/css",
        "text/plain",
        "text/javascript; charset=utf-8",
        "application/json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "application/wasm",
        "application/manifest+json",
        "application/atom+xml",
        "font/ttf",
        "image/x-icon",
        "APPLICATION/JSON",
    };
    static const char *const no[] = {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/avif",
        "image/gif",
        "font/woff",
        "font/woff2",
        "video/mp4",
        "audio/mpeg",
        "application/zip",
        "application/gzip",
        "application/pdf",
        "application/octet-stream",
        "application/x-tar",
        "",
        "application/jsonx",
        "image/svg+xmlx",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!mimetype_compressible(yes[i]))
            fail_msg("%s should be compressible", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (mimetype_compressible(no[i]))
            fail_msg("%s should not be compressible", no[i]);
    assert_false(mimetype_compressible(NULL));
}

static void
test_mimetype_every_row_consistent(void **state)
{
    /* Every row is reachable through the lookup, and fits its buffer. */
    (void)state;
    for (size_t i = 0; i < sizeof(mimetype_table) / sizeof(mimetype_table[0]); i++) {
        char name[32] = "f.";
        strcat(name, mimetype_table[i].ext);
        assert_string_equal(mimetype_for_name(name, strlen(name)), mimetype_table[i].type);
        assert_true(strlen(mimetype_table[i].ext) < MIMETYPE_EXT_MAX);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mimetype_table),
        cmocka_unit_test(test_mimetype_name_not_terminated),
        cmocka_unit_test(test_mimetype_compressible),
        cmocka_unit_test(test_mimetype_every_row_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
