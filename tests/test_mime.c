/* test_mime.c - the message builder: header fields, RFC 2047 encoded-words,
 * RFC 2231 file names, body structure, CRLF and line lengths everywhere,
 * dot-stuffing on the way to DATA, and no Bcc field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/mime.c"
#include "pct.h"
#include "smtp.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static struct addr
mk(const char *s)
{
    struct addr a;
    const char *why = addr_parse(slice_make(s, strlen(s)), &a);
    if (why != NULL)
        fail_msg("%s: %s", s, why);
    return a;
}

/* A built message, NUL-terminated for strstr. */
static char *
build(const struct mime_message *m)
{
    struct buf out = {0};
    assert_int_equal(mime_build(&out, m), 0);
    assert_int_equal(buf_append_char(&out, '\0'), 0);
    return buf_steal(&out);
}

/* Every line ends in CRLF, no bare CR or LF, no NUL, at most 998 octets, 7-bit;
 * header lines at most max_header octets, and at most 76 when they hold an
 * encoded-word (RFC 2047 2). */
static void
check_lines(const char *msg, size_t max_header)
{
    bool in_header = true;
    const char *line = msg;
    for (const char *p = msg; *p; p++) {
        assert_true((unsigned char)*p < 0x80);
        if (*p == '\n')
            fail_msg("bare LF at offset %zu", (size_t)(p - msg));
        if (*p != '\r')
            continue;
        if (p[1] != '\n')
            fail_msg("bare CR at offset %zu", (size_t)(p - msg));
        size_t len = (size_t)(p - line);
        assert_true(len <= 998);
        if (len == 0)
            in_header = false;
        if (in_header && len > max_header)
            fail_msg("header line of %zu octets: %.*s", len, (int)len, line);
        if (in_header && len > 76 && memmem(line, len, "=?utf-8?B?", 10) != NULL)
            fail_msg("line of %zu octets with an encoded-word: %.*s", len, (int)len, line);
        if (in_header && len > 0 && strspn(line, " \t") >= len)
            fail_msg("header line of white space only at offset %zu", (size_t)(line - msg));
        p++;
        line = p + 1;
    }
    assert_true(*line == '\0'); /* ends with CRLF */
}

/* The unfolded value of the first header field `name` in msg's header. */
static char *
header(const char *msg, const char *name)
{
    size_t n = strlen(name);
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") + 2) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            char *out = calloc(1, strlen(v) + 1);
            size_t o = 0;
            for (; v < end + 2; v++) {
                if (v[0] == '\r' && v[1] == '\n') {
                    if (v[2] != ' ' && v[2] != '\t')
                        break;
                    v++;
                    continue;
                }
                out[o++] = *v;
            }
            return out;
        }
    }
    return NULL;
}

/* Decodes the encoded-words of a header value and checks each: at most 75
 * characters, B encoding, whole UTF-8 characters. Returns the text. */
static char *
decode_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t o = 0;
    const char *p = v;
    while ((p = strstr(p, "=?utf-8?B?")) != NULL) {
        const char *e = strstr(p + 10, "?=");
        assert_non_null(e);
        size_t wlen = (size_t)(e + 2 - p);
        assert_true(wlen <= 75);
        ssize_t n = base64_decode(out + o, p + 10, (size_t)(e - p - 10));
        assert_true(n > 0);
        assert_true(utf8_valid(out + o, (size_t)n));
        o += (size_t)n;
        p = e + 2;
    }
    return out;
}

static struct mime_message
simple(const struct addr *from, const struct addr *to)
{
    return (struct mime_message){
        .from = from,
        .to = to,
        .nto = 1,
        .subject = SLICE_LIT("Hello"),
        .text = SLICE_LIT("Hi there.\n"),
        .has_text = true,
        .message_id = "<1.2.3@host.example>",
        .date = 0,
    };
}

