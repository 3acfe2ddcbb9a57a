/* conn.c - one client connection: read, parse, route, write, repeat.
 *
 * The state machine, driven by conn_run() whenever the socket is ready; a
 * live connection is always on exactly one of its loop's timer lists:
 *
 *   CONN_HEAD --head parsed--> answer queued ------------------> CONN_HEAD
 *       |                 \--> body wanted --> CONN_BODY --> CONN_JOB --/
 *       \--error, close, last request--> CONN_CLOSING --> CONN_LINGER --> closed
 *
 * Per request on the fast path: one read, one parse, one write, no malloc.
 * Responses are queued in the out buffer (head plus any body that fits) and
 * pipelined requests are answered in order into the same buffer, so a burst
 * of them leaves in one write. A body too big for the buffer, or a file, is
 * the one "large body" a connection may have in flight; until it is sent,
 * no further request is parsed. That, and reading only while output drains,
 * bounds the memory a client can make us hold.
 *
 * Edge-triggered epoll: readable/writable record readiness not yet used up.
 * A read shorter than the room offered means the socket is drained (the next
 * byte to arrive raises a new edge), which saves the EAGAIN read per request. */
#include "conn.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"

/* A body sent to a route that does not want one is read and dropped up to
 * this size, keeping the connection; a larger one closes it instead. */
#define DISCARD_MAX (1024 * 1024)

/* A response is only built when at least this much of out is free: enough
 * for any head (RESPONSE_HEADERS_CAP plus the fixed lines). */
#define OUT_RESERVE 2048

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static long long
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
conn_init(struct conn *c, struct loop *loop, int fd, const struct sockaddr_storage *peer)
{
    memset(c, 0, sizeof(*c));
    c->timer.kind = TIMER_NONE;
    c->fd = fd;
    c->loop = loop;
    c->state = CONN_HEAD;
    c->file_fd = -1;
    c->rb.fd = -1;
    c->readable = c->writable = true;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    bool v6 = false;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            /* An IPv4 client of a "::" socket: call it by its IPv4 name. */
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof(host));
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            v6 = true;
        }
    }
    snprintf(c->client, sizeof(c->client), v6 ? "[%s]:%u" : "%s:%u", host, port);
    const char *trusted = loop_ctx(loop)->cfg->trusted_proxies;
    c->trusted_proxy = trusted && conn_addr_listed(trusted, host);
}

bool
conn_addr_listed(const char *list, const char *addr)
{
    size_t len = strlen(addr);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct slice item = slice_trim(slice_make(p, n));
        if (item.len == len && memcmp(item.ptr, addr, len) == 0)
            return true;
        p += n + (comma != NULL);
    }
    return false;
}

/* The client a trusted proxy names: the last X-Forwarded-For entry, which
 * the proxy itself appended (earlier ones are whatever the client claimed). */
static void
note_forwarded(struct conn *c, const struct http_request *req)
{
    c->forwarded[0] = '\0';
    if (!c->trusted_proxy || req->forwarded_for.len == 0)
        return;
    struct slice v = req->forwarded_for;
    const char *comma = v.ptr + v.len;
    while (comma > v.ptr && comma[-1] != ',')
        comma--;
    struct slice last = slice_trim(slice_make(comma, (size_t)(v.ptr + v.len - comma)));
    log_escape(c->forwarded, sizeof(c->forwarded), last.ptr, last.len);
}

static bool
has_large_output(const struct conn *c)
{
    return c->body_sent < c->body_len || c->file_off < c->file_end;
}

static bool
has_output(const struct conn *c)
{
    return c->out_sent < c->out_len || has_large_output(c);
}

static void
release_large_body(struct conn *c)
{
    if (c->body_free)
        c->body_free(c->body_arg); /* also gives back a lent file_fd */
    else if (c->file_fd >= 0)
        close(c->file_fd);
    c->body_free = NULL;
    c->body = NULL;
    c->body_len = c->body_sent = 0;
    c->file_fd = -1;
    c->file_off = c->file_end = 0;
}

