/* test_tlspipe.c - the s_client command line, stderr-to-reason mapping, and
 * spawning, watching and reaping a child, against fake "openssl" programs:
 * small bash scripts in a temporary directory that print what s_client
 * prints, hang, or exit. Every test ends with no child process left. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define TLSPIPE_CHECK_TIMEOUT_MS 300
#include "../http/tlspipe.c"
#include "fake_exec.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

static struct tlspipe_options
options(const char *openssl)
{
    return (struct tlspipe_options){
        .openssl = openssl, .host = "relay.example.org", .port = 465, .helo_name = "me.test"};
}

/* ---- the command line --------------------------------------------------- */

struct argv_case {
    const char *host;
    int port;
    bool starttls;
    const char *ca;
    const char *want; /* the arguments after "openssl s_client", space-separated */
};

#define COMMON "-quiet -no_ign_eof -nocommands -brief -verify_return_error -connect "

static const struct argv_case argv_cases[] = {
    {"smtp.example.com", 465, false, NULL,
     COMMON "smtp.example.com:465 -servername smtp.example.com -verify_hostname smtp.example.com"},
    {"smtp.example.com", 587, true, NULL,
     COMMON "smtp.example.com:587 -servername smtp.example.com -verify_hostname smtp.example.com "
            "-starttls smtp -name me.test"},
    {"127.0.0.1", 465, false, "/etc/ca.pem",
     COMMON "127.0.0.1:465 -noservername -verify_ip 127.0.0.1 -CAfile /etc/ca.pem"},
    {"::1", 587, true, "/ca.pem",
     COMMON "[::1]:587 -noservername -verify_ip ::1 -CAfile /ca.pem -starttls smtp -name me.test"},
    {"2001:db8::25", 465, false, NULL,
     COMMON "[2001:db8::25]:465 -noservername -verify_ip 2001:db8::25"},
    /* Not addresses: names that only look a bit like one. */
    {"1.2.3.4.example", 465, false, NULL,
     COMMON "1.2.3.4.example:465 -servername 1.2.3.4.example -verify_hostname 1.2.3.4.example"},
    {"localhost", 1025, false, NULL,
     COMMON "localhost:1025 -servername localhost -verify_hostname localhost"},
};

static void
test_tlspipe_argv_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(argv_cases) / sizeof(argv_cases[0]); i++) {
        const struct argv_case *c = &argv_cases[i];
        struct tlspipe_options opt = {.openssl = "/usr/bin/openssl",
                                      .host = c->host,
                                      .port = c->port,
                                      .starttls = c->starttls,
                                      .helo_name = "me.test",
                                      .ca_file = c->ca};
        struct tlspipe_argv av;
        assert_int_equal(tlspipe_build_argv(&opt, &av), 0);
        assert_string_equal(av.argv[0], "/usr/bin/openssl");
        assert_string_equal(av.argv[1], "s_client");
        char got[1024] = "";
        size_t n = 0;
        for (const char *const *a = av.argv + 2; *a; a++)
            n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", n ? " " : "", *a);
        if (strcmp(got, c->want) != 0)
            fail_msg("%s:%d\n got: %s\nwant: %s", c->host, c->port, got, c->want);
        /* Never -crlf (it doubles our CRs), always the verification flags. */
        assert_null(strstr(got, "-crlf"));
    }
}

static void
test_tlspipe_argv_rejects(void **state)
{
    (void)state;
    static const char *const hosts[] = {"", "-connect", "a b", "a\tb", "a\nb", "a\x7f"};
    struct tlspipe_argv av;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct tlspipe_options opt = options(NULL);
        opt.host = hosts[i];
        if (tlspipe_build_argv(&opt, &av) != -1)
            fail_msg("host \"%s\" accepted", hosts[i]);
    }
    struct tlspipe_options opt = options(NULL);
    opt.host = NULL;
    assert_int_equal(tlspipe_build_argv(&opt, &av), -1);
    opt = options(NULL);
    opt.port = 0;
    assert_int_equal(tlspipe_build_argv(&opt, &av), -1);
    opt.port = 65536;
    assert_int_equal(tlspipe_build_argv(&opt, &av), -1);
    char long_host[300];
    memset(long_host, 'a', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    opt = options(NULL);
    opt.host = long_host;
    assert_int_equal(tlspipe_build_argv(&opt, &av), -1);
    /* The default program. */
    opt = options(NULL);
    assert_int_equal(tlspipe_build_argv(&opt, &av), 0);
    assert_string_equal(av.argv[0], "/usr/bin/openssl");
}

