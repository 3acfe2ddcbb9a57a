/* tlspipe.c - the TLS leg to an SMTP relay through `openssl s_client`; see tlspipe.h.
 *
 * DESIGN
 * The command line. -verify_return_error makes a certificate that does not
 * verify end the handshake (without it s_client reports the error and talks
 * on), and -verify_hostname / -verify_ip make the name part of the check
 * (without them any valid certificate would do). -servername sends SNI; an
 * IP address gets -noservername, as SNI never carries one (RFC 6066 3).
 * -crlf is not used: our lines already end in CRLF and it would double the CR.
 *
 * Command letters. Plain s_client reads a chunk of stdin that starts with Q,
 * R or K as a command (quit, renegotiate, key update), so "QUIT" and "RCPT TO"
 * would never reach the server. -quiet turns the letters off only by also
 * ignoring EOF on stdin; we want EOF to end the child, so that it never
 * outlives a server that died, hence -no_ign_eof together with -nocommands.
 *
 * How TLS-up is known. With -quiet -brief, s_client writes nothing to stdout
 * but the server's bytes, and to stderr a summary once the handshake is over
 * (OpenSSL 3.0):
 *
 *     CONNECTION ESTABLISHED
 *     Protocol version: TLSv1.3
 *     Ciphersuite: TLS_AES_256_GCM_SHA384
 *     Peer certificate: CN = localhost
 *     Hash used: SHA256
 *     Signature type: RSA-PSS
 *     Verification: OK
 *     Verified peername: localhost
 *     Server Temp Key: X25519, 253 bits
 *
 * A certificate that fails verification ends the handshake before any of
 * that, so the tunnel counts as up at "Verification: OK" after "CONNECTION
 * ESTABLISHED", and the caller writes nothing before. With implicit TLS the
 * server's 220 greeting then follows on stdout. With -starttls smtp, s_client
 * has read the greeting and sent its own EHLO and STARTTLS in the clear, and
 * after the summary it echoes the last line of that EHLO reply to stderr. If
 * the server did not offer STARTTLS it says "Didn't find STARTTLS in server
 * response, trying anyway..." and would go on: the tunnel fails at once.
 * Every failure ends s_client with its reasons on stderr, which
 * tlspipe_reason() turns into words.
 *
 * The child. posix_spawn() (vfork-like, no shell, safe in a threaded
 * process) with: the pipes on 0, 1, 2 and every other descriptor closed
 * (posix_spawn_file_actions_addclosefrom_np, glibc 2.34); all signals back to
 * their defaults and an empty mask, because the server ignores SIGPIPE and
 * blocks SIGINT, SIGTERM and SIGHUP in every thread and a child inherits
 * both; a process group of its own, so a terminal's ^C reaches the server
 * only and tlspipe_close() can kill the child with anything it started; and a
 * fixed environment. The child is reaped by its PID only (waitpid(pid)),
 * never by waitpid(-1), so other children of the process are left alone.
 *
 * REFERENCES
 *   openssl-s_client(1) (OpenSSL 3.0), RFC 8314 (implicit TLS for mail
 *   submission, port 465), RFC 3207 (STARTTLS: the client starts again with
 *   EHLO once TLS is up), RFC 6066 3 (SNI holds no IP address). */
#include "tlspipe.h"
#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long `openssl version` may take at start-up (a test may set it lower). */
#ifndef TLSPIPE_CHECK_TIMEOUT_MS
#define TLSPIPE_CHECK_TIMEOUT_MS 5000
#endif

/* Children not reaped yet, for tlspipe_kill_all(). Relay jobs run on a small
 * pool, so a few slots suffice; a child that finds none free still works, it
 * is only left out of tlspipe_kill_all(). */
#define MAX_LIVE 64

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live[MAX_LIVE]; /* 0: a free slot */