/* Gives the buffers back to the loop while the connection has nothing in them. */
static void
release_buffers(struct conn *c)
{
    if (c->in && c->in_len == 0) {
        loop_buf_put(c->loop, c->in, true);
        c->in = NULL;
    }
    if (c->out && !has_output(c)) {
        loop_buf_put(c->loop, c->out, false);
        c->out = NULL;
        c->out_len = c->out_sent = 0;
    }
}

void
conn_close(struct conn *c)
{
    if (c->fd < 0)
        return;
    close(c->fd);
    c->fd = -1;
    release_large_body(c);
    http_route_body_free(&c->rb);
    c->in_len = 0;
    c->out_len = c->out_sent = 0;
    release_buffers(c);
    loop_timer_set(c->loop, &c->timer, TIMER_NONE);
    if (c->job) {
        c->job->conn = NULL; /* the job finishes on its own and frees itself */
        atomic_store(&c->job->client_gone, true);
    }
    loop_conn_gone(c->loop, c);
}

/* TCP_CORK around a large file (nginx's tcp_nopush): with TCP_NODELAY on,
 * every sendfile call would otherwise end in a short segment, and the peer
 * pays a read for each. Small responses are never corked. */
#define CORK_MIN (64 * 1024)

/* File bytes one connection sends before it lets the others have a turn
 * (loop_defer), so that one fast reader of a large file cannot keep its loop
 * from everyone else for as long as its socket keeps draining. About one
 * receive window: a socket takes no more than the peer's window plus
 * NOTSENT_LOWAT (loop.c) per call anyway, so a larger turn only gives
 * clients with large windows a larger share of each round: with 256 KiB
 * turns, 1000 clients of a 1 MiB file on one thread saw a p99 near six times
 * their median; with 64 KiB, about twice. */
#define SEND_TURN (64 * 1024)

static void
set_cork(struct conn *c, bool on)
{
    int v = on;
    setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
    c->corked = on;
}

/* Writes what is queued. Returns 1 when all of it has gone, 0 when the socket
 * is full (EPOLLOUT resumes us) or the turn is used up (loop_defer does), -1
 * when the connection is broken. */
static int
flush(struct conn *c)
{
    if (!c->corked && c->file_end - c->file_off >= CORK_MIN)
        set_cork(c, true);
    off_t turn = SEND_TURN;
    while (has_output(c)) {
        ssize_t n;
        if (c->out_sent < c->out_len || c->body_sent < c->body_len) {
            struct iovec iov[2];
            int cnt = 0;
            if (c->out_sent < c->out_len)
                iov[cnt++] = (struct iovec){c->out + c->out_sent, c->out_len - c->out_sent};
            if (c->body_sent < c->body_len)
                iov[cnt++] =
                    (struct iovec){(char *)c->body + c->body_sent, c->body_len - c->body_sent};
            /* SIGPIPE is ignored process-wide, so plain write/writev will do.
             * A head before a file body goes with MSG_MORE: the kernel holds
             * it for sendfile() to fill the segment, so that a mid-size file
             * does not arrive as a lone head segment and then its body. */
            if (cnt == 2)
                n = writev(c->fd, iov, cnt);
            else if (c->file_off < c->file_end)
                n = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_MORE);
            else
                n = write(c->fd, iov[0].iov_base, iov[0].iov_len);
            if (n > 0) {
                size_t head = c->out_len - c->out_sent;
                size_t used = (size_t)n < head ? (size_t)n : head;
                c->out_sent += used;
                c->body_sent += (size_t)n - used;
            }
        } else {
            /* sendfile advances file_off itself. */
            if (turn == 0) {
                loop_defer(c->loop, c); /* still writable: resume next round */
                return 0;
            }
            off_t left = c->file_end - c->file_off;
            n = sendfile(c->fd, c->file_fd, &c->file_off, (size_t)(left < turn ? left : turn));
            if (n == 0)
                return -1; /* the file shrank under us: the length we sent is a lie */
            if (n > 0)
                turn -= n;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* Not an error: the socket holds all it may (NOTSENT_LOWAT);
                 * EPOLLOUT resumes us once the peer takes some. A segment held
                 * back by the cork must go now: when nothing else is in flight,
                 * no ACK would ever come to raise that EPOLLOUT. */
                if (c->corked)
                    set_cork(c, false);
                c->writable = false;
                if (!c->out_watched) {
                    if (loop_watch_output(c->loop, c) < 0)
                        return -1;
                    c->out_watched = true;
                }
                return 0;
            }
            return -1;
        }
        loop_timer_set(c->loop, &c->timer, TIMER_NONE); /* progress: restart the clock */
    }
    c->out_len = c->out_sent = 0;
    release_large_body(c);
    if (c->corked)
        set_cork(c, false); /* pushes out the last partial segment */
    return 1;
}

