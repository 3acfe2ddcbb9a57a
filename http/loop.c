/* loop.c - the per-thread event loop: accept, readiness, timers, buffers.
 *
 * One loop per pool thread (DESIGN.md "Why event loops in a thread pool").
 * Every loop polls the one listening socket with EPOLLEXCLUSIVE, so a new
 * connection wakes one thread, which accepts it and keeps it for life.
 *
 * Timers: each kind of timeout has one fixed delay, so a list per kind kept
 * in insertion order is also in deadline order; arming is an O(1) move to
 * the tail and expiry pops from the head (redis ae.c uses one list; nginx a
 * tree; neither is needed when delays are uniform).
 *
 * Buffers: 32 KiB read buffers and 16 KiB write buffers are lent to a
 * connection while it has bytes in flight and taken back when it goes idle;
 * the loop keeps a bounded stack of spares, so steady traffic does not call
 * malloc per request and idle connections hold none.
 *
 * Descriptor exhaustion: accept() failing with EMFILE leaves the listening
 * socket readable, and a level-triggered loop would spin on it. The loop
 * takes the socket out of its epoll set for ACCEPT_PAUSE_MS (or until one of
 * its connections closes) instead. */
#include "loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "static.h"

/* Spare buffers a loop keeps of each kind; more are freed. */
#define SPARE_BUFFERS 64

/* Events taken per epoll_wait. */
#define MAX_EVENTS 256

/* Unsent bytes a socket may hold beyond what the peer's window lets out
 * (TCP_NOTSENT_LOWAT). A large file then leaves in window-sized sendfile()
 * calls from this thread, instead of sitting in the socket as a backlog of up
 * to its whole send buffer, which the kernel transmits from the ACK path, on
 * whichever CPU takes the ACK (on loopback, the client's). It also bounds the
 * kernel memory a slow reader holds to its window plus this. */
#define NOTSENT_LOWAT (32 * 1024)

/* How long after the last response a closing connection's input is drained. */
#define LINGER_MS 2000

/* A connection waiting on a pool job longer than this is closed (the job
 * still finishes and frees itself). The SMTP deadlines end jobs well before. */
#define JOB_TIMEOUT_MS 120000

static atomic_bool draining, stop_requested;

struct loop {
    int epfd, evfd, listen_fd;
    struct handler_ctx ctx;
    struct timer timers[NUM_TIMERS]; /* list heads (sentinels) */
    int delay_ms[NUM_TIMERS];
    long long now_ms;
    char *spare_in[SPARE_BUFFERS], *spare_out[SPARE_BUFFERS];
    int nspare_in, nspare_out;
    pthread_mutex_t post_lock;
    struct job *posted;
    struct conn *dead;        /* closed this round; freed after the round */
    struct lru_list deferred; /* to run again after this round (a queue) */
    unsigned ndeferred;
    unsigned nconns;
    bool accepting;
    atomic_bool left_port; /* stopped for good: listen_fd is no longer used */
    long long accept_resume_ms;
    bool stopping;
    long long stop_deadline_ms;
};

/* epoll tags for the two descriptors that are not connections. */
static char listen_tag, event_tag;

static long long
clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct handler_ctx *
loop_ctx(struct loop *loop)
{
    return &loop->ctx;
}

bool
loop_is_stopping(const struct loop *loop)
{
    return loop->stopping;
}

bool
loop_draining(void)
{
    return atomic_load_explicit(&draining, memory_order_relaxed);
}

char *
loop_buf_get(struct loop *loop, bool in)
{
    if (in && loop->nspare_in > 0)
        return loop->spare_in[--loop->nspare_in];
    if (!in && loop->nspare_out > 0)
        return loop->spare_out[--loop->nspare_out];
    return malloc(in ? HTTP_MAX_HEAD : CONN_OUT_BUF);
}

void
loop_buf_put(struct loop *loop, char *buf, bool in)
{
    if (in && loop->nspare_in < SPARE_BUFFERS)
        loop->spare_in[loop->nspare_in++] = buf;
    else if (!in && loop->nspare_out < SPARE_BUFFERS)
        loop->spare_out[loop->nspare_out++] = buf;
    else
        free(buf);
}

