/* static.h - the static site under --directory: GET and HEAD of files.
 *
 * Directory indexes, redirects to the slash form, Content-Type by extension,
 * validators (ETag, Last-Modified) and conditional requests, single byte
 * ranges, gzip from the shared gzcache, and file bodies sent with sendfile
 * by the connection. Each loop thread keeps a struct static_cache so a hot
 * file costs no system call per request.
 *
 * What the caller (router, connection) must provide:
 *   - res as response_init() left it (res->head may already be set);
 *   - body_free/body_arg honoured: memory bodies handed out here are
 *     reference-counted (a cached file's bytes or a gzcache entry), and
 *     body_free must run on the loop thread that built the response, since
 *     a thread's static cache has no lock;
 *   - res->fd closed by the connection once sent (or by response_discard). */
#ifndef STATIC_H
#define STATIC_H

#include <sys/stat.h>

#include "router.h"

/* Files up to this size are kept in memory by the static cache. */
#define STATIC_SMALL_FILE (16 * 1024)

/* Bodies smaller than this are not worth gzip: the 18-byte gzip frame and a
 * Huffman block header eat most of the gain below ~150 bytes. */
#define STATIC_GZIP_MIN 150

/* A per-loop-thread cache of file metadata and small file contents. No
 * locks: use it only from its own thread. NULL when out of memory (static
 * serving then works uncached). */
struct static_cache *static_cache_new(void);

/* Frees the cache; NULL is fine. Entries still referenced by queued
 * responses are freed when those responses release them. */
void static_cache_free(struct static_cache *c);

/* Answers GET or HEAD of path, a percent-decoded request path starting
 * with '/' (query string excluded; req->query is kept for redirects), from
 * under ctx->cfg->root_fd. Fills res completely: 200/206/304/412/416 for a
 * file; 301 to the slash form for a directory without one; a directory's
 * index.html, or 403 when it has none (but "/" without index.html is 200
 * with an empty body); 404 for anything missing or refused, from the root's
 * 404.html when there is one. Unsafe paths (NUL, backslash, "." or ".."
 * segments, dotfiles) are 404; paths never resolve outside the root. With
 * no root (root_fd < 0), "/" is 200 empty and everything else 404. */
void static_serve(struct handler_ctx *ctx, const struct http_request *req, struct slice path,
                  struct response *res);

/* RFC 9110 section 13.2.2, steps 1 to 3, for a request that would replace
 * the file st describes (NULL when there is none): the values of If-Match,
 * If-Unmodified-Since and If-None-Match (empty slices when absent) are
 * compared with the ETag and Last-Modified a GET of the file would send.
 * Returns 0 when the request may go on, 400 when If-Match or If-None-Match
 * is neither "*" nor a list of entity-tags, else 412. If-Match needs a file
 * ("*" included) and a strong match; If-None-Match fails on any match
 * ("*": any file); If-Unmodified-Since counts only without If-Match. */
int static_check_replace(struct slice if_match, struct slice if_unmodified_since,
                         struct slice if_none_match, const struct stat *st);

/* The file-serving half of static_serve for a regular file the caller has
 * opened: conditionals (If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since), Range and If-Range, gzip when content_type is
 * compressible, and the body by sendfile. Takes ownership of fd in every
 * case (it ends up in res->fd or is closed). st is fd's fstat(). */
void static_serve_fd(struct handler_ctx *ctx, const struct http_request *req, int fd,
                     const struct stat *st, const char *content_type, struct response *res);

#endif