static void
test_mime_headers(void **state)
{
    (void)state;
    struct addr from = mk("Pari <pari@example.org>");
    struct addr to[2] = {mk("sam@example.org"), mk("\"Smith, J.\" <j@example.org>")};
    struct addr cc = mk("Kim Lee <kim@example.org>");
    struct addr reply = mk("replies@example.org");
    struct mime_message m = simple(&from, to);
    m.nto = 2;
    m.cc = &cc;
    m.ncc = 1;
    m.reply_to = &reply;
    char *msg = build(&m);
    check_lines(msg, 78);
    char *v;
    assert_string_equal(v = header(msg, "From"), " Pari <pari@example.org>");
    free(v);
    assert_string_equal(v = header(msg, "To"), " sam@example.org, \"Smith, J.\" <j@example.org>");
    free(v);
    assert_string_equal(v = header(msg, "Cc"), " Kim Lee <kim@example.org>");
    free(v);
    assert_string_equal(v = header(msg, "Reply-To"), " replies@example.org");
    free(v);
    assert_string_equal(v = header(msg, "Subject"), " Hello");
    free(v);
    assert_string_equal(v = header(msg, "Date"), " Thu, 01 Jan 1970 00:00:00 +0000");
    free(v);
    assert_string_equal(v = header(msg, "Message-ID"), " <1.2.3@host.example>");
    free(v);
    assert_string_equal(v = header(msg, "MIME-Version"), " 1.0");
    free(v);
    assert_string_equal(v = header(msg, "Content-Type"), " text/plain; charset=utf-8");
    free(v);
    assert_string_equal(v = header(msg, "Content-Transfer-Encoding"), " 7bit");
    free(v);
    assert_null(strstr(msg, "Bcc"));
    assert_non_null(strstr(msg, "\r\n\r\nHi there.\r\n"));
    free(msg);
}

static void
test_mime_no_subject_no_to(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct mime_message m = simple(&from, NULL);
    m.nto = 0; /* only blind copies */
    m.subject = SLICE_LIT("");
    char *msg = build(&m);
    check_lines(msg, 78);
    assert_null(header(msg, "To"));
    assert_null(header(msg, "Subject"));
    assert_null(header(msg, "Cc"));
    free(msg);
}

static void
test_mime_encoded_words(void **state)
{
    (void)state;
    struct addr from = mk("P\xc3\xa1ri \xc3\x9cnal <pari@example.org>");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    /* Mixed 1-, 2-, 3- and 4-byte characters, long enough for several words. */
    char subject[400] = "";
    for (int i = 0; i < 12; i++)
        strcat(subject, "Gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80 ");
    m.subject = slice_make(subject, strlen(subject));
    char *msg = build(&m);
    check_lines(msg, 78);
    char *v = header(msg, "Subject");
    char *text = decode_words(v);
    assert_string_equal(text, subject);
    free(text);
    free(v);
    v = header(msg, "From");
    text = decode_words(v);
    assert_string_equal(text, "P\xc3\xa1ri \xc3\x9cnal");
    assert_non_null(strstr(v, "?= <pari@example.org>"));
    free(text);
    free(v);
    free(msg);
}

static void
test_mime_encoded_word_line_lengths(void **state)
{
    (void)state;
    /* Display names of every length put the encoded-word's end, and the
     * " <spec>," after it, at every column. */
    struct addr from = mk("pari@example.org");
    for (size_t k = 1; k <= 90; k++) {
        char name[128] = "\xc3\x84";
        memset(name + 2, 'x', k);
        name[2 + k] = '\0';
        char text[200];
        snprintf(text, sizeof(text), "%s <sam@example.org>", name);
        struct addr to[3] = {mk(text), mk(text), mk("kim.lee@example.org")};
        struct mime_message m = simple(&from, to);
        m.nto = 3;
        m.cc = to;
        m.ncc = 2;
        char *msg = build(&m);
        check_lines(msg, 78);
        char *v = header(msg, "To");
        char *decoded = decode_words(v);
        char want[300];
        snprintf(want, sizeof(want), "%s%s", name, name);
        assert_string_equal(decoded, want);
        assert_non_null(strstr(v, "?= <sam@example.org>,"));
        free(decoded);
        free(v);
        free(msg);
    }
    /* A list's ',' counts on plain lines too: at most 78 columns. */
    for (size_t k = 1; k <= 40; k++) {
        char spec[64];
        memset(spec, 'a', k);
        snprintf(spec + k, sizeof(spec) - k, "@example.org");
        struct addr to[4] = {mk(spec), mk(spec), mk(spec), mk(spec)};
        struct mime_message m = simple(&from, to);
        m.nto = 4;
        char *msg = build(&m);
        check_lines(msg, 78);
        free(msg);
    }
}

