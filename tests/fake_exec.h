/* fake_exec.h - stand-in programs for tests that spawn children (the openssl
 * s_client leg): a throw-away directory, bash scripts written into it, the
 * files they leave behind, and a check that no child outlived its test.
 * Included by test files after <cmocka.h>; everything here is static. */
#ifndef FAKE_EXEC_H
#define FAKE_EXEC_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char fake_dir[64]; /* this run's directory */

static int
fake_dir_make(void **state)
{
    (void)state;
    snprintf(fake_dir, sizeof(fake_dir), "/tmp/test_fake.XXXXXX");
    return mkdtemp(fake_dir) ? 0 : -1;
}

static int
fake_dir_remove(void **state)
{
    (void)state;
    DIR *d = opendir(fake_dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", fake_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(fake_dir);
}

/* Writes an executable bash script fake_dir/name whose body is `body`, with
 * every "@D" replaced by the directory. Returns its path in a static buffer. */
static const char *
fake_script(const char *name, const char *body)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/bash\n", f);
    for (const char *p = body; *p; p++) {
        if (p[0] == '@' && p[1] == 'D') {
            fputs(fake_dir, f);
            p++;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

/* The contents of fake_dir/name, NUL-terminated (caller frees), or NULL. */
static char *
fake_file(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", fake_dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* No child of this process exists, not even a zombie. */
static void
assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

#endif
