/* static.c - the static site; see static.h.
 *
 * A request goes through three steps:
 *
 *   resolve     request path -> a regular file (struct static_src), or an
 *               answer of its own: redirect, 403, 404, "/" without index
 *   select      identity or gzip, by Accept-Encoding, type and size
 *   serve       preconditions (RFC 9110 13.2.2 order), then Range, then the
 *               body: cached bytes, a gzcache entry, or the fd for sendfile
 *
 * SAFETY
 * The caller decodes the path exactly once. fs_path_is_safe() refuses NUL,
 * backslash, "." and ".." segments and dotfiles, all answered 404 (the same
 * as a missing file, so probing learns nothing). What passes is opened with
 * fs_open_beneath_follow(): openat2(RESOLVE_BENEATH) makes the kernel refuse
 * any resolution that leaves the root, whatever the string looks like, so
 * symlinks are followed (to a file or a directory) only while they lead to
 * somewhere beneath the root; absolute ones and those whose ".." climbs out
 * are refused. The dotfile rule is about the request path: a link the
 * site's owner made to a dotfile is followed. O_NONBLOCK keeps a FIFO from
 * blocking the open; fstat() then decides, and only regular files are
 * served (FIFOs, sockets and devices get 403). A redirect's Location is
 * re-encoded from the decoded path with runs of '/' collapsed, so
 * "//evil.example" (a directory of that name under the root) cannot become
 * a protocol-relative redirect.
 *
 * THE PER-THREAD CACHE
 * Each loop thread has a struct static_cache, so no locks. It maps a request
 * path to the file it resolved to: the path relative to the root, its
 * identity (st_dev, st_ino, size, mtime), its Content-Type, its ETag,
 * Last-Modified and Vary lines formatted once, the whole content for files up to
 * STATIC_SMALL_FILE, and a reference to the file's gzcache entry once one
 * was used. A hit on a hot small file costs no system call: not open, not
 * fstat, not close.
 *
 * Trade-off: an entry is trusted for STATIC_REVALIDATE_MS after its last
 * check, then re-checked with one fstatat(). A file replaced or edited in
 * place is therefore seen at most one second late (lighttpd's stat cache
 * makes the same choice; nginx's open_file_cache_valid defaults to 60 s).
 * Per-request stat would cost a syscall on every hit for a freshness most
 * deployments do not need. fstatat() does not resolve beneath the root, but
 * its answer is only compared with the identity of a file that was opened
 * safely: a match is the same inode, anything else drops the entry and the
 * file is opened again through fs_open_beneath_follow(). It follows a final
 * symlink as that open did, so a link's entry is not dropped every check;
 * a link turned to point out of the root stats another inode. Larger
 * files keep their open descriptor instead of their bytes, so a hot 1 MiB
 * file costs no open, fstat or close either: sendfile() takes its own
 * offset, so one descriptor serves any number of responses at once.
 * Descriptors count against the connection limit, so a thread keeps at most
 * STATIC_CACHE_MAX_FDS of them, fewer under a low RLIMIT_NOFILE
 * (fds_for_limit()); a large file that finds the budget spent is opened per
 * request and checked to still be the cached version. A descriptor kept for
 * a file later replaced by rename() goes on reading the old version until
 * the next check, like cached small bytes. 304s and gzip bodies need no
 * descriptor at all.
 *
 * Body lifetime: cached bytes and descriptors are handed out with a
 * reference on the entry (body_free = entry_release), so an entry evicted
 * or replaced while its bytes wait in a socket buffer, or while sendfile()
 * still reads its descriptor, lives until the connection releases it. This
 * does not rely on the connection copying small bodies at once, though it
 * does that (conn.c queue_response). The count is a plain integer: body_free
 * runs on the loop thread that built the response, the only thread that
 * touches this cache.
 *
 * Bounds: STATIC_CACHE_MAX_ENTRIES entries and STATIC_CACHE_MAX_BYTES of
 * content and bookkeeping per thread, least recently used evicted first. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "encoding.h"
#include "fs.h"
#include "gzcache.h"
#include "httpdate.h"
#include "log.h"
#include "lru.h"
#include "mimetype.h"
#include "range.h"

/* An entry is believed for this long before one fstatat() re-checks it. */
#define STATIC_REVALIDATE_MS 1000

/* Per-thread bounds. With 16 KiB files at most, 4 MiB holds 256 of them at
 * worst and far more of a typical site (most assets are a few KiB). */
#define STATIC_CACHE_MAX_ENTRIES 1024
#define STATIC_CACHE_MAX_BYTES   ((size_t)4 << 20)
#define STATIC_CACHE_BUCKETS     2048 /* a power of two, twice the entries */

