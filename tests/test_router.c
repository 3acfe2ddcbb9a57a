/* test_router.c - the router's method and path decisions, and path safety. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../http/router.c"
#include "fs.h"
#include "gzcache.h"
#include "static.h"

struct fixture {
    struct server_config cfg;
    struct handler_ctx ctx;
    char root[64];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/test_router.XXXXXX");
    if (mkdtemp(f->root) == NULL)
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/hello.txt", f->root);
    FILE *fp = fopen(path, "w");
    fputs("hello", fp);
    fclose(fp);
    f->cfg.root_fd = open(f->root, O_RDONLY | O_DIRECTORY);
    f->cfg.max_upload = 1000;
    f->cfg.gzip_level = 6;
    f->cfg.gzip_max = 1 << 20;
    f->cfg.max_requests = 1000;
    mail_config_defaults(&f->cfg.mail);
    f->ctx.cfg = &f->cfg;
    f->ctx.scratch = malloc(HTTP_MAX_HEAD);
    f->ctx.cache = static_cache_new();
    f->ctx.gzcache = gzcache_new(1 << 20, 6);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
    if (system(cmd) != 0)
        return -1;
    close(f->cfg.root_fd);
    free(f->ctx.scratch);
    static_cache_free(f->ctx.cache);
    gzcache_free(f->ctx.gzcache);
    free(f);
    return 0;
}

/* Routes one request head; the answer lands in res, the body plan in rb. */
static void
route(struct fixture *f, const char *head, struct response *res, struct route_body *rb)
{
    static struct http_request req;
    static char buf[4096];
    size_t len = strlen(head);
    memcpy(buf, head, len);
    assert_int_equal(http_parse_request(buf, len, &req), (int)len);
    http_route(&f->ctx, &req, res, rb);
}

static void
finish(struct response *res, struct route_body *rb)
{
    response_discard(res);
    http_route_body_free(rb);
}

struct row {
    const char *head;
    int status;
    const char *allow; /* expected Allow value, or NULL for none */
    const char *body;  /* expected body, or NULL not to check */
};

