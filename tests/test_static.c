/* test_static.c - static_serve and static_serve_fd on a temporary site.
 *
 * Each test gets a fresh tree:
 *
 *     base/outside/secret.txt      must never be served
 *     base/root/                   the --directory
 *         index.html hello.txt style.css app.js (large) blob.bin (large, random)
 *         photo.PNG docs/index.html docs/guide.md empty/ "with space"/index.html
 *         .secret .git/config fifo
 *         link-out -> ../outside/secret.txt     abs-link -> base/outside/secret.txt
 *         outdir -> base/outside                devnull -> /dev/null
 *         link-in -> hello.txt                  dirlink -> docs
 *
 * Requests are real: built as bytes and parsed with http_parse_request, the
 * path decoded once with pct_decode as the router does. Bodies are read back
 * from memory or, for sendfile bodies, with pread at the response's offset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../handlers/static.c"
#include "pct.h"

#define SECRET "TOPSECRET-outside-the-root"

struct fixture {
    char base[64];
    char root[96];
    struct server_config cfg;
    struct handler_ctx ctx;
    char *app_js; /* content of app.js */
    size_t app_len;
    char *blob; /* content of blob.bin */
    size_t blob_len;
};

/* A parsed request and the bytes it points into. */
struct rq {
    char buf[4096];
    char path[4096]; /* decoded */
    size_t path_len;
    struct http_request req;
};

/* ---- fixture ---- */

static void
put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void
put_str(const char *dir, const char *name, const char *s)
{
    put_file(dir, name, s, strlen(s));
}

static void
sub(char *out, size_t cap, const struct fixture *fx, const char *name)
{
    snprintf(out, cap, "%s/%s", fx->root, name);
}

static char *
make_text(size_t n)
{
    static const char *const words[] = {"function ", "return ", "const ", "static ", "(x) ",
                                        "{ ",        "}\n",     "=> ",    "value ",  "42; "};
    char *p = malloc(n);
    unsigned s = 12345;
    size_t i = 0;
    while (i < n) {
        s = s * 1103515245u + 12345u;
        for (const char *w = words[(s >> 16) % 10]; *w && i < n; w++)
            p[i++] = *w;
    }
    return p;
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char path[512];
    strcpy(fx->base, "/tmp/test_static_XXXXXX");
    assert_non_null(mkdtemp(fx->base));
    snprintf(fx->root, sizeof(fx->root), "%s/root", fx->base);
    snprintf(path, sizeof(path), "%s/outside", fx->base);
    assert_int_equal(mkdir(path, 0755), 0);
    put_str(path, "secret.txt", SECRET "\n");
    assert_int_equal(mkdir(fx->root, 0755), 0);

    char html[600] = "<!doctype html><title>home</title>\n";
    while (strlen(html) < 500)
        strcat(html, "<p>static files, served well</p>\n");
    put_str(fx->root, "index.html", html);
    put_str(fx->root, "hello.txt", "hello world\n");
    char css[2048] = "";
    while (strlen(css) < 1900)
        strcat(css, "body { margin: 0; padding: 0 }\n");
    put_str(fx->root, "style.css", css);
    fx->app_len = GZCACHE_INLINE_MAX - 4000; /* above STATIC_SMALL_FILE: a descriptor */
    fx->app_js = make_text(fx->app_len);
    put_file(fx->root, "app.js", fx->app_js, fx->app_len);
    fx->blob_len = 40000;
    fx->blob = malloc(fx->blob_len);
    for (size_t i = 0; i < fx->blob_len; i++)
        fx->blob[i] = (char)((i * 2654435761u) >> 13);
    put_file(fx->root, "blob.bin", fx->blob, fx->blob_len);
    put_str(fx->root, "photo.PNG", "\x89PNG fake");
    put_str(fx->root, ".secret", SECRET);

    sub(path, sizeof(path), fx, "docs");
    assert_int_equal(mkdir(path, 0755), 0);
    put_str(path, "index.html", "<h1>docs</h1>\n");
    put_str(path, "guide.md", "# Guide\n");
    sub(path, sizeof(path), fx, "empty");
    assert_int_equal(mkdir(path, 0755), 0);
    sub(path, sizeof(path), fx, "with space");
    assert_int_equal(mkdir(path, 0755), 0);
    put_str(path, "index.html", "spaced\n");
    sub(path, sizeof(path), fx, ".git");
    assert_int_equal(mkdir(path, 0755), 0);
    put_str(path, "config", SECRET);

    sub(path, sizeof(path), fx, "fifo");
    assert_int_equal(mkfifo(path, 0644), 0);
    char target[512];
    sub(path, sizeof(path), fx, "link-out");
    assert_int_equal(symlink("../outside/secret.txt", path), 0);
    snprintf(target, sizeof(target), "%s/outside/secret.txt", fx->base);
    sub(path, sizeof(path), fx, "abs-link");
    assert_int_equal(symlink(target, path), 0);
    snprintf(target, sizeof(target), "%s/outside", fx->base);
    sub(path, sizeof(path), fx, "outdir");
    assert_int_equal(symlink(target, path), 0);
    sub(path, sizeof(path), fx, "devnull");
    assert_int_equal(symlink("/dev/null", path), 0);
    sub(path, sizeof(path), fx, "link-in");
    assert_int_equal(symlink("hello.txt", path), 0);
    sub(path, sizeof(path), fx, "dirlink");
    assert_int_equal(symlink("docs", path), 0);

    fx->cfg.directory = fx->root;
    fx->cfg.root_fd = open(fx->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fx->cfg.root_fd >= 0);
    fx->cfg.gzip_level = 6;
    fx->cfg.gzip_max = 10 << 20;
    fx->ctx.cfg = &fx->cfg;
    fx->ctx.cache = static_cache_new();
    fx->ctx.gzcache = gzcache_new(0, 6);
    assert_non_null(fx->ctx.cache);
    assert_non_null(fx->ctx.gzcache);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[160];
    static_cache_free(fx->ctx.cache);
    gzcache_free(fx->ctx.gzcache);
    close(fx->cfg.root_fd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->base);
    assert_int_equal(system(cmd), 0);
    free(fx->app_js);
    free(fx->blob);
    free(fx);
    return 0;
}

/* ---- requests and responses ---- */

/* Builds and parses "METHOD target HTTP/1.1" with extra header lines
 * ("Name: value\r\n" each, or NULL), decoding the path as the router does. */
static void
rq_make(struct rq *r, const char *method, const char *target, const char *headers)
{
    int n = snprintf(r->buf, sizeof(r->buf), "%s %s HTTP/1.1\r\nHost: test\r\n%s\r\n", method,
                     target, headers ? headers : "");
    assert_true(n > 0 && (size_t)n < sizeof(r->buf));
    int used = http_parse_request(r->buf, (size_t)n, &r->req);
    if (used != n)
        fail_msg("parse %s %s: %d (error %d)", method, target, used, r->req.error);
    ssize_t len = pct_decode(r->path, r->req.path.ptr, r->req.path.len, false);
    assert_true(len >= 0);
    r->path_len = (size_t)len;
}

