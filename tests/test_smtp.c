/* test_smtp.c - SMTP reply parser, DATA encoding, and the client against a
 * scripted peer on a loopback socket (continuation lines, AUTH, 4xx, 5xx,
 * early close, silence, SIZE), and through a TLS tunnel whose "openssl" is a
 * fake: a bash script that prints what s_client prints and plays the server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/smtp.c"
#include "smtp_peer.h"
#include "fake_exec.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- smtp_parse_reply ------------------------------------------------- */

struct reply_case {
    const char *in;
    int ret; /* bytes consumed, -1 or -2 */
    int code;
    const char *note;
};

static const struct reply_case reply_cases[] = {
    {"250 OK\r\n", 8, 250, "one line"},
    {"250\r\n", 5, 250, "no text"},
    {"220-a\r\n220-b\r\n220 c\r\n", 21, 220, "continuation lines"},
    {"250-\r\n250 x\r\n", 13, 250, "empty continuation text"},
    {"250 OK\r\n354 go\r\n", 8, 250, "second reply is left alone"},
    {"550 5.1.1 \xc3\xa9t\xc3\xa9\r\n", 17, 550, "8-bit text"},
    {"250-a\r\n", -2, 0, "continuation without the last line"},
    {"250 OK", -2, 0, "no CRLF yet"},
    {"250 OK\r", -2, 0, "CR without LF yet"},
    {"2", -2, 0, "one digit"},
    {"25", -2, 0, "two digits"},
    {"250", -2, 0, "code only"},
    {"", -2, 0, "empty"},
    {"250-a\r\n251 b\r\n", -1, 0, "codes differ"},
    {"250 OK\n", -1, 0, "bare LF"},
    {"250 O\rK\r\n", -1, 0, "bare CR"},
    {"600 x\r\n", -1, 0, "first digit above 5"},
    {"160 x\r\n", -1, 0, "first digit below 2"},
    {"260 x\r\n", -1, 0, "second digit above 5"},
    {"2x0 x\r\n", -1, 0, "letter in code"},
    {"250xOK\r\n", -1, 0, "bad separator"},
    {"250\n", -1, 0, "code then bare LF"},
    {" 250 OK\r\n", -1, 0, "leading space"},
    {"x", -1, 0, "garbage"},
};

static int
parse_exact(const char *in, size_t len, int *code)
{
    /* An exact-size copy without NUL, so ASan sees any over-read. */
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, in, len);
    int r = smtp_parse_reply(buf, len, code);
    free(buf);
    return r;
}

static void
test_smtp_parse_reply_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
        const struct reply_case *c = &reply_cases[i];
        int code = 0;
        int r = parse_exact(c->in, strlen(c->in), &code);
        if (r != c->ret)
            fail_msg("%s: got %d, want %d", c->note, r, c->ret);
        if (r > 0)
            assert_int_equal(code, c->code);
    }
}

static void
test_smtp_parse_reply_nul(void **state)
{
    (void)state;
    int code;
    assert_int_equal(parse_exact("250 a\0b\r\n", 9, &code), -1);
}

static void
test_smtp_parse_reply_prefixes(void **state)
{
    (void)state;
    const char *full = "250-mx.example.org\r\n250-SIZE 1000\r\n250 AUTH PLAIN LOGIN\r\n";
    size_t len = strlen(full);
    for (size_t n = 0; n < len; n++) {
        int code;
        if (parse_exact(full, n, &code) != -2)
            fail_msg("prefix of %zu bytes is not incomplete", n);
    }
    int code;
    assert_int_equal(parse_exact(full, len, &code), (int)len);
    assert_int_equal(code, 250);
}

static void
test_smtp_reply_fold(void **state)
{
    (void)state;
    char out[64];
    const char *r = "550-5.1.1 first\r\n550-\r\n550 5.1.1 second\r\n";
    smtp_reply_fold(r, strlen(r), out, sizeof(out));
    assert_string_equal(out, "550 5.1.1 first 5.1.1 second");
    smtp_reply_fold("250\r\n", 5, out, sizeof(out));
    assert_string_equal(out, "250");
    char small[8];
    smtp_reply_fold("250 a long text\r\n", 17, small, sizeof(small));
    assert_string_equal(small, "250 a l");
}

/* ---- smtp_data_encode ------------------------------------------------- */