static const struct row rows[] = {
    {"GET /echo/abc HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, "abc"},
    {"GET /echo/ HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, ""},
    {"GET /echo/a%2Fb%20c HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, "a/b c"},
    {"GET /echo/%2 HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, NULL},
    {"HEAD /echo/abc HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, NULL},
    {"POST /echo/abc HTTP/1.1\r\nHost: x\r\n\r\n", 405, "GET, HEAD, OPTIONS", NULL},
    {"DELETE /user-agent HTTP/1.1\r\nHost: x\r\n\r\n", 405, "GET, HEAD, OPTIONS", NULL},
    {"GET /user-agent HTTP/1.1\r\nHost: x\r\nUser-Agent: ua/1\r\n\r\n", 200, NULL, "ua/1"},
    {"GET /user-agent HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, ""},
    {"GET /files/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, NULL},
    {"GET /files/nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL, NULL},
    {"GET /files/..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL, NULL},
    {"GET /files/.hidden HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL, NULL},
    {"PUT /files/a HTTP/1.1\r\nHost: x\r\n\r\n", 405, "GET, HEAD, POST, OPTIONS", NULL},
    {"POST /files/a HTTP/1.1\r\nHost: x\r\n\r\n", 411, NULL, NULL},
    {"POST /files/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413, NULL, NULL},
    {"POST /files/a%2fb HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", 400, NULL, NULL},
    {"POST /files/..%2fx HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n", 400, NULL, NULL},
    {"GET /mail HTTP/1.1\r\nHost: x\r\n\r\n", 405, "POST, OPTIONS", NULL},
    {"POST /mail HTTP/1.1\r\nHost: x\r\n\r\n", 411, NULL, NULL},
    {"OPTIONS /echo/x HTTP/1.1\r\nHost: x\r\n\r\n", 204, "GET, HEAD, OPTIONS", NULL},
    {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204, "GET, HEAD, POST, OPTIONS", NULL},
    {"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, NULL, "ok\n"},
    {"POST /some/page HTTP/1.1\r\nHost: x\r\n\r\n", 405, "GET, HEAD, OPTIONS", NULL},
    {"GET /%65cho/x HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL, NULL},
};

static void
test_router_table(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct response res;
        struct route_body rb;
        route(f, rows[i].head, &res, &rb);
        if (res.status != rows[i].status)
            fail_msg("row %zu (%s): status %d, want %d", i, rows[i].head, res.status,
                     rows[i].status);
        char want[128] = "";
        if (rows[i].allow)
            snprintf(want, sizeof(want), "Allow: %s\r\n", rows[i].allow);
        bool has_allow = memmem(res.headers, res.headers_len, "Allow: ", 7) != NULL;
        if (rows[i].allow ? memmem(res.headers, res.headers_len, want, strlen(want)) == NULL
                          : has_allow)
            fail_msg("row %zu: headers %.*s", i, (int)res.headers_len, res.headers);
        if (rows[i].body && (res.body_len != strlen(rows[i].body) ||
                             (res.body_len && memcmp(res.body, rows[i].body, res.body_len))))
            fail_msg("row %zu: body %.*s", i, (int)res.body_len, res.body);
        finish(&res, &rb);
    }
}

static void
test_router_head_and_close_flags(void **state)
{
    struct fixture *f = *state;
    struct response res;
    struct route_body rb;
    route(f, "HEAD /echo/x HTTP/1.1\r\nHost: x\r\n\r\n", &res, &rb);
    assert_true(res.head);
    assert_false(res.close);
    finish(&res, &rb);
    route(f, "GET /echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &res, &rb);
    assert_true(res.close);
    finish(&res, &rb);
    route(f, "GET /echo/x HTTP/1.0\r\n\r\n", &res, &rb);
    assert_true(res.close);
    finish(&res, &rb);
}

static void
test_router_upload_plan(void **state)
{
    struct fixture *f = *state;
    struct response res;
    struct route_body rb;
    route(f, "POST /files/new.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &res, &rb);
    assert_int_equal(rb.plan, BODY_UPLOAD);
    assert_true(rb.fd >= 0);
    assert_int_equal(http_route_body_write(&rb, "hello", 5), 0);
    assert_int_equal(http_route_body_write(&rb, "x", 1000), HTTP_CONTENT_TOO_LARGE);
    /* Abandoned: the temporary file goes, the target never appears. */
    http_route_body_free(&rb);
    char path[128];
    snprintf(path, sizeof(path), "%s/new.txt", f->root);
    assert_int_equal(access(path, F_OK), -1);

    route(f, "POST /files/new.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &res, &rb);
    assert_int_equal(http_route_body_write(&rb, "hello", 5), 0);
    http_route_body_done(&f->ctx, &rb, false, &res);
    assert_int_equal(res.status, HTTP_CREATED);
    http_route_body_free(&rb);
    response_discard(&res);
    FILE *fp = fopen(path, "r");
    char got[16] = "";
    assert_non_null(fgets(got, sizeof(got), fp));
    fclose(fp);
    assert_string_equal(got, "hello");

    route(f, "POST /mail HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Type: a/b\r\n\r\n",
          &res, &rb);
    assert_int_equal(rb.plan, BODY_MEMORY);
    assert_string_equal(rb.content_type, "a/b");
    finish(&res, &rb);
}

/* Routes a JSON /mail request and feeds it its body. */
static void
route_mail_body(struct fixture *f, struct response *res, struct route_body *rb, const char *body)
{
    char head[256];
    snprintf(head, sizeof(head),
             "POST /mail HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             strlen(body));
    route(f, head, res, rb);
    assert_int_equal(rb->plan, BODY_MEMORY);
    assert_int_equal(http_route_body_write(rb, body, strlen(body)), 0);
}

static void
test_router_mail_job_deadline(void **state)
{
    struct fixture *f = *state;
    f->cfg.mail.smtp_host = "127.0.0.1";
    f->cfg.mail.smtp_port = 1; /* nothing listens: a relay that runs answers 502 */
    const char *json = "{\"from\": \"a@example.org\", \"to\": \"b@example.org\", \"text\": \"x\"}";
    struct response res;
    struct route_body rb;

    route_mail_body(f, &res, &rb, json);
    rb.queued_ms = clock_now_ms();
    http_route_body_done(&f->ctx, &rb, false, &res);
    assert_int_equal(res.status, 502);
    finish(&res, &rb);

    /* Queued behind slow relays for longer than the relay may take: no connect. */
    route_mail_body(f, &res, &rb, json);
    rb.queued_ms = clock_now_ms() - f->cfg.mail.total_timeout_ms;
    http_route_body_done(&f->ctx, &rb, false, &res);
    assert_int_equal(res.status, HTTP_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(res.body, "no relay worker was free in time"));
    finish(&res, &rb);

    /* The client left while the job waited: the message is not sent. */
    route_mail_body(f, &res, &rb, json);
    rb.queued_ms = clock_now_ms();
    http_route_body_done(&f->ctx, &rb, true, &res);
    assert_int_equal(res.status, HTTP_SERVICE_UNAVAILABLE);
    assert_non_null(strstr(res.body, "the client left"));
    finish(&res, &rb);
}

/* Mail bodies share one memory budget; what a body held comes back when it goes. */
static void
test_router_mail_memory_budget(void **state)
{
    struct fixture *f = *state;
    struct response res1, res2;
    struct route_body a, b;
    route(
        f,
        "POST /mail HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nTransfer-Encoding: chunked\r\n\r\n",
        &res1, &a);
    route(
        f,
        "POST /mail HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nTransfer-Encoding: chunked\r\n\r\n",
        &res2, &b);
    a.held_max = b.held_max = 10;
    assert_int_equal(http_route_body_write(&a, "123456", 6), 0);
    assert_int_equal(http_route_body_write(&b, "123456", 6), HTTP_SERVICE_UNAVAILABLE);
    assert_int_equal(http_route_body_write(&b, "1234", 4), 0);
    assert_int_equal(atomic_load(&mail_held), 10);
    finish(&res1, &a);
    assert_int_equal(atomic_load(&mail_held), 4);
    assert_int_equal(http_route_body_write(&b, "123456", 6), 0);
    finish(&res2, &b);
    assert_int_equal(atomic_load(&mail_held), 0);
}

static void
test_path_safety(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        bool safe;
    } paths[] = {
        {"/index.html", true}, {"/a/b/c.css", true}, {"//a///b", true}, {"/", false},
        {"/..", false},        {"/a/../b", false},   {"/a/./b", false}, {"/.git/config", false},
        {"/a/.env", false},    {"/a\\..\\b", false}, {"..", false},     {"/a/b/../../../c", false},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (fs_path_is_safe(paths[i].path, strlen(paths[i].path)) != paths[i].safe)
            fail_msg("%s should be %s", paths[i].path, paths[i].safe ? "safe" : "unsafe");
    assert_false(fs_path_is_safe("/a\0b", 4));
    assert_true(files_name_ok("report.pdf", 10));
    assert_false(files_name_ok("a/b", 3));
    assert_false(files_name_ok("..", 2));
    assert_false(files_name_ok("", 0));
    assert_false(files_name_ok("a\0b", 3));
}

static void
test_open_beneath_refuses_escapes(void **state)
{
    struct fixture *f = *state;
    char link[128];
    snprintf(link, sizeof(link), "%s/out", f->root);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(fs_open_beneath(f->cfg.root_fd, "out", O_RDONLY, 0), -1);
    assert_int_equal(fs_open_beneath(f->cfg.root_fd, "../../etc/passwd", O_RDONLY, 0), -1);
    assert_int_equal(fs_open_beneath(f->cfg.root_fd, "/etc/passwd", O_RDONLY, 0), -1);
    int fd = fs_open_beneath(f->cfg.root_fd, "hello.txt", O_RDONLY, 0);
    assert_true(fd >= 0);
    close(fd);
}

static void
test_pct_decode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(pct_decode(out, "a%20b", 5, false), 3);
    assert_memory_equal(out, "a b", 3);
    assert_int_equal(pct_decode(out, "a+b", 3, true), 3);
    assert_memory_equal(out, "a b", 3);
    assert_int_equal(pct_decode(out, "a+b", 3, false), 3);
    assert_memory_equal(out, "a+b", 3);
    assert_int_equal(pct_decode(out, "%252e", 5, false), 3);
    assert_memory_equal(out, "%2e", 3);
    assert_int_equal(pct_decode(out, "%00", 3, false), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(pct_decode(out, "%", 1, false), -1);
    assert_int_equal(pct_decode(out, "%4", 2, false), -1);
    assert_int_equal(pct_decode(out, "%g0", 3, false), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_table),
        cmocka_unit_test(test_router_head_and_close_flags),
        cmocka_unit_test(test_router_upload_plan),
        cmocka_unit_test(test_router_mail_job_deadline),
        cmocka_unit_test(test_router_mail_memory_budget),
        cmocka_unit_test(test_path_safety),
        cmocka_unit_test(test_open_beneath_refuses_escapes),
        cmocka_unit_test(test_pct_decode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