static struct rq *
serve(struct fixture *fx, struct response *res, const char *method, const char *target,
      const char *headers)
{
    static struct rq r;
    rq_make(&r, method, target, headers);
    response_init(res);
    static_serve(&fx->ctx, &r.req, slice_make(r.path, r.path_len), res);
    return &r;
}

/* Serves a decoded path given directly (NUL and friends), as GET. */
static void
serve_raw(struct fixture *fx, struct response *res, const char *path, size_t len)
{
    static struct rq r;
    rq_make(&r, "GET", "/", NULL);
    response_init(res);
    static_serve(&fx->ctx, &r.req, slice_make(path, len), res);
}

/* The value of header name in res, or NULL. Valid until the next call. */
static const char *
hdr(const struct response *res, const char *name)
{
    static char val[RESPONSE_HEADERS_CAP];
    size_t nlen = strlen(name);
    const char *p = res->headers, *end = p + res->headers_len;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        assert_non_null(eol);
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            memcpy(val, v, (size_t)(eol - v));
            val[eol - v] = '\0';
            return val;
        }
        p = eol + 2;
    }
    return NULL;
}

static void
assert_hdr(const struct response *res, const char *name, const char *want)
{
    const char *got = hdr(res, name);
    if (want == NULL && got != NULL)
        fail_msg("%s: unexpected \"%s\"", name, got);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        fail_msg("%s: got \"%s\", want \"%s\"", name, got ? got : "(none)", want);
}