void
loop_timer_set(struct loop *loop, struct timer *t, enum timer_kind kind)
{
    if (t->kind != TIMER_NONE) {
        t->prev->next = t->next;
        t->next->prev = t->prev;
    }
    t->kind = kind;
    if (kind == TIMER_NONE)
        return;
    struct timer *head = &loop->timers[kind];
    t->deadline_ms = loop->now_ms + loop->delay_ms[kind];
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

static void
defer_unlink(struct loop *loop, struct conn *c)
{
    lru_unlink(&loop->deferred, &c->defer);
    c->deferred = false;
    loop->ndeferred--;
}

void
loop_defer(struct loop *loop, struct conn *c)
{
    if (c->deferred)
        return;
    c->deferred = true;
    lru_push_front(&loop->deferred, &c->defer);
    loop->ndeferred++;
}

/* Gives each connection deferred before this call its turn; those that
 * defer again wait for the next round, after the events it brings. */
static void
run_deferred(struct loop *loop)
{
    for (unsigned n = loop->ndeferred; n > 0 && loop->deferred.tail; n--) {
        struct conn *c = LRU_ENTRY(loop->deferred.tail, struct conn, defer);
        defer_unlink(loop, c);
        conn_run(c);
    }
}

void
loop_conn_gone(struct loop *loop, struct conn *c)
{
    if (c->deferred)
        defer_unlink(loop, c);
    /* Freed after the current round of events: one may still name it. */
    c->timer.next = (struct timer *)loop->dead;
    loop->dead = c;
    loop->nconns--;
    if (!loop->accepting && !loop->stopping)
        loop->accept_resume_ms = loop->now_ms; /* a descriptor is free again */
}

int
loop_watch_output(struct loop *loop, struct conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
listen_watch(struct loop *loop, bool on)
{
    if (on) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag};
        return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->listen_fd, &ev);
    }
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, loop->listen_fd, NULL);
}

struct loop *
loop_new(const struct server_config *cfg, int listen_fd, struct gzcache *gz, char *err,
         size_t errlen)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    loop->epfd = loop->evfd = -1;
    loop->listen_fd = listen_fd;
    pthread_mutex_init(&loop->post_lock, NULL);
    for (int k = 0; k < NUM_TIMERS; k++)
        loop->timers[k].prev = loop->timers[k].next = &loop->timers[k];
    loop->delay_ms[TIMER_IDLE] = cfg->keepalive_ms;
    loop->delay_ms[TIMER_HEAD] = cfg->head_timeout_ms;
    loop->delay_ms[TIMER_BODY] = cfg->body_timeout_ms;
    loop->delay_ms[TIMER_WRITE] = cfg->write_timeout_ms;
    loop->delay_ms[TIMER_LINGER] = LINGER_MS;
    loop->delay_ms[TIMER_JOB] = JOB_TIMEOUT_MS;
    loop->ctx.cfg = cfg;
    loop->ctx.gzcache = gz;
    loop->ctx.scratch = malloc(HTTP_MAX_HEAD);
    loop->ctx.cache = static_cache_new();
    loop->now_ms = clock_ms();
    if (loop->ctx.scratch == NULL || loop->ctx.cache == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (loop->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &event_tag};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->evfd, &ev) < 0 || listen_watch(loop, true) < 0) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        goto fail;
    }
    loop->accepting = true;
    atomic_init(&loop->left_port, false);
    return loop;
fail:
    loop_free(loop);
    return NULL;
}

void
loop_free(struct loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->evfd >= 0)
        close(loop->evfd);
    for (int i = 0; i < loop->nspare_in; i++)
        free(loop->spare_in[i]);
    for (int i = 0; i < loop->nspare_out; i++)
        free(loop->spare_out[i]);
    static_cache_free(loop->ctx.cache);
    free(loop->ctx.scratch);
    pthread_mutex_destroy(&loop->post_lock);
    free(loop);
}