static void
check_encode(const char *in, size_t len, const char *want)
{
    struct buf out = {0};
    assert_int_equal(smtp_data_encode(&out, in, len), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    buf_free(&out);
}

static void
test_smtp_data_encode(void **state)
{
    (void)state;
    check_encode("", 0, ".\r\n");
    check_encode("a", 1, "a\r\n.\r\n");
    check_encode("a\r\n", 3, "a\r\n.\r\n");
    check_encode(".", 1, "..\r\n.\r\n");
    check_encode("a\n.\nb", 5, "a\r\n..\r\nb\r\n.\r\n");
    check_encode("a\r\n.\r\n", 6, "a\r\n..\r\n.\r\n");
    check_encode(".a\r.\r\n..", 8, "..a\r\n..\r\n...\r\n.\r\n");
    check_encode("x\r\r\ny", 5, "x\r\n\r\ny\r\n.\r\n");
    check_encode("a. \r\n b.", 8, "a. \r\n b.\r\n.\r\n");
}

/* ---- the client ------------------------------------------------------- */

static struct smtp_options
options(int port)
{
    return (struct smtp_options){
        .host = "127.0.0.1",
        .port = port,
        .helo_name = "client.test",
        .connect_timeout_ms = 2000,
        .reply_timeout_ms = 2000,
        .total_timeout_ms = 5000,
    };
}

static const char message[] = "Subject: t\r\n\r\nline\r\n.\r\n..x\n";

static enum smtp_status
send_to(struct smtp_options *opt, struct smtp_rcpt *rcpt, size_t n, struct smtp_result *res)
{
    return smtp_send(opt, "from@example.org", rcpt, n, message, strlen(message), res);
}

static void
test_smtp_client_happy(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220-peer.test ESMTP\r\n220 second greeting line\r\n",
        "C:EHLO client.test\r\n",
        "S:250-peer.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
        "C:MAIL FROM:<from@example.org> SIZE=",
        "S:250 2.1.0 ok\r\n",
        "C:RCPT TO:<a@example.org>\r\n",
        "S:250 2.1.5 ok\r\n",
        "C:RCPT TO:<b@example.org>\r\n",
        "S:550-5.1.1 no\r\n550 5.1.1 such user\r\n",
        "C:DATA\r\n",
        "S:354 go\r\n",
        "DATA",
        "S:250 2.0.0 queued as X1\r\n",
        "C:QUIT\r\n",
        "S:221 bye\r\n",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt[2] = {{.address = "a@example.org"}, {.address = "b@example.org"}};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, rcpt, 2, &res), SMTP_OK);
    peer_stop(p);
    assert_false(p->failed);
    assert_int_equal(res.accepted, 1);
    assert_string_equal(res.reply, "250 2.0.0 queued as X1");
    assert_string_equal(res.err, "");
    assert_int_equal(rcpt[0].code, 250);
    assert_int_equal(rcpt[1].code, 550);
    assert_string_equal(rcpt[1].reply, "550 5.1.1 no 5.1.1 such user");
    assert_non_null(strstr(p->got, "SIZE=27\r\n"));
    assert_string_equal(p->data, "Subject: t\r\n\r\nline\r\n..\r\n...x\r\n.\r\n");
    peer_free(p);
    free(p);
}

/* Captures what log_trace writes to stderr while fn runs. */
static char *
capture_trace(void (*fn)(void *), void *arg)
{
    log_trace_enabled = true;
    char *text = capture_stderr(fn, arg);
    log_trace_enabled = false;
    assert_non_null(text);
    return text;
}

struct auth_run {
    int port;
    const char *user, *password;
    enum smtp_status st;
    struct smtp_result res;
};

static void
run_auth(void *arg)
{
    struct auth_run *a = arg;
    struct smtp_options opt = options(a->port);
    opt.user = a->user;
    opt.password = a->password;
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    a->st = send_to(&opt, &rcpt, 1, &a->res);
}

