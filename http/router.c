/* router.c - one if/else chain from method and path to a handler.
 *
 * Built-in routes first (/echo/, /user-agent, /files/, /mail, /healthz),
 * then the static site. The method is checked per route: a known route with
 * the wrong method gets 405 and an Allow list; OPTIONS gets 204 and the same
 * list. Paths are matched before decoding, so "/%65cho/x" is a site path,
 * not the echo route; each handler decodes its own part exactly once. */
#include "router.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "echo.h"
#include "files.h"
#include "log.h"
#include "loop.h"
#include "pct.h"
#include "static.h"

#define ALLOW_READ "GET, HEAD, OPTIONS"

/* Answers a method the route does not take: OPTIONS lists what it does. */
static void
wrong_method(const struct http_request *req, struct response *res, const char *allow)
{
    if (req->method_id == HTTP_METHOD_OPTIONS) {
        res->status = HTTP_NO_CONTENT;
        res->no_length = true;
    } else {
        response_error(res, HTTP_METHOD_NOT_ALLOWED, NULL);
    }
    response_header(res, "Allow: %s", allow);
}

static bool
is_read(const struct http_request *req)
{
    return req->method_id == HTTP_METHOD_GET || req->method_id == HTTP_METHOD_HEAD;
}

/* Bytes of mail bodies held in memory, by all connections of all loops. */
static atomic_size_t mail_held;

/* Counts n more bytes for rb against the shared budget; false if over it. */
static bool
mail_hold(struct route_body *rb, size_t n)
{
    size_t now = atomic_fetch_add(&mail_held, n) + n;
    if (now > rb->held_max) {
        atomic_fetch_sub(&mail_held, n);
        return false;
    }
    rb->held += n;
    return true;
}

/* /mail answers in JSON, errors included, like the relay itself. */
static void
mail_error(struct response *res, int status, const char *message)
{
    response_discard(res);
    int n = snprintf(res->text, sizeof(res->text), "{\"error\": \"%s\"}\n", message);
    res->status = status;
    res->content_type = "application/json";
    res->body = res->text;
    res->body_len = (size_t)n;
    if (status == HTTP_UNAUTHORIZED)
        RESPONSE_LINE(res, "WWW-Authenticate: Bearer");
}

/* POST /mail: the body is collected in memory for the relay job. What can be
 * refused from the head (token, size) is refused before a byte of body is read. */
static void
route_mail(struct handler_ctx *ctx, const struct http_request *req, struct response *res,
           struct route_body *rb)
{
    if (req->method_id != HTTP_METHOD_POST) {
        wrong_method(req, res, "POST, OPTIONS");
        return;
    }
    if (!mail_authorized(&ctx->cfg->mail, req->authorization)) {
        mail_error(res, HTTP_UNAUTHORIZED, "missing or wrong bearer token");
        return;
    }
    if (req->content_length < 0 && !req->chunked) {
        mail_error(res, HTTP_LENGTH_REQUIRED, "POST /mail needs a body with a Content-Length");
        return;
    }
    if (req->content_length > (long long)ctx->cfg->mail.max_body) {
        mail_error(res, HTTP_CONTENT_TOO_LARGE, "the message is larger than --mail-max-body");
        res->close = true;
        return;
    }
    rb->content_type =
        strndup(req->content_type.ptr ? req->content_type.ptr : "", req->content_type.len);
    rb->authorization =
        strndup(req->authorization.ptr ? req->authorization.ptr : "", req->authorization.len);
    if (rb->content_type == NULL || rb->authorization == NULL) {
        http_route_body_free(rb);
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    rb->plan = BODY_MEMORY;
    rb->limit = (long long)ctx->cfg->mail.max_body;
    rb->held_max =
        ctx->cfg->mail.max_body > MAIL_MEMORY_MAX ? ctx->cfg->mail.max_body : MAIL_MEMORY_MAX;
    /* Bytes are counted as they arrive (a client must send what it pins),
     * but a body that cannot fit now is refused before it is read. */
    if (req->content_length > 0 &&
        atomic_load(&mail_held) + (size_t)req->content_length > rb->held_max) {
        http_route_body_free(rb);
        mail_error(res, HTTP_SERVICE_UNAVAILABLE,
                   "too many messages are arriving at once; try again shortly");
        RESPONSE_LINE(res, "Retry-After: 5");
        res->close = true;
    }
}

static void
route_files(struct handler_ctx *ctx, const struct http_request *req, struct slice rest,
            struct response *res, struct route_body *rb)
{
    ssize_t n = pct_decode(ctx->scratch, rest.ptr, rest.len, false);
    if (n < 0) {
        response_error(res, HTTP_BAD_REQUEST, "bad percent-encoding in the path");
        return;
    }
    if (is_read(req)) {
        handle_files_get(ctx, req, ctx->scratch, (size_t)n, res);
    } else if (req->method_id == HTTP_METHOD_POST) {
        if (req->content_length < 0 && !req->chunked) {
            response_error(res, HTTP_LENGTH_REQUIRED, "POST /files needs Content-Length");
            return;
        }
        if (req->content_length > ctx->cfg->max_upload) {
            response_error(res, HTTP_CONTENT_TOO_LARGE, "the file is larger than --max-upload");
            res->close = true;
            return;
        }
        files_upload_begin(ctx, req, ctx->scratch, (size_t)n, rb, res);
    } else {
        wrong_method(req, res, "GET, HEAD, POST, OPTIONS");
    }
}

/* The static site: every path that is not a built-in route. */
static void
route_static(struct handler_ctx *ctx, const struct http_request *req, struct response *res)
{
    if (!is_read(req)) {
        wrong_method(req, res, ALLOW_READ);
        return;
    }
    ssize_t n = pct_decode(ctx->scratch, req->path.ptr, req->path.len, false);
    if (n < 0) {
        response_error(res, HTTP_BAD_REQUEST, "bad percent-encoding in the path");
        return;
    }
    static_serve(ctx, req, slice_make(ctx->scratch, (size_t)n), res);
}

void
http_route(struct handler_ctx *ctx, const struct http_request *req, struct response *res,
           struct route_body *rb)
{
    static const struct slice echo = SLICE_INIT("/echo/"), files = SLICE_INIT("/files/");
    struct slice path = req->path;