/* ---- stderr to words ---------------------------------------------------- */

struct reason_case {
    const char *stderr_text;
    const char *want; /* a part of the reason */
};

/* The texts are what OpenSSL 3.0 s_client prints, as captured here. */
static const struct reason_case reason_cases[] = {
    {"depth=0 CN = localhost\nverify error:num=18:self-signed certificate\n"
     "40E7:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify "
     "failed:../ssl/statem/statem_clnt.c:1889:\n",
     "self-signed"},
    {"depth=0 CN = localhost\nverify error:num=20:unable to get local issuer certificate\n"
     "40E7:error:0A000086:SSL routines::certificate verify failed:x.c:1:\n",
     "unknown CA"},
    {"depth=0 CN = localhost\nverify error:num=10:certificate has expired\n"
     "40E7:error:0A000086:SSL routines::certificate verify failed:x.c:1:\n",
     "expired"},
    {"depth=0 CN = wrong.test\nverify error:num=62:hostname mismatch\n"
     "40E7:error:0A000086:SSL routines::certificate verify failed:x.c:1:\n",
     "another host name"},
    {"verify error:num=64:IP address mismatch\n", "another IP address"},
    {"4087:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/"
     "bio_sock2.c:117:calling connect()\n4087:error:10000067:BIO routines:BIO_connect:connect "
     "error:../crypto/bio/bio_sock2.c:119:\nconnect:errno=111\n",
     "connection refused"},
    {"40B7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/"
     "ssl3_record.c:350:\n",
     "does not speak TLS"},
    {"Didn't find STARTTLS in server response, trying anyway...\n"
     "40F7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:x.c:350:\n",
     "does not offer STARTTLS"},
    {"40E1:error:10080002:BIO routines:BIO_lookup_ex:system lib:../crypto/bio/bio_addr.c:746:Name "
     "or service not known\nconnect:errno=0\n",
     "cannot resolve"},
    {"4000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:x.c:1:\n",
     "refused the TLS handshake"},
    {"4000:error:0A000126:SSL routines::unexpected eof while reading:x.c:1:\n",
     "closed the connection during"},
    /* Unknown failures: the reason field of the last error line, else the last line. */
    {"4000:error:0A0000FF:SSL routines:f:some new failure:x.c:1:\n", "some new failure"},
    {"s_client: Unknown option: -nocommands\ns_client: Use -help for summary.\n",
     "s_client: Use -help for summary."},
    {"bad\x01"
     "byte\n",
     "bad?byte"},
};

