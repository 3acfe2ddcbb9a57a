/* test_fs.c - opening beneath the root, with openat2 and with the fallback
 * walk; and following symlinks that stay beneath it, for reading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../http/fs.c"

static char root[64];
static int rootfd;

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/test_fs.XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/sub", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/sub/file.txt", root);
    FILE *f = fopen(path, "w");
    fputs("inside", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/escape", root);
    if (symlink("/etc", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/sub/passwd", root);
    if (symlink("/etc/passwd", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/sub/link-in", root);
    if (symlink("file.txt", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/sub/climb-out", root);
    if (symlink("../../../../../../../../etc/passwd", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/dirlink", root);
    if (symlink("sub", path) < 0)
        return -1;
    rootfd = open(root, O_RDONLY | O_DIRECTORY);
    return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    close(rootfd);
    return system(cmd) == 0 ? 0 : -1;
}

typedef int open_fn(int rootfd, const char *path, int flags, mode_t mode);

static void
check_rules(open_fn *open_under)
{
    int fd = open_under(rootfd, "sub/file.txt", O_RDONLY, 0);
    assert_true(fd >= 0);
    char buf[16] = "";
    assert_int_equal(read(fd, buf, sizeof(buf)), 6);
    close(fd);
    fd = open_under(rootfd, "/sub//file.txt", O_RDONLY, 0);
    assert_true(fd >= 0);
    close(fd);
    static const char *const refused[] = {
        "../etc/passwd", "sub/../../etc/passwd", "escape/passwd", "sub/passwd",
        "missing",       "sub/link-in", /* a final symlink, even one that stays inside */
        "sub/climb-out",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fd = open_under(rootfd, refused[i], O_RDONLY, 0);
        if (fd >= 0)
            fail_msg("%s opened", refused[i]);
    }
    /* Creating works beneath the root, never through a link. */
    fd = open_under(rootfd, "sub/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(open_under(rootfd, "escape/x", O_WRONLY | O_CREAT, 0644), -1);
    char path[128];
    snprintf(path, sizeof(path), "%s/sub/new.txt", root);
    unlink(path);
}

static void
test_fs_openat2(void **state)
{
    (void)state;
    check_rules(fs_open_beneath);
}

static void
test_fs_component_walk(void **state)
{
    (void)state;
    check_rules(open_by_components);
}

/* For reading a site: a final symlink is followed while it stays beneath
 * the root, to a file or a directory; one that leaves it is refused. */
static void
test_fs_follow(void **state)
{
    (void)state;
    static const char *const inside[] = {"sub/link-in", "dirlink/file.txt", "dirlink/link-in"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        int fd = fs_open_beneath_follow(rootfd, inside[i], O_RDONLY);
        if (fd < 0)
            fail_msg("%s: %s", inside[i], strerror(errno));
        char buf[16] = "";
        assert_int_equal(read(fd, buf, sizeof(buf)), 6);
        assert_memory_equal(buf, "inside", 6);
        close(fd);
    }
    int fd = fs_open_beneath_follow(rootfd, "dirlink", O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    close(fd);
    static const char *const refused[] = {
        "../etc/passwd", "escape/passwd", "escape", "sub/passwd", "sub/climb-out", "missing",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fd = fs_open_beneath_follow(rootfd, refused[i], O_RDONLY);
        if (fd >= 0)
            fail_msg("%s opened", refused[i]);
    }
}

static void
test_fs_path_is_safe(void **state)
{
    (void)state;
    assert_true(fs_path_is_safe("/a/b.txt", 8));
    assert_false(fs_path_is_safe("/a/../b", 7));
    assert_false(fs_path_is_safe("/.env", 5));
    assert_false(fs_path_is_safe("/a\\b", 4));
    assert_false(fs_path_is_safe("/a\0b", 4));
    assert_false(fs_path_is_safe("/", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_openat2),
        cmocka_unit_test(test_fs_component_walk),
        cmocka_unit_test(test_fs_follow),
        cmocka_unit_test(test_fs_path_is_safe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