/* Open descriptors of large files kept per thread, at most. */
#define STATIC_CACHE_MAX_FDS 64

/* Request paths longer than this are served but not cached. */
#define STATIC_KEY_MAX 1024

/* Room for a path relative to the root plus "/index.html" (PATH_MAX). */
#define STATIC_PATH_MAX 4096

#define INDEX_FILE "index.html"
#define NOT_FOUND  "404.html"
#define TYPE_HTML  "text/html; charset=utf-8"

/* Validators and type of one version of a file. */
struct file_meta {
    off_t size;
    struct timespec mtime;
    dev_t dev;
    ino_t ino;
    const char *content_type;
    bool compressible;
    char etag[48];    /* "\"<size hex>-<mtime ns hex>\"" */
    char etag_gz[52]; /* the same with "-gz" inside the quotes */
    time_t modified;  /* Last-Modified as sent and compared: see last_modified() */
    char last_modified[HTTPDATE_LEN + 1];
    /* The validator header lines, ready to copy: [0] identity, [1] gzip. */
    char validators[2][160];
    size_t validators_len[2];
};

struct static_entry {
    struct static_entry *hnext; /* hash chain */
    struct lru_node lru;        /* most recent first */
    unsigned refs;              /* the cache's while linked, one per queued body */
    bool linked;
    uint32_t hash;
    long long checked_ms; /* when the file was last seen to match */
    struct file_meta meta;
    char *data;               /* the content when small, else NULL */
    int fd;                   /* a large file's descriptor, or -1 */
    struct gzcache_entry *gz; /* a held gzip body, or NULL */
    size_t cost;              /* bytes counted against the cache */
    size_t key_len;
    const char *rel; /* path under the root, NUL-terminated, in key[] */
    char key[];      /* request path, NUL, rel, NUL */
};

struct static_cache {
    struct static_entry *buckets[STATIC_CACHE_BUCKETS];
    struct lru_list lru;
    size_t count, bytes;
    unsigned fds, max_fds; /* descriptors held by linked entries */
};

/* Where one response's bytes come from, after resolve(). */
struct static_src {
    const struct file_meta *meta;
    struct static_entry *ent;  /* the cache entry, or NULL when uncached */
    int fd;                    /* a descriptor we own, or -1 */
    struct slice gzkey;        /* the gzcache key: the path under the root */
    struct file_meta local;    /* meta when uncached */
    char rel[STATIC_PATH_MAX]; /* the path under the root, while resolving */
};

/* Only the small fields: the buffers are written before they are read, and
 * zeroing some 5 KiB per request would be the costliest step of a hit. */
static void
src_init(struct static_src *src, int fd)
{
    src->meta = NULL;
    src->ent = NULL;
    src->fd = fd;
    src->gzkey = SLICE_LIT("");
}

enum resolve_result { RESOLVED, ANSWERED };
enum serve_result { SERVED, STALE };

static long long
now_ms(void)
{
    struct timespec ts;
    /* The coarse clock is a vDSO read of the last tick: no syscall. */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
mtime_ns(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static bool
same_version(const struct file_meta *m, const struct stat *st)
{
    return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
           mtime_ns(&m->mtime) == mtime_ns(&st->st_mtim);
}

/* The Last-Modified of the file st describes: its mtime, but never later
 * than now. RFC 9110 8.8.2.1 forbids a Last-Modified later than the
 * message's origination (a file touched into the future, or copied from a
 * host whose clock runs ahead). A cache entry keeps the value it was filled
 * with, so it never changes under a client that is revalidating with it;
 * If-Modified-Since, If-Unmodified-Since and If-Range are all compared
 * with this value, the one that was sent. */
static time_t
last_modified(const struct stat *st)
{
    time_t now = time(NULL);
    return st->st_mtim.tv_sec > now ? now : st->st_mtim.tv_sec;
}

/* The ETag of the file st describes: "\"<size hex>-<mtime ns hex>\"", with
 * "-gz" inside the quotes for its gzip form. */
static void
etag_format(char *out, size_t cap, const struct stat *st, bool gz)
{
    unsigned long long size = (unsigned long long)st->st_size;
    unsigned long long ns = (unsigned long long)mtime_ns(&st->st_mtim);
    snprintf(out, cap, "\"%llx-%llx%s\"", size, ns, gz ? "-gz" : "");
}

static void
meta_fill(struct file_meta *m, const struct stat *st, const char *content_type)
{
    m->size = st->st_size;
    m->mtime = st->st_mtim;
    m->dev = st->st_dev;
    m->ino = st->st_ino;
    m->content_type = content_type;
    m->compressible = mimetype_compressible(content_type);
    etag_format(m->etag, sizeof(m->etag), st, false);
    etag_format(m->etag_gz, sizeof(m->etag_gz), st, true);
    m->modified = last_modified(st);
    httpdate_format(m->modified, m->last_modified);
    for (int gz = 0; gz < 2; gz++) {
        /* The choice between gzip and identity depends on Accept-Encoding
         * for every response of a compressible type, identity included. */
        int n = snprintf(m->validators[gz], sizeof(m->validators[gz]),
                         "ETag: %s\r\nLast-Modified: %s\r\n%s", gz ? m->etag_gz : m->etag,
                         m->last_modified, m->compressible ? "Vary: Accept-Encoding\r\n" : "");
        m->validators_len[gz] = (size_t)n;
    }
}

/* ---- the cache ---- */

static uint32_t
path_hash(struct slice s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= 16777619u;
    }
    return h;
}

/* The descriptor budget of one thread's cache: a sixty-fourth of the
 * open-files limit, so that even with many threads the cache cannot take
 * the descriptors connections need (under the usual soft limit of 1024,
 * 16 per thread; under `prlimit --nofile=128`, 2). */
static unsigned
fds_for_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 64 >= STATIC_CACHE_MAX_FDS)
        return STATIC_CACHE_MAX_FDS;
    return (unsigned)(rl.rlim_cur / 64);
}