static void
test_tlspipe_reason_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
        const struct reason_case *c = &reason_cases[i];
        size_t len = strlen(c->stderr_text);
        char *copy = malloc(len); /* no NUL: ASan sees an over-read */
        assert_non_null(copy);
        memcpy(copy, c->stderr_text, len);
        char out[200];
        size_t n = tlspipe_reason(copy, len, false, out, sizeof(out));
        free(copy);
        if (n == 0 || strstr(out, c->want) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, c->want);
        assert_int_equal(n, strlen(out));
    }
    char out[8];
    assert_int_equal(tlspipe_reason("", 0, false, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(tlspipe_reason("\n\n", 2, false, out, sizeof(out)), 0);
    /* Truncated to fit. */
    assert_int_equal(tlspipe_reason("certificate has expired\n", 24, false, out, sizeof(out)), 7);
    assert_string_equal(out, "certifi");
    /* The server going away is a failed handshake only while there is one. */
    static const char eof[] =
        "4000:error:0A000126:SSL routines::unexpected eof while reading:x.c:1:\n";
    char why[100];
    tlspipe_reason(eof, strlen(eof), false, why, sizeof(why));
    assert_string_equal(why, "the server closed the connection during the TLS handshake");
    tlspipe_reason(eof, strlen(eof), true, why, sizeof(why));
    assert_string_equal(why, "the server closed the connection");
}

/* ---- watching stderr ---------------------------------------------------- */

static void
feed(struct tlspipe *t, const char *text)
{
    take_bytes(t, text, strlen(text));
}

static void
test_tlspipe_state_from_stderr(void **state)
{
    (void)state;
    struct tlspipe t;
    tlspipe_init(&t);
    /* Lines split anywhere; "Verification: OK" counts only after the banner. */
    feed(&t, "Verification: OK\nCONNECTION ESTAB");
    assert_int_equal(t.state, TLSPIPE_HANDSHAKE);
    feed(&t, "LISHED\nProtocol version: TLSv1.3\nVerification");
    assert_int_equal(t.state, TLSPIPE_HANDSHAKE);
    feed(&t, ": OK\nVerified peername: x\n250 HELP\r\n");
    assert_int_equal(t.state, TLSPIPE_UP);
    assert_int_equal(t.log_len, 0); /* the summary is no complaint */
    feed(&t, "4000:error:0A000126:SSL routines::unexpected eof while reading:x.c:1:\nDONE\n");
    assert_non_null(strstr(t.log, "unexpected eof"));
    assert_null(strstr(t.log, "DONE"));

    tlspipe_init(&t);
    feed(&t, "Didn't find STARTTLS in server response, trying anyway...\n");
    assert_int_equal(t.state, TLSPIPE_FAILED);
    tlspipe_init(&t);
    feed(&t, "CONNECTION ESTABLISHED\nVerification error: self-signed certificate\n");
    assert_int_equal(t.state, TLSPIPE_FAILED);

    /* A flood keeps the newest lines, and an overlong line is cut, not lost. */
    tlspipe_init(&t);
    for (int i = 0; i < 500; i++)
        feed(&t, "noise noise noise noise\n");
    feed(&t, "verify error:num=10:certificate has expired\n");
    assert_true(t.log_len <= sizeof(t.log));
    char out[100];
    tlspipe_reason(t.log, t.log_len, false, out, sizeof(out));
    assert_string_equal(out, "certificate expired");
    char big[1000];
    memset(big, 'x', sizeof(big));
    take_bytes(&t, big, sizeof(big));
    assert_true(t.line_len < sizeof(t.line));
}

/* ---- spawning and reaping ----------------------------------------------- */

static const char good_body[] =
    "printf '%s\\n' \"$@\" > @D/argv\n"
    "tr '\\0' '\\n' < /proc/$$/environ > @D/env\n"
    "ls /proc/$$/fd > @D/fds\n"
    "grep -E '^Sig(Blk|Ign)' /proc/self/status > @D/sig\n"
    "cut -d' ' -f5 /proc/$$/stat > @D/pgid\n"
    "echo $$ >> @D/pgid\n"
    "if IFS= read -r -t 0.2 early; then echo \"$early\" > @D/early; fi\n"
    "printf 'CONNECTION ESTABLISHED\\nVerification: OK\\n' >&2\n"
    "printf '220 fake\\r\\n'\n"
    "while IFS= read -r line; do\n"
    "  echo \"$line\" >> @D/got\n"
    "  case \"$line\" in QUIT*) printf '221 bye\\r\\n'; exit 0;; *) printf '250 ok\\r\\n';; esac\n"
    "done\n";

static void
test_tlspipe_spawn_clean_child(void **state)
{
    (void)state;
    /* What the server does to itself: ignore SIGPIPE, block SIGTERM. */
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, &old_mask);
    setenv("SMTP_PASSWORD", "hunter2", 1);
    setenv("MAIL_TOKEN", "t0ken", 1);
    /* A descriptor without O_CLOEXEC that must not reach the child. */
    int leak = open("/dev/null", O_RDONLY);
    assert_true(leak >= 0);
    assert_int_equal(dup2(leak, 77), 77);

    struct tlspipe_options opt = options(fake_script("openssl", good_body));
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), 0);
    assert_true(t.pid > 0);
    /* Our ends: non-blocking, close-on-exec, above 2. */
    int fds[3] = {t.in_fd, t.out_fd, t.err_fd};
    for (int i = 0; i < 3; i++) {
        assert_true(fds[i] > 2);
        assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
    }
    assert_int_equal(tlspipe_wait_up(&t, 3000), TLSPIPE_UP);
    const char quit[] = "QUIT\r\n";
    assert_int_equal(tlspipe_write(&t, quit, sizeof(quit) - 1), (ssize_t)sizeof(quit) - 1);
    int status = tlspipe_close(&t, 2000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(t.pid, -1);
    assert_int_equal(t.in_fd, -1);
    assert_int_equal(t.out_fd, -1);
    assert_int_equal(t.err_fd, -1);
    assert_int_equal(tlspipe_close(&t, 0), -1); /* twice is fine */
    assert_no_children();

    char *argv = fake_file("argv"), *env = fake_file("env"), *fdl = fake_file("fds"),
         *sig = fake_file("sig");
    char *pgid = fake_file("pgid"), *early = fake_file("early"), *got = fake_file("got");
    assert_non_null(argv);
    assert_non_null(strstr(argv, "s_client\n-quiet\n"));
    assert_non_null(strstr(argv, "-verify_hostname\nrelay.example.org\n"));
    /* The environment it was started with is ours alone: PATH and the locale. */
    assert_string_equal(env, "PATH=/usr/bin:/bin\nLC_ALL=C\n");
    assert_null(strstr(argv, "hunter2"));
    /* Descriptors: the three pipes, and bash's own script descriptor. */
    assert_string_equal(fdl, "0\n1\n2\n255\n");
    /* No signal blocked, none of 1..31 ignored (SIGPIPE, SIGTERM: we ignore or
     * block those). glibc's posix_spawn leaves its own two internal signals,
     * 32 and 33, ignored; the new program's libc takes them back. */
    unsigned long long blk = ~0ULL, ign = ~0ULL;
    assert_int_equal(sscanf(sig, "SigBlk: %llx SigIgn: %llx", &blk, &ign), 2);
    assert_true(blk == 0);
    assert_true((ign & 0x7fffffffULL) == 0);
    int pg = 0, pid = -1;
    assert_int_equal(sscanf(pgid, "%d %d", &pg, &pid), 2);
    assert_int_equal(pg, pid); /* a process group of its own */
    assert_null(early);        /* nothing was written before TLS was up */
    assert_string_equal(got, "QUIT\r\n");
    free(argv);
    free(env);
    free(fdl);
    free(sig);
    free(pgid);
    free(got);

    close(77);
    close(leak);
    unsetenv("SMTP_PASSWORD");
    unsetenv("MAIL_TOKEN");
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    signal(SIGPIPE, old_pipe);
}