/* The body bytes the connection would send (malloc'ed, NUL-terminated). */
static char *
body_of(const struct response *res, size_t *len)
{
    size_t n = (size_t)response_body_length(res);
    char *out = malloc(n + 1);
    assert_non_null(out);
    if (res->fd >= 0) {
        assert_int_equal(pread(res->fd, out, n, res->offset), (ssize_t)n);
    } else if (n > 0) {
        assert_non_null(res->body);
        memcpy(out, res->body, n);
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static void
assert_body(struct response *res, const void *want, size_t want_len)
{
    size_t n;
    char *b = body_of(res, &n);
    assert_int_equal(n, want_len);
    assert_memory_equal(b, want, want_len);
    free(b);
}

static void
assert_no_secret(struct response *res)
{
    size_t n;
    char *b = body_of(res, &n);
    assert_null(memmem(b, n, "TOPSECRET", 9));
    free(b);
}

/* gzip -dc of the body must give want. */
static void
assert_gunzips_to(struct response *res, const char *want, size_t want_len)
{
    size_t n;
    char *b = body_of(res, &n);
    char path[] = "/tmp/test_static_gz_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
    free(b);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "gzip -dc < %s", path);
    FILE *f = popen(cmd, "r");
    char *out = malloc(want_len + 16);
    size_t got = fread(out, 1, want_len + 16, f);
    assert_int_equal(pclose(f), 0);
    unlink(path);
    assert_int_equal(got, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}

static char *
read_whole(struct fixture *fx, const char *name, size_t *len)
{
    char path[512];
    struct stat st;
    sub(path, sizeof(path), fx, name);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    char *p = malloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

/* Copies fmt into out with each '@' replaced by val. */
static void
fill(char *out, size_t cap, const char *fmt, const char *val)
{
    size_t n = 0;
    for (const char *p = fmt; *p; p++) {
        const char *piece = *p == '@' ? val : p;
        size_t len = *p == '@' ? strlen(val) : 1;
        assert_true(n + len < cap);
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
}

/* Makes every cache entry due for its check. */
static void
expire_cache(struct fixture *fx)
{
    for (struct lru_node *n = fx->ctx.cache->lru.head; n; n = n->next)
        LRU_ENTRY(n, struct static_entry, lru)->checked_ms -= 2 * STATIC_REVALIDATE_MS;
}

static void
set_mtime(struct fixture *fx, const char *name, time_t sec)
{
    char path[512];
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    sub(path, sizeof(path), fx, name);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* ---- tests ---- */

static void
test_static_file_types_and_validators(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char lm[HTTPDATE_LEN + 1];
    struct stat st;
    char path[512];

    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/plain; charset=utf-8");
    assert_body(&res, "hello world\n", 12);
    sub(path, sizeof(path), fx, "hello.txt");
    assert_int_equal(stat(path, &st), 0);
    char etag[64];
    snprintf(etag, sizeof(etag), "\"c-%llx\"",
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st.st_mtim.tv_nsec);
    assert_hdr(&res, "ETag", etag);
    httpdate_format(st.st_mtim.tv_sec, lm);
    assert_hdr(&res, "Last-Modified", lm);
    assert_hdr(&res, "Accept-Ranges", "bytes");
    assert_hdr(&res, "Vary", "Accept-Encoding"); /* text is compressible */
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_false(res.no_length);
    response_discard(&res);

    serve(fx, &res, "GET", "/photo.PNG", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "image/png");
    assert_hdr(&res, "Vary", NULL);
    response_discard(&res);

    /* Large: a sendfile body, the descriptor ours to close. */
    serve(fx, &res, "GET", "/blob.bin", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "application/octet-stream");
    assert_true(res.fd >= 0);
    assert_null(res.body);
    assert_int_equal(res.offset, 0);
    assert_int_equal(res.length, (off_t)fx->blob_len);
    assert_body(&res, fx->blob, fx->blob_len);
    response_discard(&res);

    serve(fx, &res, "GET", "/docs/guide.md", NULL);
    assert_string_equal(res.content_type, "text/markdown; charset=utf-8");
    assert_body(&res, "# Guide\n", 8);
    response_discard(&res);

    serve(fx, &res, "GET", "/app.js?v=3", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/javascript; charset=utf-8");
    assert_body(&res, fx->app_js, fx->app_len);
    response_discard(&res);
}

static void
test_static_index_redirect_forbidden(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    size_t len;
    char *index = read_whole(fx, "index.html", &len);

    serve(fx, &res, "GET", "/", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/html; charset=utf-8");
    assert_body(&res, index, len);
    response_discard(&res);
    free(index);

    serve(fx, &res, "GET", "/docs/", NULL);
    assert_int_equal(res.status, 200);
    assert_body(&res, "<h1>docs</h1>\n", 14);
    response_discard(&res);

    static const struct {
        const char *target, *location;
    } redirects[] = {
        {"/docs", "/docs/"},   {"/docs?a=1&b=%20x", "/docs/?a=1&b=%20x"},
        {"//docs", "/docs/"},  {"/with%20space", "/with%20space/"},
        {"/empty", "/empty/"}, {"/docs?", "/docs/"},
    };
    for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++) {
        serve(fx, &res, "GET", redirects[i].target, NULL);
        assert_int_equal(res.status, 301);
        assert_hdr(&res, "Location", redirects[i].location);
        response_discard(&res);
    }

    serve(fx, &res, "GET", "/with%20space/", NULL);
    assert_int_equal(res.status, 200);
    assert_body(&res, "spaced\n", 7);
    response_discard(&res);

    serve(fx, &res, "GET", "/empty/", NULL);
    assert_int_equal(res.status, 403);
    response_discard(&res);

    serve(fx, &res, "GET", "/hello.txt/", NULL);
    assert_int_equal(res.status, 404);
    response_discard(&res);
}

static void
test_static_root_without_index(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char path[512];
    sub(path, sizeof(path), fx, "index.html");
    assert_int_equal(unlink(path), 0);

    serve(fx, &res, "GET", "/", NULL);
    assert_int_equal(res.status, 200);
    assert_int_equal(response_body_length(&res), 0);
    response_discard(&res);
    serve(fx, &res, "HEAD", "/", NULL);
    assert_int_equal(res.status, 200);
    response_discard(&res);
    serve(fx, &res, "GET", "/docs/", NULL);
    assert_int_equal(res.status, 200);
    response_discard(&res);

    /* No --directory at all: "/" is an empty 200 and the rest 404. */
    int root = fx->cfg.root_fd;
    fx->cfg.root_fd = -1;
    serve(fx, &res, "GET", "/", NULL);
    assert_int_equal(res.status, 200);
    assert_int_equal(response_body_length(&res), 0);
    response_discard(&res);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_int_equal(res.status, 404);
    response_discard(&res);
    fx->cfg.root_fd = root;
}

static void
test_static_not_modified(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char etag[64], lm[64], h[256];

    serve(fx, &res, "GET", "/hello.txt", NULL);
    strcpy(etag, hdr(&res, "ETag"));
    strcpy(lm, hdr(&res, "Last-Modified"));
    response_discard(&res);

    struct {
        const char *fmt; /* '@' stands for the ETag, or the Last-Modified */
        bool use_lm;
        int status;
    } rows[] = {
        {"If-None-Match: @\r\n", false, 304},
        {"If-None-Match: W/@\r\n", false, 304},
        {"If-None-Match: \"x\", @, \"y\"\r\n", false, 304},
        {"If-None-Match: \"a,b\",@\r\n", false, 304},
        {"If-None-Match: *\r\n", false, 304},
        {"If-None-Match: \"nope\"\r\n", false, 200},
        {"If-None-Match: @-x\r\n", false, 200},
        {"If-Modified-Since: @\r\n", true, 304},
        {"If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n", false, 304},
        {"If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", false, 200},
        {"If-Modified-Since: yesterday\r\n", false, 200},
        /* RFC 9110 13.2.2: If-None-Match present, If-Modified-Since ignored */
        {"If-None-Match: \"nope\"\r\nIf-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n", false,
         200},
        {"If-None-Match: @\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n", false, 304},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        fill(h, sizeof(h), rows[i].fmt, rows[i].use_lm ? lm : etag);
        for (int head = 0; head < 2; head++) {
            serve(fx, &res, head ? "HEAD" : "GET", "/hello.txt", h);
            if (res.status != rows[i].status)
                fail_msg("row %zu (%s): got %d, want %d", i, h, res.status, rows[i].status);
            if (res.status == 304) {
                assert_true(res.no_length);
                assert_null(res.content_type);
                assert_int_equal(response_body_length(&res), 0);
                assert_true(res.fd < 0);
                assert_hdr(&res, "ETag", etag);
                assert_hdr(&res, "Last-Modified", lm);
                assert_hdr(&res, "Vary", "Accept-Encoding");
            }
            response_discard(&res);
        }
    }

    /* The same on a large (sendfile) file: the 304 opens nothing. */
    serve(fx, &res, "GET", "/blob.bin", NULL);
    strcpy(etag, hdr(&res, "ETag"));
    response_discard(&res);
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
    serve(fx, &res, "GET", "/blob.bin", h);
    assert_int_equal(res.status, 304);
    assert_true(res.fd < 0);
    response_discard(&res);
}

/* A file dated in the future is sent with Last-Modified no later than now
 * (RFC 9110 8.8.2.1), and the value sent is the one conditions compare. */
static void
test_static_future_mtime_clamped(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char lm[64], h[256];
    time_t before = time(NULL);
    set_mtime(fx, "hello.txt", before + 86400);
    set_mtime(fx, "blob.bin", before + 86400);
    for (int i = 0; i < 2; i++) {
        const char *target = i ? "/blob.bin" : "/hello.txt";
        serve(fx, &res, "GET", target, NULL);
        assert_int_equal(res.status, 200);
        strcpy(lm, hdr(&res, "Last-Modified"));
        response_discard(&res);
        time_t t;
        assert_true(httpdate_parse(slice_make(lm, strlen(lm)), &t));
        assert_true(t >= before && t <= time(NULL));

        snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", lm);
        serve(fx, &res, "GET", target, h);
        assert_int_equal(res.status, 304);
        assert_hdr(&res, "Last-Modified", lm);
        response_discard(&res);
        snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\n", lm);
        serve(fx, &res, "GET", target, h);
        assert_int_equal(res.status, 200);
        response_discard(&res);
        snprintf(h, sizeof(h), "Range: bytes=0-1\r\nIf-Range: %s\r\n", lm);
        serve(fx, &res, "GET", target, h);
        assert_int_equal(res.status, 206);
        response_discard(&res);
    }

    /* static_serve_fd (GET /files/) and uploads' If-Unmodified-Since alike. */
    char path[512];
    struct stat st;
    sub(path, sizeof(path), fx, "hello.txt");
    assert_int_equal(stat(path, &st), 0);
    struct rq *r = serve(fx, &res, "GET", "/hello.txt", NULL);
    response_discard(&res);
    response_init(&res);
    static_serve_fd(&fx->ctx, &r->req, open(path, O_RDONLY), &st, "text/plain", &res);
    const char *got = hdr(&res, "Last-Modified");
    time_t t;
    assert_true(httpdate_parse(slice_make(got, strlen(got)), &t));
    assert_true(t >= before && t <= time(NULL));
    response_discard(&res);
    assert_int_equal(
        static_check_replace(SLICE_LIT(""), slice_make(lm, strlen(lm)), SLICE_LIT(""), &st), 0);
}

static int
status_with(struct fixture *fx, const char *headers)
{
    struct response res;
    serve(fx, &res, "GET", "/hello.txt", headers);
    int status = res.status;
    response_discard(&res);
    return status;
}

/* The ETag a plain GET of /hello.txt sends. */
static void
hello_etag(struct fixture *fx, char *etag, size_t size)
{
    struct response res;
    serve(fx, &res, "GET", "/hello.txt", NULL);
    snprintf(etag, size, "%s", hdr(&res, "ETag"));
    response_discard(&res);
}

static void
test_static_precondition_failed(void **state)
{
    struct fixture *fx = *state;
    char etag[64], h[256];
    hello_etag(fx, etag, sizeof(etag));

    snprintf(h, sizeof(h), "If-Match: %s\r\n", etag);
    assert_int_equal(status_with(fx, h), 200);
    assert_int_equal(status_with(fx, "If-Match: *\r\n"), 200);
    assert_int_equal(status_with(fx, "If-Match: \"other\"\r\n"), 412);
    /* If-Match uses the strong comparison. */
    snprintf(h, sizeof(h), "If-Match: W/%s\r\n", etag);
    assert_int_equal(status_with(fx, h), 412);
    assert_int_equal(status_with(fx, "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
                     412);
    assert_int_equal(status_with(fx, "If-Unmodified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n"),
                     200);
    /* If-Match present: If-Unmodified-Since is not looked at. */
    snprintf(h, sizeof(h), "If-Match: %s\r\nIf-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
             etag);
    assert_int_equal(status_with(fx, h), 200);
}

/* Several lines of If-Match or If-None-Match are one list (RFC 9110 5.3). */
static void
test_static_precondition_lines(void **state)
{
    struct fixture *fx = *state;
    char etag[64], h[256];
    hello_etag(fx, etag, sizeof(etag));

    snprintf(h, sizeof(h), "If-None-Match: %s\r\nIf-None-Match: \"x\"\r\n", etag);
    assert_int_equal(status_with(fx, h), 304);
    snprintf(h, sizeof(h), "If-None-Match: \"x\"\r\nIf-None-Match: W/%s\r\n", etag);
    assert_int_equal(status_with(fx, h), 304);
    assert_int_equal(status_with(fx, "If-None-Match: \"x\"\r\nIf-None-Match: \"y\"\r\n"), 200);
    /* "*" stands alone, and a malformed list matches nothing. */
    snprintf(h, sizeof(h), "If-None-Match: %s\r\nIf-None-Match: *\r\n", etag);
    assert_int_equal(status_with(fx, h), 200);
    snprintf(h, sizeof(h), "If-None-Match: %s\r\nIf-None-Match: junk\r\n", etag);
    assert_int_equal(status_with(fx, h), 200);

    snprintf(h, sizeof(h), "If-Match: \"x\"\r\nIf-Match: %s\r\n", etag);
    assert_int_equal(status_with(fx, h), 200);
    snprintf(h, sizeof(h), "If-Match: %s\r\nIf-Match: \"x\"\r\n", etag);
    assert_int_equal(status_with(fx, h), 200);
    snprintf(h, sizeof(h), "If-Match: \"x\"\r\nIf-Match: W/%s\r\n", etag);
    assert_int_equal(status_with(fx, h), 412);
    snprintf(h, sizeof(h), "If-Match: *\r\nIf-Match: %s\r\n", etag);
    assert_int_equal(status_with(fx, h), 412);
}

/* An upload's preconditions: one that cannot be read is 400, not ignored. */
static void
test_static_check_replace_malformed(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(stat(".", &st), 0);
    assert_int_equal(static_check_replace(SLICE_LIT(""), SLICE_LIT(""), SLICE_LIT("nonsense"), &st),
                     HTTP_BAD_REQUEST);
    assert_int_equal(
        static_check_replace(SLICE_LIT(""), SLICE_LIT(""), SLICE_LIT("\"x\", *"), NULL),
        HTTP_BAD_REQUEST);
    assert_int_equal(static_check_replace(SLICE_LIT("stale"), SLICE_LIT(""), SLICE_LIT(""), &st),
                     HTTP_BAD_REQUEST);
    assert_int_equal(static_check_replace(SLICE_LIT(""), SLICE_LIT(""), SLICE_LIT("*"), NULL), 0);
    assert_int_equal(static_check_replace(SLICE_LIT(""), SLICE_LIT(""), SLICE_LIT("*"), &st),
                     HTTP_PRECONDITION_FAILED);
    assert_int_equal(static_check_replace(SLICE_LIT("*"), SLICE_LIT(""), SLICE_LIT(""), NULL),
                     HTTP_PRECONDITION_FAILED);
    assert_int_equal(
        static_check_replace(SLICE_LIT("\"x\", \"y\""), SLICE_LIT(""), SLICE_LIT(""), &st),
        HTTP_PRECONDITION_FAILED);
}

static void
test_static_ranges(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char etag[64], lm[64], h[256];
    serve(fx, &res, "GET", "/hello.txt", NULL);
    strcpy(etag, hdr(&res, "ETag"));
    strcpy(lm, hdr(&res, "Last-Modified"));
    response_discard(&res);

    static const struct {
        const char *range;
        int status;
        const char *body, *content_range;
    } rows[] = {
        {"bytes=0-4", 206, "hello", "bytes 0-4/12"},
        {"bytes=6-", 206, "world\n", "bytes 6-11/12"},
        {"bytes=-6", 206, "world\n", "bytes 6-11/12"},
        {"bytes=6-100", 206, "world\n", "bytes 6-11/12"},
        {"bytes=0-0", 206, "h", "bytes 0-0/12"},
        {"bytes=0-4,5-6", 206, "hello w", "bytes 0-6/12"},
        {"bytes=0-1,5-6", 200, "hello world\n", NULL},
        {"bytes=12-", 416, NULL, "bytes */12"},
        {"bytes=-0", 416, NULL, "bytes */12"},
        {"bytes=abc", 200, "hello world\n", NULL},
        {"bytes=5-1", 200, "hello world\n", NULL},
        {"lines=1-2", 200, "hello world\n", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        snprintf(h, sizeof(h), "Range: %s\r\n", rows[i].range);
        serve(fx, &res, "GET", "/hello.txt", h);
        if (res.status != rows[i].status)
            fail_msg("%s: got %d, want %d", rows[i].range, res.status, rows[i].status);
        assert_hdr(&res, "Content-Range", rows[i].content_range);
        if (rows[i].body)
            assert_body(&res, rows[i].body, strlen(rows[i].body));
        if (res.status != 416) {
            assert_hdr(&res, "Accept-Ranges", "bytes");
            assert_hdr(&res, "ETag", etag);
        }
        response_discard(&res);
    }

    /* If-Range: the same version gets the range, another gets everything. */
    static const struct {
        const char *if_range;
        int status;
    } ifr[] = {
        {NULL, 206}, /* the ETag */
        {"\"other\"", 200},
        {"W/", 200}, /* W/ + our ETag: weak never matches */
        {"lm", 206}, /* Last-Modified */
        {"Thu, 01 Jan 1970 00:00:00 GMT", 200},
        {"not a date", 200},
    };
    for (size_t i = 0; i < sizeof(ifr) / sizeof(ifr[0]); i++) {
        const char *v = ifr[i].if_range;
        char val[128];
        if (v == NULL)
            snprintf(val, sizeof(val), "%s", etag);
        else if (strcmp(v, "W/") == 0)
            snprintf(val, sizeof(val), "W/%s", etag);
        else if (strcmp(v, "lm") == 0)
            snprintf(val, sizeof(val), "%s", lm);
        else
            snprintf(val, sizeof(val), "%s", v);
        snprintf(h, sizeof(h), "Range: bytes=0-4\r\nIf-Range: %s\r\n", val);
        serve(fx, &res, "GET", "/hello.txt", h);
        if (res.status != ifr[i].status)
            fail_msg("If-Range %s: got %d, want %d", val, res.status, ifr[i].status);
        response_discard(&res);
    }
    /* If-Range without Range changes nothing. */
    serve(fx, &res, "GET", "/hello.txt", "If-Range: \"other\"\r\n");
    assert_int_equal(res.status, 200);
    response_discard(&res);

    /* A sendfile body: the window is offset/length on the descriptor. */
    serve(fx, &res, "GET", "/blob.bin", "Range: bytes=1000-1999\r\n");
    assert_int_equal(res.status, 206);
    assert_true(res.fd >= 0);
    assert_int_equal(res.offset, 1000);
    assert_int_equal(res.length, 1000);
    assert_hdr(&res, "Content-Range", "bytes 1000-1999/40000");
    assert_body(&res, fx->blob + 1000, 1000);
    response_discard(&res);
    serve(fx, &res, "GET", "/blob.bin", "Range: bytes=-10\r\n");
    assert_int_equal(res.status, 206);
    assert_body(&res, fx->blob + fx->blob_len - 10, 10);
    response_discard(&res);
    serve(fx, &res, "GET", "/blob.bin", "Range: bytes=40000-\r\n");
    assert_int_equal(res.status, 416);
    assert_true(res.fd < 0);
    assert_hdr(&res, "Content-Range", "bytes */40000");
    response_discard(&res);
}

static void
test_static_gzip(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char h[256], etag_id[64], etag_gz[64];

    serve(fx, &res, "GET", "/app.js", NULL);
    assert_int_equal(res.status, 200);
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_hdr(&res, "Vary", "Accept-Encoding");
    strcpy(etag_id, hdr(&res, "ETag"));
    response_discard(&res);

    serve(fx, &res, "GET", "/app.js", "Accept-Encoding: gzip, deflate, br\r\n");
    assert_int_equal(res.status, 200);
    assert_hdr(&res, "Content-Encoding", "gzip");
    assert_hdr(&res, "Vary", "Accept-Encoding");
    assert_hdr(&res, "Accept-Ranges", NULL);
    assert_string_equal(res.content_type, "text/javascript; charset=utf-8");
    strcpy(etag_gz, hdr(&res, "ETag"));
    assert_string_not_equal(etag_gz, etag_id);
    assert_int_equal(strlen(etag_gz), strlen(etag_id) + 3);
    assert_memory_equal(etag_gz + strlen(etag_gz) - 4, "-gz\"", 4);
    assert_true(res.fd < 0);
    assert_true(res.body_len < fx->app_len / 2);
    assert_gunzips_to(&res, fx->app_js, fx->app_len);
    size_t gz_len = res.body_len;
    void *gz_entry = res.body_arg;
    response_discard(&res);

    /* Hot: the thread's cache hands out the same body, nothing recompressed,
     * no descriptor opened. HEAD announces the same length. */
    for (int head = 0; head < 2; head++) {
        serve(fx, &res, head ? "HEAD" : "GET", "/app.js", "Accept-Encoding: GZIP\r\n");
        assert_int_equal(res.status, 200);
        assert_true(res.head == (head == 1));
        assert_hdr(&res, "Content-Encoding", "gzip");
        assert_hdr(&res, "ETag", etag_gz);
        assert_int_equal(response_body_length(&res), (off_t)gz_len);
        assert_ptr_equal(res.body_arg, gz_entry);
        assert_true(res.fd < 0);
        response_discard(&res);
    }

    /* Revalidation by the gzip ETag. */
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", etag_gz);
    serve(fx, &res, "GET", "/app.js", h);
    assert_int_equal(res.status, 304);
    assert_hdr(&res, "ETag", etag_gz);
    response_discard(&res);
    /* The identity ETag does not validate the gzip representation. */
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", etag_id);
    serve(fx, &res, "GET", "/app.js", h);
    assert_int_equal(res.status, 200);
    assert_hdr(&res, "Content-Encoding", "gzip");
    response_discard(&res);
    /* ...but it does validate identity. */
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag_id);
    serve(fx, &res, "GET", "/app.js", h);
    assert_int_equal(res.status, 304);
    assert_hdr(&res, "ETag", etag_id);
    response_discard(&res);

    /* Range: identity ranges only. */
    serve(fx, &res, "GET", "/app.js", "Accept-Encoding: gzip\r\nRange: bytes=0-99\r\n");
    assert_int_equal(res.status, 206);
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_hdr(&res, "ETag", etag_id);
    assert_body(&res, fx->app_js, 100);
    response_discard(&res);

    /* Not accepted, not compressible, too small, too large. */
    serve(fx, &res, "GET", "/app.js", "Accept-Encoding: gzip;q=0, *\r\n");
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_hdr(&res, "Vary", "Accept-Encoding");
    response_discard(&res);
    serve(fx, &res, "GET", "/blob.bin", "Accept-Encoding: gzip\r\n");
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_hdr(&res, "Vary", NULL);
    response_discard(&res);
    serve(fx, &res, "GET", "/hello.txt", "Accept-Encoding: gzip\r\n");
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_hdr(&res, "Vary", "Accept-Encoding");
    assert_body(&res, "hello world\n", 12);
    response_discard(&res);
    fx->cfg.gzip_max = 50000;
    serve(fx, &res, "GET", "/app.js", "Accept-Encoding: gzip\r\n");
    assert_hdr(&res, "Content-Encoding", NULL);
    assert_body(&res, fx->app_js, fx->app_len);
    response_discard(&res);
    fx->cfg.gzip_max = 10 << 20;

    /* A small cached file compresses from its cached bytes. */
    size_t css_len;
    char *css = read_whole(fx, "style.css", &css_len);
    serve(fx, &res, "GET", "/style.css", "Accept-Encoding: x-gzip\r\n");
    assert_hdr(&res, "Content-Encoding", "gzip");
    assert_gunzips_to(&res, css, css_len);
    response_discard(&res);
    free(css);

    /* No gzcache at all: identity. */
    struct gzcache *gc = fx->ctx.gzcache;
    fx->ctx.gzcache = NULL;
    serve(fx, &res, "GET", "/index.html", "Accept-Encoding: gzip\r\n");
    assert_int_equal(res.status, 200);
    assert_hdr(&res, "Content-Encoding", NULL);
    response_discard(&res);
    fx->ctx.gzcache = gc;
}

static void
test_static_head_matches_get(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *target, *headers;
    } rows[] = {
        {"/hello.txt", NULL},
        {"/blob.bin", NULL},
        {"/app.js", NULL},
        {"/app.js", "Accept-Encoding: gzip\r\n"},
        {"/hello.txt", "Range: bytes=1-3\r\n"},
        {"/blob.bin", "Range: bytes=99999-\r\n"},
        {"/", NULL},
        {"/docs", NULL},
        {"/empty/", NULL},
        {"/missing", NULL},
        {"/.secret", NULL},
        {"/fifo", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct response get, head;
        serve(fx, &get, "GET", rows[i].target, rows[i].headers);
        serve(fx, &head, "HEAD", rows[i].target, rows[i].headers);
        assert_true(head.head);
        assert_false(get.head);
        assert_int_equal(get.status, head.status);
        if ((get.content_type == NULL) != (head.content_type == NULL) ||
            (get.content_type && strcmp(get.content_type, head.content_type) != 0))
            fail_msg("%s: Content-Type differs", rows[i].target);
        assert_int_equal(get.headers_len, head.headers_len);
        assert_memory_equal(get.headers, head.headers, get.headers_len);
        assert_int_equal(response_body_length(&get), response_body_length(&head));
        assert_true(get.no_length == head.no_length);
        response_discard(&get);
        response_discard(&head);
    }
}

static void
test_static_traversal_table(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *target; /* as sent; decoded once like the router does */
        int status;
    } rows[] = {
        {"/..", 404},
        {"/../", 404},
        {"/../outside/secret.txt", 404},
        {"/%2e%2e/outside/secret.txt", 404},
        {"/%2E%2E%2Foutside%2Fsecret.txt", 404},
        {"/a/../../etc/passwd", 404},
        {"/docs/../hello.txt", 404},
        {"/./hello.txt", 404},
        {"/docs/./guide.md", 404},
        {"/%252e%252e/outside/secret.txt", 404}, /* decodes to "%2e%2e": a name */
        {"/%c0%ae%c0%ae/outside/secret.txt", 404},
        {"/etc/passwd", 404},
        {"//etc/passwd", 404},
        {"/.secret", 404},
        {"/.git/config", 404},
        {"/docs/.hidden", 404},
        {"/link-out", 404}, /* relative symlink leaving the root */
        {"/abs-link", 404}, /* absolute symlink */
        {"/outdir/secret.txt", 404},
        {"/outdir/", 404},
        {"/devnull", 404}, /* symlink to a device */
        {"/fifo", 403},
        {"/a%5c..%5c..%5coutside%5csecret.txt", 404},
        {"/%5c..%5cx", 404},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct response res;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        serve(fx, &res, "GET", rows[i].target, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (res.status != rows[i].status)
            fail_msg("%s: got %d, want %d", rows[i].target, res.status, rows[i].status);
        assert_no_secret(&res);
        assert_true(t1.tv_sec - t0.tv_sec < 2); /* nothing blocks (the FIFO) */
        response_discard(&res);
    }

    /* Decoded paths no request line can carry as such. */
    static const struct {
        const char *path;
        size_t len;
    } raw[] = {
        {"/hello.txt\0.png", 15},
        {"/\0", 2},
        {"/docs\\..\\hello.txt", 18},
        {"", 0},
        {"hello.txt", 9},
        {"/../../../../../../../../etc/passwd", 35},
    };
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        struct response res;
        serve_raw(fx, &res, raw[i].path, raw[i].len);
        assert_int_equal(res.status, 404);
        assert_no_secret(&res);
        response_discard(&res);
    }
}

/* Symlinks that stay beneath the root are followed, to a file or to a
 * directory (which then redirects and serves its index like one). */
static void
test_static_symlinks_inside(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    static const struct {
        const char *target;
        int status;
        const char *body; /* for 301: the Location */
    } rows[] = {
        {"/link-in", 200, "hello world\n"},
        {"/dirlink", 301, "/dirlink/"},
        {"/dirlink/", 200, "<h1>docs</h1>\n"},
        {"/dirlink/guide.md", 200, "# Guide\n"},
    };
    for (int pass = 0; pass < 2; pass++) { /* the second from the cache */
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            serve(fx, &res, "GET", rows[i].target, NULL);
            if (res.status != rows[i].status)
                fail_msg("%s: got %d, want %d", rows[i].target, res.status, rows[i].status);
            if (res.status == 301)
                assert_hdr(&res, "Location", rows[i].body);
            else
                assert_body(&res, rows[i].body, strlen(rows[i].body));
            response_discard(&res);
        }
        expire_cache(fx);
    }

    /* The link's target replaced: seen at the next check, as for a file. */
    char path[512], tmp[512];
    put_str(fx->root, "tmp.txt", "fresh world\n");
    sub(tmp, sizeof(tmp), fx, "tmp.txt");
    sub(path, sizeof(path), fx, "hello.txt");
    assert_int_equal(rename(tmp, path), 0);
    expire_cache(fx);
    serve(fx, &res, "GET", "/link-in", NULL);
    assert_body(&res, "fresh world\n", 12);
    response_discard(&res);
}

static void
test_static_404_page(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    serve(fx, &res, "GET", "/missing.html", NULL);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.content_type, "text/plain; charset=utf-8");
    response_discard(&res);

    put_str(fx->root, "404.html", "<h1>custom not found</h1>\n");
    for (int head = 0; head < 2; head++) {
        serve(fx, &res, head ? "HEAD" : "GET", "/missing.html", NULL);
        assert_int_equal(res.status, 404);
        assert_string_equal(res.content_type, "text/html; charset=utf-8");
        assert_body(&res, "<h1>custom not found</h1>\n", 26);
        response_discard(&res);
    }
    serve(fx, &res, "GET", "/.secret", NULL);
    assert_int_equal(res.status, 404);
    assert_body(&res, "<h1>custom not found</h1>\n", 26);
    response_discard(&res);
    serve(fx, &res, "GET", "/link-out", NULL);
    assert_int_equal(res.status, 404);
    assert_body(&res, "<h1>custom not found</h1>\n", 26);
    response_discard(&res);

    /* A large 404 page goes out by sendfile. */
    char *big = make_text(30000);
    put_file(fx->root, "404.html", big, 30000);
    expire_cache(fx);
    serve(fx, &res, "GET", "/nope", NULL);
    assert_int_equal(res.status, 404);
    assert_body(&res, big, 30000);
    response_discard(&res);
    free(big);
}

static void
test_static_cache_revalidation(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char path[512], tmp[512];

    serve(fx, &res, "GET", "/hello.txt", NULL);
    void *first = res.body_arg;
    assert_non_null(first);
    response_discard(&res);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_ptr_equal(res.body_arg, first); /* a hit */
    response_discard(&res);

    /* Edited in place: within the check period the old version is still
     * served (the documented one-second window), after it the new one. */
    put_str(fx->root, "hello.txt", "HELLO WORLD\n");
    set_mtime(fx, "hello.txt", 1000000000);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_body(&res, "hello world\n", 12);
    response_discard(&res);
    expire_cache(fx);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_body(&res, "HELLO WORLD\n", 12);
    assert_hdr(&res, "Last-Modified", "Sun, 09 Sep 2001 01:46:40 GMT");
    response_discard(&res);

    /* Replaced by rename (a new inode, same size and mtime). */
    sub(tmp, sizeof(tmp), fx, "tmp.txt");
    sub(path, sizeof(path), fx, "hello.txt");
    put_str(fx->root, "tmp.txt", "fresh world\n");
    set_mtime(fx, "tmp.txt", 1000000000);
    assert_int_equal(rename(tmp, path), 0);
    expire_cache(fx);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_body(&res, "fresh world\n", 12);
    response_discard(&res);

    /* Deleted. */
    assert_int_equal(unlink(path), 0);
    expire_cache(fx);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_int_equal(res.status, 404);
    response_discard(&res);

    /* Replaced by a symlink out of the root: the check sees another file. */
    serve(fx, &res, "GET", "/style.css", NULL);
    assert_int_equal(res.status, 200);
    response_discard(&res);
    sub(path, sizeof(path), fx, "style.css");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("../outside/secret.txt", path), 0);
    expire_cache(fx);
    serve(fx, &res, "GET", "/style.css", NULL);
    assert_int_equal(res.status, 404);
    assert_no_secret(&res);
    response_discard(&res);
}

/* Puts len bytes of other text in place of blob.bin by rename(), so the
 * cache's descriptor (if any) still names the old inode. */
static char *
replace_blob(struct fixture *fx, size_t len)
{
    char path[512], tmp[512];
    char *fresh = make_text(len);
    put_file(fx->root, "blob.tmp", fresh, len);
    sub(tmp, sizeof(tmp), fx, "blob.tmp");
    sub(path, sizeof(path), fx, "blob.bin");
    assert_int_equal(rename(tmp, path), 0);
    return fresh;
}

/* GET /blob.bin answers with what replace_blob() put there: its length,
 * its bytes, and an ETag other than old_etag. */
static void
assert_new_blob(struct fixture *fx, const char *old_etag, const char *fresh, size_t len)
{
    struct response res;
    serve(fx, &res, "GET", "/blob.bin", NULL);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.length, (off_t)len);
    assert_string_not_equal(hdr(&res, "ETag"), old_etag);
    assert_body(&res, fresh, len);
    response_discard(&res);
}

static void
test_static_large_file_changed_between_checks(void **state)
{
    struct fixture *fx = *state;
    struct response res, old;
    char etag[64];

    /* A large file's entry keeps its descriptor: the body is that
     * descriptor, lent (body_free set), not a new one per request. */
    serve(fx, &old, "GET", "/blob.bin", NULL);
    strcpy(etag, hdr(&old, "ETag"));
    assert_true(old.fd >= 0);
    assert_non_null(old.body_free);
    int cached = old.fd;

    /* Replaced by rename within the check period: the old version is
     * still served, whole and with its own validators. */
    char *fresh = replace_blob(fx, 50000);
    serve(fx, &res, "GET", "/blob.bin", NULL);
    assert_int_equal(res.fd, cached);
    assert_int_equal(res.length, (off_t)fx->blob_len);
    assert_string_equal(hdr(&res, "ETag"), etag);
    assert_body(&res, fx->blob, fx->blob_len);
    response_discard(&res);

    /* After the check the new version, with new validators; a response
     * still queued from before keeps reading the old inode. */
    expire_cache(fx);
    assert_new_blob(fx, etag, fresh, 50000);
    assert_body(&old, fx->blob, fx->blob_len);
    assert_true(fcntl(cached, F_GETFD) >= 0);
    response_discard(&old);
    assert_int_equal(fcntl(cached, F_GETFD), -1); /* the last user closed it */
    free(fresh);

    /* With no descriptor budget the file is opened per request, and a
     * change seen at that open wins even inside the check period: the
     * answer is never old headers on new bytes. */
    static_cache_free(fx->ctx.cache);
    fx->ctx.cache = static_cache_new();
    fx->ctx.cache->max_fds = 0;
    serve(fx, &res, "GET", "/blob.bin", NULL);
    strcpy(etag, hdr(&res, "ETag"));
    assert_null(res.body_free); /* its own descriptor */
    response_discard(&res);
    fresh = replace_blob(fx, 30000);
    assert_new_blob(fx, etag, fresh, 30000);
    free(fresh);
}

static void
test_static_descriptor_budget(void **state)
{
    struct fixture *fx = *state;
    struct response a, b, res;
    char name[64];

    /* Two responses of one file at once share one descriptor; each sees
     * its own range of it (sendfile takes its own offset). */
    serve(fx, &a, "GET", "/app.js", NULL);
    serve(fx, &b, "GET", "/app.js", "Range: bytes=1000-1999\r\n");
    assert_int_equal(b.status, 206);
    assert_int_equal(a.fd, b.fd);
    assert_body(&b, fx->app_js + 1000, 1000);
    assert_body(&a, fx->app_js, fx->app_len);
    response_discard(&a);
    assert_true(fcntl(b.fd, F_GETFD) >= 0);
    response_discard(&b);
    assert_int_equal(fx->ctx.cache->fds, 1);

    /* The budget bounds what the cache holds; past it, files are still
     * served, each response with a descriptor of its own. */
    fx->ctx.cache->max_fds = 2;
    char *chunk = make_text(STATIC_SMALL_FILE + 1);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "large%d.txt", i);
        put_file(fx->root, name, chunk, STATIC_SMALL_FILE + 1);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "/large%d.txt", i);
        serve(fx, &res, "GET", name, NULL);
        assert_int_equal(res.status, 200);
        assert_body(&res, chunk, STATIC_SMALL_FILE + 1);
        assert_true(res.body_free == NULL || i < 1);
        response_discard(&res);
        assert_true(fx->ctx.cache->fds <= 2);
    }
    assert_int_equal(fx->ctx.cache->fds, 2);

    /* Evicting entries gives their descriptors back to the budget. */
    static_cache_free(fx->ctx.cache);
    fx->ctx.cache = static_cache_new();
    assert_true(fx->ctx.cache->max_fds >= 1);
    assert_true(fx->ctx.cache->max_fds <= STATIC_CACHE_MAX_FDS);
    assert_int_equal(fx->ctx.cache->fds, 0);
    free(chunk);
}