    response_init(res);
    res->head = req->method_id == HTTP_METHOD_HEAD;
    *rb = (struct route_body){.plan = BODY_NONE, .fd = -1, .dirfd = -1};

    if (path.len == 1 && path.ptr[0] == '*') {
        /* OPTIONS * asks about the server as a whole (RFC 9110 section 9.3.7). */
        if (req->method_id == HTTP_METHOD_OPTIONS)
            wrong_method(req, res, "GET, HEAD, POST, OPTIONS");
        else
            response_error(res, HTTP_BAD_REQUEST, "'*' is only for OPTIONS");
    } else if (slice_starts_with(path, echo)) {
        if (is_read(req))
            handle_echo(ctx, req, slice_make(path.ptr + echo.len, path.len - echo.len), res);
        else
            wrong_method(req, res, ALLOW_READ);
    } else if (slice_eq(path, SLICE_LIT("/user-agent"))) {
        if (is_read(req))
            handle_user_agent(ctx, req, res);
        else
            wrong_method(req, res, ALLOW_READ);
    } else if (slice_starts_with(path, files)) {
        route_files(ctx, req, slice_make(path.ptr + files.len, path.len - files.len), res, rb);
    } else if (slice_eq(path, SLICE_LIT("/mail"))) {
        route_mail(ctx, req, res, rb);
    } else if (slice_eq(path, SLICE_LIT("/healthz"))) {
        /* For load balancers: 503 once a drain has begun (SIGTERM). */
        if (!is_read(req))
            wrong_method(req, res, ALLOW_READ);
        else if (loop_draining())
            response_static(res, HTTP_SERVICE_UNAVAILABLE, "text/plain", "draining\n");
        else
            response_static(res, HTTP_OK, "text/plain", "ok\n");
    } else {
        route_static(ctx, req, res);
    }
    if (!req->keep_alive)
        res->close = true;
    res->http10 = req->minor_version == 0;
}

int
http_route_body_write(struct route_body *rb, const char *data, size_t len)
{
    rb->received += len;
    if (rb->limit >= 0 && rb->received > (unsigned long long)rb->limit)
        return HTTP_CONTENT_TOO_LARGE;
    switch (rb->plan) {
    case BODY_UPLOAD:
        return files_upload_write(rb, data, len);
    case BODY_MEMORY:
        if (!mail_hold(rb, len)) {
            rb->error = "too many bodies are arriving at once; try again shortly";
            return HTTP_SERVICE_UNAVAILABLE;
        }
        return buf_append(&rb->mem, data, len) < 0 ? HTTP_INTERNAL_SERVER_ERROR : 0;
    case BODY_NONE:
        break;
    }
    return 0;
}

void
http_route_body_done(struct handler_ctx *ctx, struct route_body *rb, bool client_gone,
                     struct response *res)
{
    response_init(res);
    if (rb->plan == BODY_UPLOAD) {
        files_upload_commit(rb, res); /* stored all the same: the client sent all of it */
        return;
    }
    /* The relay's time (30 s) counts from when the message was complete,
     * not from when a worker took it: behind a queue of slow relays it may
     * be gone before the first connect. */
    if (client_gone) {
        log_warn("mail: the client left before a worker was free; not relayed");
        mail_error(res, HTTP_SERVICE_UNAVAILABLE, "the client left; not relayed");
        return;
    }
    struct mail_config mail = ctx->cfg->mail;
    int64_t waited = clock_now_ms() - rb->queued_ms;
    if (waited >= mail.total_timeout_ms) {
        mail_error(res, HTTP_SERVICE_UNAVAILABLE,
                   "no relay worker was free in time; not sent, try again");
        RESPONSE_LINE(res, "Retry-After: 5");
        return;
    }
    mail.total_timeout_ms -= (int)waited;
    struct mail_request mr = {
        .content_type = slice_make(rb->content_type, strlen(rb->content_type)),
        .authorization = slice_make(rb->authorization, strlen(rb->authorization)),
        .body = rb->mem.data ? rb->mem.data : "",
        .body_len = rb->mem.len,
    };
    struct buf out = {0};
    int status = mail_handle(&mail, &mr, &out);
    response_take_buf(res, status, "application/json", &out);
    if (status == HTTP_UNAUTHORIZED)
        RESPONSE_LINE(res, "WWW-Authenticate: Bearer");
}

void
http_route_body_free(struct route_body *rb)
{
    if (rb->plan == BODY_UPLOAD)
        files_upload_abort(rb);
    buf_free(&rb->mem);
    atomic_fetch_sub(&mail_held, rb->held);
    rb->held = 0;
    free(rb->content_type);
    free(rb->authorization);
    rb->content_type = rb->authorization = NULL;
    rb->plan = BODY_NONE;
}
