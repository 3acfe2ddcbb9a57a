/* gzcache.c - the shared compressed-file cache; see gzcache.h.
 *
 * DESIGN
 * A chained hash table indexes entries by (path, dev, ino); a doubly linked
 * list orders the ready ones from most to least recently used. Both are
 * guarded by one mutex, held only for index work, never while a file is
 * read or compressed.
 *
 * An entry is born "pending", linked into the table but not the LRU list,
 * with two references: the table's and the compressing thread's. Others who
 * find it pending answer identity (single-flight without waiting: a loop
 * thread must not sleep on another's compression). When compression ends
 * the entry turns "ready" (or is dropped on failure) and joins the LRU list.
 * If a newer version of the file turned up meanwhile, the pending entry was
 * unlinked and the compressing thread gets the only reference: its response
 * still uses the bytes, then they are freed.
 *
 * Reference counts are atomic so that holding and releasing need no lock:
 * a static cache entry keeps a reference to its file's compressed body and
 * hands out more per response, and the connection releases them from its
 * loop thread. The table's own reference keeps an entry alive while linked;
 * whoever drops the count to zero frees it, and by then nothing can find it.
 *
 * Memory: cap bounds the linked entries (compressed bytes plus the entry and
 * path). Entries already unlinked but still being sent are not counted; they
 * are bounded by the responses in flight. Compressing needs the file and its
 * worst-case output in memory at once, which --gzip-max bounds per thread.
 *
 * Where: a file up to GZCACHE_INLINE_MAX is compressed by the thread that
 * asks (a millisecond or two); a larger one on the blocking job pool, so a
 * cold 8 MiB file never stalls a loop thread for the ~150 ms it takes. Its
 * requests get identity until the gzip form is ready. A large file is never
 * compressed by the asking thread: when the pool cannot take the job (its
 * queue is full, or GZIP_JOBS_MAX compressions are already queued or
 * running, which keeps workers free for uploads and mail), the pending
 * entry is dropped and the response goes out as identity; a later request
 * tries again. */
#include "gzcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fs.h"
#include "gzip.h"
#include "log.h"
#include "lru.h"
#include "pool.h"

#define GZCACHE_MIN_BUCKETS 64

struct gzcache_entry {
    atomic_ulong refs;
    struct gzcache_entry *hnext; /* hash chain */
    struct lru_node lru;         /* ready entries only, under the lock */
    uint64_t hash;
    dev_t dev;
    ino_t ino;
    off_t size;
    long long mtime_ns;
    bool linked; /* in the table (under the lock) */
    bool ready;  /* compression finished; data/len are final */
    char *data;  /* NULL with len 0 when the file does not compress */
    size_t len;
    size_t path_len;
    char path[];
};

struct gzcache {
    pthread_mutex_t lock;
    size_t cap, bytes;
    int level;
    struct gzcache_entry **buckets;
    size_t nbuckets, count;
    struct lru_list lru;             /* ready entries */
    unsigned long long compressions; /* files compressed, for tests and logs */
    int jobs;                        /* compressions queued or running on the pool */
};

static long long
mtime_ns(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* FNV-1a over the path, mixed with the inode. */
static uint64_t
key_hash(struct slice path, ino_t ino)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < path.len; i++) {
        h ^= (unsigned char)path.ptr[i];
        h *= 1099511628211ULL;
    }
    h ^= (uint64_t)ino;
    h *= 1099511628211ULL;
    return h;
}

static size_t
entry_cost(const struct gzcache_entry *e)
{
    return sizeof(*e) + e->path_len + e->len;
}

