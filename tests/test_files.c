/* test_files.c - POST /files/{name}: the upload's temporary file, its
 * commit, and how failures of the disk are answered.
 *
 * files.c is included with fsync() and write() replaced by fakes that fail
 * on request, so that the error paths of a real upload can be driven
 * without a broken or full disk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

static int fsync_errno;   /* nonzero: the next fsync() fails with it */
static int fsync_fd = -1; /* the descriptor the last fsync() was given */
static int write_errno;   /* nonzero: every write() fails with it */

static int
fake_fsync(int fd)
{
    fsync_fd = fd;
    if (fsync_errno) {
        errno = fsync_errno;
        fsync_errno = 0;
        return -1;
    }
    return fsync(fd);
}

static ssize_t
fake_write(int fd, const void *data, size_t len)
{
    if (write_errno) {
        errno = write_errno;
        return -1;
    }
    return write(fd, data, len);
}

#define fsync fake_fsync
#define write fake_write
#include "../handlers/files.c"
#undef fsync
#undef write

struct fixture {
    char root[64];
    struct server_config cfg;
    struct handler_ctx ctx;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/test_files.XXXXXX");
    if (f == NULL || mkdtemp(f->root) == NULL)
        return -1;
    f->cfg.root_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->cfg.max_upload = 1 << 20;
    f->ctx.cfg = &f->cfg;
    fsync_errno = write_errno = 0;
    fsync_fd = -1;
    *state = f;
    return f->cfg.root_fd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
    close(f->cfg.root_fd);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* The number of entries in the root other than "." and "..". */
static int
root_entries(const struct fixture *f)
{
    DIR *d = opendir(f->root);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Starts an upload of name with extra header lines ("Name: value\r\n"
 * each, or NULL), as the router does. Returns 0 or the status it was
 * refused with (res then holds the answer; discard it). */
static int
try_begin(struct fixture *f, const char *name, const char *headers, struct route_body *rb,
          struct response *res)
{
    char head[1024];
    struct http_request req;
    int n = snprintf(head, sizeof(head), "POST /files/%s HTTP/1.1\r\nHost: x\r\n%s\r\n", name,
                     headers ? headers : "");
    assert_int_equal(http_parse_request(head, (size_t)n, &req), n);
    response_init(res);
    *rb = (struct route_body){.plan = BODY_NONE, .fd = -1, .dirfd = -1};
    int status = files_upload_begin(&f->ctx, &req, name, strlen(name), rb, res);
    assert_int_equal(rb->plan, status == 0 ? BODY_UPLOAD : BODY_NONE);
    if (status != 0)
        assert_int_equal(res->status, status);
    return status;
}

/* Starts an upload of name that must be accepted, and writes body into it. */
static void
begin_with(struct fixture *f, const char *name, const char *headers, const char *body,
           struct route_body *rb)
{
    struct response res;
    assert_int_equal(try_begin(f, name, headers, rb, &res), 0);
    assert_int_equal(files_upload_write(rb, body, strlen(body)), 0);
}

static void
begin(struct fixture *f, const char *name, const char *body, struct route_body *rb)
{
    begin_with(f, name, NULL, body, rb);
}

static void
put(struct fixture *f, const char *name, const char *content)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->root, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

static void
assert_content(struct fixture *f, const char *name, const char *want)
{
    char path[128], got[64] = "";
    snprintf(path, sizeof(path), "%s/%s", f->root, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    got[fread(got, 1, sizeof(got) - 1, fp)] = '\0';
    fclose(fp);
    assert_string_equal(got, want);
}

/* The ETag GET /files/name answers with, into out. */
static void
etag_of(struct fixture *f, const char *name, char *out, size_t cap)
{
    char head[256];
    struct http_request req;
    int n = snprintf(head, sizeof(head), "GET /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", name);
    assert_int_equal(http_parse_request(head, (size_t)n, &req), n);
    struct response res;
    response_init(&res);
    handle_files_get(&f->ctx, &req, name, strlen(name), &res);
    assert_int_equal(res.status, HTTP_OK);
    res.headers[res.headers_len] = '\0';
    const char *p = strstr(res.headers, "ETag: ");
    assert_non_null(p);
    p += 6;
    size_t len = strcspn(p, "\r");
    assert_true(len < cap);
    memcpy(out, p, len);
    out[len] = '\0';
    response_discard(&res);
}

/* "<prefix><the ETag of name>\r\n", a header line, into out. */
static void
etag_line(struct fixture *f, const char *name, const char *prefix, char *out, size_t cap)
{
    char etag[64];
    etag_of(f, name, etag, sizeof(etag));
    snprintf(out, cap, "%s%s\r\n", prefix, etag);
}

static int
commit(struct route_body *rb)
{
    struct response res;
    response_init(&res);
    files_upload_commit(rb, &res);
    int status = res.status;
    files_upload_abort(rb);
    response_discard(&res);
    return status;
}

/* Uploads body as name with the given header lines: the status, whether
 * refused at once or at the commit. */
static int
upload(struct fixture *f, const char *name, const char *headers, const char *body)
{
    struct route_body rb;
    struct response res;
    int status = try_begin(f, name, headers, &rb, &res);
    response_discard(&res);
    if (status != 0)
        return status;
    assert_int_equal(files_upload_write(&rb, body, strlen(body)), 0);
    return commit(&rb);
}

static void
test_files_fsync_failure_closes(void **state)
{
    struct fixture *f = *state;
    struct route_body rb;
    struct response res;
    begin(f, "a.txt", "hello", &rb);
    fsync_errno = EIO;
    response_init(&res);
    files_upload_commit(&rb, &res);
    assert_int_equal(res.status, HTTP_INTERNAL_SERVER_ERROR);
    assert_true(fsync_fd >= 0);
    /* The temporary's descriptor is closed, not only its name unlinked. */
    errno = 0;
    assert_int_equal(fcntl(fsync_fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(rb.fd, -1);
    assert_int_equal(root_entries(f), 0);
    files_upload_abort(&rb);
    response_discard(&res);
}

static void
test_files_commit(void **state)
{
    struct fixture *f = *state;
    struct route_body rb;
    struct response res;
    begin(f, "a.txt", "hello", &rb);
    response_init(&res);
    files_upload_commit(&rb, &res);
    assert_int_equal(res.status, HTTP_CREATED);
    assert_int_equal(rb.fd, -1);
    assert_int_equal(root_entries(f), 1);
    char path[128];
    snprintf(path, sizeof(path), "%s/a.txt", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5);
    files_upload_abort(&rb);
    response_discard(&res);
}

/* A full disk or quota is 507 with its own message, not 413. */
static void
test_files_disk_full_is_507(void **state)
{
    struct fixture *f = *state;
    static const int errs[] = {ENOSPC, EDQUOT};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        struct route_body rb;
        begin(f, "a.txt", "hello", &rb);
        write_errno = errs[i];
        assert_int_equal(files_upload_write(&rb, "more", 4), HTTP_INSUFFICIENT_STORAGE);
        assert_string_equal(rb.error, "no space left to store the file");
        write_errno = EIO;
        rb.error = NULL;
        assert_int_equal(files_upload_write(&rb, "more", 4), HTTP_INTERNAL_SERVER_ERROR);
        assert_null(rb.error);
        write_errno = 0;
        files_upload_abort(&rb);
        assert_int_equal(root_entries(f), 0);
    }
    /* Delayed allocation: the disk turns out full at fsync. */
    struct route_body rb;
    struct response res;
    begin(f, "a.txt", "hello", &rb);
    fsync_errno = ENOSPC;
    response_init(&res);
    files_upload_commit(&rb, &res);
    assert_int_equal(res.status, HTTP_INSUFFICIENT_STORAGE);
    assert_non_null(strstr(res.text, "no space left"));
    assert_int_equal(root_entries(f), 0);
    response_discard(&res);
    assert_string_equal(http_reason(HTTP_INSUFFICIENT_STORAGE), "Insufficient Storage");
}

/* A directory of the name is a conflict, found before the body is read
 * and, when it turns up meanwhile, at the commit. */
static void
test_files_directory_is_409(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/docs", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    struct route_body rb;
    struct response res;
    assert_int_equal(try_begin(f, "docs", NULL, &rb, &res), HTTP_CONFLICT);
    assert_non_null(strstr(res.text, "directory"));
    assert_int_equal(root_entries(f), 1);
    response_discard(&res);

    begin(f, "late", "hello", &rb);
    snprintf(path, sizeof(path), "%s/late", f->root);
    assert_int_equal(mkdir(path, 0755), 0);
    response_init(&res);
    files_upload_commit(&rb, &res);
    assert_int_equal(res.status, HTTP_CONFLICT);
    assert_int_equal(root_entries(f), 2); /* the directories, no temporary */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    response_discard(&res);
    assert_string_equal(http_reason(HTTP_CONFLICT), "Conflict");
}

/* If-None-Match: * creates, never replaces: refused before the body when
 * the file exists, and at the commit when it appeared meanwhile. */
static void
test_files_if_none_match(void **state)
{
    struct fixture *f = *state;
    put(f, "a.txt", "old");
    struct route_body rb;
    struct response res;
    assert_int_equal(try_begin(f, "a.txt", "If-None-Match: *\r\n", &rb, &res),
                     HTTP_PRECONDITION_FAILED);
    assert_non_null(strstr(res.text, "If-None-Match"));
    response_discard(&res);
    assert_content(f, "a.txt", "old");
    assert_int_equal(root_entries(f), 1);

    begin_with(f, "b.txt", "If-None-Match: *\r\n", "mine", &rb);
    put(f, "b.txt", "theirs"); /* another writer wins the race */
    assert_int_equal(commit(&rb), HTTP_PRECONDITION_FAILED);
    assert_content(f, "b.txt", "theirs");
    assert_int_equal(root_entries(f), 2);

    assert_int_equal(upload(f, "c.txt", "If-None-Match: *\r\n", "new"), HTTP_CREATED);
    assert_content(f, "c.txt", "new");

    /* A list of tags: refused when the file has one of them. */
    char line[128];
    etag_line(f, "a.txt", "If-None-Match: \"x\", W/", line, sizeof(line));
    assert_int_equal(upload(f, "a.txt", line, "no"), HTTP_PRECONDITION_FAILED);
    assert_int_equal(upload(f, "a.txt", "If-None-Match: \"x\"\r\n", "yes"), HTTP_CREATED);
    assert_content(f, "a.txt", "yes");
    assert_int_equal(root_entries(f), 3);
}

/* If-Match replaces only the version the client has seen, by the ETag GET
 * sends; "*" only a file that exists. */
static void
test_files_if_match(void **state)
{
    struct fixture *f = *state;
    char line[128];
    put(f, "a.txt", "v1");
    etag_line(f, "a.txt", "If-Match: \"other\", ", line, sizeof(line));
    assert_int_equal(upload(f, "a.txt", line, "version 2"), HTTP_CREATED);
    assert_content(f, "a.txt", "version 2");
    /* The tag seen before is stale now. */
    assert_int_equal(upload(f, "a.txt", line, "v3"), HTTP_PRECONDITION_FAILED);
    assert_content(f, "a.txt", "version 2");
    /* Weak tags never match for If-Match. */
    etag_line(f, "a.txt", "If-Match: W/", line, sizeof(line));
    assert_int_equal(upload(f, "a.txt", line, "v3"), HTTP_PRECONDITION_FAILED);

    /* Changed between the head and the commit: the commit refuses. */
    etag_line(f, "a.txt", "If-Match: ", line, sizeof(line));
    struct route_body rb;
    begin_with(f, "a.txt", line, "mine", &rb);
    put(f, "a.txt", "their version");
    assert_int_equal(commit(&rb), HTTP_PRECONDITION_FAILED);
    assert_content(f, "a.txt", "their version");

    assert_int_equal(upload(f, "nope.txt", "If-Match: *\r\n", "x"), HTTP_PRECONDITION_FAILED);
    assert_int_equal(upload(f, "nope.txt", line, "x"), HTTP_PRECONDITION_FAILED);
    assert_int_equal(upload(f, "a.txt", "If-Match: *\r\n", "v4"), HTTP_CREATED);
    assert_content(f, "a.txt", "v4");
    assert_int_equal(root_entries(f), 1);
}

/* If-Unmodified-Since against the file's Last-Modified; ignored without a
 * file, when not a date, and with If-Match. */
static void
test_files_if_unmodified_since(void **state)
{
    struct fixture *f = *state;
    put(f, "a.txt", "old");
    char path[128];
    snprintf(path, sizeof(path), "%s/a.txt", f->root);
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}}; /* 2001-09-09 01:46:40 */
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(
        upload(f, "a.txt", "If-Unmodified-Since: Sun, 09 Sep 2001 01:46:39 GMT\r\n", "x"),
        HTTP_PRECONDITION_FAILED);
    assert_int_equal(upload(f, "a.txt",
                            "If-Match: *\r\nIf-Unmodified-Since: Sun, 09 Sep 2001 01:46:39 GMT\r\n",
                            "y"),
                     HTTP_CREATED);
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(upload(f, "a.txt", "If-Unmodified-Since: yesterday\r\n", "z"), HTTP_CREATED);
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(
        upload(f, "a.txt", "If-Unmodified-Since: Sun, 09 Sep 2001 01:46:40 GMT\r\n", "new"),
        HTTP_CREATED);
    assert_content(f, "a.txt", "new");
    assert_int_equal(
        upload(f, "b.txt", "If-Unmodified-Since: Sun, 09 Sep 2001 01:46:40 GMT\r\n", "b"),
        HTTP_CREATED);
    assert_int_equal(root_entries(f), 2);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_files_commit),
        T(test_files_fsync_failure_closes),
        T(test_files_disk_full_is_507),
        T(test_files_directory_is_409),
        T(test_files_if_none_match),
        T(test_files_if_match),
        T(test_files_if_unmodified_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
