/* files.c - GET and POST /files/{name}.
 *
 * Uploads are atomic (DESIGN.md "Files"): the body streams into a fresh
 * temporary file in the same directory (O_CREAT | O_EXCL | O_NOFOLLOW, so
 * nothing planted there can redirect it), then a pool worker fsyncs it and
 * renameat()s it over the target and fsyncs the directory. A reader sees the
 * old file or the new one, never half of one, and the 201 leaves only once
 * the data is on disk. A failed or abandoned upload unlinks its temporary.
 *
 * Conditional uploads (RFC 9110 section 13): If-Match, If-None-Match and
 * If-Unmodified-Since are compared with the ETag and Last-Modified that GET
 * sends for the file (static_check_replace). They are checked when the head
 * arrives, so that a failing one is answered 412 before the body is read,
 * and again at the commit, against the file as it is by then, under a lock
 * shared with the rename; "If-None-Match: *" renames with RENAME_NOREPLACE,
 * so that even another process cannot slip a file in between. A condition
 * that cannot be read is answered 400 rather than ignored: a write done
 * blind could replace what the client meant to keep. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define NOT_TAGS "If-Match and If-None-Match take \"*\" or a list of entity-tags"
#define NOT_MATCHED \
    "the file does not meet the request's If-Match, If-None-Match or If-Unmodified-Since"

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

/* What is at name in the directory now (a symlink itself: rename replaces
 * it rather than following it), or NULL when nothing is. */
static const struct stat *
lookup(int dirfd, const char *name, struct stat *st)
{
    return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? st : NULL;
}

/* A copy of a header field's value for the commit, NULL when absent. */
static bool
copy_field(char **out, struct slice value)
{
    *out = value.len > 0 ? strndup(value.ptr, value.len) : NULL;
    return value.len == 0 || *out != NULL;
}

/* copy_field for a list field, whose lines are joined with ", " (RFC 9110
 * 5.3). */
static bool
copy_list(char **out, const struct http_request *req, struct slice name)
{
    size_t i = 0, len = 0, lines = 0;
    struct slice line;
    *out = NULL;
    while (http_header_next(req, name, &i, &line)) {
        len += line.len;
        lines++;
    }
    if (len == 0)
        return true;
    char *p = *out = malloc(len + 2 * lines - 1);
    if (p == NULL)
        return false;
    for (i = 0; http_header_next(req, name, &i, &line); p += line.len) {
        if (p != *out) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        memcpy(p, line.ptr, line.len);
    }
    *p = '\0';
    return true;
}

static struct slice
field(const char *copy)
{
    return copy ? slice_make(copy, strlen(copy)) : SLICE_LIT("");
}

int
files_upload_begin(struct handler_ctx *ctx, const struct http_request *req, const char *name,
                   size_t len, struct route_body *rb, struct response *res)
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
    /* What can be refused now is refused before the body is taken; the
     * commit checks again against what is there by then. A file cannot
     * replace a directory (RFC 9110 15.5.10). */
    struct stat st;
    const struct stat *cur = lookup(ctx->cfg->root_fd, rb->name, &st);
    if (cur && S_ISDIR(cur->st_mode)) {
        response_error(res, HTTP_CONFLICT, IS_DIR);
        return HTTP_CONFLICT;
    }
    if (!copy_list(&rb->if_match, req, SLICE_LIT("If-Match")) ||
        !copy_field(&rb->if_unmodified_since,
                    http_header_get(req, SLICE_LIT("If-Unmodified-Since"))) ||
        !copy_list(&rb->if_none_match, req, SLICE_LIT("If-None-Match"))) {
        files_upload_abort(rb);
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int status = static_check_replace(field(rb->if_match), field(rb->if_unmodified_since),
                                      field(rb->if_none_match), cur);
    if (status != 0) {
        files_upload_abort(rb);
        response_error(res, status, status == HTTP_BAD_REQUEST ? NOT_TAGS : NOT_MATCHED);
        return status;
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
        files_upload_abort(rb);
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

/* Serialises each commit's look at the target with the rename that depends
 * on it, so that two uploads in this process cannot both pass If-Match
 * against the same version. Other writers of the directory are not held
 * back by it; for If-None-Match: * the kernel refuses an existing name. */
static pthread_mutex_t commit_lock = PTHREAD_MUTEX_INITIALIZER;

/* renameat() that fails with EEXIST, atomically, when to exists. File
 * systems without RENAME_NOREPLACE get linkat(), which refuses an existing
 * name just as well, and an unlink of from. */
static int
rename_noreplace(int dirfd, const char *from, const char *to)
{
    if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (linkat(dirfd, from, dirfd, to, 0) < 0)
        return -1;
    unlinkat(dirfd, from, 0);
    return 0;
}

/* Checks the preconditions against the target as it is now and renames the
 * temporary over it. Returns 0, or the status to answer. */
static int
replace_target(struct route_body *rb)
{
    struct slice none_match = slice_trim(field(rb->if_none_match));
    bool create_only = none_match.len == 1 && none_match.ptr[0] == '*';
    int status = 0;
    pthread_mutex_lock(&commit_lock);
    struct stat st;
    const struct stat *cur = lookup(rb->dirfd, rb->name, &st);
    if (cur && S_ISDIR(cur->st_mode)) {
        status = HTTP_CONFLICT;
    } else if (static_check_replace(field(rb->if_match), field(rb->if_unmodified_since), none_match,
                                    cur) != 0) {
        status = HTTP_PRECONDITION_FAILED;
    } else if ((create_only ? rename_noreplace(rb->dirfd, rb->tmp_name, rb->name)
                            : renameat(rb->dirfd, rb->tmp_name, rb->dirfd, rb->name)) < 0) {
        /* renameat replaces a symlink named rb->name rather than following it. */
        int err = errno;
        log_err("upload %s: rename: %s", rb->name, strerror(err));
        status = err == EEXIST && create_only ? HTTP_PRECONDITION_FAILED
                 : err == EISDIR              ? HTTP_CONFLICT
                                              : HTTP_INTERNAL_SERVER_ERROR;
    }
    pthread_mutex_unlock(&commit_lock);
    return status;
}

void
files_upload_commit(struct route_body *rb, struct response *res)
{
    /* Closed whatever fsync says: a descriptor left open would keep the
     * unlinked temporary's blocks allocated until the process exits. */
    const char *what = "fsync";
    int err = fsync(rb->fd) < 0 ? errno : 0;
    if (close(rb->fd) < 0 && err == 0) {
        err = errno;
        what = "close";
    }
    rb->fd = -1;
    int status;
    if (err != 0) {
        log_err("upload %s: %s: %s", rb->name, what, strerror(err));
        /* With delayed allocation a full disk may first show here. */
        status =
            err == ENOSPC || err == EDQUOT ? HTTP_INSUFFICIENT_STORAGE : HTTP_INTERNAL_SERVER_ERROR;
    } else {
        status = replace_target(rb);
    }
    if (status != 0) {
        files_upload_abort(rb);
        response_error(res, status,
                       status == HTTP_CONFLICT               ? IS_DIR
                       : status == HTTP_PRECONDITION_FAILED  ? NOT_MATCHED
                       : status == HTTP_INSUFFICIENT_STORAGE ? NO_SPACE
                                                             : "the file could not be stored");
        return;
    }
    rb->tmp_name[0] = '\0';
    fsync(rb->dirfd);
    response_init(res);
    response_static(res, HTTP_CREATED, NULL, "");
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
    free(rb->if_match);
    free(rb->if_unmodified_since);
    free(rb->if_none_match);
    rb->if_match = rb->if_unmodified_since = rb->if_none_match = NULL;
}
