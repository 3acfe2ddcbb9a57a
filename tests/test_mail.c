/* test_mail.c - POST /mail end to end: mail_handle() against an in-process
 * SMTP peer on 127.0.0.1 with JSON, multipart and urlencoded bodies, and the
 * refusals (400, 401, 403, 413, 415) that must send nothing at all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../handlers/mail.c"
#include "smtp_peer.h"

#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct fixture {
    struct peer *peer;
    struct mail_config cfg;
    struct buf out;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->peer = calloc(1, sizeof(*f->peer));
    if (f == NULL || f->peer == NULL)
        return -1;
    f->peer->reject = "nobody@example.org";
    if (peer_start(f->peer) < 0)
        return -1;
    mail_config_defaults(&f->cfg);
    f->cfg.smtp_host = "127.0.0.1";
    f->cfg.smtp_port = f->peer->port;
    f->cfg.helo_name = "relay.test";
    f->cfg.reply_timeout_ms = 2000;
    f->cfg.total_timeout_ms = 5000;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    peer_stop(f->peer);
    peer_free(f->peer);
    free(f->peer);
    buf_free(&f->out);
    free(f);
    return 0;
}

/* Runs mail_handle on an exact-size copy of body; the response body ends up
 * NUL-terminated in f->out. */
static int
post(struct fixture *f, const char *content_type, const char *auth, const char *body, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    struct mail_request req = {
        .content_type = slice_make(content_type, strlen(content_type)),
        .authorization = auth ? slice_make(auth, strlen(auth)) : SLICE_LIT(""),
        .body = copy,
        .body_len = len,
    };
    f->out.len = 0;
    int status = mail_handle(&f->cfg, &req, &f->out);
    free(copy);
    assert_int_equal(buf_append_char(&f->out, '\0'), 0);
    f->out.len--;
    return status;
}

static int
post_json(struct fixture *f, const char *json)
{
    return post(f, "application/json", NULL, json, strlen(json));
}

/* The response must be one JSON object: parse it with our own parser. */
static void
assert_json_response(struct fixture *f)
{
    struct json_doc doc;
    char err[128];
    if (json_parse(&doc, f->out.data, f->out.len, err, sizeof(err)) != 0)
        fail_msg("bad JSON response %s: %s", f->out.data, err);
    assert_int_equal(doc.root->type, JSON_OBJECT);
    json_free(&doc);
}

