/* smtp.c - blocking SMTP client with deadlines; see smtp.h.
 *
 * DESIGN
 * One call, one connection, one message, no pipelining: each command is
 * written, then its reply is read, in lock step (RFC 5321 4.3.1). The socket
 * is non-blocking and every wait is a poll() bounded by the nearer of two
 * deadlines on CLOCK_MONOTONIC: the per-step one (connect_timeout_ms for the
 * connection, reply_timeout_ms for each reply and for a write that makes no
 * progress) and the whole transaction's (total_timeout_ms). A worker thread
 * can therefore never be held longer than total_timeout_ms, plus the time
 * getaddrinfo() takes, which has no timeout of its own.
 *
 * Replies are read into a fixed buffer and parsed in place; a reply stays in
 * the buffer until the next read, so EHLO's extension lines are scanned there
 * without copying:
 *
 *     rbuf: [ 250-mx.example.org\r\n250-SIZE 1000\r\n250 AUTH PLAIN\r\n | next... ]
 *             ^ 0                                   rused ^           rlen ^
 *
 * The message is encoded for DATA (CRLF, dot-stuffing, final ".") before the
 * connection opens, so running out of memory costs no network round trip.
 *
 * TLS. With opt->tls set there is no socket: tlspipe.c runs `openssl
 * s_client`, and the session reads the child's stdout and writes its stdin
 * (rfd, wfd) where it would use the socket, both non-blocking, with the
 * child's stderr polled alongside so that it never fills up. The tunnel is
 * up when s_client says the certificate verified; nothing is written before.
 * With STARTTLS, s_client has read the greeting and done its EHLO and
 * STARTTLS, so the dialogue starts again at EHLO (RFC 3207 4.2). A child
 * that ends early is explained from its stderr (SMTP_ERR_TLS); success is
 * still only the 250 after the data, never its exit status. After QUIT, or
 * any failure, the child is killed if still there and always reaped.
 *
 * REFERENCES
 *   RFC 5321 "Simple Mail Transfer Protocol": 3.3 (mail transactions),
 *   4.1.1 (commands), 4.1.1.4 (DATA), 4.2 (replies, multi-line), 4.3.2
 *   (reply codes per command), 4.5.2 (transparency: dot-stuffing), 4.5.3.2
 *   (timeouts).
 *   RFC 1870 (SIZE), RFC 4954 (AUTH), RFC 4616 (PLAIN),
 *   draft-murchison-sasl-login (LOGIN). */
#include "smtp.h"
#include "base64.h"
#include "clock.h"
#include "log.h"
#include "tlspipe.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The QUIT reply is a courtesy: wait at most this long for it. */
#define QUIT_WAIT_MS 2000
/* After QUIT, s_client gets this long to close TLS and exit before SIGKILL. */
#define TUNNEL_GRACE_MS 250
/* How long a child whose stdout ended gets to finish explaining on stderr. */
#define LAST_WORDS_MS 500

struct session {
    int rfd, wfd; /* plain: the socket, twice; TLS: the child's stdout and stdin */
    bool tunnel;  /* TLS through tls */
    struct tlspipe tls;
    const struct smtp_options *opt;
    struct smtp_result *res;
    int64_t total_deadline;
    char rbuf[SMTP_REPLY_MAX];
    size_t rlen, rused; /* bytes read; bytes of rbuf[] that make up the last reply */
    bool esmtp, ext_size, auth_plain, auth_login;
    unsigned long long size_limit; /* 0: none advertised */
};

static int64_t
step_deadline(const struct session *s, int step_ms)
{
    int64_t d = clock_now_ms() + step_ms;
    return d < s->total_deadline ? d : s->total_deadline;
}

static enum smtp_status set_error(struct session *s, enum smtp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum smtp_status
set_error(struct session *s, enum smtp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->err, sizeof(s->res->err), fmt, ap);
    va_end(ap);
    return st;
}

/* Waits for events on s->rfd (POLLIN) or s->wfd (POLLOUT) until deadline,
 * draining the child's stderr meanwhile in a tunnel. Returns SMTP_OK or
 * SMTP_ERR_TIMEOUT (with the message naming `what`) or SMTP_ERR_PROTOCOL on a
 * poll error. */