static void
test_mime_ascii_subjects(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    /* Long ASCII: folded at its own white space, unfolding restores it. */
    const char *longer = "This subject is long enough  to need folding, and it keeps\tits "
                         "spacing exactly as it was written by the sender of the message";
    m.subject = slice_make(longer, strlen(longer));
    char *msg = build(&m);
    check_lines(msg, 78);
    char *v = header(msg, "Subject");
    assert_string_equal(v + 1, longer);
    free(v);
    free(msg);
    /* Long runs of white space and trailing white space: no line over 78
     * columns, none of white space only, every space kept. */
    struct {
        size_t words, lead, gap, trail;
        bool plain;
    } shapes[] = {
        {1, 0, 1500, 0, false}, /* "a", 1500 spaces, "b" */
        {1, 0, 0, 1500, false}, {20, 0, 0, 1500, false}, {3, 40, 0, 0, false},
        {0, 0, 0, 33, false},   {0, 0, 0, 32, true},     {40, 0, 32, 0, true},
        {40, 0, 0, 5, true},    {40, 3, 20, 32, true},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        /* With 0 to 39 more words, the run and the end fall at every column. */
        for (size_t extra = 0; extra < 40; extra++) {
            struct buf b = {0};
            buf_printf(&b, "%*s", (int)shapes[i].lead, "");
            for (size_t w = 0; w < shapes[i].words + extra; w++)
                buf_printf(&b, "%sw%zu", w ? " " : "", w);
            buf_printf(&b, "%*s", (int)shapes[i].gap, "");
            if (shapes[i].gap > 0)
                buf_append_str(&b, "b");
            buf_printf(&b, "%*s", (int)shapes[i].trail, "");
            assert_int_equal(buf_append_char(&b, '\0'), 0);
            m.subject = slice_make(b.data, b.len - 1);
            msg = build(&m);
            check_lines(msg, 78);
            v = header(msg, "Subject");
            bool plain = strstr(v, "=?utf-8?B?") == NULL;
            char *got = plain ? strdup(v + 1) : decode_words(v);
            if (plain != shapes[i].plain || strcmp(got, b.data) != 0)
                fail_msg("shape %zu + %zu: \"%s\" became \"%s\"", i, extra, b.data, v);
            free(got);
            free(v);
            free(msg);
            buf_free(&b);
        }
    }
    /* Something that looks like an encoded-word must not be taken for one. */
    m.subject = SLICE_LIT("=?utf-8?B?SGk=?=");
    msg = build(&m);
    v = header(msg, "Subject");
    char *text = decode_words(v);
    assert_string_equal(text, "=?utf-8?B?SGk=?=");
    free(text);
    free(v);
    free(msg);
}

/* The body part that starts after the header line `marker`. */
static const char *
part_after(const char *msg, const char *marker)
{
    const char *p = strstr(msg, marker);
    assert_non_null(p);
    p = strstr(p, "\r\n\r\n");
    assert_non_null(p);
    return p + 4;
}