static void
test_smtp_client_auth_plain(void **state)
{
    (void)state;
    /* base64("\0user\0pass") = AHVzZXIAcGFzcw== (RFC 4616 message). */
    static const char *const script[] = {
        "S:220 peer.test\r\n",
        "C:EHLO",
        "S:250-peer.test\r\n250-AUTH LOGIN PLAIN CRAM-MD5\r\n250 SIZE\r\n",
        "C:AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
        "S:235 2.7.0 ok\r\n",
        "C:MAIL FROM:<from@example.org> SIZE=",
        "S:250 ok\r\n",
        "C:RCPT TO:",
        "S:250 ok\r\n",
        "C:DATA",
        "S:354 go\r\n",
        "DATA",
        "S:250 ok\r\n",
        "C:QUIT",
        "S:221 bye\r\n",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct auth_run a = {.port = p->port, .user = "user", .password = "pass"};
    char *trace = capture_trace(run_auth, &a);
    assert_int_equal(a.st, SMTP_OK);
    assert_non_null(strstr(trace, "C: AUTH PLAIN ****"));
    assert_null(strstr(trace, "AHVzZXIAcGFzcw=="));
    assert_non_null(strstr(trace, "C: <message data, 33 bytes>"));
    assert_non_null(strstr(trace, "S: 235 2.7.0 ok"));
    free(trace);
    peer_stop(p);
    assert_false(p->failed);
    peer_free(p);
    free(p);
}

static void
test_smtp_client_auth_login(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n",
        "C:EHLO",
        "S:250-peer.test\r\n250 AUTH=LOGIN\r\n",
        "C:AUTH LOGIN\r\n",
        "S:334 VXNlcm5hbWU6\r\n",
        "C:dXNlcg==\r\n",
        "S:334 UGFzc3dvcmQ6\r\n",
        "C:cGFzcw==\r\n",
        "S:235 ok\r\n",
        "C:MAIL FROM:<from@example.org>\r\n",
        "S:250 ok\r\n",
        "C:RCPT TO:",
        "S:250 ok\r\n",
        "C:DATA",
        "S:354 go\r\n",
        "DATA",
        "S:250 ok\r\n",
        "C:QUIT",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct auth_run a = {.port = p->port, .user = "user", .password = "pass"};
    char *trace = capture_trace(run_auth, &a);
    assert_int_equal(a.st, SMTP_OK);
    assert_null(strstr(trace, "dXNlcg=="));
    assert_null(strstr(trace, "cGFzcw=="));
    free(trace);
    peer_stop(p);
    assert_false(p->failed);
    peer_free(p);
    free(p);
}

static void
test_smtp_client_auth_refused(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n",
        "C:EHLO",
        "S:250-peer.test\r\n250 AUTH PLAIN\r\n",
        "C:AUTH PLAIN",
        "S:535 5.7.8 bad credentials\r\n",
        "C:QUIT",
        "S:221 bye\r\n",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct auth_run a = {.port = p->port, .user = "user", .password = "nope"};
    run_auth(&a);
    assert_int_equal(a.st, SMTP_ERR_REFUSED);
    assert_int_equal(a.res.code, 535);
    assert_string_equal(a.res.reply, "535 5.7.8 bad credentials");
    assert_non_null(strstr(a.res.err, "535 5.7.8 bad credentials"));
    end_peer(p);
}

static void
test_smtp_client_auth_unavailable(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n", "C:EHLO", "S:250-peer.test\r\n250 STARTTLS\r\n", "C:QUIT", NULL,
    };
    struct peer *p = start_peer(script);
    struct auth_run a = {.port = p->port, .user = "user", .password = "pass"};
    run_auth(&a);
    assert_int_equal(a.st, SMTP_ERR_REFUSED);
    assert_non_null(strstr(a.res.err, "AUTH"));
    end_peer(p);
}

static void
test_smtp_client_helo_fallback(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 old.test\r\n",
        "C:EHLO client.test\r\n",
        "S:502 5.5.1 command not implemented\r\n",
        "C:HELO client.test\r\n",
        "S:250 old.test\r\n",
        "C:MAIL FROM:<from@example.org>\r\n", /* no SIZE= without EHLO */
        "S:250 ok\r\n",
        "C:RCPT TO:",
        "S:251 will forward\r\n",
        "C:DATA",
        "S:354 go\r\n",
        "DATA",
        "S:250 ok\r\n",
        "C:QUIT",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_OK);
    assert_int_equal(res.accepted, 1);
    peer_stop(p);
    assert_false(p->failed);
    peer_free(p);
    free(p);
}

static void
test_smtp_client_temporary_failure(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n",
        "C:EHLO",
        "S:250 peer.test\r\n",
        "C:MAIL FROM:",
        "S:451 4.3.0 try again later\r\n",
        "C:QUIT",
        "S:221 bye\r\n",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_REFUSED);
    assert_int_equal(res.code, 451);
    assert_string_equal(res.reply, "451 4.3.0 try again later");
    assert_int_equal(rcpt.code, 0);
    end_peer(p);
}

static void
test_smtp_client_all_rejected(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n",  "C:EHLO",       "S:250 peer.test\r\n",
        "C:MAIL FROM:",         "S:250 ok\r\n", "C:RCPT TO:<a@example.org>",
        "S:550 5.1.1 nope\r\n", "C:QUIT",       NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_REFUSED);
    assert_int_equal(res.accepted, 0);
    assert_int_equal(rcpt.code, 550);
    assert_non_null(strstr(res.err, "every recipient"));
    peer_stop(p);
    assert_null(strstr(p->got, "DATA"));
    peer_free(p);
    free(p);
}

