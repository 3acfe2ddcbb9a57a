/* buf.h - a growable byte buffer for generated bodies (darkhttpd apbuf).
 *
 * Every append returns 0, or -1 when memory runs out; after a failure the
 * buffer keeps what it had, so the caller can answer 500 and free it. A
 * zeroed struct buf is an empty buffer; buf_free() leaves it empty again. */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Makes room for at least `extra` more bytes. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Takes ownership of the bytes away from b: the caller frees the result. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