static void
test_static_body_outlives_entry(void **state)
{
    struct fixture *fx = *state;
    struct response old, res;
    serve(fx, &old, "GET", "/hello.txt", NULL);
    assert_non_null(old.body_free);

    /* The entry is replaced while the old body is still queued. */
    put_str(fx->root, "hello.txt", "other text!\n");
    set_mtime(fx, "hello.txt", 1000000000);
    expire_cache(fx);
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_body(&res, "other text!\n", 12);
    response_discard(&res);
    assert_body(&old, "hello world\n", 12);

    /* And when the whole cache goes first. */
    serve(fx, &res, "GET", "/hello.txt", NULL);
    static_cache_free(fx->ctx.cache);
    fx->ctx.cache = static_cache_new();
    assert_body(&res, "other text!\n", 12);
    response_discard(&res);
    response_discard(&old);
}

static void
test_static_cache_bounds(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    char name[64], target[64];
    sub(name, sizeof(name), fx, "many");
    assert_int_equal(mkdir(name, 0755), 0);
    char *chunk = make_text(STATIC_SMALL_FILE);
    for (int i = 0; i < STATIC_CACHE_MAX_ENTRIES + 200; i++) {
        snprintf(name, sizeof(name), "many/f%d.txt", i);
        put_file(fx->root, name, chunk, i < 400 ? STATIC_SMALL_FILE : 10);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < STATIC_CACHE_MAX_ENTRIES + 200; i++) {
            snprintf(target, sizeof(target), "/many/f%d.txt", i);
            serve(fx, &res, "GET", target, NULL);
            assert_int_equal(res.status, 200);
            response_discard(&res);
            assert_true(fx->ctx.cache->count <= STATIC_CACHE_MAX_ENTRIES);
            assert_true(fx->ctx.cache->bytes <= STATIC_CACHE_MAX_BYTES);
        }
    }
    /* The accounting adds up. */
    size_t n = 0, bytes = 0;
    for (struct lru_node *node = fx->ctx.cache->lru.head; node; node = node->next) {
        struct static_entry *e = LRU_ENTRY(node, struct static_entry, lru);
        n++;
        bytes += e->cost;
    }
    assert_int_equal(n, fx->ctx.cache->count);
    assert_int_equal(bytes, fx->ctx.cache->bytes);
    free(chunk);
}

