/* smtp_peer.h - a scripted SMTP server on 127.0.0.1 for the client tests.
 *
 * Included (all static) by test_smtp.c and test_mail.c. A peer listens on an
 * ephemeral loopback port and serves connections from its own thread, in one
 * of two modes:
 *
 *   script: peer.script is a NULL-terminated list of steps for the first
 *           connection, in order:
 *             "S:text"  send text (give its CRLFs)
 *             "C:word"  read one line, which must start with word
 *             "DATA"    read message data up to and including CRLF.CRLF
 *             "SLEEP:n" sleep n ms
 *             "HANG"    read and discard until the client closes
 *             "CLOSE"   close the connection
 *           A step that fails (a line that does not match, EOF) sets
 *           peer.failed and closes the connection.
 *   auto:   peer.script is NULL: a minimal SMTP server that says 250 to
 *           everything, 550 to RCPT TO:<peer.reject>, and 354 to DATA.
 *
 * Everything the client sent is kept in peer.got (NUL-terminated), the DATA
 * content (still dot-stuffed, terminator included) in peer.data. What the
 * client logs meanwhile can be caught with capture_stderr(). Helpers that
 * not every test needs are static inline, so an unused one draws no warning.
 * Include it after <cmocka.h>: start_peer() asserts. */
#ifndef SMTP_PEER_H
#define SMTP_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct peer {
    const char *const *script; /* NULL: auto mode */
    const char *reject;        /* auto mode: refuse this recipient */
    const char *ehlo;          /* auto mode: EHLO reply; NULL: a plain one */
    int lfd, port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int connections;
    bool failed;
    char *got, *data;
    size_t got_len, got_cap, data_len, data_cap;
    char line[4096]; /* the last line read */
    char rbuf[65536];
    size_t rlen;
};

static void
peer_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
peer_keep(char **p, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        *p = realloc(*p, c);
        if (*p == NULL)
            abort();
        *cap = c;
    }
    memcpy(*p + *len, s, n);
    *len += n;
    (*p)[*len] = '\0';
}

