/* fuzz_multipart.c - libFuzzer target for the multipart/form-data reader.
 *
 * The first line of the input is the Content-Type value, the rest the body.
 * Every part's slices must lie inside the body, and parts must not overlap
 * or go backwards. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/multipart.c"

static void
inside(struct slice s, const char *body, size_t len)
{
    if (s.len == 0)
        return;
    assert(s.ptr >= body && s.ptr + s.len <= body + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ct_len = nl ? (size_t)(nl - data) : size;
    char *ct = malloc(ct_len ? ct_len : 1);
    memcpy(ct, data, ct_len);
    size_t body_len = nl ? size - ct_len - 1 : 0;
    char *body = malloc(body_len ? body_len : 1);
    if (body_len)
        memcpy(body, nl + 1, body_len);

    struct slice boundary;
    if (multipart_boundary(slice_make(ct, ct_len), &boundary) == 0) {
        struct multipart_reader r;
        multipart_init(&r, boundary, body, body_len);
        struct multipart_part part;
        const char *last = body;
        int parts = 0, rc;
        while ((rc = multipart_next(&r, &part)) == 1) {
            inside(part.data, body, body_len);
            inside(part.name, body, body_len);
            inside(part.filename, body, body_len);
            inside(part.content_type, body, body_len);
            if (part.data.len) {
                assert(part.data.ptr >= last);
                last = part.data.ptr + part.data.len;
            }
            assert(++parts <= (int)body_len + 1);
        }
        assert(rc == 0 || rc == -1);
    }
    free(ct);
    free(body);
    return 0;
}