static enum smtp_status
wait_fd(struct session *s, short events, int64_t deadline, const char *what)
{
    int fd = events == POLLOUT ? s->wfd : s->rfd;
    for (;;) {
        int64_t left = deadline - clock_now_ms();
        if (left <= 0) {
            if (deadline >= s->total_deadline)
                return set_error(s, SMTP_ERR_TIMEOUT,
                                 "SMTP transaction took longer than %d ms (%s)",
                                 s->opt->total_timeout_ms, what);
            return set_error(s, SMTP_ERR_TIMEOUT, "SMTP server too slow: %s", what);
        }
        /* A negative fd is skipped by poll(): plain SMTP, or stderr at EOF. */
        struct pollfd pfd[2] = {{.fd = fd, .events = events},
                                {.fd = s->tunnel ? s->tls.err_fd : -1, .events = POLLIN}};
        int r = poll(pfd, 2, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0 && pfd[1].revents)
            tlspipe_read_stderr(&s->tls);
        if (r > 0 && pfd[0].revents)
            return SMTP_OK;
        if (r < 0 && errno != EINTR)
            return set_error(s, SMTP_ERR_PROTOCOL, "poll: %s", strerror(errno));
    }
}

/* ---- connecting ------------------------------------------------------- */

/* One non-blocking connect to ai, waited for until deadline. Returns the
 * socket or -1 with the reason in s->res->err and *st. */
static int
connect_one(struct session *s, const struct addrinfo *ai, int64_t deadline, enum smtp_status *st)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *st = set_error(s, SMTP_ERR_CONNECT, "socket: %s", strerror(errno));
        return -1;
    }
    /* Commands are small and each waits for its reply: Nagle would only delay them. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        *st = set_error(s, SMTP_ERR_CONNECT, "connect to %s:%d: %s", s->opt->host, s->opt->port,
                        strerror(errno));
        goto error;
    }
    s->wfd = fd;
    char what[300];
    snprintf(what, sizeof(what), "no connection to %s:%d within %d ms", s->opt->host, s->opt->port,
             s->opt->connect_timeout_ms);
    *st = wait_fd(s, POLLOUT, deadline, what);
    s->wfd = -1;
    if (*st != SMTP_OK)
        goto error;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0)
        return fd;
    *st = set_error(s, SMTP_ERR_CONNECT, "connect to %s:%d: %s", s->opt->host, s->opt->port,
                    strerror(err));
error:
    close(fd);
    return -1;
}

/* Tries each address of the host in turn within the connect deadline. */
static enum smtp_status
open_connection(struct session *s)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", s->opt->port);
    int r = getaddrinfo(s->opt->host, port, &hints, &list);
    if (r != 0)
        return set_error(s, SMTP_ERR_CONNECT, "resolve %s: %s", s->opt->host,
                         r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
    int64_t deadline = step_deadline(s, s->opt->connect_timeout_ms);
    enum smtp_status st = SMTP_ERR_CONNECT;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        int fd = connect_one(s, ai, deadline, &st);
        if (fd >= 0) {
            s->rfd = s->wfd = fd;
            st = SMTP_OK;
            break;
        }
        if (st == SMTP_ERR_TIMEOUT)
            break;
    }
    freeaddrinfo(list);
    return st;
}

/* The child's stdout or stdin is gone: lets it finish saying why on stderr
 * (it exits right after). True when it said something about it. */
static bool
tunnel_last_words(struct session *s)
{
    int64_t left = s->total_deadline - clock_now_ms();
    tlspipe_drain(&s->tls, left < LAST_WORDS_MS ? (int)(left > 0 ? left : 0) : LAST_WORDS_MS);
    return s->tls.log_len > 0;
}

/* The tunnel failed: why, from what s_client said on stderr. `when` ends
 * the message ("" or " (waiting for ...)"). */
