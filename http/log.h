/* log.h - diagnostics on stderr, the access log on stdout, and the wire trace.
 *
 * Every line goes out in one write so lines from different threads never
 * interleave. Client bytes are escaped before they reach a terminal or a log
 * file (darkhttpd logencode). */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level; /* messages above this level are dropped */
extern bool log_access_enabled;  /* false with --quiet */
extern bool log_trace_enabled;   /* --trace: wire dumps on stderr */

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The level test comes before the arguments are evaluated (redis serverLog). */
#define log_at(lvl, ...)                 \
    do {                                 \
        if ((lvl) <= log_level)          \
            log_msg((lvl), __VA_ARGS__); \
    } while (0)
#define log_err(...)  log_at(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#ifdef NDEBUG
#define log_debug(...) ((void)0)
#else
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#endif

/* Writes len bytes to out with control bytes, backslash, quote and non-ASCII
 * as \r \n \t \\ \" or \xHH, NUL-terminated; returns the length written.
 * Stops early rather than overflow: cap must be at least 1. */
size_t log_escape(char *out, size_t cap, const void *data, size_t len);

/* With --trace, prints data to stderr as it crossed the wire, one output line
 * per input line, each starting with prefix (e.g. "< " for what a client sent,
 * "C: " for an SMTP command); CR and LF are shown as \r and \n. No-op otherwise. */
void log_trace(const char *prefix, const void *data, size_t len);

/* Reopens the access log on path (NULL: stdout). Returns 0 or -1 with errno. */
int log_open_access(const char *path);

/* One access-log line: time, client, method, target, status, bytes, microseconds. */
void log_access(const char *client, const char *method, size_t method_len, const char *target,
                size_t target_len, int status, unsigned long long bytes, unsigned long long usec);

#endif