static void
test_static_serve_fd(void **state)
{
    struct fixture *fx = *state;
    struct response res;
    struct rq r;
    char path[512];
    struct stat st;
    sub(path, sizeof(path), fx, "blob.bin");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_int_equal(fstat(fd, &st), 0);
    rq_make(&r, "GET", "/files/blob.bin", "Accept-Encoding: gzip\r\n");
    response_init(&res);
    static_serve_fd(&fx->ctx, &r.req, fd, &st, "application/octet-stream", &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.fd, fd); /* ownership passed on */
    assert_string_equal(res.content_type, "application/octet-stream");
    assert_hdr(&res, "Accept-Ranges", "bytes");
    assert_hdr(&res, "Vary", NULL);
    assert_hdr(&res, "Content-Encoding", NULL);
    char etag[64];
    strcpy(etag, hdr(&res, "ETag"));
    assert_body(&res, fx->blob, fx->blob_len);
    response_discard(&res);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    rq_make(&r, "GET", "/files/blob.bin", "Range: bytes=10-19\r\n");
    response_init(&res);
    static_serve_fd(&fx->ctx, &r.req, fd, &st, "application/octet-stream", &res);
    assert_int_equal(res.status, 206);
    assert_body(&res, fx->blob + 10, 10);
    response_discard(&res);

    /* Answers without a body close the descriptor themselves. */
    char h[128];
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
    static const char *const no_body[] = {NULL, "Range: bytes=50000-\r\n", "If-Match: \"x\"\r\n"};
    static const int no_body_status[] = {304, 416, 412};
    for (int i = 0; i < 3; i++) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        rq_make(&r, "GET", "/files/blob.bin", no_body[i] ? no_body[i] : h);
        response_init(&res);
        static_serve_fd(&fx->ctx, &r.req, fd, &st, "application/octet-stream", &res);
        assert_int_equal(res.status, no_body_status[i]);
        assert_true(res.fd < 0);
        assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
        response_discard(&res);
    }

    /* A compressible type through static_serve_fd gets gzip too. */
    sub(path, sizeof(path), fx, "app.js");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_int_equal(fstat(fd, &st), 0);
    rq_make(&r, "GET", "/x", "Accept-Encoding: gzip\r\n");
    response_init(&res);
    static_serve_fd(&fx->ctx, &r.req, fd, &st, "text/javascript; charset=utf-8", &res);
    assert_hdr(&res, "Content-Encoding", "gzip");
    assert_true(res.fd < 0);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_gunzips_to(&res, fx->app_js, fx->app_len);
    response_discard(&res);
}