static enum smtp_status
tunnel_failed(struct session *s, const char *when)
{
    char why[200];
    bool up = s->tls.state == TLSPIPE_UP;
    if (tlspipe_reason(s->tls.log, s->tls.log_len, up, why, sizeof(why)) == 0)
        snprintf(why, sizeof(why), "openssl s_client ended%s", up ? "" : " before TLS was up");
    return set_error(s, SMTP_ERR_TLS, "TLS to %s:%d failed: %s%s", s->opt->host, s->opt->port, why,
                     when);
}

/* Starts s_client and waits for its TLS connection, verified, within the
 * time plain SMTP gets for connecting and the greeting. */
static enum smtp_status
open_tunnel(struct session *s)
{
    const struct smtp_options *opt = s->opt;
    struct tlspipe_options to = {
        .openssl = opt->openssl ? opt->openssl : TLSPIPE_OPENSSL_DEFAULT,
        .host = opt->host,
        .port = opt->port,
        .starttls = opt->tls == SMTP_TLS_STARTTLS,
        .helo_name = opt->helo_name,
        .ca_file = opt->ca_file,
    };
    char err[SMTP_ERR_MAX];
    if (tlspipe_start(&s->tls, &to, err, sizeof(err)) < 0)
        return set_error(s, SMTP_ERR_TLS, "%s", err);
    s->tunnel = true;
    s->rfd = s->tls.out_fd;
    s->wfd = s->tls.in_fd;
    int budget = opt->connect_timeout_ms + opt->reply_timeout_ms;
    int64_t deadline = step_deadline(s, budget);
    enum tlspipe_state ts = tlspipe_wait_up(&s->tls, (int)(deadline - clock_now_ms()));
    if (ts == TLSPIPE_UP)
        return SMTP_OK;
    if (ts == TLSPIPE_FAILED)
        return tunnel_failed(s, "");
    if (deadline >= s->total_deadline)
        return set_error(s, SMTP_ERR_TIMEOUT,
                         "SMTP transaction took longer than %d ms (no TLS connection to %s:%d)",
                         opt->total_timeout_ms, opt->host, opt->port);
    return set_error(s, SMTP_ERR_TIMEOUT,
                     "SMTP server too slow: no TLS connection to %s:%d within %d ms", opt->host,
                     opt->port, budget);
}

/* ---- the wire --------------------------------------------------------- */

static enum smtp_status
send_all(struct session *s, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = s->tunnel ? tlspipe_write(&s->tls, p, len) : send(s->wfd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && s->tunnel && errno == EPIPE) {
            tunnel_last_words(s);
            return tunnel_failed(s, " (while sending)");
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return set_error(s, SMTP_ERR_PROTOCOL, "send to SMTP server: %s", strerror(errno));
        /* EAGAIN: the socket buffer is full; a stall counts like a slow reply. */
        char what[64];
        snprintf(what, sizeof(what), "could not send for %d ms", s->opt->reply_timeout_ms);
        enum smtp_status st = wait_fd(s, POLLOUT, step_deadline(s, s->opt->reply_timeout_ms), what);
        if (st != SMTP_OK)
            return st;
    }
    return SMTP_OK;
}

/* Reads one reply; on success its code is in s->res->code, its folded text
 * in s->res->reply and its bytes in s->rbuf[0..s->rused). `after` names the
 * command for error messages. */
