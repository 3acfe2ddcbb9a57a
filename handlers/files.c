/* files.c - GET and POST /files/{name}.
 *
 * Uploads are atomic (DESIGN.md "Files"): the body streams into a fresh
 * temporary file in the same directory (O_CREAT | O_EXCL | O_NOFOLLOW, so
 * nothing planted there can redirect it), then a pool worker fsyncs it and
 * renameat()s it over the target and fsyncs the directory. A reader sees the
 * old file or the new one, never half of one, and the 201 leaves only once
 * the data is on disk. A failed or abandoned upload unlinks its temporary. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "static.h"

#define NO_SPACE "no space left to store the file"
#define IS_DIR   "a directory has that name"

bool
files_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 255 || name[0] == '.')
        return false;
    return memchr(name, '/', len) == NULL && memchr(name, '\\', len) == NULL &&
           memchr(name, '\0', len) == NULL;
}

void
handle_files_get(struct handler_ctx *ctx, const struct http_request *req, const char *name,
                 size_t len, struct response *res)
{
    if (ctx->cfg->root_fd < 0) {
        response_error(res, HTTP_NOT_FOUND, "no --directory configured");
        return;
    }
    if (!files_name_ok(name, len)) {
        response_error(res, HTTP_NOT_FOUND, NULL);
        return;
    }
    char path[256];
    memcpy(path, name, len);
    path[len] = '\0';
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = fs_open_beneath(ctx->cfg->root_fd, path, O_RDONLY | O_NONBLOCK, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        response_error(res, HTTP_NOT_FOUND, NULL);
        return;
    }
    static_serve_fd(ctx, req, fd, &st, "application/octet-stream", res);
}

int
files_upload_begin(struct handler_ctx *ctx, const char *name, size_t len, struct route_body *rb,
                   struct response *res)
{
    if (ctx->cfg->root_fd < 0) {
        response_error(res, HTTP_NOT_FOUND, "no --directory configured");
        return HTTP_NOT_FOUND;
    }
    if (!files_name_ok(name, len)) {
        response_error(res, HTTP_BAD_REQUEST, "file names may not contain '/' or start with '.'");
        return HTTP_BAD_REQUEST;
    }
    memcpy(rb->name, name, len);
    rb->name[len] = '\0';
    /* A file cannot replace a directory (RFC 9110 15.5.10): say so before
     * the body is taken. The commit checks again, by rename's EISDIR. */
    struct stat st;
    if (fstatat(ctx->cfg->root_fd, rb->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode)) {
        response_error(res, HTTP_CONFLICT, IS_DIR);
        return HTTP_CONFLICT;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
    for (int attempt = 0; attempt < 16; attempt++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        snprintf(rb->tmp_name, sizeof(rb->tmp_name), ".upload-%016lx", seed);
        rb->fd =
            fs_open_beneath(ctx->cfg->root_fd, rb->tmp_name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (rb->fd >= 0 || errno != EEXIST)
            break;
    }
    if (rb->fd < 0) {
        log_err("upload %s: cannot create a temporary file: %s", rb->name, strerror(errno));
        rb->tmp_name[0] = '\0';
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, "cannot create the file");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rb->dirfd = ctx->cfg->root_fd;
    rb->plan = BODY_UPLOAD;
    rb->limit = ctx->cfg->max_upload;
    return 0;
}

int
files_upload_write(struct route_body *rb, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(rb->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_err("upload %s: write: %s", rb->name, strerror(errno));
            /* A full disk is the server's trouble, not a request too large. */
            if (errno == ENOSPC || errno == EDQUOT) {
                rb->error = NO_SPACE;
                return HTTP_INSUFFICIENT_STORAGE;
            }
            if (errno == EFBIG) { /* RLIMIT_FSIZE, or the file system's own limit */
                rb->error = "the file is larger than this server may store";
                return HTTP_CONTENT_TOO_LARGE;
            }
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

void
files_upload_commit(struct route_body *rb, struct response *res)
{
    int root = rb->dirfd;
    /* Closed whatever fsync says: a descriptor left open would keep the
     * unlinked temporary's blocks allocated until the process exits. */
    const char *what = "fsync";
    int err = fsync(rb->fd) < 0 ? errno : 0;
    if (close(rb->fd) < 0 && err == 0) {
        err = errno;
        what = "close";
    }
    rb->fd = -1;
    if (err != 0) {
        log_err("upload %s: %s: %s", rb->name, what, strerror(err));
        goto fail;
    }
    /* renameat replaces a symlink named rb->name rather than following it. */
    if (renameat(root, rb->tmp_name, root, rb->name) < 0) {
        err = errno;
        log_err("upload %s: rename: %s", rb->name, strerror(err));
        goto fail;
    }
    rb->tmp_name[0] = '\0';
    fsync(root);
    response_init(res);
    response_static(res, HTTP_CREATED, NULL, "");
    return;
fail:
    files_upload_abort(rb);
    /* With delayed allocation a full disk may first show at fsync or close. */
    if (err == EISDIR)
        response_error(res, HTTP_CONFLICT, IS_DIR);
    else if (err == ENOSPC || err == EDQUOT)
        response_error(res, HTTP_INSUFFICIENT_STORAGE, NO_SPACE);
    else
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, "the file could not be stored");
}

void
files_upload_abort(struct route_body *rb)
{
    if (rb->fd >= 0) {
        close(rb->fd);
        rb->fd = -1;
    }
    if (rb->tmp_name[0] != '\0') {
        unlinkat(rb->dirfd, rb->tmp_name, 0);
        rb->tmp_name[0] = '\0';
    }
}