static void
test_static_no_cache(void **state)
{
    /* Without a per-thread cache (allocation failed) everything still works. */
    struct fixture *fx = *state;
    struct response res;
    struct static_cache *c = fx->ctx.cache;
    fx->ctx.cache = NULL;
    serve(fx, &res, "GET", "/hello.txt", NULL);
    assert_int_equal(res.status, 200);
    assert_true(res.fd >= 0);
    assert_body(&res, "hello world\n", 12);
    response_discard(&res);
    serve(fx, &res, "GET", "/app.js", "Accept-Encoding: gzip\r\n");
    assert_hdr(&res, "Content-Encoding", "gzip");
    response_discard(&res);
    serve(fx, &res, "GET", "/nothing", NULL);
    assert_int_equal(res.status, 404);
    response_discard(&res);
    fx->ctx.cache = c;
}

static void
test_static_etag_list_parsing(void **state)
{
    (void)state;
    const char *e = "\"a-1\"";
    assert_true(etag_list_match(SLICE_LIT("\"a-1\""), e, true));
    assert_true(etag_list_match(SLICE_LIT(" * "), e, true));
    assert_true(etag_list_match(SLICE_LIT("\"x\",\"a-1\""), e, false));
    assert_true(etag_list_match(SLICE_LIT("W/\"a-1\""), e, false));
    assert_false(etag_list_match(SLICE_LIT("W/\"a-1\""), e, true));
    assert_false(etag_list_match(SLICE_LIT("\"a-1"), e, false));
    assert_false(etag_list_match(SLICE_LIT("a-1"), e, false));
    assert_false(etag_list_match(SLICE_LIT("\"A-1\""), e, false));
    assert_false(etag_list_match(SLICE_LIT("bogus, \"a-1\""), e, false));
    assert_true(etag_list_match(SLICE_LIT("\"x,y\" , \"a-1\""), e, false));
    assert_false(etag_list_match(SLICE_LIT(""), e, false));
    assert_false(etag_list_match(SLICE_LIT("W/"), e, false));
    assert_false(etag_list_match(SLICE_LIT("\"a-1\"x"), e, false));
    assert_false(etag_list_match(SLICE_LIT("\"a-1\", junk"), e, false));
    assert_true(etag_list_match(SLICE_LIT("\"a-1\" ,"), e, false));
}