static void
wake(struct loop *loop)
{
    uint64_t one = 1;
    ssize_t r = write(loop->evfd, &one, sizeof(one));
    (void)r; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

void
loop_set_draining(void)
{
    atomic_store(&draining, true);
}

void
loop_stop(struct loop *loop)
{
    atomic_store(&draining, true);
    atomic_store(&stop_requested, true);
    wake(loop);
}

bool
loop_left_port(struct loop *loop)
{
    return atomic_load_explicit(&loop->left_port, memory_order_acquire);
}

void
loop_post(struct loop *loop, struct job *job)
{
    pthread_mutex_lock(&loop->post_lock);
    job->next = loop->posted;
    loop->posted = job;
    pthread_mutex_unlock(&loop->post_lock);
    wake(loop);
}

static void
accept_all(struct loop *loop)
{
    /* A bounded batch: other connections on this thread are waiting too. */
    for (int i = 0; i < 64 && loop->accepting; i++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int fd =
            accept4(loop->listen_fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("accept: %s; pausing for %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                listen_watch(loop, false);
                loop->accepting = false;
                loop->accept_resume_ms = loop->now_ms + ACCEPT_PAUSE_MS;
            }
            return; /* EAGAIN: another thread took it, or none left */
        }
        /* Responses leave in one write each, so Nagle only delays them. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int lowat = NOTSENT_LOWAT;
        setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
        struct conn *c = malloc(sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        conn_init(c, loop, fd, &peer);
        /* EPOLLOUT only once a write blocks (loop_watch_output): most
         * responses leave in one write, and every ACK would raise an edge. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        loop->nconns++;
        conn_run(c);
    }
}

static void
run_posted(struct loop *loop)
{
    uint64_t n;
    ssize_t r = read(loop->evfd, &n, sizeof(n));
    (void)r;
    pthread_mutex_lock(&loop->post_lock);
    struct job *list = loop->posted;
    loop->posted = NULL;
    pthread_mutex_unlock(&loop->post_lock);
    while (list) {
        struct job *next = list->next;
        list->done(list);
        list = next;
    }
}

/* Begins the shutdown: no more accepting; idle connections close now. */
static void
begin_stop(struct loop *loop)
{
    loop->stopping = true;
    loop->stop_deadline_ms = loop->now_ms + SHUTDOWN_GRACE_MS;
    if (loop->accepting)
        listen_watch(loop, false);
    loop->accepting = false;
    atomic_store_explicit(&loop->left_port, true, memory_order_release);
    for (int k = 0; k < NUM_TIMERS; k++) {
        struct timer *head = &loop->timers[k];
        for (struct timer *t = head->next, *next; t != head; t = next) {
            next = t->next;
            conn_drain((struct conn *)t);
        }
    }
}

static void
expire_timers(struct loop *loop)
{
    for (int k = 0; k < NUM_TIMERS; k++) {
        struct timer *head = &loop->timers[k];
        while (head->next != head && head->next->deadline_ms <= loop->now_ms) {
            struct conn *c = (struct conn *)head->next;
            conn_timeout(c);
            if (c->fd >= 0 && head->next == &c->timer && c->timer.deadline_ms <= loop->now_ms)
                loop_timer_set(loop, &c->timer, TIMER_NONE); /* never spin on one entry */
        }
    }
}

static int
next_timeout(const struct loop *loop)
{
    long long next = -1;
    for (int k = 0; k < NUM_TIMERS; k++) {
        const struct timer *head = &loop->timers[k];
        if (head->next != head && (next < 0 || head->next->deadline_ms < next))
            next = head->next->deadline_ms;
    }
    if (!loop->accepting && !loop->stopping && (next < 0 || loop->accept_resume_ms < next))
        next = loop->accept_resume_ms;
    if (loop->stopping && (next < 0 || loop->stop_deadline_ms < next))
        next = loop->stop_deadline_ms;
    if (next < 0)
        return -1;
    long long wait = next - loop->now_ms;
    /* COARSE clock ticks lag a few ms: round up so we do not wake early. */
    return wait <= 0 ? 0 : (int)(wait + 5);
}

static void
free_dead(struct loop *loop)
{
    while (loop->dead) {
        struct conn *c = loop->dead;
        loop->dead = (struct conn *)c->timer.next;
        free(c);
    }
}

void
loop_run(struct loop *loop)
{
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        if (!loop->stopping && atomic_load_explicit(&stop_requested, memory_order_relaxed))
            begin_stop(loop);
        if (loop->stopping && (loop->nconns == 0 || loop->now_ms >= loop->stop_deadline_ms))
            break;
        /* With turns still to take, only look for new events. */
        int n = epoll_wait(loop->epfd, events, MAX_EVENTS,
                           loop->deferred.head ? 0 : next_timeout(loop));
        loop->now_ms = clock_ms();
        if (n < 0 && errno != EINTR) {
            log_err("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &listen_tag) {
                accept_all(loop);
            } else if (tag == &event_tag) {
                run_posted(loop);
            } else {
                struct conn *c = tag;
                uint32_t e = events[i].events;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->readable = true;
                if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                    c->writable = true;
                conn_run(c);
            }
        }
        run_deferred(loop);
        expire_timers(loop);
        if (!loop->accepting && !loop->stopping && loop->now_ms >= loop->accept_resume_ms) {
            if (listen_watch(loop, true) == 0)
                loop->accepting = true;
            else
                loop->accept_resume_ms = loop->now_ms + ACCEPT_PAUSE_MS;
        }
        free_dead(loop);
    }
    /* Past the grace period: whatever is left is closed. */
    for (int k = 0; k < NUM_TIMERS; k++) {
        struct timer *head = &loop->timers[k];
        while (head->next != head)
            conn_close((struct conn *)head->next);
    }
    free_dead(loop);
}
