/* conn.h - a client connection and the loop services it uses.
 *
 * Internal to loop.c and conn.c. A connection owns no buffer while idle:
 * the read and write buffers come from its loop's free lists when bytes
 * arrive and go back when it has nothing in flight, so ten thousand idle
 * keep-alive clients cost a few hundred bytes each. */
#ifndef CONN_H
#define CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "lru.h"
#include "parse.h"
#include "pool.h"
#include "router.h"

/* The timeouts; each list is kept in deadline order because every entry on
 * it was given the same delay (so insertion is at the tail and O(1)). */
enum timer_kind {
    TIMER_NONE = -1,
    TIMER_IDLE,   /* keep-alive between requests */
    TIMER_HEAD,   /* the whole head, from its first byte */
    TIMER_BODY,   /* progress on a request body */
    TIMER_WRITE,  /* progress on a response the client does not read */
    TIMER_LINGER, /* reading what a client still sends after our last response */
    TIMER_JOB,    /* waiting for a pool job: a safety net, jobs have deadlines */
    NUM_TIMERS
};

struct timer {
    struct timer *prev, *next;
    long long deadline_ms;
    enum timer_kind kind;
};

enum conn_state {
    CONN_HEAD,    /* reading a request head (or idle between requests) */
    CONN_BODY,    /* reading a request body into its sink */
    CONN_JOB,     /* waiting for a pool job (mail relay, upload commit) */
    CONN_CLOSING, /* flushing the last response, then close */
    CONN_LINGER,  /* response sent and FIN sent; drain the client's bytes, then close */
};

struct conn;

/* A pool job on behalf of a connection; conn is NULL once it has gone. */
struct conn_job {
    struct job job;
    struct conn *conn;
    atomic_bool client_gone; /* set by the loop when conn closes; read by the worker */
    struct handler_ctx *ctx;
    struct route_body body; /* the route's body state, moved here */
    struct response res;    /* the job's answer */
    char target[256];       /* for the access log */
};

struct conn {
    struct timer timer; /* first: a timer is a conn */
    int fd;
    struct loop *loop;
    enum conn_state state;

    char *in;       /* HTTP_MAX_HEAD bytes from the loop, or NULL */
    size_t in_len;  /* bytes in in */
    size_t scanned; /* in_len at the last incomplete parse */
    char *out;      /* CONN_OUT_BUF bytes, or NULL */
    size_t out_len, out_sent;

    /* A body too large for out: memory, or a file sent with sendfile. */
    const char *body;
    size_t body_len, body_sent;
    void (*body_free)(void *arg);
    void *body_arg;
    int file_fd;
    off_t file_off, file_end;

    /* The request whose body is being read. */
    struct route_body rb;
    unsigned long long body_left; /* Content-Length bytes still to come */
    struct http_chunked chunked;
    bool body_chunked;

    struct conn_job *job; /* while state == CONN_JOB */
    unsigned requests;
    bool readable, writable; /* edge-triggered readiness not yet used up */
    bool out_watched;        /* EPOLLOUT is in the epoll set */
    bool corked;             /* TCP_CORK is on while a large file goes out */
    bool deferred;           /* on its loop's list of turns to take */
    struct lru_node defer;   /* its place there */
    bool eof;                /* the client closed its sending side */
    bool close_after;        /* close once the output is flushed */
    bool http10;             /* the current request is HTTP/1.0 */
    long long started_us;    /* when the current request's head began */
    bool trusted_proxy;      /* the peer is a --trusted-proxy */
    char client[INET6_ADDRSTRLEN + 8];
    char forwarded[INET6_ADDRSTRLEN + 8]; /* this request's client via the proxy, or "" */
};

/* Services the loop gives its connections (loop.c). */
char *loop_buf_get(struct loop *loop, bool in);
void loop_buf_put(struct loop *loop, char *buf, bool in);
void loop_timer_set(struct loop *loop, struct timer *t, enum timer_kind kind);
struct handler_ctx *loop_ctx(struct loop *loop);
bool loop_is_stopping(const struct loop *loop);
void loop_conn_gone(struct loop *loop, struct conn *c);
/* Adds EPOLLOUT to c's events (once: it stays for the connection's life). */
int loop_watch_output(struct loop *loop, struct conn *c);
/* Runs c again (conn_run) after this round of events, before the loop
 * sleeps: a connection that used up its turn while its socket was still
 * writable yields to the others. Once per round; closing c cancels it. */
void loop_defer(struct loop *loop, struct conn *c);

/* The connection state machine (conn.c). */
void conn_init(struct conn *c, struct loop *loop, int fd, const struct sockaddr_storage *peer);

/* True when the comma-separated list holds addr (an address in text form). */
bool conn_addr_listed(const char *list, const char *addr);
/* Does all the work the connection's readiness allows. */
void conn_run(struct conn *c);
/* A timer fired. */
void conn_timeout(struct conn *c);
/* Closes the connection now and frees it (or leaves that to a pending job). */
void conn_close(struct conn *c);
/* Shutdown: close if idle, else finish the current response and close. */
void conn_drain(struct conn *c);
/* A job submitted by this connection finished (on the loop thread). */
void conn_job_done(struct job *job);

#endif