/* Reads into the input buffer. Returns bytes read, 0 for nothing (drained,
 * full, or EOF: see c->eof), -1 for a broken connection. */
static ssize_t
read_some(struct conn *c)
{
    if (c->in == NULL && (c->in = loop_buf_get(c->loop, true)) == NULL)
        return -1;
    size_t room = HTTP_MAX_HEAD - c->in_len;
    if (room == 0)
        return 0;
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->in_len, room);
        if (n > 0) {
            if (c->in_len == 0 && c->state == CONN_HEAD)
                c->started_us = log_access_enabled ? now_us() : 0;
            c->in_len += (size_t)n;
            if ((size_t)n < room)
                c->readable = false;
            return n;
        }
        if (n == 0) {
            c->eof = true;
            c->readable = false;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            c->readable = false;
            return 0;
        }
        return -1;
    }
}

static void
consume(struct conn *c, size_t n)
{
    if (n < c->in_len) /* (with nothing left, in may be NULL: given back) */
        memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->scanned = 0;
}

/* Queues a response: its head, and its body in out when it fits. */
static void
queue_response(struct conn *c, struct response *res, struct slice method, struct slice target)
{
    if (c->out == NULL && (c->out = loop_buf_get(c->loop, false)) == NULL) {
        response_discard(res);
        c->close_after = true;
        c->state = CONN_CLOSING;
        return;
    }
    bool keep = !res->close && !c->close_after;
    size_t room = CONN_OUT_BUF - c->out_len;
    size_t n = response_head(res, keep, c->out + c->out_len, room);
    if (n == 0) {
        /* Cannot happen with OUT_RESERVE free; answer something true anyway. */
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, "response head too large");
        keep = false;
        n = response_head(res, keep, c->out + c->out_len, room);
    }
    log_trace("> ", c->out + c->out_len, n);
    c->out_len += n;
    room -= n;

    unsigned long long bytes = n + (unsigned long long)(res->head ? 0 : response_body_length(res));
    if (res->head) {
        response_discard(res);
    } else if (res->fd >= 0) {
        c->file_fd = res->fd;
        c->file_off = res->offset;
        c->file_end = res->offset + res->length;
        c->body_free = res->body_free;
        c->body_arg = res->body_arg;
        res->fd = -1;
        res->body_free = NULL;
    } else if (res->body_len <= room) {
        if (res->body_len > 0) /* 204 and 304 have no body pointer at all */
            memcpy(c->out + c->out_len, res->body, res->body_len);
        c->out_len += res->body_len;
        response_discard(res);
    } else if (res->body_free) {
        c->body = res->body;
        c->body_len = res->body_len;
        c->body_free = res->body_free;
        c->body_arg = res->body_arg;
        res->body_free = NULL;
    } else {
        /* A borrowed body (request bytes, scratch) must outlive them. */
        char *copy = malloc(res->body_len);
        if (copy == NULL) {
            keep = false;
        } else {
            memcpy(copy, res->body, res->body_len);
            c->body = copy;
            c->body_len = res->body_len;
            c->body_free = free;
            c->body_arg = copy;
        }
    }
    if (log_access_enabled) {
        long long us = c->started_us ? now_us() - c->started_us : 0;
        log_access(c->forwarded[0] ? c->forwarded : c->client, method.ptr, method.len, target.ptr,
                   target.len, res->status, bytes, (unsigned long long)(us > 0 ? us : 0));
    }
    if (!keep) {
        c->close_after = true;
        c->state = CONN_CLOSING;
    }
}

/* Answers an error that ends the connection (malformed head, limits, timeouts). */
static void
fail_request(struct conn *c, int status, const char *detail)
{
    struct response res;
    response_init(&res);
    response_error(&res, status, detail);
    res.close = true;
    http_route_body_free(&c->rb);
    c->forwarded[0] = '\0';
    queue_response(c, &res, SLICE_LIT("-"), SLICE_LIT("-"));
}