static void
test_tlspipe_failure_reaped(void **state)
{
    (void)state;
    struct tlspipe_options opt = options(fake_script(
        "openssl", "echo 'depth=0 CN = localhost' >&2\n"
                   "echo 'verify error:num=18:self-signed certificate' >&2\n"
                   "echo '40E7:error:0A000086:SSL routines::certificate verify failed:x.c:1:' >&2\n"
                   "exit 1\n"));
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), 0);
    assert_int_equal(tlspipe_wait_up(&t, 3000), TLSPIPE_FAILED);
    char why[200];
    assert_true(tlspipe_reason(t.log, t.log_len, false, why, sizeof(why)) > 0);
    assert_non_null(strstr(why, "self-signed"));
    int status = tlspipe_close(&t, 0);
    assert_true(status != -1);
    assert_no_children();
}

static void
test_tlspipe_timeout_killed(void **state)
{
    (void)state;
    /* A child that never says a word, and that started one of its own:
     * both go, the second through the process group. */
    struct tlspipe_options opt =
        options(fake_script("openssl", "sleep 30 &\necho $! > @D/grandchild\nexec sleep 30\n"));
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), 0);
    int64_t t0 = clock_now_ms();
    assert_int_equal(tlspipe_wait_up(&t, 200), TLSPIPE_HANDSHAKE);
    int64_t took = clock_now_ms() - t0;
    assert_true(took >= 190 && took < 1000);
    t0 = clock_now_ms();
    int status = tlspipe_close(&t, 0);
    assert_true(clock_now_ms() - t0 < 1000);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_no_children();
    char *gc = fake_file("grandchild");
    assert_non_null(gc);
    pid_t g = (pid_t)atoi(gc);
    free(gc);
    /* Gone, or a zombie waiting for init. */
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        char path[64], stat[256] = "";
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)g);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            gone = true;
            break;
        }
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *rp = strrchr(stat, ')');
        gone = rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
        if (!gone)
            nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    assert_true(gone);
}

