/* router.h - the server's configuration as handlers see it, and the router.
 *
 * One if/else chain on method and path (router.c) decides what a request
 * gets. Requests without a body are answered on the spot; a request whose
 * body a route wants (POST /files, POST /mail) gets a body plan first and
 * its answer once the body is complete. */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail.h"
#include "parse.h"
#include "response.h"

struct server_config {
    const char *directory;       /* --directory, or NULL */
    int root_fd;                 /* O_PATH descriptor of directory, or -1 */
    const char *bind;            /* --bind */
    int port;                    /* --port */
    int threads;                 /* --threads */
    bool reuseport;              /* --reuseport: share the port with other processes */
    int drain_ms;                /* --drain-time */
    const char *trusted_proxies; /* --trusted-proxy: comma-separated addresses, or NULL */
    int keepalive_ms;            /* --keepalive-timeout */
    int head_timeout_ms;         /* --head-timeout */
    int body_timeout_ms;         /* --body-timeout */
    int write_timeout_ms;        /* --write-timeout */
    int max_requests;            /* --max-requests */
    long long max_upload;        /* --max-upload */
    int gzip_level;              /* --gzip-level */
    size_t gzip_max;             /* --gzip-max: larger bodies go out as identity */
    size_t gzip_cache_bytes;     /* --gzip-cache */
    struct mail_config mail;
};

struct static_cache;
struct gzcache;

/* What a handler may use: the configuration, and per-thread state. */
struct handler_ctx {
    const struct server_config *cfg;
    struct static_cache *cache; /* this loop thread's file cache */
    struct gzcache *gzcache;    /* shared compressed-file cache */
    char *scratch;              /* HTTP_MAX_HEAD bytes of per-thread room (decoded paths) */
};

/* What happens to the body of a request. */
enum body_plan {
    BODY_NONE,   /* the response is ready; any body is read and dropped */
    BODY_UPLOAD, /* stream into upload->fd, then commit (POST /files) */
    BODY_MEMORY, /* collect in memory up to a limit, then a job (POST /mail) */
};

/* A request body's destination, from the route until the answer. */
struct route_body {
    enum body_plan plan;
    long long limit; /* more than this many bytes: 413 */
    unsigned long long received;
    int dirfd;          /* BODY_UPLOAD: the directory (not owned) */
    int fd;             /* BODY_UPLOAD: the temporary file */
    char tmp_name[64];  /* its name in the directory */
    char name[256];     /* the name it becomes */
    const char *error;  /* why writing failed (a static string), or NULL */
    struct buf mem;     /* BODY_MEMORY: the bytes so far */
    size_t held;        /* BODY_MEMORY: bytes counted against MAIL_MEMORY_MAX */
    size_t held_max;    /* BODY_MEMORY: the most all bodies together may hold */
    char *content_type; /* BODY_MEMORY: copies of the headers the job needs */
    char *authorization;
    /* BODY_UPLOAD: If-Match, If-Unmodified-Since and If-None-Match, copied
     * for the commit to check again; NULL when absent. */
    char *if_match, *if_unmodified_since, *if_none_match;
    int64_t queued_ms; /* clock_now_ms() when the complete body went to the pool */
};

/* Routes a parsed request head. Fills res with the answer, or, for a route
 * that wants the body, sets up rb (plan != BODY_NONE) and leaves res for
 * http_route_body_done(). res->head and res->close are set from the request. */
void http_route(struct handler_ctx *ctx, const struct http_request *req, struct response *res,
                struct route_body *rb);

/* Feeds body bytes to rb's sink. Returns 0, or the status to fail with
 * (413 over the limit, 503 when mail bodies fill MAIL_MEMORY_MAX, 507 when
 * the disk is full, 500 on another write error), and then may set rb->error
 * to say why. */
int http_route_body_write(struct route_body *rb, const char *data, size_t len);

/* Finishes a complete body: blocking (runs on a pool worker). Fills res.
 * client_gone: the connection closed while the job waited. A message is
 * then not relayed (nobody would learn the outcome, and a retry would send
 * it twice), nor when its wait for a worker used up the relay's time. */
void http_route_body_done(struct handler_ctx *ctx, struct route_body *rb, bool client_gone,
                          struct response *res);

/* Drops whatever rb holds (temporary file, memory). Safe to call twice. */
void http_route_body_free(struct route_body *rb);

#endif