static void
test_smtp_client_data_refused(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n",
        "C:EHLO",
        "S:250 peer.test\r\n",
        "C:MAIL FROM:",
        "S:250 ok\r\n",
        "C:RCPT TO:",
        "S:250 ok\r\n",
        "C:DATA",
        "S:354 go\r\n",
        "DATA",
        "S:554 5.6.0 spam\r\n",
        "C:QUIT",
        NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_REFUSED);
    assert_int_equal(res.code, 554);
    assert_string_equal(res.reply, "554 5.6.0 spam");
    end_peer(p);
}

static void
test_smtp_client_greeting_refused(void **state)
{
    (void)state;
    static const char *const script[] = {"S:554 no service\r\n", "C:QUIT", NULL};
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_REFUSED);
    assert_int_equal(res.code, 554);
    end_peer(p);
}

static void
test_smtp_client_early_close(void **state)
{
    (void)state;
    static const char *const after_ehlo[] = {"S:220 peer.test\r\n", "C:EHLO", "CLOSE", NULL};
    static const char *const after_mail[] = {"S:220 peer.test\r\n",
                                             "C:EHLO",
                                             "S:250 peer.test\r\n",
                                             "C:MAIL FROM",
                                             "S:250 2.1.0 ok\r\n",
                                             "C:RCPT TO",
                                             "CLOSE",
                                             NULL};
    static const struct {
        const char *const *script;
        const char *want;
    } cases[] = {{after_ehlo, "(waiting for the reply to EHLO)"},
                 {after_mail, "(waiting for the reply to RCPT TO)"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct peer *p = start_peer(cases[i].script);
        struct smtp_options opt = options(p->port);
        struct smtp_rcpt rcpt = {.address = "a@example.org"};
        struct smtp_result res;
        assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_PROTOCOL);
        assert_non_null(strstr(res.err, "closed the connection"));
        assert_non_null(strstr(res.err, cases[i].want));
        /* An older reply (the greeting, MAIL FROM's 250) is no answer. */
        assert_string_equal(res.reply, "");
        assert_int_equal(rcpt.code, 0);
        end_peer(p);
    }
}

static void
test_smtp_client_malformed_reply(void **state)
{
    (void)state;
    static const char *const script[] = {"S:220 peer.test\r\n", "C:EHLO", "S:250-a\r\n220 b\r\n",
                                         "HANG", NULL};
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_PROTOCOL);
    assert_non_null(strstr(res.err, "malformed"));
    end_peer(p);
}

static void
test_smtp_client_silent_peer(void **state)
{
    (void)state;
    static const char *const script[] = {"HANG", NULL};
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    opt.reply_timeout_ms = 200;
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    int64_t t0 = clock_now_ms();
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_TIMEOUT);
    int64_t took = clock_now_ms() - t0;
    assert_true(took >= 190 && took < 1500);
    assert_non_null(strstr(res.err, "200 ms"));
    end_peer(p);
}

static void
test_smtp_client_total_deadline(void **state)
{
    (void)state;
    /* Each reply comes within the reply timeout, but together they are too slow. */
    static const char *const script[] = {
        "SLEEP:150", "S:220 peer.test\r\n", "C:EHLO",       "SLEEP:150", "S:250 peer.test\r\n",
        "C:MAIL",    "SLEEP:150",           "S:250 ok\r\n", "HANG",      NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    opt.reply_timeout_ms = 1000;
    opt.total_timeout_ms = 350;
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    int64_t t0 = clock_now_ms();
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_TIMEOUT);
    assert_true(clock_now_ms() - t0 < 1000);
    assert_non_null(strstr(res.err, "longer than 350 ms"));
    end_peer(p);
}

static void
test_smtp_client_size_limit(void **state)
{
    (void)state;
    static const char *const script[] = {
        "S:220 peer.test\r\n", "C:EHLO", "S:250-peer.test\r\n250 SIZE 10\r\n", "C:QUIT",
        "S:221 bye\r\n",       NULL,
    };
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_TOO_BIG);
    assert_non_null(strstr(res.err, "limit of 10 bytes"));
    peer_stop(p);
    assert_false(p->failed);
    assert_null(strstr(p->got, "MAIL FROM"));
    peer_free(p);
    free(p);
}