struct static_cache *
static_cache_new(void)
{
    struct static_cache *c = calloc(1, sizeof(struct static_cache));
    if (c)
        c->max_fds = fds_for_limit();
    return c;
}

/* The body_free of a cached memory body; also drops the cache's reference. */
static void
entry_release(void *arg)
{
    struct static_entry *e = arg;
    if (--e->refs > 0)
        return;
    gzcache_release(e->gz);
    if (e->fd >= 0)
        close(e->fd);
    free(e->data);
    free(e);
}

static void
cache_unlink(struct static_cache *c, struct static_entry *e)
{
    if (!e->linked)
        return;
    struct static_entry **pp = &c->buckets[e->hash & (STATIC_CACHE_BUCKETS - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(&c->lru, &e->lru);
    c->count--;
    c->bytes -= e->cost;
    if (e->fd >= 0)
        c->fds--;
    e->linked = false;
    entry_release(e);
}

void
static_cache_free(struct static_cache *c)
{
    if (c == NULL)
        return;
    while (c->lru.head)
        cache_unlink(c, LRU_ENTRY(c->lru.head, struct static_entry, lru));
    free(c);
}

static struct static_entry *
cache_find(struct static_cache *c, struct slice key, uint32_t h)
{
    struct static_entry *e = c->buckets[h & (STATIC_CACHE_BUCKETS - 1)];
    for (; e; e = e->hnext)
        if (e->hash == h && slice_eq(slice_make(e->key, e->key_len), key))
            return e;
    return NULL;
}

/* The entry for key if it still describes its file, else NULL (and the
 * entry is gone). At most one fstatat() per entry per STATIC_REVALIDATE_MS. */
static struct static_entry *
cache_lookup(struct handler_ctx *ctx, struct slice key, uint32_t h)
{
    struct static_cache *c = ctx->cache;
    struct static_entry *e = c ? cache_find(c, key, h) : NULL;
    if (e == NULL)
        return NULL;
    long long now = now_ms();
    if (now - e->checked_ms >= STATIC_REVALIDATE_MS) {
        struct stat st;
        if (fstatat(ctx->cfg->root_fd, e->rel, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
            !same_version(&e->meta, &st)) {
            cache_unlink(c, e);
            return NULL;
        }
        e->checked_ms = now;
        /* Let the gzcache see this file's use once a check period, so its LRU
         * order is right and a body it evicted is let go here too. */
        gzcache_release(e->gz);
        e->gz = NULL;
    }
    if (c->lru.head != &e->lru) {
        lru_unlink(&c->lru, &e->lru);
        lru_push_front(&c->lru, &e->lru);
    }
    return e;
}

/* Caches the regular file fd (st) that key resolved to under rel. Returns
 * the new entry, or NULL when it is not cached (too long a key, no memory,
 * or the file changed while it was read). A large file's entry may take fd
 * itself (e->fd == fd): the caller then no longer owns it. */
static struct static_entry *
cache_insert(struct static_cache *c, struct slice key, uint32_t h, const char *rel, int fd,
             const struct stat *st, const char *content_type)
{
    size_t rel_len = strlen(rel);
    if (c == NULL || key.len > STATIC_KEY_MAX)
        return NULL;
    struct static_entry *e = calloc(1, sizeof(*e) + key.len + rel_len + 2);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key.ptr, key.len);
    e->key_len = key.len;
    memcpy(e->key + key.len + 1, rel, rel_len);
    e->rel = e->key + key.len + 1;
    meta_fill(&e->meta, st, content_type);
    e->fd = -1;
    e->cost = sizeof(*e) + key.len + rel_len + 2;
    if (st->st_size <= STATIC_SMALL_FILE) {
        size_t n = (size_t)st->st_size;
        struct stat after;
        if ((e->data = malloc(n ? n : 1)) == NULL || !fs_read_exact(fd, e->data, n) ||
            fstat(fd, &after) < 0 || !same_version(&e->meta, &after)) {
            free(e->data);
            free(e);
            return NULL;
        }
        e->cost += n;
    } else if (c->fds < c->max_fds) {
        e->fd = fd;
        c->fds++;
    }
    e->refs = 1;
    e->linked = true;
    e->hash = h;
    e->checked_ms = now_ms();
    e->hnext = c->buckets[h & (STATIC_CACHE_BUCKETS - 1)];
    c->buckets[h & (STATIC_CACHE_BUCKETS - 1)] = e;
    lru_push_front(&c->lru, &e->lru);
    c->count++;
    c->bytes += e->cost;
    while ((c->count > STATIC_CACHE_MAX_ENTRIES || c->bytes > STATIC_CACHE_MAX_BYTES) &&
           c->lru.tail != &e->lru)
        cache_unlink(c, LRU_ENTRY(c->lru.tail, struct static_entry, lru));
    return e;
}

/* ---- preconditions (RFC 9110 section 13) ---- */

enum tag_match { TAGS_NO_MATCH, TAGS_MATCH, TAGS_MALFORMED };

/* Walks one line of an If-Match / If-None-Match list of entity-tags for
 * etag (ours is always strong). strong: a weak tag never matches (If-Match,
 * 13.1.1); otherwise W/ is ignored (If-None-Match, weak comparison, 13.1.2).
 * Tags may contain commas, so the line is walked tag by tag. "*" is not a
 * tag: the callers look for it. */
static enum tag_match
etag_line_match(struct slice line, const char *etag, bool strong)
{
    const char *p = line.ptr, *end = p + line.len;
    struct slice ours = slice_make(etag, strlen(etag));
    enum tag_match result = TAGS_NO_MATCH;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        bool weak = false;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            weak = true;
            p += 2;
        }
        if (p == end || *p != '"')
            return TAGS_MALFORMED;
        const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (close == NULL)
            return TAGS_MALFORMED;
        struct slice tag = slice_make(p, (size_t)(close - p + 1));
        p = close + 1;
        if (p < end && *p != ',' && *p != ' ' && *p != '\t')
            return TAGS_MALFORMED;
        if (slice_eq(tag, ours) && !(weak && strong))
            result = TAGS_MATCH;
    }
    return result;
}