static bool
peer_send(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one line (up to LF) into p->line; false on EOF or error. */
static bool
peer_read_line(struct peer *p, int fd)
{
    for (;;) {
        char *nl = memchr(p->rbuf, '\n', p->rlen);
        if (nl != NULL) {
            size_t n = (size_t)(nl + 1 - p->rbuf);
            size_t k = n < sizeof(p->line) - 1 ? n : sizeof(p->line) - 1;
            memcpy(p->line, p->rbuf, k);
            p->line[k] = '\0';
            peer_keep(&p->got, &p->got_len, &p->got_cap, p->rbuf, n);
            memmove(p->rbuf, p->rbuf + n, p->rlen - n);
            p->rlen -= n;
            return true;
        }
        if (p->rlen == sizeof(p->rbuf)) {
            /* A line longer than the buffer: keep it, pretend it ended. */
            peer_keep(&p->got, &p->got_len, &p->got_cap, p->rbuf, p->rlen);
            p->rlen = 0;
            continue;
        }
        ssize_t n = recv(fd, p->rbuf + p->rlen, sizeof(p->rbuf) - p->rlen, 0);
        if (n <= 0)
            return false;
        p->rlen += (size_t)n;
    }
}

/* DATA content up to and including the terminating line ".\r\n". */
static bool
peer_read_data(struct peer *p, int fd)
{
    for (;;) {
        if (!peer_read_line(p, fd))
            return false;
        peer_keep(&p->data, &p->data_len, &p->data_cap, p->line, strlen(p->line));
        if (strcmp(p->line, ".\r\n") == 0)
            return true;
    }
}

static void
peer_script(struct peer *p, int fd)
{
    for (const char *const *step = p->script; *step != NULL; step++) {
        const char *s = *step;
        bool ok = true;
        if (strncmp(s, "S:", 2) == 0) {
            ok = peer_send(fd, s + 2);
        } else if (strncmp(s, "C:", 2) == 0) {
            ok = peer_read_line(p, fd) && strncmp(p->line, s + 2, strlen(s + 2)) == 0;
        } else if (strcmp(s, "DATA") == 0) {
            ok = peer_read_data(p, fd);
        } else if (strncmp(s, "SLEEP:", 6) == 0) {
            peer_sleep_ms(atoi(s + 6));
        } else if (strcmp(s, "HANG") == 0) {
            while (peer_read_line(p, fd))
                ;
        } else if (strcmp(s, "CLOSE") == 0) {
            return;
        }
        if (!ok) {
            p->failed = true;
            return;
        }
    }
}

static void
peer_auto(struct peer *p, int fd)
{
    if (!peer_send(fd, "220 peer.test ESMTP\r\n"))
        return;
    while (peer_read_line(p, fd)) {
        const char *reply = "250 OK\r\n";
        if (strncmp(p->line, "EHLO", 4) == 0) {
            reply = p->ehlo ? p->ehlo : "250-peer.test\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n";
        } else if (strncmp(p->line, "RCPT TO:<", 9) == 0 && p->reject != NULL &&
                   strncmp(p->line + 9, p->reject, strlen(p->reject)) == 0 &&
                   p->line[9 + strlen(p->reject)] == '>') {
            reply = "550 5.1.1 no such user\r\n";
        } else if (strncmp(p->line, "DATA", 4) == 0) {
            if (!peer_send(fd, "354 go ahead\r\n") || !peer_read_data(p, fd))
                return;
            reply = "250 2.0.0 queued as 42\r\n";
        } else if (strncmp(p->line, "QUIT", 4) == 0) {
            peer_send(fd, "221 bye\r\n");
            return;
        }
        if (!peer_send(fd, reply))
            return;
    }
}

static void *
peer_main(void *arg)
{
    struct peer *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(p->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&p->connections, 1);
        p->rlen = 0;
        if (p->script != NULL)
            peer_script(p, fd);
        else
            peer_auto(p, fd);
        close(fd);
        if (p->script != NULL)
            break;
    }
    return NULL;
}

/* Starts listening on 127.0.0.1 with an ephemeral port (p->port). Fill in
 * script/reject/ehlo first; everything else must be zero. */
static int
peer_start(struct peer *p)
{
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(p->lfd, 8) < 0 || getsockname(p->lfd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    p->port = ntohs(sa.sin_port);
    return pthread_create(&p->thread, NULL, peer_main, p) == 0 ? 0 : -1;
}

/* Waits for a connection in progress to end and stops serving, so the test
 * may read got and data; the port stays bound. */
static inline void
peer_pause(struct peer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
}

/* Serves again after peer_pause(). */
static inline int
peer_resume(struct peer *p)
{
    atomic_store(&p->stop, false);
    return pthread_create(&p->thread, NULL, peer_main, p) == 0 ? 0 : -1;
}

/* Stops the peer for good and closes its port. */
static void
peer_stop(struct peer *p)
{
    peer_pause(p);
    close(p->lfd);
}

static void
peer_free(struct peer *p)
{
    free(p->got);
    free(p->data);
}

/* A scripted peer on the heap, started; end_peer() stops and frees it. */
static inline struct peer *
start_peer(const char *const *script)
{
    struct peer *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->script = script;
    assert_int_equal(peer_start(p), 0);
    return p;
}

static inline void
end_peer(struct peer *p)
{
    peer_stop(p);
    peer_free(p);
    free(p);
}

/* Runs fn(arg) with stderr going to a file, and returns what was written
 * there (log lines, the wire trace), NUL-terminated, for the caller to
 * free; NULL when the file could not be made or read. */
static inline char *
capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/test_stderrXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    unlink(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
    if (text != NULL && pread(fd, text, (size_t)n, 0) != n) {
        free(text);
        text = NULL;
    }
    close(fd);
    return text;
}

/* A port on 127.0.0.1 with nothing listening (bound, then closed). */
static inline int
dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

#endif