static const char *
parse_error_detail(int status)
{
    switch (status) {
    case 414:
        return "the request line is longer than 8 KiB";
    case 431:
        return "the header section is over its limit (32 KiB, 8 KiB a field, 100 fields)";
    case 501:
        return "unknown method or transfer coding";
    case 505:
        return "only HTTP/1.0 and HTTP/1.1 are spoken here";
    case 417:
        return "only 'Expect: 100-continue' is understood";
    default:
        return "malformed request";
    }
}

static void
job_run(struct job *job)
{
    struct conn_job *cj = (struct conn_job *)job;
    http_route_body_done(cj->ctx, &cj->body, atomic_load(&cj->client_gone), &cj->res);
}

/* The body is complete: hand it to a pool job (mail relay, upload commit). */
static void
start_job(struct conn *c)
{
    struct conn_job *cj = calloc(1, sizeof(*cj));
    if (cj == NULL) {
        fail_request(c, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    cj->job = (struct job){.run = job_run, .done = conn_job_done, .loop = c->loop};
    cj->conn = c;
    cj->ctx = loop_ctx(c->loop);
    cj->body = c->rb;
    cj->body.queued_ms = clock_now_ms();
    response_init(&cj->res);
    snprintf(cj->target, sizeof(cj->target), "%s",
             c->rb.plan == BODY_UPLOAD ? c->rb.name : "/mail");
    c->rb = (struct route_body){.plan = BODY_NONE, .fd = -1, .dirfd = -1};
    if (pool_submit(&cj->job) < 0) {
        c->rb = cj->body;
        free(cj);
        fail_request(c, HTTP_SERVICE_UNAVAILABLE, "too many requests waiting; try again");
        return;
    }
    c->job = cj;
    c->state = CONN_JOB;
}

void
conn_job_done(struct job *job)
{
    struct conn_job *cj = (struct conn_job *)job;
    struct conn *c = cj->conn;
    http_route_body_free(&cj->body);
    if (c == NULL) {
        response_discard(&cj->res);
        free(cj);
        return;
    }
    c->job = NULL;
    c->state = CONN_HEAD;
    if (c->close_after)
        cj->res.close = true;
    cj->res.http10 = c->http10; /* the job built its answer without the request */
    char path[sizeof(cj->target) + 8];
    int n = snprintf(path, sizeof(path), "%s%s", strcmp(cj->target, "/mail") ? "/files/" : "",
                     cj->target);
    queue_response(c, &cj->res, SLICE_LIT("POST"), slice_make(path, (size_t)n));
    free(cj);
    conn_run(c);
}

/* Feeds buffered bytes to the current body. */
static void
feed_body(struct conn *c)
{
    size_t off = 0;
    bool done = false;
    while (!done && off < c->in_len) {
        struct slice data;
        if (c->body_chunked) {
            ssize_t r =
                http_chunked_decode(&c->chunked, c->in + off, c->in_len - off, &data, &done);
            if (r < 0) {
                consume(c, c->in_len);
                fail_request(c, HTTP_BAD_REQUEST, "malformed chunked body");
                return;
            }
            off += (size_t)r;
        } else {
            size_t n = c->in_len - off;
            if (n > c->body_left)
                n = (size_t)c->body_left;
            data = slice_make(c->in + off, n);
            c->body_left -= n;
            off += n;
            done = c->body_left == 0;
        }
        int s = data.len ? http_route_body_write(&c->rb, data.ptr, data.len) : 0;
        if (s != 0) {
            consume(c, c->in_len);
            if (c->rb.plan == BODY_NONE) {
                /* The answer already went out: just stop reading. */
                c->close_after = true;
                c->state = CONN_CLOSING;
                http_route_body_free(&c->rb);
            } else {
                const char *why = c->rb.error                   ? c->rb.error
                                  : s == HTTP_CONTENT_TOO_LARGE ? "the body is over the limit"
                                                                : "the body could not be stored";
                fail_request(c, s, why);
            }
            return;
        }
    }
    consume(c, off);
    if (!done)
        return;
    if (c->rb.plan == BODY_NONE)
        c->state = c->close_after ? CONN_CLOSING : CONN_HEAD;
    else
        start_job(c);
}

/* Sets up reading the body of req for rb. */
static void
begin_body(struct conn *c, const struct http_request *req)
{
    c->state = CONN_BODY;
    c->body_chunked = req->chunked;
    c->body_left = req->chunked ? 0 : (unsigned long long)req->content_length;
    memset(&c->chunked, 0, sizeof(c->chunked));
    loop_timer_set(c->loop, &c->timer, TIMER_NONE);
}

static void
handle_request(struct conn *c, const struct http_request *req, size_t head_len)
{
    struct handler_ctx *ctx = loop_ctx(c->loop);
    struct response res;
    struct route_body rb;
    c->requests++;
    c->http10 = req->minor_version == 0;
    note_forwarded(c, req);
    http_route(ctx, req, &res, &rb);
    if (c->requests >= (unsigned)ctx->cfg->max_requests || loop_is_stopping(c->loop))
        res.close = true;
    bool has_body = req->chunked || req->content_length > 0;

    if (rb.plan != BODY_NONE) {
        c->rb = rb;
        if (res.close)
            c->close_after = true;
        consume(c, head_len);
        if (!has_body) {
            start_job(c);
            return;
        }
        begin_body(c, req);
        /* curl waits up to a second for this before sending a large body. */
        if (req->expect_continue && c->in_len == 0 &&
            c->out_len + sizeof(continue_line) < CONN_OUT_BUF) {
            if (c->out == NULL && (c->out = loop_buf_get(c->loop, false)) == NULL)
                return;
            memcpy(c->out + c->out_len, continue_line, sizeof(continue_line) - 1);
            c->out_len += sizeof(continue_line) - 1;
            log_trace("> ", continue_line, sizeof(continue_line) - 1);
        }
        return;
    }
    if (has_body && (req->expect_continue || req->chunked || req->content_length > DISCARD_MAX))
        res.close = true; /* do not read a body nobody wants; linger drains it */
    queue_response(c, &res, req->method, req->target);
    consume(c, head_len);
    if (has_body && c->state != CONN_CLOSING) {
        c->rb = (struct route_body){.plan = BODY_NONE, .fd = -1, .dirfd = -1, .limit = DISCARD_MAX};
        begin_body(c, req);
    }
}

/* Parses and answers what the input buffer holds, as far as output allows. */
static void
process(struct conn *c)
{
    for (;;) {
        if (c->state == CONN_BODY) {
            if (c->in_len == 0)
                return;
            feed_body(c);
            continue;
        }
        if (c->state != CONN_HEAD || c->in_len == 0)
            return;
        /* Empty lines before a request (a CRLF some clients send after a
         * POST body, RFC 9112 section 2.2) leave the connection idle, not
         * half way through a head that is due in time. */
        size_t blank = 0;
        while (blank + 1 < c->in_len && c->in[blank] == '\r' && c->in[blank + 1] == '\n')
            blank += 2;
        if (blank > 0) {
            consume(c, blank);
            continue;
        }
        if (has_large_output(c) || (c->out && CONN_OUT_BUF - c->out_len < OUT_RESERVE))
            return; /* answer what is queued before reading more */
        struct http_request req;
        int r = http_parse_request_more(c->in, c->in_len, c->scanned, &req);
        if (r == HTTP_PARSE_INCOMPLETE) {
            c->scanned = c->in_len;
            if (c->in_len == HTTP_MAX_HEAD)
                fail_request(c, HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, parse_error_detail(431));
            return;
        }
        if (r == HTTP_PARSE_ERROR) {
            log_trace("< ", c->in, c->in_len);
            consume(c, c->in_len);
            fail_request(c, req.error,
                         req.error_detail ? req.error_detail : parse_error_detail(req.error));
            return;
        }
        log_trace("< ", c->in, (size_t)r);
        handle_request(c, &req, (size_t)r);
        if (c->in_len > 0 && c->state == CONN_HEAD && log_access_enabled)
            c->started_us = now_us(); /* the next pipelined request starts now */
    }
}

/* The last response is out: send FIN, then read and drop whatever the client
 * still sends, so closing does not reset the connection under a response it
 * has not read yet (a close with unread input sends RST). */
static void
begin_linger(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->in_len = 0;
    loop_timer_set(c->loop, &c->timer, TIMER_LINGER);
}

static void
linger(struct conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = read(c->fd, sink, sizeof(sink));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->readable = false;
            return;
        }
        conn_close(c); /* EOF or error: done */
        return;
    }
}