static bool
is_star(struct slice value)
{
    value = slice_trim(value);
    return value.len == 1 && value.ptr[0] == '*';
}

/* True when the list (one field value) matches etag: "*" does, since the
 * file exists. A malformed list matches nothing: the full response is the
 * safe answer to a condition we cannot read. */
static bool
etag_list_match(struct slice list, const char *etag, bool strong)
{
    return is_star(list) || etag_line_match(list, etag, strong) == TAGS_MATCH;
}

/* etag_list_match for every line of the request's field name taken as one
 * list (RFC 9110 5.3): "*" must be the whole of it. */
static bool
etag_field_match(const struct http_request *req, struct slice name, const char *etag, bool strong)
{
    size_t i = 0, lines = 0;
    bool star = false, matched = false, malformed = false;
    struct slice line;
    while (http_header_next(req, name, &i, &line)) {
        lines++;
        if (is_star(line)) {
            star = true;
            continue;
        }
        enum tag_match m = etag_line_match(line, etag, strong);
        matched |= m == TAGS_MATCH;
        malformed |= m == TAGS_MALFORMED;
    }
    if (star)
        return lines == 1;
    return matched && !malformed;
}

/* True when value is "*" or a list of entity-tags. */
static bool
etag_list_valid(struct slice value)
{
    return is_star(value) || etag_line_match(value, "", false) != TAGS_MALFORMED;
}

/* RFC 9110 13.2.2 steps 1-4 for GET/HEAD. Returns 0 to go on, 304 or 412.
 * etag is that of the representation being selected. */