/* Stops the peer and checks that it never saw a connection. */
static void
assert_nothing_sent(struct fixture *f)
{
    peer_pause(f->peer);
    assert_int_equal(atomic_load(&f->peer->connections), 0);
    assert_null(f->peer->got);
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_json(void **state)
{
    struct fixture *f = *state;
    int status = post_json(f, "{\"from\": \"Pari <pari@example.org>\","
                              " \"to\": [\"sam@example.org\", \"nobody@example.org\"],"
                              " \"cc\": \"Kim <kim@example.org>\","
                              " \"bcc\": [\"hidden@example.org\"],"
                              " \"reply_to\": \"replies@example.org\","
                              " \"subject\": \"Gr\\u00fc\\u00dfe\","
                              " \"text\": \"Hello\\n.\\nBye\", \"html\": \"<p>Hello</p>\","
                              " \"attachments\": [{\"filename\": \"a.txt\","
                              " \"content_type\": \"text/plain\", \"content\": \"aGk=\"}]}");
    assert_int_equal(status, 200);
    assert_json_response(f);
    const char *out = f->out.data;
    assert_non_null(strstr(out, "\"message_id\": \"<"));
    assert_non_null(strstr(out, "@relay.test>\""));
    assert_non_null(strstr(
        out, "\"accepted\": [\"sam@example.org\", \"kim@example.org\", \"hidden@example.org\"]"));
    assert_non_null(strstr(out, "\"rejected\": [{\"address\": \"nobody@example.org\", "
                                "\"reply\": \"550 5.1.1 no such user\"}]"));
    assert_non_null(strstr(out, "\"smtp_reply\": \"250 2.0.0 queued as 42\""));
    peer_pause(f->peer);
    const char *got = f->peer->got, *data = f->peer->data;
    assert_non_null(strstr(got, "EHLO relay.test\r\n"));
    assert_non_null(strstr(got, "MAIL FROM:<pari@example.org> SIZE="));
    assert_non_null(strstr(got, "RCPT TO:<hidden@example.org>\r\n"));
    assert_non_null(strstr(data, "To: sam@example.org, nobody@example.org\r\n"));
    assert_non_null(strstr(data, "Cc: Kim <kim@example.org>\r\n"));
    assert_non_null(strstr(data, "Reply-To: replies@example.org\r\n"));
    assert_non_null(strstr(data, "Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\n"));
    assert_null(strstr(data, "hidden"));
    assert_null(strstr(data, "Bcc"));
    assert_non_null(strstr(data, "\r\nHello\r\n..\r\nBye\r\n")); /* dot-stuffed */
    assert_non_null(strstr(data, "filename=\"a.txt\""));
    assert_non_null(strstr(data, "\r\naGk=\r\n"));
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_duplicate_recipients(void **state)
{
    struct fixture *f = *state;
    /* One RCPT TO per mailbox: the domain ignores case, the local part does
     * not (RFC 5321 2.4), so Sam@ and sam@ may be two people. */
    int status = post_json(f, "{\"from\": \"pari@example.org\","
                              " \"to\": [\"sam@example.org\", \"Sam@example.org\"],"
                              " \"cc\": \"Sam <sam@EXAMPLE.org>\", \"bcc\": \"Sam@Example.Org\"}");
    assert_int_equal(status, 200);
    assert_non_null(
        strstr(f->out.data, "\"accepted\": [\"sam@example.org\", \"Sam@example.org\"]"));
    peer_pause(f->peer);
    const char *got = f->peer->got;
    assert_non_null(strstr(got, "RCPT TO:<sam@example.org>\r\nRCPT TO:<Sam@example.org>\r\nDATA"));
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_multipart(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"from\"\r\n\r\npari@example.org\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"to\"\r\n\r\nsam@example.org, lee@example.org\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"to\"\r\n\r\nkim@example.org\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"subject\"\r\n\r\nHi\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"text\"\r\n\r\nHello\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"attachment\"; filename=\"C:\\\\x\\\\photo.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\x00\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
        "--XyZ--\r\n";
    int status = post(f, "multipart/form-data; boundary=XyZ", NULL, body, sizeof(body) - 1);
    assert_int_equal(status, 200);
    assert_json_response(f);
    assert_non_null(strstr(f->out.data, "\"accepted\": [\"sam@example.org\", \"lee@example.org\", "
                                        "\"kim@example.org\"]"));
    peer_pause(f->peer);
    const char *data = f->peer->data;
    assert_non_null(strstr(data, "Content-Type: image/jpeg\r\nContent-Disposition: attachment; "
                                 "filename=\"photo.jpg\"\r\n"));
    assert_non_null(strstr(data, "/9j/AA==")); /* base64 of ff d8 ff 00 */
    assert_null(strstr(data, "octet-stream")); /* the empty file input is skipped */
    assert_int_equal(peer_resume(f->peer), 0);
}

/* POSTs a form from --mail-from to sam@example.org with one file part: its
 * Content-Disposition parameters after name="f", its type and content. */
static int
post_form_file(struct fixture *f, const char *params, const char *type, const char *content)
{
    struct buf b = {0};
    assert_int_equal(
        buf_printf(&b,
                   "--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n"
                   "sam@example.org\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
                   "%s\r\nContent-Type: %s\r\n\r\n%s\r\n--XyZ--\r\n",
                   params, type, content),
        0);
    f->cfg.mail_from = "pari@example.org";
    int status = post(f, "multipart/form-data; boundary=XyZ", NULL, b.data, b.len);
    f->cfg.mail_from = NULL;
    buf_free(&b);
    return status;
}

/* Checks that the message data the peer received holds want. */
static void
assert_sent(struct fixture *f, const char *want)
{
    peer_pause(f->peer);
    if (f->peer->data == NULL || strstr(f->peer->data, want) == NULL)
        fail_msg("not sent: %s", want);
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_form_files(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *params, *type, *want;
    } rows[] = {
        /* RFC 8187 has no '+' for space: only %20 is one. */
        {"filename=\"x.txt\"; filename*=UTF-8''a+b%20c.txt", "text/plain",
         "\r\nContent-Type: text/plain\r\n"
         "Content-Disposition: attachment; filename=\"a+b c.txt\"\r\n"},
        /* A browser labels an .eml file message/rfc822: it goes as plain bytes. */
        {"filename=\"fwd.eml\"", "message/rfc822",
         "\r\nContent-Type: application/octet-stream\r\n"
         "Content-Disposition: attachment; filename=\"fwd.eml\"\r\n"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(post_form_file(f, rows[i].params, rows[i].type, "hi"), 200);
        assert_sent(f, rows[i].want);
    }
}

static void
test_mail_urlencoded(void **state)
{
    struct fixture *f = *state;
    /* As a browser submits <form method=post> with a textarea and a button. */
    const char *body = "from=Pari+%3Cpari%40example.org%3E&to=sam%40example.org"
                       "&subject=Gr%C3%BC%C3%9Fe+aus+K%C3%B6ln&text=Line+1%0D%0A.%0D%0ALine+3"
                       "&send=Send";
    int status = post(f, "application/x-www-form-urlencoded", NULL, body, strlen(body));
    assert_int_equal(status, 200);
    assert_json_response(f);
    peer_pause(f->peer);
    const char *data = f->peer->data;
    assert_non_null(strstr(data, "From: Pari <pari@example.org>\r\n"));
    assert_non_null(strstr(data, "\r\nLine 1\r\n..\r\nLine 3\r\n"));
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_header_injection(void **state)
{
    struct fixture *f = *state;
    static const char *const bodies[] = {
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\","
        " \"subject\": \"Hi\\r\\nBcc: victim@example.org\"}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"subject\": \"Hi\\nX: y\"}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"subject\": \"Hi\\u0000\"}",
        "{\"from\": \"a@example.org\\r\\nBcc: victim@example.org\", \"to\": \"b@example.org\"}",
        "{\"from\": \"Eve\\r\\n <a@example.org>\", \"to\": \"b@example.org\"}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\\nvictim@example.org\"}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\","
        " \"reply_to\": \"r@example.org\\r\\nX: y\"}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"attachments\":"
        " [{\"filename\": \"a\\r\\nX: y.txt\", \"content\": \"\"}]}",
        "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"attachments\":"
        " [{\"content_type\": \"text/plain\\r\\nX: y\", \"content\": \"\"}]}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        int status = post_json(f, bodies[i]);
        if (status != 400)
            fail_msg("%s: got %d %s", bodies[i], status, f->out.data);
        assert_json_response(f);
    }
    /* A form-encoded CRLF is the same attack. */
    const char *form = "from=a%40example.org&to=b%40example.org&subject=Hi%0D%0ABcc%3A+v%40x.org";
    assert_int_equal(post(f, "application/x-www-form-urlencoded", NULL, form, strlen(form)), 400);
    assert_non_null(strstr(f->out.data, "control character"));
    assert_nothing_sent(f);
}

static void
test_mail_bad_requests(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *body, *error;
    } cases[] = {
        {"{\"from\": \"a@example.org\", \"text\": \"x\"}", "no recipient"},
        {"{\"from\": \"a@example.org\", \"to\": [], \"cc\": null, \"bcc\": \" , \"}",
         "no recipient"},
        {"{\"to\": \"b@example.org\"}", "no sender"},
        {"{\"from\": \"a@example.org\", \"to\": \"not an address\"}", "bad to address"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"extra\": 1}", "unknown field"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"to\": \"c@example.org\"}",
         "more than once"},
        {"{\"from\": \"a@example.org\", \"to\": 5}", "must be a string or an array"},
        {"{\"from\": \"a@example.org\", \"to\": [\"b@example.org\", 5]}", "array of strings"},
        {"{\"from\": [\"a@example.org\"], \"to\": \"b@example.org\"}", "must be a string"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\","
         " \"attachments\": [{\"filename\": \"a\"}]}",
         "\\\"content\\\" (base64) is missing"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\","
         " \"attachments\": [{\"content\": \"!!!\"}]}",
         "not valid base64"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"attachments\": {}}",
         "must be an array"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\"", "JSON error"},
        {"[\"a@example.org\"]", "must be an object"},
        {"{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"subject\": \"\\udc00\"}",
         "JSON error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = post_json(f, cases[i].body);
        if (status != 400 || strstr(f->out.data, cases[i].error) == NULL)
            fail_msg("%s: got %d %s", cases[i].body, status, f->out.data);
        assert_json_response(f);
    }
    const char *bad_mp = "--x\r\nnot a header\r\n\r\n--x--";
    assert_int_equal(post(f, "multipart/form-data; boundary=x", NULL, bad_mp, strlen(bad_mp)), 400);
    assert_int_equal(post(f, "multipart/form-data", NULL, bad_mp, strlen(bad_mp)), 400);
    assert_int_equal(post(f, "application/x-www-form-urlencoded", NULL, "to=%zz", 6), 400);
    assert_nothing_sent(f);
}

static void
test_mail_too_many_recipients(void **state)
{
    struct fixture *f = *state;
    struct buf b = {0};
    buf_append_str(&b, "{\"from\": \"a@example.org\", \"to\": [");
    for (int i = 0; i <= MAIL_MAX_RCPT; i++)
        buf_printf(&b, "%s\"r%d@example.org\"", i ? ", " : "", i);
    buf_append_str(&b, "]}");
    assert_int_equal(post(f, "application/json", NULL, b.data, b.len), 400);
    assert_non_null(strstr(f->out.data, "too many recipients"));
    buf_free(&b);
    assert_nothing_sent(f);
}

static void
test_mail_content_types(void **state)
{
    struct fixture *f = *state;
    const char *json = "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}";
    assert_int_equal(post(f, "text/plain", NULL, json, strlen(json)), 415);
    assert_json_response(f);
    assert_int_equal(post(f, "", NULL, json, strlen(json)), 415);
    assert_int_equal(post(f, "application/json; charset=latin1", NULL, json, strlen(json)), 415);
    assert_int_equal(post(f, "application/json; charset", NULL, json, strlen(json)), 400);
    assert_nothing_sent(f);
    /* Case and parameters do not matter. */
    assert_int_equal(post(f, "Application/JSON ; Charset=\"UTF-8\"", NULL, json, strlen(json)),
                     200);
}

/* POSTs one JSON attachment with the given content_type (a JSON string body). */
static int
post_attachment_type(struct fixture *f, const char *type)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"attachments\":"
             " [{\"filename\": \"x\", \"content_type\": \"%s\", \"content\": \"aGk=\"}]}",
             type);
    return post_json(f, json);
}

static void
test_mail_attachment_types(void **state)
{
    struct fixture *f = *state;
    /* Composite types may not be base64-encoded (RFC 2046 5): refused, with why. */
    static const char *const composite[] = {"multipart/mixed; boundary=x", "message/rfc822",
                                            "Message/Partial; id=1"};
    for (size_t i = 0; i < sizeof(composite) / sizeof(composite[0]); i++) {
        assert_int_equal(post_attachment_type(f, composite[i]), 400);
        assert_json_response(f);
        if (strstr(f->out.data, "may not be base64-encoded") == NULL)
            fail_msg("%s: %s", composite[i], f->out.data);
    }
    /* Not RFC 2045 5.1 syntax. */
    static const char *const bad[] = {
        "text/ plain",         "text",         "text/plain; name=\\\"a.txt", "text/plain;",
        "text/plain; charset", "te(x)t/plain", "text/plain; name=a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(post_attachment_type(f, bad[i]), 400);
        if (strstr(f->out.data, "bad content type") == NULL)
            fail_msg("%s: %s", bad[i], f->out.data);
    }
    assert_nothing_sent(f);
    assert_int_equal(post_attachment_type(f, "text/plain; charset=\\\"utf-8\\\""), 200);
    assert_sent(f, "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
                   "Content-Disposition: attachment; filename=\"x\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n");
}

static void
test_mail_token(void **state)
{
    struct fixture *f = *state;
    f->cfg.token = "s3cret-t0ken";
    const char *json = "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}";
    static const char *const wrong[] = {NULL,
                                        "",
                                        "Bearer",
                                        "Bearer ",
                                        "Bearer s3cret-t0ke",
                                        "Bearer s3cret-t0ken2",
                                        "Basic s3cret-t0ken",
                                        "Bearers3cret-t0ken",
                                        "Bearer S3CRET-T0KEN"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        int status = post(f, "application/json", wrong[i], json, strlen(json));
        if (status != 401)
            fail_msg("Authorization \"%s\": got %d", wrong[i] ? wrong[i] : "(none)", status);
        assert_json_response(f);
    }
    /* Checked before anything else: even a bad body gets 401. */
    assert_int_equal(post(f, "text/plain", NULL, "x", 1), 401);
    assert_nothing_sent(f);
    assert_int_equal(post(f, "application/json", "bearer   s3cret-t0ken ", json, strlen(json)),
                     200);
    f->cfg.token = NULL;
}

static void
test_mail_allow(void **state)
{
    struct fixture *f = *state;
    f->cfg.allow = "example.org, Example.COM";
    const char *bad = "{\"from\": \"a@elsewhere.net\", \"to\": \"b@example.org\","
                      " \"bcc\": \"spy@evil.example\"}";
    assert_int_equal(post_json(f, bad), 403);
    assert_non_null(strstr(f->out.data, "spy@evil.example"));
    const char *sub = "{\"from\": \"a@example.org\", \"to\": \"b@sub.example.org\"}";
    assert_int_equal(post_json(f, sub), 403);
    assert_nothing_sent(f);
    /* The sender's domain is not restricted, recipients' case does not matter. */
    const char *good =
        "{\"from\": \"a@elsewhere.net\", \"to\": [\"b@EXAMPLE.org\", \"c@example.com\"]}";
    assert_int_equal(post_json(f, good), 200);
    f->cfg.allow = NULL;
}

static void
test_mail_max_body(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_body = 40;
    const char *json = "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}";
    assert_int_equal(post_json(f, json), 413);
    assert_json_response(f);
    f->cfg.max_body = 10 * 1024 * 1024;
    assert_nothing_sent(f);
}

static void
test_mail_default_sender(void **state)
{
    struct fixture *f = *state;
    f->cfg.mail_from = "Relay <relay@example.org>";
    assert_int_equal(post_json(f, "{\"to\": \"b@example.org\", \"from\": \"\"}"), 200);
    f->cfg.mail_from = NULL;
    peer_pause(f->peer);
    assert_non_null(strstr(f->peer->got, "MAIL FROM:<relay@example.org>"));
    assert_non_null(strstr(f->peer->data, "From: Relay <relay@example.org>\r\n"));
    assert_int_equal(peer_resume(f->peer), 0);
}

static void
test_mail_all_rejected(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(post_json(f, "{\"from\": \"a@example.org\", \"to\": \"nobody@example.org\"}"),
                     502);
    assert_json_response(f);
    assert_non_null(strstr(f->out.data, "every recipient"));
    assert_non_null(strstr(f->out.data, "\"rejected\": [{\"address\": \"nobody@example.org\""));
    assert_non_null(strstr(f->out.data, "\"smtp_reply\": \"550 5.1.1 no such user\""));
}

static void
test_mail_unreachable(void **state)
{
    struct fixture *f = *state;
    int port = f->cfg.smtp_port;
    f->cfg.smtp_port = dead_port();
    assert_int_equal(post_json(f, "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}"), 502);
    assert_json_response(f);
    assert_non_null(strstr(f->out.data, "refused"));
    f->cfg.smtp_port = port;
}

static void
test_mail_timeout(void **state)
{
    struct fixture *f = *state;
    static const char *const script[] = {"HANG", NULL};
    struct peer *silent = start_peer(script);
    int port = f->cfg.smtp_port;
    f->cfg.smtp_port = silent->port;
    f->cfg.reply_timeout_ms = 300;
    assert_int_equal(post_json(f, "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}"), 504);
    assert_json_response(f);
    assert_non_null(strstr(f->out.data, "too slow"));
    f->cfg.smtp_port = port;
    f->cfg.reply_timeout_ms = 2000;
    end_peer(silent);
}

struct json_run {
    struct fixture *f;
    const char *json;
    int status;
};

static void
run_json(void *arg)
{
    struct json_run *r = arg;
    r->status = post_json(r->f, r->json);
}

static void
test_mail_log_escaped(void **state)
{
    struct fixture *f = *state;
    /* A refusal whose text would clear the screen and ring the bell. */
    static const char *const script[] = {
        "S:220 peer.test\r\n",     "C:EHLO", "S:250 peer.test\r\n", "C:MAIL FROM",
        "S:550 \x1b[2J\x07no\r\n", "C:QUIT", "S:221 bye\r\n",       NULL};
    struct peer *refusing = start_peer(script);
    int port = f->cfg.smtp_port;
    f->cfg.smtp_port = refusing->port;
    struct json_run r = {f, "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}", 0};
    log_level = LOG_WARN;
    char *log = capture_stderr(run_json, &r);
    log_level = LOG_ERR;
    f->cfg.smtp_port = port;
    end_peer(refusing);
    assert_non_null(log);
    assert_int_equal(r.status, 502);
    if (strstr(log, "refused the sender (MAIL FROM): 550 \\x1b[2J\\x07no\n") == NULL)
        fail_msg("log: %s", log);
    assert_null(strchr(log, '\x1b'));
    assert_null(strchr(log, '\x07'));
    free(log);
}

static void
test_mail_config_check(void **state)
{
    (void)state;
    struct mail_config cfg;
    mail_config_defaults(&cfg);
    assert_int_equal(cfg.smtp_tls, SMTP_TLS_NONE);
    assert_string_equal(cfg.smtp_openssl, "/usr/bin/openssl");
    char err[300];
    /* Without TLS, openssl is not needed. */
    cfg.smtp_openssl = "/nonexistent/openssl";
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), 0);
    cfg.smtp_tls = SMTP_TLS_STARTTLS;
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--smtp-tls needs openssl"));
    assert_non_null(strstr(err, "/nonexistent/openssl"));
    assert_null(strchr(err, '\n'));
    cfg.smtp_tls = SMTP_TLS_NONE;
    cfg.smtp_ca = "/nonexistent/ca.pem";
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read --smtp-ca '/nonexistent/ca.pem'"));
    cfg.smtp_ca = NULL;
    /* --mail-from must be an address a request could give as "from". */
    cfg.mail_from = "Relay <relay@example.org>";
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), 0);
    cfg.mail_from = "bad";
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "bad --mail-from address 'bad': missing '@'");
    cfg.mail_from = "a@b\r\nBcc: x@evil.example";
    assert_int_equal(mail_config_check(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad --mail-from address 'a@b\\r\\nBcc: "));
    assert_null(strchr(err, '\n'));
}

/* A fake "openssl" that refuses the way s_client does, or never answers. */
static void
post_through_fake(struct fixture *f, const char *body, int want_status, const char *want)
{
    char dir[] = "/tmp/test_mail.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/openssl", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/bash\n%s", body);
    fclose(fp);
    assert_int_equal(chmod(path, 0755), 0);
    f->cfg.smtp_tls = SMTP_TLS_IMPLICIT;
    f->cfg.smtp_openssl = path;
    int status = post_json(f, "{\"from\": \"a@example.org\", \"to\": \"b@example.org\"}");
    f->cfg.smtp_tls = SMTP_TLS_NONE;
    f->cfg.smtp_openssl = TLSPIPE_OPENSSL_DEFAULT;
    unlink(path);
    rmdir(dir);
    if (status != want_status || strstr(f->out.data, want) == NULL)
        fail_msg("got %d %s", status, f->out.data);
    assert_json_response(f);
    /* Its child is gone. */
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void
test_mail_tls_refused(void **state)
{
    struct fixture *f = *state;
    char want[64];
    snprintf(want, sizeof(want), "TLS to 127.0.0.1:%d failed: ", f->cfg.smtp_port);
    post_through_fake(f, "echo 'verify error:num=62:hostname mismatch' >&2\nexit 1\n", 502, want);
    assert_non_null(strstr(f->out.data, "certificate is for another host name"));
    post_through_fake(f, "echo 'verify error:num=10:certificate has expired' >&2\nexit 1\n", 502,
                      "certificate expired");
    assert_nothing_sent(f);
}

static void
test_mail_tls_timeout(void **state)
{
    struct fixture *f = *state;
    f->cfg.connect_timeout_ms = 100;
    f->cfg.reply_timeout_ms = 200;
    post_through_fake(f, "exec sleep 30\n", 504, "no TLS connection");
    f->cfg.connect_timeout_ms = 5000;
    f->cfg.reply_timeout_ms = 2000;
}

int
main(void)
{
    log_level = LOG_ERR; /* the relay's warnings are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mail_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_duplicate_recipients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_multipart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_form_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_urlencoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_header_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_too_many_recipients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_content_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_attachment_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_max_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_default_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_all_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_log_escaped, setup, teardown),
        cmocka_unit_test(test_mail_config_check),
        cmocka_unit_test_setup_teardown(test_mail_tls_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_tls_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