/* Chooses the timer for the state the connection is left in. */
static void
arm_timer(struct conn *c)
{
    enum timer_kind want;
    if (c->state == CONN_JOB)
        want = TIMER_JOB;
    else if (c->state == CONN_LINGER)
        want = TIMER_LINGER;
    else if (has_output(c))
        want = TIMER_WRITE;
    else if (c->state == CONN_BODY)
        want = TIMER_BODY;
    else if (c->in_len > 0)
        want = TIMER_HEAD;
    else
        want = TIMER_IDLE;
    /* Only a change of kind (or progress, which cleared it) restarts a deadline:
     * a client trickling a head byte by byte keeps its first deadline. */
    if (c->timer.kind != want)
        loop_timer_set(c->loop, &c->timer, want);
}

void
conn_run(struct conn *c)
{
    while (c->fd >= 0) {
        if (c->state == CONN_LINGER) {
            if (c->readable)
                linger(c);
            break;
        }
        if (has_output(c)) {
            if (!c->writable)
                break;
            int r = flush(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0)
                break;
        }
        if (c->state == CONN_CLOSING) {
            begin_linger(c);
            continue;
        }
        if (c->state == CONN_JOB)
            break;
        process(c);
        if (has_output(c) || c->state == CONN_CLOSING || c->state == CONN_JOB)
            continue;
        if (!c->readable) {
            if (c->eof)
                goto eof;
            break;
        }
        ssize_t n = read_some(c);
        if (n < 0) {
            conn_close(c);
            return;
        }
        if (n > 0 && c->state == CONN_BODY)
            loop_timer_set(c->loop, &c->timer, TIMER_NONE); /* body progress */
        if (n == 0) {
            if (c->eof)
                goto eof;
            if (c->readable)
                break; /* the buffer is full; process() has dealt with it */
        }
    }
    if (c->fd >= 0) {
        arm_timer(c);
        release_buffers(c);
    }
    return;
eof:
    /* The client will send nothing more: answer what is complete, then close. */
    process(c);
    if (c->state == CONN_JOB)
        return; /* the job's answer may still be read (a half-closed client) */
    if (has_output(c) && c->fd >= 0) {
        c->close_after = true;
        c->state = CONN_CLOSING;
        arm_timer(c);
        return;
    }
    conn_close(c);
}