static enum smtp_status
read_reply(struct session *s, const char *after, int timeout_ms)
{
    memmove(s->rbuf, s->rbuf + s->rused, s->rlen - s->rused);
    s->rlen -= s->rused;
    s->rused = 0;
    int64_t deadline = step_deadline(s, timeout_ms);
    for (;;) {
        int code;
        int r = smtp_parse_reply(s->rbuf, s->rlen, &code);
        if (r > 0) {
            log_trace("S: ", s->rbuf, (size_t)r);
            s->rused = (size_t)r;
            s->res->code = code;
            smtp_reply_fold(s->rbuf, (size_t)r, s->res->reply, sizeof(s->res->reply));
            return SMTP_OK;
        }
        if (r == -1)
            return set_error(s, SMTP_ERR_PROTOCOL, "malformed SMTP reply to %s", after);
        if (s->rlen == sizeof(s->rbuf))
            return set_error(s, SMTP_ERR_PROTOCOL, "SMTP reply to %s longer than %d bytes", after,
                             SMTP_REPLY_MAX);
        ssize_t n = read(s->rfd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen);
        if (n > 0) {
            s->rlen += (size_t)n;
            continue;
        }
        /* s_client's stdout ended: TLS broke (it says so), or the server closed. */
        if (n == 0 && s->tunnel && tunnel_last_words(s)) {
            char when[96];
            snprintf(when, sizeof(when), " (waiting for the reply to %s)", after);
            return tunnel_failed(s, when);
        }
        if (n == 0)
            return set_error(s, SMTP_ERR_PROTOCOL,
                             "SMTP server closed the connection (waiting for "
                             "the reply to %s)",
                             after);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return set_error(s, SMTP_ERR_PROTOCOL, "recv from SMTP server: %s", strerror(errno));
        char what[96];
        snprintf(what, sizeof(what), "no reply to %s within %d ms", after, timeout_ms);
        enum smtp_status st = wait_fd(s, POLLIN, deadline, what);
        if (st != SMTP_OK)
            return st;
    }
}

/* Sends line (which ends in CRLF) and reads the reply. The trace shows
 * `shown` instead of the line when it is not NULL, so secrets stay out. */
static enum smtp_status
command(struct session *s, const char *line, const char *shown, const char *name)
{
    log_trace("C: ", shown ? shown : line, strlen(shown ? shown : line));
    enum smtp_status st = send_all(s, line, strlen(line));
    if (st != SMTP_OK)
        return st;
    return read_reply(s, name, s->opt->reply_timeout_ms);
}

static enum smtp_status
refused(struct session *s, const char *what)
{
    return set_error(s, SMTP_ERR_REFUSED, "SMTP server refused %s: %s", what, s->res->reply);
}

/* ---- the dialogue ----------------------------------------------------- */

/* Notes the extensions of an EHLO reply in rbuf[0..rused): one per line
 * after the first, "250-KEYWORD params" (RFC 5321 4.1.1.1). */
static void
scan_extensions(struct session *s)
{
    const char *p = s->rbuf, *end = s->rbuf + s->rused;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    for (p = nl ? nl + 1 : end; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *kw = p + 4, *eol = nl - 1; /* eol at the CR */
        if (kw >= eol)
            continue;
        size_t n = 0;
        while (kw + n < eol && kw[n] != ' ' && kw[n] != '=')
            n++;
        const char *arg = kw + n < eol ? kw + n + 1 : eol;
        if (n == 4 && strncasecmp(kw, "SIZE", 4) == 0) {
            s->ext_size = true;
            /* "SIZE" alone or "SIZE 0" means no fixed limit (RFC 1870 4). */
            unsigned long long v = 0;
            for (const char *d = arg; d < eol && *d >= '0' && *d <= '9' && v < ULLONG_MAX / 10; d++)
                v = v * 10 + (unsigned long long)(*d - '0');
            s->size_limit = v;
        } else if (n == 4 && strncasecmp(kw, "AUTH", 4) == 0) {
            /* Mechanism names are words of the rest of the line. */
            for (const char *m = arg; m < eol;) {
                const char *e = m;
                while (e < eol && *e != ' ')
                    e++;
                if (e - m == 5 && strncasecmp(m, "PLAIN", 5) == 0)
                    s->auth_plain = true;
                if (e - m == 5 && strncasecmp(m, "LOGIN", 5) == 0)
                    s->auth_login = true;
                m = e + 1;
            }
        }
    }
}