static int
check_preconditions(const struct http_request *req, const struct file_meta *m, const char *etag)
{
    time_t t;
    if (http_header_get(req, SLICE_LIT("If-Match")).len > 0) {
        if (!etag_field_match(req, SLICE_LIT("If-Match"), etag, true))
            return HTTP_PRECONDITION_FAILED;
    } else {
        struct slice ius = http_header_get(req, SLICE_LIT("If-Unmodified-Since"));
        if (ius.len > 0 && httpdate_parse(ius, &t) && m->modified > t)
            return HTTP_PRECONDITION_FAILED;
    }
    /* With If-None-Match present, If-Modified-Since is not looked at. */
    if (req->if_none_match.len > 0) {
        if (etag_field_match(req, SLICE_LIT("If-None-Match"), etag, false))
            return HTTP_NOT_MODIFIED;
    } else if (req->if_modified_since.len > 0 && httpdate_parse(req->if_modified_since, &t) &&
               m->modified <= t) {
        return HTTP_NOT_MODIFIED;
    }
    return 0;
}

/* True when list is "*" or names either ETag of the file st describes
 * (both forms name the same stored version); false without a file. */
static bool
file_listed(struct slice list, const struct stat *st, bool strong)
{
    char etag[52];
    for (int gz = 0; st && gz < 2; gz++) {
        etag_format(etag, sizeof(etag), st, gz);
        if (etag_list_match(list, etag, strong))
            return true;
    }
    return false;
}

int
static_check_replace(struct slice if_match, struct slice if_unmodified_since,
                     struct slice if_none_match, const struct stat *st)
{
    time_t t;
    if ((if_match.len > 0 && !etag_list_valid(if_match)) ||
        (if_none_match.len > 0 && !etag_list_valid(if_none_match)))
        return HTTP_BAD_REQUEST;
    if (if_match.len > 0) {
        if (!file_listed(if_match, st, true))
            return HTTP_PRECONDITION_FAILED;
    } else if (if_unmodified_since.len > 0 && st && httpdate_parse(if_unmodified_since, &t) &&
               last_modified(st) > t) {
        /* Without a file there is no modification date, and the field is
         * ignored (13.1.4), as is one that is not a valid date. */
        return HTTP_PRECONDITION_FAILED;
    }
    if (if_none_match.len > 0 && file_listed(if_none_match, st, false))
        return HTTP_PRECONDITION_FAILED;
    return 0;
}

/* If-Range (13.1.5): a range is honoured only for the same version. An
 * entity-tag must match strongly (a W/ tag never does); a date must equal
 * Last-Modified to the second. Anything unparsable means "send it all". */
static bool
if_range_allows(const struct http_request *req, const struct file_meta *m)
{
    struct slice v = slice_trim(req->if_range);
    if (v.len == 0)
        return true;
    if (v.ptr[0] == '"' || (v.len >= 2 && v.ptr[0] == 'W' && v.ptr[1] == '/'))
        return slice_eq(v, slice_make(m->etag, strlen(m->etag)));
    time_t t;
    return httpdate_parse(v, &t) && t == m->modified;
}

/* ---- building the response ---- */

/* Opens the cached large file for its body and checks it is still the
 * version the entry describes. STALE when it is not (or cannot be opened:
 * resolving again gives the right error). */
static enum serve_result
src_open(struct handler_ctx *ctx, struct static_src *src)
{
    struct stat st;
    int fd = fs_open_beneath_follow(ctx->cfg->root_fd, src->ent->rel, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return STALE;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !same_version(src->meta, &st)) {
        close(fd);
        return STALE;
    }
    src->fd = fd;
    return SERVED;
}

static struct stat
meta_stat(const struct file_meta *m)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFREG;
    st.st_size = m->size;
    st.st_mtim = m->mtime;
    st.st_dev = m->dev;
    st.st_ino = m->ino;
    return st;
}

/* The gzip body for src, held for the response, or NULL for identity. */
static enum serve_result
acquire_gz(struct handler_ctx *ctx, struct static_src *src, struct gzcache_entry **out)
{
    struct static_entry *ent = src->ent;
    struct gzcache_entry *gz;
    *out = NULL;
    if (ent && ent->gz) {
        gzcache_hold(ent->gz);
        *out = ent->gz;
        return SERVED;
    }
    struct stat st = meta_stat(src->meta);
    const void *data = ent ? ent->data : NULL;
    int fd = src->fd >= 0 ? src->fd : ent ? ent->fd : -1;
    if (data == NULL && fd < 0) {
        /* A cached large file: open it only if the gzcache lacks it. */
        gz = gzcache_get(ctx->gzcache, src->gzkey, &st, -1, NULL);
        if (gz == NULL) {
            if (src_open(ctx, src) == STALE)
                return STALE;
            gz = gzcache_get(ctx->gzcache, src->gzkey, &st, src->fd, NULL);
        }
    } else {
        gz = gzcache_get(ctx->gzcache, src->gzkey, &st, fd, data);
    }
    if (gz && ent) {
        gzcache_hold(gz);
        ent->gz = gz;
    }
    *out = gz;
    return SERVED;
}