static int
poll_ms(int64_t left)
{
    return left > INT32_MAX ? INT32_MAX : left < 0 ? 0 : (int)left;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- the command line --------------------------------------------------- */

int
tlspipe_build_argv(const struct tlspipe_options *opt, struct tlspipe_argv *out)
{
    const char *h = opt->host;
    if (h == NULL || h[0] == '\0' || h[0] == '-' || strlen(h) > 255 || opt->port < 1 ||
        opt->port > 65535)
        return -1;
    for (const char *p = h; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return -1;
    unsigned char addr[16];
    bool v6 = inet_pton(AF_INET6, h, addr) == 1;
    bool ip = v6 || inet_pton(AF_INET, h, addr) == 1;
    snprintf(out->connect, sizeof(out->connect), v6 ? "[%s]:%d" : "%s:%d", h, opt->port);

    const char **a = out->argv;
    size_t n = 0;
    a[n++] = opt->openssl ? opt->openssl : TLSPIPE_OPENSSL_DEFAULT;
    a[n++] = "s_client";
    a[n++] = "-quiet";
    a[n++] = "-no_ign_eof"; /* after -quiet, which turns -ign_eof on */
    a[n++] = "-nocommands";
    a[n++] = "-brief";
    a[n++] = "-verify_return_error";
    a[n++] = "-connect";
    a[n++] = out->connect;
    if (ip) {
        a[n++] = "-noservername";
        a[n++] = "-verify_ip";
        a[n++] = h;
    } else {
        a[n++] = "-servername";
        a[n++] = h;
        a[n++] = "-verify_hostname";
        a[n++] = h;
    }
    if (opt->ca_file != NULL) {
        a[n++] = "-CAfile";
        a[n++] = opt->ca_file;
    }
    if (opt->starttls) {
        a[n++] = "-starttls";
        a[n++] = "smtp";
        a[n++] = "-name";
        a[n++] = opt->helo_name ? opt->helo_name : "localhost";
    }
    a[n] = NULL;
    return 0;
}

/* ---- spawning ----------------------------------------------------------- */

static void
live_add(pid_t pid)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < MAX_LIVE; i++) {
        if (live[i] == 0) {
            live[i] = pid;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

/* Before the child is reaped: after that its PID may belong to another process. */
static void
live_remove(pid_t pid)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live[i] == pid)
            live[i] = 0;
    pthread_mutex_unlock(&live_lock);
}

void
tlspipe_kill_all(void)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live[i] > 0)
            kill(-live[i], SIGKILL);
    pthread_mutex_unlock(&live_lock);
}

/* Moves fd above 2, so that placing the pipes on 0, 1 and 2 in the child
 * never overwrites one of them (a server started with stdin closed gets
 * descriptor 0 from pipe2()). */
static int
lift_fd(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return high;
}

static int
make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    p[0] = lift_fd(p[0]);
    p[1] = lift_fd(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        close_fd(&p[0]);
        close_fd(&p[1]);
        return -1;
    }
    return 0;
}

static void
trace_command(const char *const *argv)
{
    if (!log_trace_enabled)
        return;
    char line[1024];
    size_t n = 0;
    for (const char *const *a = argv; *a != NULL && n < sizeof(line) - 2; a++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", *a);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    log_trace("T: ", line, n);
}

/* Spawns argv[0] with its stdin, stdout and stderr on three new pipes. */
static int
spawn(struct tlspipe *t, const char *const *argv, char *err, size_t cap)
{
    static char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false, attr_ok = false;
    int rc = -1;
    tlspipe_init(t);
    if (make_pipe(in) < 0 || make_pipe(out) < 0 || make_pipe(errp) < 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        goto end;
    }
    int e = posix_spawn_file_actions_init(&fa);
    fa_ok = e == 0;
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
    if (e == 0)
        e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (e == 0) {
        e = posix_spawnattr_init(&attr);
        attr_ok = e == 0;
    }
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (e == 0)
        e = posix_spawnattr_setsigdefault(&attr, &all);
    if (e == 0)
        e = posix_spawnattr_setsigmask(&attr, &none);
    if (e == 0)
        e = posix_spawnattr_setpgroup(&attr, 0);
    if (e == 0)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETPGROUP);
    if (e != 0) {
        snprintf(err, cap, "posix_spawn set-up: %s", strerror(e));
        goto end;
    }
    trace_command(argv);
    pid_t pid;
    /* posix_spawn() does not write to argv or envp; the casts are its C prototype's. */
    e = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
    if (e != 0) {
        snprintf(err, cap, "cannot run %s: %s", argv[0], strerror(e));
        goto end;
    }
    /* Our ends must not block: they are polled like a socket. */
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    fcntl(errp[0], F_SETFL, fcntl(errp[0], F_GETFL) | O_NONBLOCK);
    live_add(pid);
    t->pid = pid;
    t->in_fd = in[1];
    t->out_fd = out[0];
    t->err_fd = errp[0];
    in[1] = out[0] = errp[0] = -1;
    rc = 0;
end:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&errp[i]);
    }
    return rc;
}