static void
test_smtp_client_connect_refused(void **state)
{
    (void)state;
    struct smtp_options opt = options(dead_port());
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_CONNECT);
    assert_non_null(strstr(res.err, "refused"));
}

static void
test_smtp_client_unknown_host(void **state)
{
    (void)state;
    struct smtp_options opt = options(25);
    opt.host = "no-such-host.invalid";
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_CONNECT);
    assert_non_null(strstr(res.err, "resolve no-such-host.invalid"));
}

static void
test_smtp_client_long_reply(void **state)
{
    (void)state;
    static char flood[SMTP_REPLY_MAX + 64];
    memset(flood, 0, sizeof(flood));
    memcpy(flood, "S:220-", 6);
    memset(flood + 6, 'x', SMTP_REPLY_MAX + 10);
    const char *script[] = {flood, "HANG", NULL};
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    struct smtp_result res;
    assert_int_equal(send_to(&opt, &rcpt, 1, &res), SMTP_ERR_PROTOCOL);
    assert_non_null(strstr(res.err, "longer than"));
    end_peer(p);
}

static void
test_smtp_client_tcp_nodelay(void **state)
{
    (void)state;
    static const char *const script[] = {"HANG", NULL};
    struct peer *p = start_peer(script);
    struct smtp_options opt = options(p->port);
    struct smtp_result res = {0};
    struct session s = {.rfd = -1, .wfd = -1, .opt = &opt, .res = &res};
    s.total_deadline = clock_now_ms() + 2000;
    assert_int_equal(open_connection(&s), SMTP_OK);
    int on = 0;
    socklen_t len = sizeof(on);
    assert_int_equal(getsockopt(s.rfd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    assert_true(on != 0);
    assert_true(fcntl(s.rfd, F_GETFL) & O_NONBLOCK);
    close(s.rfd);
    end_peer(p);
}

static void
test_smtp_tls_parse(void **state)
{
    (void)state;
    enum smtp_tls m = SMTP_TLS_IMPLICIT;
    assert_int_equal(smtp_tls_parse("none", &m), 0);
    assert_int_equal(m, SMTP_TLS_NONE);
    assert_int_equal(smtp_tls_parse("implicit", &m), 0);
    assert_int_equal(m, SMTP_TLS_IMPLICIT);
    assert_int_equal(smtp_tls_parse("starttls", &m), 0);
    assert_int_equal(m, SMTP_TLS_STARTTLS);
    assert_int_equal(smtp_tls_parse("STARTTLS", &m), -1);
    assert_int_equal(smtp_tls_parse("tls", &m), -1);
    assert_int_equal(smtp_tls_parse("", &m), -1);
}

/* ---- through a TLS tunnel (fake openssl) ------------------------------- */

/* Plays the SMTP server on stdin/stdout, noting each line in @D/got. */
#define FAKE_SERVER_LOOP                                                        \
    "while IFS= read -r line; do\n"                                             \
    "  echo \"$line\" >> @D/got\n"                                              \
    "  case \"$line\" in\n"                                                     \
    "    EHLO*) printf '250-fake\\r\\n250 AUTH PLAIN\\r\\n' ;;\n"               \
    "    AUTH*) printf '235 ok\\r\\n' ;;\n"                                     \
    "    DATA*) printf '354 go\\r\\n'\n"                                        \
    "           while IFS= read -r l; do [ \"$l\" = $'.\\r' ] && break; done\n" \
    "           printf '250 queued as T1\\r\\n' ;;\n"                           \
    "    QUIT*) printf '221 bye\\r\\n'; exit 0 ;;\n"                            \
    "    *) printf '250 ok\\r\\n' ;;\n"                                         \
    "  esac\n"                                                                  \
    "done\n"

/* What s_client prints on stderr when TLS is up, after a pause in which the
 * fake notes anything written to it too early (@D/early). */
#define FAKE_UP                                                           \
    "if IFS= read -r -t 0.2 early; then echo \"$early\" > @D/early; fi\n" \
    "printf 'CONNECTION ESTABLISHED\\nProtocol version: TLSv1.3\\nVerification: OK\\n' >&2\n"

/* Writes the fake openssl, a bash script that first notes its arguments
 * and environment, then runs body ("@D" stands for the directory), and
 * returns its path. Removes what an earlier fake left behind. */
static const char *
fake_openssl(const char *body)
{
    static const char *const leftovers[] = {"got", "early", "argv", "env"};
    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", fake_dir, leftovers[i]);
        unlink(path);
    }
    struct buf text = {0};
    assert_int_equal(buf_printf(&text,
                                "printf '%%s\\n' \"$@\" > @D/argv\n"
                                "tr '\\0' '\\n' < /proc/$$/environ > @D/env\n"
                                "%s",
                                body),
                     0);
    const char *path = fake_script("openssl", text.data);
    buf_free(&text);
    return path;
}

static struct smtp_options
tls_options(const char *openssl, enum smtp_tls mode)
{
    struct smtp_options opt = options(4650);
    opt.tls = mode;
    opt.openssl = openssl;
    opt.ca_file = "/tmp/ca.pem";
    return opt;
}

struct tls_run {
    struct smtp_options opt;
    enum smtp_status st;
    struct smtp_result res;
};

static void
run_tls(void *arg)
{
    struct tls_run *r = arg;
    struct smtp_rcpt rcpt = {.address = "a@example.org"};
    r->st = send_to(&r->opt, &rcpt, 1, &r->res);
}

static void
test_smtp_tls_implicit(void **state)
{
    (void)state;
    setenv("SMTP_PASSWORD", "hunter2", 1);
    setenv("MAIL_TOKEN", "t0ken", 1);
    struct tls_run r = {
        .opt = tls_options(fake_openssl(FAKE_UP "printf '220 fake ESMTP\\r\\n'\n" FAKE_SERVER_LOOP),
                           SMTP_TLS_IMPLICIT)};
    r.opt.user = "user";
    r.opt.password = "hunter2";
    char *trace = capture_trace(run_tls, &r);
    unsetenv("SMTP_PASSWORD");
    unsetenv("MAIL_TOKEN");
    assert_int_equal(r.st, SMTP_OK);
    assert_string_equal(r.res.reply, "250 queued as T1");
    assert_no_children();
    /* The dialogue shows in the trace as it does without TLS, AUTH masked. */
    assert_non_null(strstr(trace, "T: /tmp/test_fake."));
    assert_non_null(strstr(trace, "s_client -quiet -no_ign_eof -nocommands -brief "
                                  "-verify_return_error -connect 127.0.0.1:4650 -noservername "
                                  "-verify_ip 127.0.0.1 -CAfile /tmp/ca.pem\\n"));
    assert_non_null(strstr(trace, "T: Verification: OK"));
    assert_non_null(strstr(trace, "S: 220 fake ESMTP"));
    assert_non_null(strstr(trace, "C: EHLO client.test"));
    assert_non_null(strstr(trace, "C: AUTH PLAIN ****"));
    assert_non_null(strstr(trace, "C: MAIL FROM:<from@example.org>"));
    assert_non_null(strstr(trace, "C: RCPT TO:<a@example.org>"));
    assert_non_null(strstr(trace, "C: <message data, 33 bytes>"));
    assert_non_null(strstr(trace, "C: QUIT"));
    /* base64("\0user\0hunter2") */
    assert_null(strstr(trace, "AHVzZXIAaHVudGVyMg=="));
    assert_null(strstr(trace, "hunter2"));
    free(trace);
    char *got = fake_file("got"), *argv = fake_file("argv"), *env = fake_file("env");
    char *early = fake_file("early");
    assert_non_null(got);
    assert_non_null(strstr(got, "EHLO client.test\r\nAUTH PLAIN AHVzZXIAaHVudGVyMg==\r\n"
                                "MAIL FROM:<from@example.org>"));
    assert_null(early); /* nothing went in before TLS was up */
    /* Credentials only ever cross the pipe: not argv, not the environment. */
    assert_null(strstr(argv, "hunter2"));
    assert_null(strstr(argv, "AHVzZXI"));
    assert_null(strstr(argv, "user"));
    assert_string_equal(env, "PATH=/usr/bin:/bin\nLC_ALL=C\n");
    free(got);
    free(argv);
    free(env);
}

static void
test_smtp_tls_starttls(void **state)
{
    (void)state;
    /* s_client has taken the greeting and done EHLO and STARTTLS: after
     * the summary it echoes the EHLO reply's last line, and no greeting
     * comes on stdout. The client must start with EHLO. */
    struct tls_run r = {
        .opt = tls_options(fake_openssl(FAKE_UP "printf '250 HELP\\r\\n' >&2\n" FAKE_SERVER_LOOP),
                           SMTP_TLS_STARTTLS)};
    r.opt.reply_timeout_ms = 1000;
    int64_t t0 = clock_now_ms();
    run_tls(&r);
    assert_int_equal(r.st, SMTP_OK);
    assert_true(clock_now_ms() - t0 < 1000); /* no wait for a greeting */
    assert_no_children();
    char *got = fake_file("got"), *argv = fake_file("argv");
    assert_true(strncmp(got, "EHLO client.test\r\nMAIL FROM:<", 29) == 0);
    assert_non_null(strstr(argv, "\n-starttls\nsmtp\n-name\nclient.test\n"));
    free(got);
    free(argv);
}

static void
test_smtp_tls_refused(void **state)
{
    (void)state;
    static const struct {
        const char *stderr_text, *want;
    } cases[] = {
        {"verify error:num=18:self-signed certificate", "self-signed certificate"},
        {"verify error:num=62:hostname mismatch", "another host name"},
        {"verify error:num=10:certificate has expired", "certificate expired"},
        {"4000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:x.c:1:",
         "does not speak TLS"},
        {"4000:error:8000006F:system library:BIO_connect:Connection refused:x.c:1:",
         "connection refused"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "echo '%s' >&2\nexit 1\n", cases[i].stderr_text);
        struct tls_run r = {.opt = tls_options(fake_openssl(body), SMTP_TLS_IMPLICIT)};
        r.opt.user = "user";
        r.opt.password = "hunter2";
        run_tls(&r);
        assert_int_equal(r.st, SMTP_ERR_TLS);
        if (strstr(r.res.err, cases[i].want) == NULL ||
            strncmp(r.res.err, "TLS to 127.0.0.1:4650 failed: ", 30) != 0)
            fail_msg("case %zu: %s", i, r.res.err);
        assert_no_children();
        assert_null(fake_file("got"));
    }
}

static void
test_smtp_tls_no_starttls(void **state)
{
    (void)state;
    /* s_client would go on with a handshake the server never answers. */
    struct tls_run r = {
        .opt = tls_options(fake_openssl("echo \"Didn't find STARTTLS in server response, trying "
                                        "anyway...\" >&2\nexec sleep 30\n"),
                           SMTP_TLS_STARTTLS)};
    int64_t t0 = clock_now_ms();
    run_tls(&r);
    assert_true(clock_now_ms() - t0 < 1000);
    assert_int_equal(r.st, SMTP_ERR_TLS);
    assert_non_null(strstr(r.res.err, "does not offer STARTTLS"));
    assert_no_children();
}

static void
test_smtp_tls_handshake_timeout(void **state)
{
    (void)state;
    /* A relay that never finishes the handshake: connect plus reply time. */
    struct tls_run r = {.opt = tls_options(fake_openssl("exec sleep 30\n"), SMTP_TLS_IMPLICIT)};
    r.opt.connect_timeout_ms = 100;
    r.opt.reply_timeout_ms = 200;
    int64_t t0 = clock_now_ms();
    run_tls(&r);
    int64_t took = clock_now_ms() - t0;
    assert_int_equal(r.st, SMTP_ERR_TIMEOUT);
    assert_true(took >= 290 && took < 1500);
    assert_non_null(strstr(r.res.err, "no TLS connection to 127.0.0.1:4650 within 300 ms"));
    assert_no_children();

    /* The whole transaction's deadline comes first when it is nearer. */
    r = (struct tls_run){.opt = tls_options(fake_openssl("exec sleep 30\n"), SMTP_TLS_IMPLICIT)};
    r.opt.total_timeout_ms = 150;
    t0 = clock_now_ms();
    run_tls(&r);
    assert_int_equal(r.st, SMTP_ERR_TIMEOUT);
    assert_true(clock_now_ms() - t0 < 1000);
    assert_non_null(strstr(r.res.err, "longer than 150 ms"));
    assert_no_children();
}

static void
test_smtp_tls_silent_after_up(void **state)
{
    (void)state;
    /* TLS is up but the greeting never comes: the usual reply deadline. */
    struct tls_run r = {
        .opt = tls_options(fake_openssl(FAKE_UP "exec sleep 30\n"), SMTP_TLS_IMPLICIT)};
    r.opt.reply_timeout_ms = 300;
    int64_t t0 = clock_now_ms();
    run_tls(&r);
    int64_t took = clock_now_ms() - t0;
    assert_int_equal(r.st, SMTP_ERR_TIMEOUT);
    assert_true(took >= 290 && took < 1500);
    assert_non_null(strstr(r.res.err, "no reply to the connection (greeting) within 300 ms"));
    assert_no_children();
}

static void
test_smtp_tls_ends_midway(void **state)
{
    (void)state;
    /* The tunnel breaks after EHLO, saying why on stderr... */
    const char *greet_ehlo = FAKE_UP "printf '220 fake\\r\\n'\n"
                                     "IFS= read -r line\nprintf '250 fake\\r\\n'\n"
                                     "IFS= read -r line\n";
    char body[1024];
    snprintf(body, sizeof(body), "%s%s", greet_ehlo,
             "echo '4000:error:0A000119:SSL routines::decryption failed or bad record mac:x.c:1:' "
             ">&2\nexit 1\n");
    struct tls_run r = {.opt = tls_options(fake_openssl(body), SMTP_TLS_IMPLICIT)};
    run_tls(&r);
    assert_int_equal(r.st, SMTP_ERR_TLS);
    assert_non_null(strstr(r.res.err, "decryption failed or bad record mac"));
    assert_non_null(strstr(r.res.err, "MAIL FROM"));
    assert_no_children();
    /* ... or that the server closed it, which is no handshake failure now, ... */
    snprintf(body, sizeof(body), "%s%s", greet_ehlo,
             "echo '4000:error:0A000126:SSL routines::unexpected eof while reading:x.c:1:' "
             ">&2\nexit 1\n");
    r = (struct tls_run){.opt = tls_options(fake_openssl(body), SMTP_TLS_IMPLICIT)};
    run_tls(&r);
    assert_int_equal(r.st, SMTP_ERR_TLS);
    assert_non_null(strstr(r.res.err, "failed: the server closed the connection (waiting for the "
                                      "reply to MAIL FROM)"));
    assert_null(strstr(r.res.err, "handshake"));
    assert_no_children();
    /* ... or without a word: the server closed the connection. */
    snprintf(body, sizeof(body), "%s%s", greet_ehlo, "echo DONE >&2\nexit 0\n");
    r = (struct tls_run){.opt = tls_options(fake_openssl(body), SMTP_TLS_IMPLICIT)};
    run_tls(&r);
    assert_int_equal(r.st, SMTP_ERR_PROTOCOL);
    assert_non_null(
        strstr(r.res.err, "closed the connection (waiting for the reply to MAIL FROM)"));
    assert_no_children();
}

static void
test_smtp_tls_missing_openssl(void **state)
{
    (void)state;
    struct tls_run r = {.opt = tls_options("/nonexistent/openssl", SMTP_TLS_IMPLICIT)};
    run_tls(&r);
    assert_int_equal(r.st, SMTP_ERR_TLS);
    assert_non_null(strstr(r.res.err, "cannot run /nonexistent/openssl"));
    assert_no_children();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smtp_parse_reply_table),
        cmocka_unit_test(test_smtp_parse_reply_nul),
        cmocka_unit_test(test_smtp_parse_reply_prefixes),
        cmocka_unit_test(test_smtp_reply_fold),
        cmocka_unit_test(test_smtp_data_encode),
        cmocka_unit_test(test_smtp_client_happy),
        cmocka_unit_test(test_smtp_client_auth_plain),
        cmocka_unit_test(test_smtp_client_auth_login),
        cmocka_unit_test(test_smtp_client_auth_refused),
        cmocka_unit_test(test_smtp_client_auth_unavailable),
        cmocka_unit_test(test_smtp_client_helo_fallback),
        cmocka_unit_test(test_smtp_client_temporary_failure),
        cmocka_unit_test(test_smtp_client_all_rejected),
        cmocka_unit_test(test_smtp_client_data_refused),
        cmocka_unit_test(test_smtp_client_greeting_refused),
        cmocka_unit_test(test_smtp_client_early_close),
        cmocka_unit_test(test_smtp_client_malformed_reply),
        cmocka_unit_test(test_smtp_client_silent_peer),
        cmocka_unit_test(test_smtp_client_total_deadline),
        cmocka_unit_test(test_smtp_client_size_limit),
        cmocka_unit_test(test_smtp_client_connect_refused),
        cmocka_unit_test(test_smtp_client_unknown_host),
        cmocka_unit_test(test_smtp_client_long_reply),
        cmocka_unit_test(test_smtp_client_tcp_nodelay),
        cmocka_unit_test(test_smtp_tls_parse),
        cmocka_unit_test(test_smtp_tls_implicit),
        cmocka_unit_test(test_smtp_tls_starttls),
        cmocka_unit_test(test_smtp_tls_refused),
        cmocka_unit_test(test_smtp_tls_no_starttls),
        cmocka_unit_test(test_smtp_tls_handshake_timeout),
        cmocka_unit_test(test_smtp_tls_silent_after_up),
        cmocka_unit_test(test_smtp_tls_ends_midway),
        cmocka_unit_test(test_smtp_tls_missing_openssl),
    };
    return cmocka_run_group_tests(tests, fake_dir_make, fake_dir_remove);
}