/* Sets bytes [start, start+len) of the file as the body. */
static enum serve_result
attach_body(struct handler_ctx *ctx, struct static_src *src, off_t start, off_t len,
            struct response *res)
{
    struct static_entry *ent = src->ent;
    if (ent && ent->data) {
        ent->refs++;
        res->body = ent->data + start;
        res->body_len = (size_t)len;
        res->body_free = entry_release;
        res->body_arg = ent;
        return SERVED;
    }
    if (ent && ent->fd >= 0) {
        /* The cache's descriptor, lent: body_free gives it back. */
        ent->refs++;
        res->fd = ent->fd;
        res->offset = start;
        res->length = len;
        res->body_free = entry_release;
        res->body_arg = ent;
        return SERVED;
    }
    if (src->fd < 0 && src_open(ctx, src) == STALE)
        return STALE;
    res->fd = src->fd;
    res->offset = start;
    res->length = len;
    src->fd = -1;
    return SERVED;
}

/* Appends ready-made header lines (each ending in CRLF), as
 * response_header() would, without formatting them per request. */
static void
append_lines(struct response *res, const char *lines, size_t len)
{
    if (len < sizeof(res->headers) - res->headers_len) {
        memcpy(res->headers + res->headers_len, lines, len);
        res->headers_len += len;
    }
}

#define APPEND_LIT(res, s) append_lines((res), (s), sizeof(s) - 1)

/* ETag, Last-Modified and (compressible types) Vary. */
static void
add_validators(struct response *res, const struct file_meta *m, bool gz)
{
    append_lines(res, m->validators[gz], m->validators_len[gz]);
}

static bool
want_gzip(struct handler_ctx *ctx, const struct http_request *req, const struct file_meta *m)
{
    /* Range requests get ranges of the identity representation only. */
    return m->compressible && ctx->gzcache && req->range.len == 0 && m->size >= STATIC_GZIP_MIN &&
           (unsigned long long)m->size <= ctx->cfg->gzip_max && http_request_accepts_gzip(req);
}

/* Answers from src: preconditions, then gzip or Range, then the body.
 * Closes src->fd unless it became the body. STALE: nothing was answered
 * (res may hold headers to reset) and the cached entry is out of date. */
static enum serve_result
serve_src(struct handler_ctx *ctx, const struct http_request *req, struct static_src *src,
          struct response *res)
{
    const struct file_meta *m = src->meta;
    struct gzcache_entry *gz = NULL;
    enum serve_result result = SERVED;

    if (want_gzip(ctx, req, m) && (result = acquire_gz(ctx, src, &gz)) == STALE)
        goto done;
    const char *etag = gz ? m->etag_gz : m->etag;

    int cond = check_preconditions(req, m, etag);
    if (cond == HTTP_NOT_MODIFIED) {
        res->status = HTTP_NOT_MODIFIED;
        res->content_type = NULL;
        res->no_length = true;
        add_validators(res, m, gz != NULL);
        goto done;
    }
    if (cond == HTTP_PRECONDITION_FAILED) {
        response_error(res, HTTP_PRECONDITION_FAILED, NULL);
        goto done;
    }

    if (gz) {
        res->status = HTTP_OK;
        res->content_type = m->content_type;
        add_validators(res, m, true);
        APPEND_LIT(res, "Content-Encoding: gzip\r\n");
        res->body = gzcache_data(gz);
        res->body_len = gzcache_len(gz);
        res->body_free = gzcache_release;
        res->body_arg = gz;
        gz = NULL;
        goto done;
    }

    struct byte_range span = {0, m->size};
    int status = HTTP_OK;
    if (req->range.len > 0 && if_range_allows(req, m)) {
        switch (range_parse(req->range, m->size, &span)) {
        case RANGE_NONE:
            span = (struct byte_range){0, m->size};
            break;
        case RANGE_SATISFIABLE:
            status = HTTP_PARTIAL_CONTENT;
            break;
        case RANGE_UNSATISFIABLE:
            response_error(res, HTTP_RANGE_NOT_SATISFIABLE, NULL);
            response_header(res, "Content-Range: bytes */%lld", (long long)m->size);
            goto done;
        }
    }
    if ((result = attach_body(ctx, src, span.start, span.length, res)) == STALE)
        goto done;
    res->status = status;
    res->content_type = m->content_type;
    add_validators(res, m, false);
    APPEND_LIT(res, "Accept-Ranges: bytes\r\n");
    if (status == HTTP_PARTIAL_CONTENT)
        response_header(res, "Content-Range: bytes %lld-%lld/%lld", (long long)span.start,
                        (long long)(span.start + span.length - 1), (long long)m->size);
done:
    gzcache_release(gz);
    if (src->fd >= 0)
        close(src->fd);
    src->fd = -1;
    return result;
}