void
tlspipe_init(struct tlspipe *t)
{
    *t = (struct tlspipe){.pid = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1};
}

int
tlspipe_start(struct tlspipe *t, const struct tlspipe_options *opt, char *err, size_t cap)
{
    tlspipe_init(t);
    struct tlspipe_argv av;
    if (tlspipe_build_argv(opt, &av) < 0) {
        snprintf(err, cap, "cannot use SMTP host '%s' port %d for TLS", opt->host ? opt->host : "",
                 opt->port);
        return -1;
    }
    return spawn(t, av.argv, err, cap);
}

/* ---- the child's stderr ------------------------------------------------- */

static bool
contains_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static bool
starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* Keeps line[0..len) (LF included) at the end of t->log, dropping the oldest
 * lines when full: failures are told last. */
static void
keep_line(struct tlspipe *t, const char *line, size_t len)
{
    if (len > sizeof(t->log))
        len = sizeof(t->log);
    if (t->log_len + len > sizeof(t->log)) {
        size_t drop = t->log_len + len - sizeof(t->log);
        const char *nl = memchr(t->log + drop, '\n', t->log_len - drop);
        drop = nl ? (size_t)(nl + 1 - t->log) : t->log_len;
        memmove(t->log, t->log + drop, t->log_len - drop);
        t->log_len -= drop;
    }
    memcpy(t->log + t->log_len, line, len);
    t->log_len += len;
}

/* One complete stderr line (LF included). */
static void
note_line(struct tlspipe *t, const char *line, size_t len)
{
    log_trace("T: ", line, len);
    if (t->state == TLSPIPE_HANDSHAKE) {
        if (starts_with(line, len, "CONNECTION ESTABLISHED")) {
            t->established = true;
        } else if (t->established && starts_with(line, len, "Verification: OK")) {
            t->state = TLSPIPE_UP;
            t->log_len = 0; /* the summary explains no failure */
            return;
        } else if (starts_with(line, len, "Verification error") ||
                   starts_with(line, len, "No peer certificate") ||
                   starts_with(line, len, "Didn't find STARTTLS")) {
            t->state = TLSPIPE_FAILED;
        }
    } else if (t->state == TLSPIPE_UP && !contains_ci(line, len, "error")) {
        /* The rest of the summary, the EHLO reply line echoed after
         * STARTTLS, "DONE": none of it explains a failure. */
        return;
    }
    keep_line(t, line, len);
}

static void
take_bytes(struct tlspipe *t, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        t->line[t->line_len++] = p[i];
        if (p[i] == '\n' || t->line_len == sizeof(t->line) - 1) {
            if (p[i] != '\n')
                t->line[t->line_len++] = '\n'; /* cut: the rest reads as a new line */
            note_line(t, t->line, t->line_len);
            t->line_len = 0;
        }
    }
}

int
tlspipe_read_stderr(struct tlspipe *t)
{
    while (t->err_fd >= 0) {
        char buf[512];
        ssize_t n = read(t->err_fd, buf, sizeof(buf));
        if (n > 0) {
            take_bytes(t, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1; /* all there is for now */
        /* EOF (or a broken pipe): the child is gone or going. */
        if (t->line_len > 0) {
            t->line[t->line_len++] = '\n';
            note_line(t, t->line, t->line_len);
            t->line_len = 0;
        }
        close_fd(&t->err_fd);
        if (t->state == TLSPIPE_HANDSHAKE)
            t->state = TLSPIPE_FAILED;
    }
    return 0;
}

enum tlspipe_state
tlspipe_wait_up(struct tlspipe *t, int timeout_ms)
{
    int64_t deadline = clock_now_ms() + timeout_ms;
    while (t->state == TLSPIPE_HANDSHAKE) {
        if (tlspipe_read_stderr(t) == 0 || t->state != TLSPIPE_HANDSHAKE)
            break;
        int64_t left = deadline - clock_now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = t->err_fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_ms(left)) < 0 && errno != EINTR) {
            t->state = TLSPIPE_FAILED;
            keep_line(t, "poll failed\n", 12);
        }
    }
    return t->state;
}