static void
test_mime_structure(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    m.html = SLICE_LIT("<p>Hi</p>");
    m.has_html = true;
    unsigned char bin[1000];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 31 + 7);
    struct mime_attachment att[2] = {
        {SLICE_LIT("photo.jpg"), SLICE_LIT("image/jpeg"), slice_make((char *)bin, sizeof(bin))},
        {SLICE_LIT(""), SLICE_LIT(""), SLICE_LIT("x")},
    };
    m.attachments = att;
    m.nattachments = 2;
    char *msg = build(&m);
    check_lines(msg, 78);
    char *v = header(msg, "Content-Type");
    assert_non_null(strstr(v, "multipart/mixed; boundary=\"=_"));
    free(v);
    const char *alt = strstr(msg, "Content-Type: multipart/alternative; boundary=\"=_");
    const char *plain = strstr(msg, "Content-Type: text/plain; charset=utf-8");
    const char *html = strstr(msg, "Content-Type: text/html; charset=utf-8");
    const char *jpeg = strstr(msg, "Content-Type: image/jpeg\r\nContent-Disposition: attachment; "
                                   "filename=\"photo.jpg\"\r\nContent-Transfer-Encoding: base64");
    const char *other =
        strstr(msg, "Content-Type: application/octet-stream\r\nContent-Disposition: "
                    "attachment; filename=\"attachment\"");
    assert_true(alt && plain && html && jpeg && other);
    assert_true(alt < plain && plain < html && html < jpeg && jpeg < other);
    /* The attachment decodes to the same bytes. */
    const char *b64 = part_after(msg, "Content-Type: image/jpeg");
    const char *end = strstr(b64, "\r\n--=_");
    unsigned char dec[1100];
    assert_int_equal(base64_decode(dec, b64, (size_t)(end - b64)), (ssize_t)sizeof(bin));
    assert_memory_equal(dec, bin, sizeof(bin));
    /* The closing delimiters close the inner part before the outer one. */
    const char *outer = strstr(msg, "boundary=\"") + 10;
    char closing[64];
    snprintf(closing, sizeof(closing), "\r\n--%.34s--\r\n", outer);
    assert_non_null(strstr(msg, closing));
    assert_int_equal(strlen(strstr(msg, closing)), strlen(closing));
    free(msg);
}

static void
test_mime_html_only(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    m.has_text = false;
    m.html = SLICE_LIT("<b>x</b>");
    m.has_html = true;
    char *msg = build(&m);
    char *v = header(msg, "Content-Type");
    assert_string_equal(v, " text/html; charset=utf-8");
    free(v);
    free(msg);
}

