/* gzcache.h - a shared cache of gzip-compressed files, so a hot file is
 * compressed once rather than per request.
 *
 * One cache serves every loop thread; a mutex guards the index, which is
 * touched only when a thread's own static cache has no compressed body at
 * hand (see static.c), so it stays off the per-request path for hot files.
 *
 * An entry is identified by (path, st_dev, st_ino) and valid for one version
 * of the file, (st_size, st_mtim): a lookup that finds an older version
 * drops it and compresses again. Memory is bounded: entries are evicted
 * least recently used first once their total (compressed bytes plus
 * bookkeeping) passes the cap. Entries are reference-counted, so an evicted
 * entry lives on until the last response that sends it lets go. */
#ifndef GZCACHE_H
#define GZCACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "slice.h"

/* The cap when gzcache_new() is given 0. At a typical 4:1 ratio on text,
 * 64 MiB holds about 256 MiB of site text: more than most sites have. */
#define GZCACHE_DEFAULT_CAP ((size_t)64 << 20)

/* Larger files are compressed on the job pool, never by the asking thread. */
#define GZCACHE_INLINE_MAX ((size_t)64 << 10)

struct gzcache;
struct gzcache_entry;

/* Creates a cache holding at most cap_bytes (0: GZCACHE_DEFAULT_CAP),
 * compressing at level (gzip_compress() levels). NULL when out of memory. */
struct gzcache *gzcache_new(size_t cap_bytes, int level);

/* Frees the cache. NULL is fine. Every other call on it must have returned;
 * entries still held by responses stay valid until gzcache_release(). */
void gzcache_free(struct gzcache *c);

/* Returns a held reference to the gzip form of the regular file that path
 * names and st describes (st from an fstat of the open file), or NULL when
 * the response should go out as identity. The source of the bytes, when the
 * cache does not already have them:
 *     data != NULL    data[0..st->st_size), the file's content
 *     fd >= 0         read with pread() from fd (the caller keeps fd)
 *     neither         nothing: NULL unless the cache has the entry
 * Compression runs outside the lock: in the calling thread, or for a file over
 * GZCACHE_INLINE_MAX read from fd, on the job pool (NULL now; later calls
 * find it ready). When the pool cannot take that job (queue full, or
 * GZIP_JOBS_MAX compressions out), NULL and nothing is kept: a later call
 * tries again. Single-flight:
 * while one thread compresses a file, others asking for the same version get
 * NULL at once (identity) instead of blocking their loop or compressing it
 * twice. NULL also when the file does not shrink by at least 1/16 (remembered
 * for that version, so it is not retried), when the file changed while it
 * was read, and when memory runs out. An entry bigger than the whole cap is
 * returned but not kept. Thread-safe. */
struct gzcache_entry *gzcache_get(struct gzcache *c, struct slice path, const struct stat *st,
                                  int fd, const void *data);

/* The compressed bytes of a held entry: a complete gzip member. */
const char *gzcache_data(const struct gzcache_entry *e);
size_t gzcache_len(const struct gzcache_entry *e);

/* Takes one more reference on an entry the caller already holds. Lock-free. */
void gzcache_hold(struct gzcache_entry *e);

/* Drops one reference (a struct gzcache_entry *, typed void * to fit
 * response.body_free); the last one frees the entry once it has left the
 * cache. Lock-free; callable from any thread, also after gzcache_free(). */
void gzcache_release(void *entry);

#endif
