/* fs.h - opening files strictly beneath a root directory.
 *
 * Every file the server reads or writes is opened relative to the --directory
 * descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) (glibc has no
 * wrapper; we call the syscall), so "..", absolute symlinks and links that
 * leave the root fail in the kernel rather than in our string checks: a
 * symlink is followed only while its target stays beneath the root. Where
 * openat2 is missing (ENOSYS), the path is walked component by component
 * with O_NOFOLLOW instead, which refuses every symlink. */
#ifndef FS_H
#define FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens path (leading '/' ignored) beneath rootfd with flags (O_CLOEXEC
 * and O_NOFOLLOW are always added) and mode. Returns a descriptor or -1 with
 * errno (EXDEV or ELOOP when the path would leave the root). */
int fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode);

/* Like fs_open_beneath, for reading only, but a final symlink is followed
 * too, as long as where it leads stays beneath the root (an absolute link,
 * or one whose ".." climbs out, fails with EXDEV). For serving a site whose
 * owner links within it; never for writing (the assert says so). */
int fs_open_beneath_follow(int rootfd, const char *path, int flags);

/* Reads exactly n bytes from offset 0 of fd with pread (the file offset is
 * left alone). Returns false on an error or a file shorter than n. */
bool fs_read_exact(int fd, void *out, size_t n);

/* True when a decoded path is acceptable to look up: no NUL, no backslash, no
 * "." or ".." segment, no segment starting with '.' (dotfiles are private),
 * and no empty path. Leading '/' is allowed and ignored. */
bool fs_path_is_safe(const char *path, size_t len);

#endif