/* ---- resolving a path ---- */

/* True for "/", "//", ...: the root itself. */
static bool
is_root(struct slice path)
{
    for (size_t i = 0; i < path.len; i++)
        if (path.ptr[i] != '/')
            return false;
    return true;
}

/* Appends s percent-encoded to out (NUL-terminated, within cap), keeping
 * the bytes in keep and unreserved ones. Returns the new length, or cap
 * when it does not fit. */
static size_t
append_encoded(char *out, size_t len, size_t cap, struct slice s, const char *keep,
               bool collapse_slashes)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (collapse_slashes && ch == '/' && len > 0 && out[len - 1] == '/')
            continue;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || (ch != 0 && strchr("-._~", ch)) ||
                     (ch != 0 && strchr(keep, ch));
        if (len + (plain ? 1 : 3) >= cap)
            return cap;
        if (plain) {
            out[len++] = (char)ch;
        } else {
            out[len++] = '%';
            out[len++] = hex[ch >> 4];
            out[len++] = hex[ch & 15];
        }
    }
    out[len] = '\0';
    return len;
}

/* 301 to path + "/" (RFC 9110 15.4.2), keeping the query string. */
static void
redirect_to_dir(const struct http_request *req, struct slice path, struct response *res)
{
    char loc[RESPONSE_HEADERS_CAP];
    size_t len = append_encoded(loc, 0, sizeof(loc), path, "!$&'()*+,;=:@/", true);
    if (len < sizeof(loc))
        len = append_encoded(loc, len, sizeof(loc), SLICE_LIT("/"), "/", false);
    if (len < sizeof(loc) && req->query.len > 0) {
        len = append_encoded(loc, len, sizeof(loc), SLICE_LIT("?"), "?", false);
        /* The query is passed on as received; only bytes that may not
         * appear in a header or a URI are escaped. */
        if (len < sizeof(loc))
            len = append_encoded(loc, len, sizeof(loc), req->query, "!$&'()*+,;=:@/?%", false);
    }
    if (len >= sizeof(loc)) {
        response_error(res, HTTP_URI_TOO_LONG, "the path is too long to redirect");
        return;
    }
    response_error(res, HTTP_MOVED_PERMANENTLY, NULL);
    if (response_header(res, "Location: %s", loc) < 0)
        response_error(res, HTTP_URI_TOO_LONG, "the path is too long to redirect");
}

/* Opens rel beneath the root and caches it under key if it is a regular
 * file. Returns 0 and fills src, or an errno value (ENOENT, ...), or EISDIR
 * for a directory, or EPERM for anything else that is not a regular file. */
static int
open_file(struct handler_ctx *ctx, struct slice key, uint32_t h, const char *rel,
          struct static_src *src)
{
    struct stat st;
    int fd = fs_open_beneath_follow(ctx->cfg->root_fd, rel, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? EISDIR : EPERM;
    }
    const char *type = mimetype_for_name(rel, strlen(rel));
    struct static_entry *e = cache_insert(ctx->cache, key, h, rel, fd, &st, type);
    if (e) {
        src->ent = e;
        src->meta = &e->meta;
        src->gzkey = slice_make(e->rel, strlen(e->rel));
        if (e->data)
            close(fd);
        if (e->data || e->fd == fd)
            fd = -1; /* closed, or the entry's now */
    } else {
        meta_fill(&src->local, &st, type);
        src->meta = &src->local;
        src->gzkey = slice_make(rel, strlen(rel));
    }
    src->fd = fd;
    return 0;
}

/* 404, with the root's 404.html as the body when it has one. */
static void
not_found(struct handler_ctx *ctx, struct response *res)
{
    static const struct slice key = SLICE_INIT("/" NOT_FOUND);
    struct static_src src;
    src_init(&src, -1);
    if (ctx->cfg->root_fd >= 0) {
        uint32_t h = path_hash(key);
        struct static_entry *e = cache_lookup(ctx, key, h);
        if (e) {
            src.ent = e;
            src.meta = &e->meta;
        } else if (open_file(ctx, key, h, NOT_FOUND, &src) != 0) {
            src.meta = NULL;
        }
    }
    if (src.meta && attach_body(ctx, &src, 0, src.meta->size, res) == SERVED) {
        res->status = HTTP_NOT_FOUND;
        res->content_type = TYPE_HTML;
    } else {
        response_error(res, HTTP_NOT_FOUND, NULL);
    }
    if (src.fd >= 0)
        close(src.fd);
}

