/* fs.c - opening beneath a root; see fs.h. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do
        fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    while (fd < 0 && errno == EINTR);
    return (int)fd;
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