static void
test_mime_transfer_encodings(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    /* Non-ASCII: quoted-printable. */
    m.text = SLICE_LIT("caf\xc3\xa9\n");
    char *msg = build(&m);
    check_lines(msg, 78);
    assert_non_null(
        strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n"));
    free(msg);
    /* A 999-octet line: quoted-printable, soft breaks. */
    char *line = malloc(1000);
    memset(line, 'a', 999);
    m.text = slice_make(line, 999);
    msg = build(&m);
    check_lines(msg, 78);
    assert_non_null(strstr(msg, "quoted-printable"));
    free(msg);
    /* 998 octets still fit 7bit. */
    m.text = slice_make(line, 998);
    msg = build(&m);
    check_lines(msg, 78);
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: 7bit"));
    free(msg);
    free(line);
    /* Bare CR and bare LF become CRLF in a 7bit body. */
    m.text = SLICE_LIT("a\rb\nc\r\nd");
    msg = build(&m);
    check_lines(msg, 78);
    assert_non_null(strstr(msg, "\r\n\r\na\r\nb\r\nc\r\nd\r\n"));
    free(msg);
}

static void
test_mime_filenames(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    struct mime_attachment att[3] = {
        {SLICE_LIT("r\xc3\xa9sum\xc3\xa9.pdf"), SLICE_LIT("application/pdf"), SLICE_LIT("x")},
        {SLICE_LIT("a \"b\" \\c.txt"), SLICE_LIT("text/plain"), SLICE_LIT("y")},
        {SLICE_LIT("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe9\x95\xb7\xe3\x81\x84"
                   "\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab\xe5\x90\x8d.txt"),
         SLICE_LIT("text/plain"), SLICE_LIT("z")},
    };
    m.attachments = att;
    m.nattachments = 3;
    char *msg = build(&m);
    check_lines(msg, 78);
    assert_non_null(strstr(msg, "attachment;\r\n filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"));
    assert_non_null(strstr(msg, "filename=\"a \\\"b\\\" \\\\c.txt\""));
    /* The long one comes in RFC 2231 continuations that rebuild the name. */
    const char *p = strstr(msg, "filename*0*=utf-8''");
    assert_non_null(p);
    char joined[512] = "";
    for (int i = 0;; i++) {
        char key[32];
        snprintf(key, sizeof(key), i == 0 ? "filename*%d*=utf-8''" : "filename*%d*=", i);
        const char *k = strstr(msg, key);
        if (k == NULL)
            break;
        k += strlen(key);
        size_t n = strcspn(k, ";\r");
        strncat(joined, k, n);
        /* No %XX split across pieces. */
        assert_true(n < 1 || k[n - 1] != '%');
        assert_true(n < 2 || k[n - 2] != '%');
    }
    char decoded[256];
    ssize_t n = pct_decode(decoded, joined, strlen(joined), false);
    assert_int_equal(n, (ssize_t)att[2].filename.len);
    assert_memory_equal(decoded, att[2].filename.ptr, (size_t)n);
    free(msg);
}

static void
test_mime_composite_types(void **state)
{
    (void)state;
    assert_true(mime_type_is_composite(SLICE_LIT("multipart/mixed; boundary=x")));
    assert_true(mime_type_is_composite(SLICE_LIT("Message/RFC822")));
    assert_true(mime_type_is_composite(SLICE_LIT(" message/partial; id=1")));
    assert_false(mime_type_is_composite(SLICE_LIT("text/plain")));
    assert_false(mime_type_is_composite(SLICE_LIT("application/message")));
    assert_false(mime_type_is_composite(SLICE_LIT("messages/x")));
    assert_false(mime_type_is_composite(SLICE_LIT("")));
}

static void
test_mime_dot_stuffing(void **state)
{
    (void)state;
    struct addr from = mk("pari@example.org");
    struct addr to = mk("sam@example.org");
    struct mime_message m = simple(&from, &to);
    m.text = SLICE_LIT(".\n\n.\n.hidden\r\n.\r\n");
    struct buf msg = {0}, data = {0};
    assert_int_equal(mime_build(&msg, &m), 0);
    assert_int_equal(smtp_data_encode(&data, msg.data, msg.len), 0);
    assert_int_equal(buf_append_char(&data, '\0'), 0);
    /* The only "." line is the terminator, at the very end. */
    const char *end = strstr(data.data, "\r\n.\r\n");
    assert_non_null(end);
    assert_int_equal(strlen(end), 5);
    assert_non_null(strstr(data.data, "\r\n\r\n..\r\n\r\n..\r\n..hidden\r\n..\r\n"));
    buf_free(&msg);
    buf_free(&data);
}

static void
test_mime_message_id(void **state)
{
    (void)state;
    char ids[200][MIME_MESSAGE_ID_MAX];
    for (int i = 0; i < 200; i++) {
        mime_message_id(ids[i], sizeof(ids[i]), "mx.example.org");
        assert_int_equal(ids[i][0], '<');
        assert_non_null(strstr(ids[i], "@mx.example.org>"));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(ids[i], ids[k]);
    }
    char id[MIME_MESSAGE_ID_MAX];
    mime_message_id(id, sizeof(id), "bad host\r\nX: y");
    assert_non_null(strstr(id, "@localhost>"));
    mime_message_id(id, sizeof(id), NULL);
    assert_non_null(strstr(id, "@localhost>"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mime_headers),
        cmocka_unit_test(test_mime_no_subject_no_to),
        cmocka_unit_test(test_mime_encoded_words),
        cmocka_unit_test(test_mime_encoded_word_line_lengths),
        cmocka_unit_test(test_mime_ascii_subjects),
        cmocka_unit_test(test_mime_structure),
        cmocka_unit_test(test_mime_html_only),
        cmocka_unit_test(test_mime_transfer_encodings),
        cmocka_unit_test(test_mime_filenames),
        cmocka_unit_test(test_mime_composite_types),
        cmocka_unit_test(test_mime_dot_stuffing),
        cmocka_unit_test(test_mime_message_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
