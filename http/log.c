/* log.c - diagnostics, access log and wire trace; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_level = LOG_INFO;
bool log_access_enabled = true;
bool log_trace_enabled = false;

/* The access log descriptor; swapped atomically by log_open_access() (SIGHUP). */
static int access_fd = STDOUT_FILENO;
static pthread_mutex_t access_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
    [LOG_ERR] = "error", [LOG_WARN] = "warning", [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};

/* write() until done or a real error: a log line is never split by a short write. */
static void
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "server: %s: ", level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    write_all(STDERR_FILENO, line, len);
}

size_t
log_escape(char *out, size_t cap, const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char esc = 0;
        switch (p[i]) {
        case '\r':
            esc = 'r';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\t':
            esc = 't';
            break;
        case '\\':
            esc = '\\';
            break;
        case '"':
            esc = '"';
            break;
        default:
            break;
        }
        if (esc) {
            if (o + 2 >= cap)
                break;
            out[o++] = '\\';
            out[o++] = esc;
        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            if (o + 4 >= cap)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
        } else {
            if (o + 1 >= cap)
                break;
            out[o++] = (char)p[i];
        }
    }
    out[o] = '\0';
    return o;
}

void
log_trace(const char *prefix, const void *data, size_t len)
{
    if (!log_trace_enabled)
        return;
    const char *p = data, *end = p + len;
    size_t plen = strlen(prefix);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl + 1 : end;
        char line[4096 + 64];
        memcpy(line, prefix, plen);
        size_t n = plen + log_escape(line + plen, sizeof(line) - plen - 1, p, (size_t)(stop - p));
        line[n++] = '\n';
        write_all(STDERR_FILENO, line, n);
        p = stop;
    }
}

int
log_open_access(const char *path)
{
    int fd = STDOUT_FILENO;
    if (path != NULL) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
    }
    pthread_mutex_lock(&access_lock);
    int old = access_fd;
    access_fd = fd;
    pthread_mutex_unlock(&access_lock);
    if (old != STDOUT_FILENO && old != fd)
        close(old);
    return 0;
}

void
log_access(const char *client, const char *method, size_t method_len, const char *target,
           size_t target_len, int status, unsigned long long bytes, unsigned long long usec)
{
    if (!log_access_enabled)
        return;
    char when[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

    char m[64], t[2048];
    log_escape(m, sizeof(m), method, method_len);
    log_escape(t, sizeof(t), target, target_len);
    char line[2300];
    int n = snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t%d\t%llu\t%lluus\n", when, client, m, t,
                     status, bytes, usec);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    pthread_mutex_lock(&access_lock);
    write_all(access_fd, line, (size_t)n);
    pthread_mutex_unlock(&access_lock);
}