void
tlspipe_drain(struct tlspipe *t, int timeout_ms)
{
    int64_t deadline = clock_now_ms() + timeout_ms;
    while (tlspipe_read_stderr(t) == 1) {
        int64_t left = deadline - clock_now_ms();
        if (left <= 0)
            return;
        struct pollfd pfd = {.fd = t->err_fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_ms(left)) < 0 && errno != EINTR)
            return;
    }
}

/* ---- writing ------------------------------------------------------------ */

ssize_t
tlspipe_write(struct tlspipe *t, const void *data, size_t len)
{
    /* A write to a pipe nobody reads raises SIGPIPE in the writing thread.
     * Hold it off, and take back the one this write raised, so a server
     * that does not ignore SIGPIPE (or a test) is not killed by it. */
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = write(t->in_fd, data, len);
    int e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

/* ---- why it failed ------------------------------------------------------ */

struct reason {
    const char *needle; /* in the stderr text, case-insensitive */
    const char *words;
};

/* s_client says this when the server goes away without a TLS close_notify,
 * in the handshake or any time after it. */
static const char eof_needle[] = "unexpected eof while reading";

/* Most specific first: verification errors come with a generic
 * "certificate verify failed" line after them. */
static const struct reason reasons[] = {
    {"Didn't find STARTTLS", "the server does not offer STARTTLS"},
    {"self-signed certificate", "self-signed certificate (not from a trusted CA; see --smtp-ca)"},
    {"self signed certificate", "self-signed certificate (not from a trusted CA; see --smtp-ca)"},
    {"unable to get local issuer certificate",
     "certificate issued by an unknown CA (see --smtp-ca)"},
    {"unable to get issuer certificate", "certificate issued by an unknown CA (see --smtp-ca)"},
    {"certificate has expired", "certificate expired"},
    {"certificate is not yet valid", "certificate not valid yet"},
    {"hostname mismatch", "certificate is for another host name"},
    {"IP address mismatch", "certificate is for another IP address"},
    {"certificate revoked", "certificate revoked"},
    {"Connection refused", "connection refused"},
    {"Connection timed out", "connection timed out"},
    {"No route to host", "host unreachable"},
    {"Network is unreachable", "network unreachable"},
    {"Name or service not known", "cannot resolve the host name"},
    {"Temporary failure in name resolution", "cannot resolve the host name"},
    {"No address associated", "cannot resolve the host name"},
    {"wrong version number", "the server does not speak TLS there (a plain SMTP port?)"},
    {"packet length too long", "the server does not speak TLS there (a plain SMTP port?)"},
    {"unsupported protocol", "no TLS version in common with the server"},
    {"no protocols available", "no TLS version in common with the server"},
    {"alert handshake failure", "the server refused the TLS handshake"},
    {eof_needle, "the server closed the connection"},
    {"certificate verify failed", "certificate verification failed"},
};

static size_t
copy_out(char *out, size_t cap, const char *s, size_t len)
{
    if (cap == 0)
        return 0;
    if (len > cap - 1)
        len = cap - 1;
    /* Printable ASCII only: this text ends up in logs and in JSON. */
    for (size_t i = 0; i < len; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[len] = '\0';
    return len;
}

/* The reason field of an OpenSSL 3 error line,
 * "40E7...:error:0A000086:SSL routines:func:reason:file:line:data". */
static bool
error_reason(const char *line, size_t len, const char **r, size_t *rlen)
{
    const char *p = line, *end = line + len;
    const char *field[6];
    size_t nf = 0;
    field[nf++] = p;
    while (p < end && nf < 6) {
        if (*p++ == ':')
            field[nf++] = p;
    }
    if (nf < 6 || end - field[1] < 6 || memcmp(field[1], "error:", 6) != 0)
        return false;
    const char *e = memchr(field[5], ':', (size_t)(end - field[5]));
    *r = field[5];
    *rlen = (size_t)((e ? e : end) - field[5]);
    return *rlen > 0;
}

size_t
tlspipe_reason(const char *log, size_t len, bool up, char *out, size_t cap)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (!contains_ci(log, len, reasons[i].needle))
            continue;
        const char *words = reasons[i].words;
        if (reasons[i].needle == eof_needle && !up)
            words = "the server closed the connection during the TLS handshake";
        return copy_out(out, cap, words, strlen(words));
    }
    const char *last = NULL, *err = NULL;
    size_t last_len = 0, err_len = 0;
    for (const char *p = log, *end = log + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *r;
        size_t rlen;
        if (error_reason(p, (size_t)(stop - p), &r, &rlen)) {
            err = r;
            err_len = rlen;
        }
        if (stop > p) {
            last = p;
            last_len = (size_t)(stop - p);
        }
        p = stop + 1;
    }
    if (err != NULL)
        return copy_out(out, cap, err, err_len);
    if (last != NULL)
        return copy_out(out, cap, last, last_len);
    if (cap > 0)
        out[0] = '\0';
    return 0;
}

