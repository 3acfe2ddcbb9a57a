/* echo.h - GET /echo/{s} and GET /user-agent: small bodies from the request. */
#ifndef ECHO_H
#define ECHO_H

#include "router.h"

/* /echo/{s}: s percent-decoded, as text/plain. Returns 400 for a bad escape. */
void handle_echo(struct handler_ctx *ctx, const struct http_request *req, struct slice rest,
                 struct response *res);

/* /user-agent: the User-Agent field value as text/plain (empty when absent). */
void handle_user_agent(struct handler_ctx *ctx, const struct http_request *req,
                       struct response *res);

/* Compresses a memory body with gzip when the client accepts it (RFC 9110
 * section 12.5.3), adding Content-Encoding; always adds Vary. Leaves the body
 * as it is when gzip is not chosen or the body is empty or over --gzip-max.
 * A tiny body may grow: a client that asked for gzip gets gzip. */
void respond_gzip(struct handler_ctx *ctx, const struct http_request *req, struct response *res);

#endif
