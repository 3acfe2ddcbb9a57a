/* files.h - GET and POST /files/{name}: one flat directory of uploads. */
#ifndef FILES_H
#define FILES_H

#include "router.h"

/* True when name (already percent-decoded) may name a file under /files/:
 * not empty, no '/', no '\\', no NUL, not starting with '.', at most 255 bytes. */
bool files_name_ok(const char *name, size_t len);

/* GET/HEAD /files/{name}: the file as application/octet-stream, or 404. */
void handle_files_get(struct handler_ctx *ctx, const struct http_request *req, const char *name,
                      size_t len, struct response *res);

/* POST /files/{name}: opens a temporary file beside the target and sets up rb,
 * keeping copies of req's precondition fields for the commit. Returns 0, or
 * a status (and fills res) when the upload cannot start: 400 for a bad
 * name, 409 when name is a directory, 412 when a precondition fails, 404,
 * 500. */
int files_upload_begin(struct handler_ctx *ctx, const struct http_request *req, const char *name,
                       size_t len, struct route_body *rb, struct response *res);

/* Appends body bytes to the temporary file. Returns 0, or 507 when the disk
 * or quota is full, 413 when the file grows past what the process or the
 * file system allows (rb->error says why), or 500. */
int files_upload_write(struct route_body *rb, const char *data, size_t len);

/* Blocking: fsync, check the preconditions against the target as it is
 * now, rename over it, fsync the directory; 201 on success, 409 when the
 * target is a directory, 412 when a precondition fails, 507 when the disk
 * or quota is full, else 500. */
void files_upload_commit(struct route_body *rb, struct response *res);

/* Removes the temporary file, if any, and frees the copied fields. */
void files_upload_abort(struct route_body *rb);

#endif