static void
test_tlspipe_kill_all(void **state)
{
    (void)state;
    /* As before an _exit() with a relay job stuck in a handshake. */
    struct tlspipe_options opt = options(fake_script("openssl", "exec sleep 30\n"));
    struct tlspipe a, b;
    char err[200];
    assert_int_equal(tlspipe_start(&a, &opt, err, sizeof(err)), 0);
    assert_int_equal(tlspipe_start(&b, &opt, err, sizeof(err)), 0);
    int64_t t0 = clock_now_ms();
    tlspipe_kill_all();
    tlspipe_drain(&a, 2000); /* stderr ends when the child dies */
    tlspipe_drain(&b, 2000);
    assert_true(clock_now_ms() - t0 < 1000);
    assert_int_equal(a.err_fd, -1);
    assert_int_equal(b.err_fd, -1);
    int status = tlspipe_close(&a, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    tlspipe_close(&b, 0);
    assert_no_children();
    /* Reaped children are forgotten: nothing left to kill. */
    for (size_t i = 0; i < MAX_LIVE; i++)
        assert_int_equal(live[i], 0);
}

static void
test_tlspipe_stdin_eof_ends_child(void **state)
{
    (void)state;
    /* As s_client -no_ign_eof does: end at EOF on stdin. */
    struct tlspipe_options opt = options(
        fake_script("openssl", "printf 'CONNECTION ESTABLISHED\\nVerification: OK\\n' >&2\n"
                               "while IFS= read -r line; do :; done\necho DONE >&2\nexit 3\n"));
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), 0);
    assert_int_equal(tlspipe_wait_up(&t, 3000), TLSPIPE_UP);
    int status = tlspipe_close(&t, 2000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3); /* not killed */
    assert_no_children();
}

static void
test_tlspipe_write_to_dead_child(void **state)
{
    (void)state;
    /* SIGPIPE is not ignored here: a raised one would end the test. */
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    struct tlspipe_options opt = options(fake_script("openssl", "exec 0<&-\nexit 0\n"));
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), 0);
    tlspipe_drain(&t, 3000); /* until its stderr closes: it has exited */
    assert_int_equal(t.err_fd, -1);
    assert_int_equal(tlspipe_write(&t, "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    sigset_t pending;
    sigpending(&pending);
    assert_false(sigismember(&pending, SIGPIPE));
    tlspipe_close(&t, 0);
    assert_no_children();
    signal(SIGPIPE, old);
}

static void
test_tlspipe_missing_program(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/no-such-openssl", fake_dir);
    struct tlspipe_options opt = options(path);
    struct tlspipe t;
    char err[200];
    assert_int_equal(tlspipe_start(&t, &opt, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot run"));
    assert_int_equal(t.pid, -1);
    assert_int_equal(t.in_fd, -1);
    assert_no_children();
}

static void
test_tlspipe_check(void **state)
{
    (void)state;
    char err[300];
    assert_int_equal(
        tlspipe_check(fake_script("good", "echo 'OpenSSL 3.0.19 27 Jan 2026'\n"), err, sizeof(err)),
        0);
    assert_int_equal(
        tlspipe_check(fake_script("other", "echo 'LibreSSL 3.8.2'\n"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "LibreSSL"));
    assert_int_equal(
        tlspipe_check(fake_script("fails", "echo 'OpenSSL 3'\nexit 2\n"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "exit status 2"));
    int64_t t0 = clock_now_ms();
    assert_int_equal(tlspipe_check(fake_script("hangs", "exec sleep 30\n"), err, sizeof(err)), -1);
    assert_true(clock_now_ms() - t0 < 2000);
    assert_non_null(strstr(err, "did not finish"));
    char path[256];
    snprintf(path, sizeof(path), "%s/plain-file", fake_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(tlspipe_check(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot run"));
    assert_int_equal(tlspipe_check("/nonexistent/openssl", err, sizeof(err)), -1);
    assert_no_children();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlspipe_argv_table),
        cmocka_unit_test(test_tlspipe_argv_rejects),
        cmocka_unit_test(test_tlspipe_reason_table),
        cmocka_unit_test(test_tlspipe_state_from_stderr),
        cmocka_unit_test(test_tlspipe_spawn_clean_child),
        cmocka_unit_test(test_tlspipe_failure_reaped),
        cmocka_unit_test(test_tlspipe_timeout_killed),
        cmocka_unit_test(test_tlspipe_kill_all),
        cmocka_unit_test(test_tlspipe_stdin_eof_ends_child),
        cmocka_unit_test(test_tlspipe_write_to_dead_child),
        cmocka_unit_test(test_tlspipe_missing_program),
        cmocka_unit_test(test_tlspipe_check),
    };
    return cmocka_run_group_tests(tests, fake_dir_make, fake_dir_remove);
}