/* A file too large to compress on the loop thread, with no room on the job
 * pool (this test starts none): identity, still with Vary, every time. */
static void
test_static_gzip_without_pool(void **state)
{
    struct fixture *fx = *state;
    size_t n = GZCACHE_INLINE_MAX + 1000;
    char *text = make_text(n);
    put_file(fx->root, "big.js", text, n);
    for (int i = 0; i < 2; i++) {
        struct response res;
        serve(fx, &res, "GET", "/big.js", "Accept-Encoding: gzip\r\n");
        assert_int_equal(res.status, 200);
        assert_hdr(&res, "Content-Encoding", NULL);
        assert_hdr(&res, "Vary", "Accept-Encoding");
        assert_body(&res, text, n);
        response_discard(&res);
    }
    free(text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_static_file_types_and_validators),
        T(test_static_index_redirect_forbidden),
        T(test_static_root_without_index),
        T(test_static_not_modified),
        T(test_static_future_mtime_clamped),
        T(test_static_precondition_failed),
        T(test_static_precondition_lines),
        T(test_static_ranges),
        T(test_static_gzip),
        T(test_static_gzip_without_pool),
        T(test_static_head_matches_get),
        T(test_static_traversal_table),
        T(test_static_symlinks_inside),
        T(test_static_404_page),
        T(test_static_cache_revalidation),
        T(test_static_large_file_changed_between_checks),
        T(test_static_descriptor_budget),
        T(test_static_body_outlives_entry),
        T(test_static_cache_bounds),
        T(test_static_serve_fd),
        T(test_static_no_cache),
        cmocka_unit_test(test_static_etag_list_parsing),
        cmocka_unit_test(test_static_check_replace_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