static enum smtp_status
greet(struct session *s)
{
    enum smtp_status st;
    /* With STARTTLS, s_client has taken the greeting and sent EHLO and
     * STARTTLS in the clear; in TLS the client starts over with EHLO and no
     * new greeting comes (RFC 3207 4.2). */
    if (s->opt->tls != SMTP_TLS_STARTTLS) {
        st = read_reply(s, "the connection (greeting)", s->opt->reply_timeout_ms);
        if (st != SMTP_OK)
            return st;
        if (s->res->code != 220)
            return refused(s, "the connection");
    }
    char line[300];
    snprintf(line, sizeof(line), "EHLO %s\r\n", s->opt->helo_name);
    if ((st = command(s, line, NULL, "EHLO")) != SMTP_OK)
        return st;
    if (s->res->code == 250) {
        s->esmtp = true;
        scan_extensions(s);
        return SMTP_OK;
    }
    if (s->res->code < 500)
        return refused(s, "EHLO");
    /* A server without ESMTP says 5xx to EHLO: fall back (RFC 5321 3.2). */
    snprintf(line, sizeof(line), "HELO %s\r\n", s->opt->helo_name);
    if ((st = command(s, line, NULL, "HELO")) != SMTP_OK)
        return st;
    return s->res->code == 250 ? SMTP_OK : refused(s, "HELO");
}

/* base64(in) + CRLF after `prefix`, into a malloc'd string the caller wipes. */
static char *
b64_line(const char *prefix, const char *in, size_t len)
{
    size_t plen = strlen(prefix), n = base64_encoded_len(len, false);
    char *line = malloc(plen + n + 3);
    if (line == NULL)
        return NULL;
    memcpy(line, prefix, plen);
    base64_encode(line + plen, in, len, false);
    memcpy(line + plen + n, "\r\n", 3);
    return line;
}

static void
wipe_free(char *p)
{
    if (p != NULL) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

static enum smtp_status
auth_plain(struct session *s)
{
    /* RFC 4616: authzid NUL authcid NUL passwd, with an empty authzid. */
    size_t ul = strlen(s->opt->user), pl = strlen(s->opt->password);
    char *msg = malloc(ul + pl + 3), *line = NULL;
    enum smtp_status st = SMTP_ERR_NOMEM;
    if (msg == NULL)
        goto end;
    msg[0] = '\0';
    memcpy(msg + 1, s->opt->user, ul);
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, s->opt->password, pl + 1);
    line = b64_line("AUTH PLAIN ", msg, ul + pl + 2);
    explicit_bzero(msg, ul + pl + 2);
    if (line == NULL)
        goto end;
    st = command(s, line, "AUTH PLAIN ****\r\n", "AUTH PLAIN");
end:
    free(msg);
    wipe_free(line);
    if (st == SMTP_ERR_NOMEM)
        set_error(s, st, "out of memory");
    return st;
}

static enum smtp_status
auth_login(struct session *s)
{
    enum smtp_status st = command(s, "AUTH LOGIN\r\n", NULL, "AUTH LOGIN");
    if (st != SMTP_OK || s->res->code != 334)
        return st;
    const char *secrets[2] = {s->opt->user, s->opt->password};
    for (int i = 0; i < 2; i++) {
        char *line = b64_line("", secrets[i], strlen(secrets[i]));
        if (line == NULL)
            return set_error(s, SMTP_ERR_NOMEM, "out of memory");
        st = command(s, line, "****\r\n", "AUTH LOGIN");
        wipe_free(line);
        if (st != SMTP_OK || s->res->code != (i == 0 ? 334 : 235))
            return st;
    }
    return SMTP_OK;
}

static enum smtp_status
authenticate(struct session *s)
{
    enum smtp_status st;
    if (s->auth_plain)
        st = auth_plain(s);
    else if (s->auth_login)
        st = auth_login(s);
    else if (s->tunnel)
        return set_error(s, SMTP_ERR_REFUSED, "SMTP server offers no AUTH PLAIN or LOGIN");
    else
        return set_error(s, SMTP_ERR_REFUSED,
                         "SMTP server offers no AUTH PLAIN or LOGIN (many offer AUTH only "
                         "over TLS: see --smtp-tls)");
    if (st != SMTP_OK)
        return st;
    return s->res->code == 235 ? SMTP_OK : refused(s, "authentication");
}

