/* echo.c - /echo/{s} and /user-agent, with gzip when the client asks.
 *
 * Bodies point into the request (user-agent) or the thread's scratch room
 * (decoded echo); the connection copies them out before either is reused. */
#include "echo.h"

#include <stdlib.h>

#include "encoding.h"
#include "gzip.h"
#include "pct.h"

#define TEXT_PLAIN "text/plain"

void
handle_echo(struct handler_ctx *ctx, const struct http_request *req, struct slice rest,
            struct response *res)
{
    ssize_t n = pct_decode(ctx->scratch, rest.ptr, rest.len, false);
    if (n < 0) {
        response_error(res, HTTP_BAD_REQUEST, "bad percent-encoding in the path");
        return;
    }
    res->content_type = TEXT_PLAIN;
    res->body = ctx->scratch;
    res->body_len = (size_t)n;
    respond_gzip(ctx, req, res);
}

void
handle_user_agent(struct handler_ctx *ctx, const struct http_request *req, struct response *res)
{
    res->content_type = TEXT_PLAIN;
    res->body = req->user_agent.ptr;
    res->body_len = req->user_agent.len;
    respond_gzip(ctx, req, res);
}

void
respond_gzip(struct handler_ctx *ctx, const struct http_request *req, struct response *res)
{
    /* The representation depends on Accept-Encoding either way (RFC 9110 12.5.5). */
    RESPONSE_LINE(res, "Vary: Accept-Encoding");
    if (res->body_len == 0 || res->body_len > ctx->cfg->gzip_max || !http_request_accepts_gzip(req))
        return;
    size_t cap = gzip_bound(res->body_len);
    char *out = malloc(cap);
    if (out == NULL)
        return;
    size_t n = gzip_compress(res->body, res->body_len, out, cap, ctx->cfg->gzip_level);
    if (n == 0) {
        free(out);
        return;
    }
    response_discard(res);
    res->body = out;
    res->body_len = n;
    res->body_free = free;
    res->body_arg = out;
    RESPONSE_LINE(res, "Content-Encoding: gzip");
}
