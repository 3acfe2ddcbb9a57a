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

/* Starts an upload of name, as the router does, and writes body into it. */
static void
begin(struct fixture *f, const char *name, const char *body, struct route_body *rb)
{
    struct response res;
    response_init(&res);
    *rb = (struct route_body){.plan = BODY_NONE, .fd = -1, .dirfd = -1};
    assert_int_equal(files_upload_begin(&f->ctx, name, strlen(name), rb, &res), 0);
    assert_int_equal(rb->plan, BODY_UPLOAD);
    assert_int_equal(files_upload_write(rb, body, strlen(body)), 0);
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
    struct route_body rb = {.plan = BODY_NONE, .fd = -1, .dirfd = -1};
    struct response res;
    response_init(&res);
    assert_int_equal(files_upload_begin(&f->ctx, "docs", 4, &rb, &res), HTTP_CONFLICT);
    assert_int_equal(res.status, HTTP_CONFLICT);
    assert_non_null(strstr(res.text, "directory"));
    assert_int_equal(rb.plan, BODY_NONE);
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

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_files_commit),
        T(test_files_fsync_failure_closes),
        T(test_files_disk_full_is_507),
        T(test_files_directory_is_409),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