static enum smtp_status
envelope(struct session *s, const char *from, struct smtp_rcpt *rcpt, size_t nrcpt, size_t len)
{
    char line[SMTP_TEXT_MAX];
    if (s->ext_size)
        snprintf(line, sizeof(line), "MAIL FROM:<%s> SIZE=%zu\r\n", from, len);
    else
        snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", from);
    enum smtp_status st = command(s, line, NULL, "MAIL FROM");
    if (st != SMTP_OK)
        return st;
    if (s->res->code != 250)
        return refused(s, "the sender (MAIL FROM)");
    for (size_t i = 0; i < nrcpt; i++) {
        snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt[i].address);
        if ((st = command(s, line, NULL, "RCPT TO")) != SMTP_OK)
            return st;
        rcpt[i].code = s->res->code;
        memcpy(rcpt[i].reply, s->res->reply, sizeof(rcpt[i].reply));
        if (s->res->code == 250 || s->res->code == 251)
            s->res->accepted++;
        else if (s->res->code == 421) /* closing the channel (RFC 5321 3.8) */
            return refused(s, "the recipient");
    }
    if (s->res->accepted == 0)
        return set_error(s, SMTP_ERR_REFUSED, "SMTP server rejected every recipient: %s",
                         s->res->reply);
    return SMTP_OK;
}

static enum smtp_status
transfer(struct session *s, const struct buf *data)
{
    enum smtp_status st = command(s, "DATA\r\n", NULL, "DATA");
    if (st != SMTP_OK)
        return st;
    if (s->res->code != 354)
        return refused(s, "DATA");
    char shown[64];
    snprintf(shown, sizeof(shown), "<message data, %zu bytes>", data->len);
    log_trace("C: ", shown, strlen(shown));
    if ((st = send_all(s, data->data, data->len)) != SMTP_OK)
        return st;
    if ((st = read_reply(s, "the message data", s->opt->reply_timeout_ms)) != SMTP_OK)
        return st;
    return s->res->code == 250 ? SMTP_OK : refused(s, "the message");
}

/* QUIT, while the server is still in step with us. The outcome is already
 * known, so the reply gets a short wait and no say in the result. */
static void
say_goodbye(struct session *s)
{
    struct smtp_result keep = *s->res;
    log_trace("C: ", "QUIT\r\n", 6);
    if (send_all(s, "QUIT\r\n", 6) == SMTP_OK)
        read_reply(s, "QUIT", QUIT_WAIT_MS);
    *s->res = keep;
}

/* Everything after the connection opened, up to (not including) QUIT. */
static enum smtp_status
transaction(struct session *s, const char *from, struct smtp_rcpt *rcpt, size_t nrcpt, size_t len,
            const struct buf *encoded)
{
    enum smtp_status st = greet(s);
    if (st == SMTP_OK && s->opt->user != NULL)
        st = authenticate(s);
    if (st != SMTP_OK)
        return st;
    /* RFC 1870 6: better to refuse now than to have the server refuse after DATA. */
    if (s->size_limit > 0 && len > s->size_limit)
        return set_error(s, SMTP_ERR_TOO_BIG,
                         "message of %zu bytes exceeds the SMTP server's limit of %llu bytes", len,
                         s->size_limit);
    if ((st = envelope(s, from, rcpt, nrcpt, len)) != SMTP_OK)
        return st;
    return transfer(s, encoded);
}

enum smtp_status
smtp_send(const struct smtp_options *opt, const char *from, struct smtp_rcpt *rcpt, size_t nrcpt,
          const char *data, size_t len, struct smtp_result *res)
{
    *res = (struct smtp_result){0};
    for (size_t i = 0; i < nrcpt; i++) {
        rcpt[i].code = 0;
        rcpt[i].reply[0] = '\0';
    }
    struct session *s = calloc(1, sizeof(*s));
    struct buf encoded = {0};
    enum smtp_status st;
    if (s == NULL || smtp_data_encode(&encoded, data, len) < 0) {
        snprintf(res->err, sizeof(res->err), "out of memory");
        st = SMTP_ERR_NOMEM;
        goto end;
    }
    s->rfd = s->wfd = -1;
    tlspipe_init(&s->tls);
    s->opt = opt;
    s->res = res;
    s->total_deadline = clock_now_ms() + opt->total_timeout_ms;
    st = opt->tls == SMTP_TLS_NONE ? open_connection(s) : open_tunnel(s);
    if (st != SMTP_OK)
        goto end;
    st = transaction(s, from, rcpt, nrcpt, len, &encoded);
    /* After a reply (not a time-out or a broken stream) the server still
     * follows the dialogue and deserves a QUIT. */
    bool quit = st == SMTP_OK || st == SMTP_ERR_REFUSED || st == SMTP_ERR_TOO_BIG;
    if (quit)
        say_goodbye(s);
    /* res->reply holds the last reply that came, which for a closed
     * connection, a time-out or a broken tunnel is an older one, such as
     * MAIL FROM's "250 ok": it must not pass for the answer (smtp.h). */
    if (st != SMTP_OK && st != SMTP_ERR_REFUSED)
        res->reply[0] = '\0';
    /* The child goes now in every case; after QUIT it may first close TLS. */
    if (s->tunnel)
        tlspipe_close(&s->tls, quit ? TUNNEL_GRACE_MS : 0);
end:
    if (s != NULL && s->tunnel)
        tlspipe_close(&s->tls, 0);
    else if (s != NULL && s->rfd >= 0)
        close(s->rfd);
    free(s);
    buf_free(&encoded);
    return st;
}

