/* fs.c - opening beneath a root; see fs.h. */
#include "fs.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* For kernels before 5.6 (and tools such as valgrind) without openat2: walk
 * the path one component at a time, refusing "..", and opening every
 * component with O_NOFOLLOW so that no symlink is ever followed. Stricter
 * than RESOLVE_BENEATH (which follows links that stay inside), never laxer. */
static int
open_by_components(int rootfd, const char *path, int flags, mode_t mode)
{
    char part[256];
    int dirfd = rootfd;
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof(part) || (len == 2 && p[0] == '.' && p[1] == '.')) {
            if (dirfd != rootfd)
                close(dirfd);
            errno = len == 0 ? ENOENT : (len >= sizeof(part) ? ENAMETOOLONG : EXDEV);
            return -1;
        }
        memcpy(part, p, len);
        part[len] = '\0';
        bool last = slash == NULL || slash[strspn(slash, "/")] == '\0';
        int fd = last ? openat(dirfd, part, flags | O_CLOEXEC | O_NOFOLLOW, mode)
                      : openat(dirfd, part, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        int err = errno;
        if (dirfd != rootfd)
            close(dirfd);
        if (fd < 0 || last) {
            errno = err;
            return fd;
        }
        dirfd = fd;
        p = slash;
    }
}

static int
open_beneath(int rootfd, const char *path, int flags, mode_t mode, bool follow)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    static atomic_bool no_openat2;
    long fd;
    while (*path == '/')
        path++; /* "/a" names a beneath the root, as a URL path does */
    if (no_openat2)
        return open_by_components(rootfd, path, flags, mode);
    do
        fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == ENOSYS) {
        no_openat2 = true; /* a benign race: every thread reaches the same answer */
        return open_by_components(rootfd, path, flags, mode);
    }
    return (int)fd;
}

int
fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
    return open_beneath(rootfd, path, flags, mode, false);
}

int
fs_open_beneath_follow(int rootfd, const char *path, int flags)
{
    assert((flags & (O_CREAT | O_WRONLY | O_RDWR)) == 0);
    return open_beneath(rootfd, path, flags, 0, true);
}

bool
fs_path_is_safe(const char *path, size_t len)
{
    const char *p = path, *end = path + len;
    while (p < end && *p == '/')
        p++;
    if (p == end)
        return false;
    if (memchr(p, '\0', (size_t)(end - p)) || memchr(p, '\\', (size_t)(end - p)))
        return false;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        /* "." and ".." segments, and every dotfile or dot-directory. */
        if (seg_end > p && p[0] == '.')
            return false;
        p = slash ? slash + 1 : end;
    }
    return true;
}

bool
fs_read_exact(int fd, void *out, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)out + done, n - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}