/* ---- ending ------------------------------------------------------------- */

/* Gives the child until deadline to close its stdout and stderr and exit;
 * true if it was reaped (its status in *status). */
static bool
await_exit(struct tlspipe *t, int64_t deadline, int *status)
{
    while (t->out_fd >= 0 || t->err_fd >= 0) {
        int64_t left = deadline - clock_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd[2] = {{.fd = t->out_fd, .events = POLLIN},
                                {.fd = t->err_fd, .events = POLLIN}};
        if (poll(pfd, 2, poll_ms(left)) < 0 && errno != EINTR)
            return false;
        if (pfd[1].revents)
            tlspipe_read_stderr(t);
        if (pfd[0].revents) {
            char sink[512];
            ssize_t n = read(t->out_fd, sink, sizeof(sink));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                close_fd(&t->out_fd);
        }
    }
    /* Both closed: it is exiting. A few milliseconds at most, still bounded. */
    live_remove(t->pid);
    for (;;) {
        pid_t r = waitpid(t->pid, status, WNOHANG);
        if (r == t->pid)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
        if (clock_now_ms() >= deadline)
            return false;
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
}

int
tlspipe_close(struct tlspipe *t, int grace_ms)
{
    int status = -1;
    close_fd(&t->in_fd); /* EOF: s_client says goodbye to the server and exits */
    if (t->pid > 0) {
        bool reaped = grace_ms > 0 && await_exit(t, clock_now_ms() + grace_ms, &status);
        if (!reaped) {
            /* Its own process group (see spawn()): this reaches whatever it
             * started too. The PID is still ours: it is not reaped yet. */
            kill(-t->pid, SIGKILL);
            live_remove(t->pid);
            while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        t->pid = -1;
    }
    close_fd(&t->out_fd);
    close_fd(&t->err_fd);
    return status;
}

/* ---- start-up check ----------------------------------------------------- */

int
tlspipe_check(const char *openssl, char *err, size_t cap)
{
    if (access(openssl, X_OK) < 0) {
        snprintf(err, cap, "cannot run openssl '%s': %s", openssl, strerror(errno));
        return -1;
    }
    const char *argv[] = {openssl, "version", NULL};
    struct tlspipe t;
    if (spawn(&t, argv, err, cap) < 0)
        return -1;
    close_fd(&t.in_fd);
    char out[128];
    size_t len = 0;
    int64_t deadline = clock_now_ms() + TLSPIPE_CHECK_TIMEOUT_MS;
    while (t.out_fd >= 0 && clock_now_ms() < deadline) {
        struct pollfd pfd[2] = {{.fd = t.out_fd, .events = POLLIN},
                                {.fd = t.err_fd, .events = POLLIN}};
        if (poll(pfd, 2, poll_ms(deadline - clock_now_ms())) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            tlspipe_read_stderr(&t);
        if (pfd[0].revents) {
            char buf[256];
            ssize_t n = read(t.out_fd, buf, sizeof(buf));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                close_fd(&t.out_fd);
            for (ssize_t i = 0; i < n && len < sizeof(out) - 1; i++)
                out[len++] = buf[i];
        }
    }
    bool finished = t.out_fd < 0;
    int status = tlspipe_close(&t, finished ? TLSPIPE_CHECK_TIMEOUT_MS : 0);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        len--;
    out[len] = '\0';
    char said[128];
    copy_out(said, sizeof(said), out, len);
    if (!finished) {
        snprintf(err, cap, "'%s version' did not finish within %d ms", openssl,
                 TLSPIPE_CHECK_TIMEOUT_MS);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(out, "OpenSSL ", 8) != 0) {
        snprintf(err, cap, "'%s version' said '%s', not OpenSSL (exit status %d)", openssl, said,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}