struct gzcache *
gzcache_new(size_t cap_bytes, int level)
{
    struct gzcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->buckets = calloc(GZCACHE_MIN_BUCKETS, sizeof(*c->buckets));
    if (c->buckets == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->nbuckets = GZCACHE_MIN_BUCKETS;
    c->cap = cap_bytes ? cap_bytes : GZCACHE_DEFAULT_CAP;
    c->level = level;
    return c;
}

const char *
gzcache_data(const struct gzcache_entry *e)
{
    return e->data;
}

size_t
gzcache_len(const struct gzcache_entry *e)
{
    return e->len;
}

void
gzcache_hold(struct gzcache_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void
gzcache_release(void *entry)
{
    struct gzcache_entry *e = entry;
    if (e == NULL)
        return;
    /* acq_rel: the thread that frees must see every other holder's reads done. */
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        free(e->data);
        free(e);
    }
}

/* Doubles the table when it is fuller than one entry per bucket. A failed
 * allocation just leaves the chains longer. */
static void
maybe_grow(struct gzcache *c)
{
    if (c->count <= c->nbuckets || c->nbuckets > SIZE_MAX / 2 / sizeof(*c->buckets))
        return;
    size_t n = c->nbuckets * 2;
    struct gzcache_entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct gzcache_entry *e = c->buckets[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* Takes e out of the table (and the LRU list when ready) and drops the
 * table's reference. Under the lock. */
static void
entry_unlink(struct gzcache *c, struct gzcache_entry *e)
{
    struct gzcache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
    c->count--;
    if (e->ready) {
        lru_unlink(&c->lru, &e->lru);
        c->bytes -= entry_cost(e);
    }
    e->linked = false;
    gzcache_release(e);
}

static void
evict_to_cap(struct gzcache *c)
{
    while (c->bytes > c->cap && c->lru.tail)
        entry_unlink(c, LRU_ENTRY(c->lru.tail, struct gzcache_entry, lru));
}

static struct gzcache_entry *
find(struct gzcache *c, uint64_t hash, struct slice path, const struct stat *st)
{
    struct gzcache_entry *e = c->buckets[hash & (c->nbuckets - 1)];
    for (; e; e = e->hnext)
        if (e->hash == hash && e->ino == st->st_ino && e->dev == st->st_dev &&
            slice_eq(slice_make(e->path, e->path_len), path))
            return e;
    return NULL;
}

/* A new pending entry, linked, holding the table's and the caller's reference. */
static struct gzcache_entry *
entry_insert(struct gzcache *c, uint64_t hash, struct slice path, const struct stat *st)
{
    struct gzcache_entry *e = calloc(1, sizeof(*e) + path.len + 1);
    if (e == NULL)
        return NULL;
    atomic_init(&e->refs, 2);
    e->hash = hash;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->mtime_ns = mtime_ns(st);
    e->path_len = path.len;
    memcpy(e->path, path.ptr, path.len);
    e->linked = true;
    size_t b = hash & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    maybe_grow(c);
    return e;
}

/* Compresses the file into e->data/e->len, outside the lock. Returns false
 * when the bytes could not be had; e->len 0 means "does not compress". */
static bool
compress_into(struct gzcache_entry *e, int fd, const void *data, int level)
{
    size_t n = (size_t)e->size;
    char *copy = NULL, *out = NULL;
    bool ok = false;

    if (data == NULL) {
        struct stat after;
        if ((copy = malloc(n ? n : 1)) == NULL || !fs_read_exact(fd, copy, n))
            goto done;
        /* The file changed under us: its bytes belong to no version we know. */
        if (fstat(fd, &after) < 0 || after.st_size != e->size || mtime_ns(&after) != e->mtime_ns)
            goto done;
        data = copy;
    }
    size_t cap = gzip_bound(n);
    if (cap == SIZE_MAX || (out = malloc(cap)) == NULL)
        goto done;
    size_t len = gzip_compress(data, n, out, cap, level);
    if (len == 0)
        goto done;
    /* Not worth a Content-Encoding (and a client's inflate) below 1/16 saved. */
    if (len < n - n / 16) {
        char *shrunk = realloc(out, len);
        e->data = shrunk ? shrunk : out;
        e->len = len;
        out = NULL;
    }
    ok = true;
done:
    free(copy);
    free(out);
    return ok;
}

/* Publishes a pending entry once its compression ended (ok or not); a pool
 * job also gives back its slot. */
static void
finish(struct gzcache *c, struct gzcache_entry *e, bool ok, bool job)
{
    pthread_mutex_lock(&c->lock);
    c->compressions++;
    if (job)
        c->jobs--;
    if (!ok) {
        if (e->linked)
            entry_unlink(c, e);
    } else if (e->linked) {
        e->ready = true;
        lru_push_front(&c->lru, &e->lru);
        c->bytes += entry_cost(e);
        if (entry_cost(e) > c->cap)
            entry_unlink(c, e); /* larger than the whole cache: this response only */
        else
            evict_to_cap(c);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Compressing a large file on a pool worker, off every loop thread. */
struct gz_job {
    struct job job;
    struct gzcache *cache;
    struct gzcache_entry *entry;
    int fd;
};

static void
gz_job_run(struct job *job)
{
    struct gz_job *gj = (struct gz_job *)job;
    finish(gj->cache, gj->entry, compress_into(gj->entry, gj->fd, NULL, gj->cache->level), true);
    gzcache_release(gj->entry);
    close(gj->fd);
}

static void
gz_job_done(struct job *job)
{
    free(job);
}

/* Hands the pending entry e to the job pool with its own copy of fd.
 * Returns false when that cannot be done: GZIP_JOBS_MAX jobs are out, the
 * pool's queue is full, or no memory or descriptor. */
static bool
compress_later(struct gzcache *c, struct gzcache_entry *e, int fd)
{
    pthread_mutex_lock(&c->lock);
    bool slot = c->jobs < GZIP_JOBS_MAX;
    if (slot)
        c->jobs++;
    pthread_mutex_unlock(&c->lock);
    if (!slot)
        return false;
    struct gz_job *gj = malloc(sizeof(*gj));
    if (gj != NULL) {
        *gj = (struct gz_job){.job = {.run = gz_job_run, .done = gz_job_done, .loop = NULL},
                              .cache = c,
                              .entry = e,
                              .fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)};
        if (gj->fd >= 0 && pool_submit(&gj->job) == 0)
            return true;
        if (gj->fd >= 0)
            close(gj->fd);
        free(gj);
    }
    pthread_mutex_lock(&c->lock);
    c->jobs--;
    pthread_mutex_unlock(&c->lock);
    return false;
}

/* Drops a pending entry whose compression never started, so that the next
 * request for the file may try again. */
static void
abandon(struct gzcache *c, struct gzcache_entry *e)
{
    pthread_mutex_lock(&c->lock);
    if (e->linked)
        entry_unlink(c, e);
    pthread_mutex_unlock(&c->lock);
    gzcache_release(e);
}

struct gzcache_entry *
gzcache_get(struct gzcache *c, struct slice path, const struct stat *st, int fd, const void *data)
{
    if (c == NULL || !S_ISREG(st->st_mode) || st->st_size < 0)
        return NULL;
    uint64_t hash = key_hash(path, st->st_ino);

    pthread_mutex_lock(&c->lock);
    struct gzcache_entry *e = find(c, hash, path, st);
    if (e && (e->size != st->st_size || e->mtime_ns != mtime_ns(st))) {
        entry_unlink(c, e); /* an older (or newer) version: this one wins */
        e = NULL;
    }
    if (e) {
        struct gzcache_entry *hit = NULL;
        if (e->ready && e->len > 0) {
            lru_unlink(&c->lru, &e->lru);
            lru_push_front(&c->lru, &e->lru);
            gzcache_hold(e);
            hit = e;
        }
        pthread_mutex_unlock(&c->lock);
        return hit; /* NULL: pending elsewhere, or does not compress */
    }
    if ((fd < 0 && data == NULL) || (e = entry_insert(c, hash, path, st)) == NULL) {
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    pthread_mutex_unlock(&c->lock);

    if (data == NULL && (size_t)st->st_size > GZCACHE_INLINE_MAX) {
        /* Identity this time, whether or not the gzip form is on its way:
         * compressing here would stall every connection of this loop. */
        if (!compress_later(c, e, fd))
            abandon(c, e);
        return NULL;
    }
    bool ok = compress_into(e, fd, data, c->level);
    finish(c, e, ok, false);
    if (!ok || e->len == 0) {
        if (!ok)
            log_debug("gzcache: could not compress %.*s", (int)path.len, path.ptr);
        gzcache_release(e);
        return NULL;
    }
    return e;
}

void
gzcache_free(struct gzcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        while (c->buckets[i])
            entry_unlink(c, c->buckets[i]);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
