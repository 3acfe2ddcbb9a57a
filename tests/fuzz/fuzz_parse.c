/* fuzz_parse.c - libFuzzer target for the request head parser.
 *
 * Checks more than "does not crash": a successful parse consumes a prefix,
 * its slices lie inside the input, and every shorter prefix of a complete
 * head is either incomplete or the same error. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/parse.c"
#include "../../http/pct.c"

static void
inside(struct slice s, const char *buf, size_t len)
{
    if (s.ptr == NULL || s.len == 0)
        return;
    /* "/" for a bare absolute-form authority is a static literal. */
    if (s.len == 1 && s.ptr[0] == '/' && (s.ptr < buf || s.ptr >= buf + len))
        return;
    assert(s.ptr >= buf && s.ptr + s.len <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    static struct http_request req;
    int r = http_parse_request(buf, size, &req);
    assert(r > 0 || r == HTTP_PARSE_ERROR || r == HTTP_PARSE_INCOMPLETE);
    if (r > 0) {
        assert((size_t)r <= size);
        inside(req.method, buf, size);
        inside(req.target, buf, size);
        inside(req.path, buf, size);
        for (size_t i = 0; i < req.nheaders; i++) {
            inside(req.headers[i].name, buf, size);
            inside(req.headers[i].value, buf, size);
        }
        /* http_header_next visits exactly the lines of a name, the first
         * of them being the one the parser kept. */
        size_t i = 0, seen = 0, lines = 0;
        struct slice v;
        for (size_t k = 0; k < req.nheaders; k++)
            lines += slice_eq_ci(req.headers[k].name, SLICE_LIT("Accept-Encoding"));
        while (http_header_next(&req, SLICE_LIT("Accept-Encoding"), &i, &v)) {
            assert(seen > 0 ||
                   (v.ptr == req.accept_encoding.ptr && v.len == req.accept_encoding.len));
            seen++;
        }
        assert(seen == lines && (lines > 0) == (req.accept_encoding.ptr != NULL));
        /* One byte short of a complete head is never a success. */
        assert(http_parse_request(buf, (size_t)r - 1, &req) <= 0);
    } else if (r == HTTP_PARSE_ERROR) {
        assert(req.error >= 400 && req.error <= 505);
    }
    /* The incremental entry point agrees with a full parse. */
    if (size > 1) {
        int m = http_parse_request_more(buf, size, size / 2, &req);
        assert(m == r || m == HTTP_PARSE_INCOMPLETE);
    }
    free(buf);
    return 0;
}