void
conn_timeout(struct conn *c)
{
    enum timer_kind kind = c->timer.kind;
    loop_timer_set(c->loop, &c->timer, TIMER_NONE);
    if (kind == TIMER_BODY && c->rb.plan == BODY_NONE) {
        /* A body nobody wants, after its answer went out: that answer was
         * the one response to the request, so just stop reading and close. */
        c->close_after = true;
        c->state = CONN_CLOSING;
        c->writable = true;
        conn_run(c);
        return;
    }
    if ((kind == TIMER_HEAD || kind == TIMER_BODY) && !has_output(c)) {
        /* Tell the client why, as nginx does, then close. */
        consume(c, c->in_len);
        fail_request(c, HTTP_REQUEST_TIMEOUT, "the request took too long to arrive");
        c->writable = true;
        conn_run(c);
        if (c->fd >= 0 && c->state != CONN_LINGER)
            conn_close(c);
        return;
    }
    conn_close(c);
}

void
conn_drain(struct conn *c)
{
    /* Idle between requests: close now, as its client expects a kept-alive
     * connection may be closed, unless a request is already waiting in the
     * socket. A new connection has the rest of the grace period for its
     * first request. Either way the answer says Connection: close. */
    if (c->state == CONN_HEAD && c->in_len == 0 && !has_output(c) && c->requests > 0) {
        char b;
        if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
            conn_close(c);
            return;
        }
    }
    c->close_after = true;
}