int
smtp_tls_parse(const char *name, enum smtp_tls *mode)
{
    static const char *const names[] = {[SMTP_TLS_NONE] = "none",
                                        [SMTP_TLS_IMPLICIT] = "implicit",
                                        [SMTP_TLS_STARTTLS] = "starttls"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *mode = (enum smtp_tls)i;
            return 0;
        }
    }
    return -1;
}

/* ---- replies ---------------------------------------------------------- */

int
smtp_parse_reply(const char *buf, size_t len, int *code)
{
    const char *p = buf, *end = buf + len;
    int first = -1;
    for (;;) {
        /* Reply-code: %x32-35 %x30-35 %x30-39 (RFC 5321 4.2) */
        static const char lo[3] = {'2', '0', '0'}, hi[3] = {'5', '5', '9'};
        for (int i = 0; i < 3; i++) {
            if (p + i == end)
                return -2;
            if (p[i] < lo[i] || p[i] > hi[i])
                return -1;
        }
        int c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        if (first >= 0 && c != first)
            return -1;
        first = c;
        if (p + 3 == end)
            return -2;
        char sep = p[3];
        if (sep != '-' && sep != ' ' && sep != '\r')
            return -1;
        const char *q = p + 3;
        for (; q < end && *q != '\n'; q++)
            if (*q == '\0' || (*q == '\r' && q + 1 < end && q[1] != '\n'))
                return -1;
        if (q == end)
            return -2;
        if (q[-1] != '\r' || q - 1 < p + 3)
            return -1; /* bare LF */
        p = q + 1;
        if (sep != '-') {
            *code = c;
            return (int)(p - buf);
        }
    }
}

size_t
smtp_reply_fold(const char *buf, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t n = 0;
    const char *p = buf, *end = buf + len;
    while (p + 3 <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl - 1 : end; /* at the CR */
        const char *text = p + 4 < eol ? p + 4 : eol;
        if (n == 0) {
            size_t k = cap - 1 < 3 ? cap - 1 : 3;
            memcpy(out, p, k);
            n = k;
        }
        if (text < eol && n + 1 < cap) {
            out[n++] = ' ';
            size_t k = (size_t)(eol - text);
            if (k > cap - 1 - n)
                k = cap - 1 - n;
            memcpy(out + n, text, k);
            n += k;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    out[n] = '\0';
    return n;
}

int
smtp_data_encode(struct buf *out, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    /* Worst case: every line is "." and doubles; reserve once for the usual case. */
    if (buf_reserve(out, len + len / 32 + 8) < 0)
        return -1;
    while (p < end) {
        if (*p == '.' && buf_append_char(out, '.') < 0)
            return -1;
        const char *q = p;
        while (q < end && *q != '\r' && *q != '\n')
            q++;
        if (buf_append(out, p, (size_t)(q - p)) < 0 || buf_append(out, "\r\n", 2) < 0)
            return -1;
        if (q == end)
            break;
        p = q + ((*q == '\r' && q + 1 < end && q[1] == '\n') ? 2 : 1);
    }
    return buf_append(out, ".\r\n", 3);
}