/* Answers an open() failure. */
static void
answer_errno(struct handler_ctx *ctx, int err, const char *rel, struct response *res)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP: /* a symlink loop, or any symlink without openat2 */
    case EXDEV: /* resolution would leave the root (RESOLVE_BENEATH) */
        not_found(ctx, res);
        break;
    case EACCES:
    case EPERM:
    case ENXIO:
    case ENODEV:
    case EBUSY:
    case EAGAIN:
        response_error(res, HTTP_FORBIDDEN, NULL);
        break;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        response_error(res, HTTP_SERVICE_UNAVAILABLE, "out of resources, try again");
        break;
    default:
        log_warn("static: open %s: %s", rel, strerror(err));
        response_error(res, HTTP_INTERNAL_SERVER_ERROR, NULL);
        break;
    }
}

/* Finds the file path names (cache first), or answers the request. */
static enum resolve_result
resolve(struct handler_ctx *ctx, const struct http_request *req, struct slice path,
        struct static_src *src, struct response *res)
{
    uint32_t h = path_hash(path);
    struct static_entry *e = cache_lookup(ctx, path, h);
    if (e) {
        src->ent = e;
        src->meta = &e->meta;
        src->gzkey = slice_make(e->rel, strlen(e->rel));
        return RESOLVED;
    }

    bool root = is_root(path);
    char *rel = src->rel; /* outlives resolve(): gzkey may point here */
    size_t skip = 0;
    while (skip < path.len && path.ptr[skip] == '/')
        skip++;
    size_t len = path.len - skip;
    if ((!root && !fs_path_is_safe(path.ptr, path.len)) ||
        len + sizeof("/" INDEX_FILE) > sizeof(src->rel)) {
        not_found(ctx, res);
        return ANSWERED;
    }
    memcpy(rel, path.ptr + skip, len);
    rel[len] = '\0';
    if (root)
        strcpy(rel, ".");

    int err = open_file(ctx, path, h, rel, src);
    if (err == EISDIR) {
        if (path.ptr[path.len - 1] != '/') {
            redirect_to_dir(req, path, res);
            return ANSWERED;
        }
        /* "docs/" + "index.html"; the root's index is just "index.html". */
        if (root)
            len = 0;
        memcpy(rel + len, INDEX_FILE, sizeof(INDEX_FILE));
        err = open_file(ctx, path, h, rel, src);
        if (err == ENOENT || err == EISDIR || err == EPERM) {
            /* "/" without index.html is an empty 200 (the CodeCrafters
             * harness checks "/" whatever the directory holds). Other
             * directories are not listed. */
            if (root && err == ENOENT)
                response_static(res, HTTP_OK, NULL, "");
            else
                response_error(res, HTTP_FORBIDDEN, NULL);
            return ANSWERED;
        }
    }
    if (err == EPERM) {
        response_error(res, HTTP_FORBIDDEN, NULL); /* FIFO, socket, device */
        return ANSWERED;
    }
    if (err != 0) {
        answer_errno(ctx, err, rel, res);
        return ANSWERED;
    }
    return RESOLVED;
}

void
static_serve(struct handler_ctx *ctx, const struct http_request *req, struct slice path,
             struct response *res)
{
    res->head = req->method_id == HTTP_METHOD_HEAD;
    if (ctx->cfg->root_fd < 0) {
        if (slice_eq(path, SLICE_LIT("/")))
            response_static(res, HTTP_OK, NULL, "");
        else
            response_error(res, HTTP_NOT_FOUND, NULL);
        return;
    }
    if (path.len == 0 || path.ptr[0] != '/') {
        not_found(ctx, res);
        return;
    }
    /* A second pass only follows a cached large file that changed between
     * its check and its open; the second pass opens afresh and cannot. */
    for (int pass = 0; pass < 2; pass++) {
        struct static_src src;
        src_init(&src, -1);
        if (resolve(ctx, req, path, &src, res) == ANSWERED)
            return;
        if (serve_src(ctx, req, &src, res) == SERVED)
            return;
        if (src.ent && ctx->cache)
            cache_unlink(ctx->cache, src.ent);
        res->status = HTTP_OK;
        res->content_type = NULL;
        res->headers_len = 0;
        res->no_length = false;
    }
    response_error(res, HTTP_SERVICE_UNAVAILABLE, "the file is changing, try again");
}

void
static_serve_fd(struct handler_ctx *ctx, const struct http_request *req, int fd,
                const struct stat *st, const char *content_type, struct response *res)
{
    struct static_src src;
    src_init(&src, fd);
    res->head = req->method_id == HTTP_METHOD_HEAD;
    meta_fill(&src.local, st, content_type);
    src.meta = &src.local;
    /* With the descriptor in hand nothing can go stale. */
    serve_src(ctx, req, &src, res);
}
