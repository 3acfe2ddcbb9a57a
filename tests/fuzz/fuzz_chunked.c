/* fuzz_chunked.c - libFuzzer target for the chunked body decoder.
 *
 * The first input byte picks a split size; the decoder must give the same
 * body and the same verdict whether it sees the input whole or in pieces. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/parse.c"
#include "../../http/pct.c"

/* Decodes in pieces of step bytes. Returns -1 on error, else bytes used. */
static ssize_t
run(const char *in, size_t len, size_t step, char *out, size_t *out_len, bool *done)
{
    struct http_chunked d = {0};
    size_t pos = 0, avail = 0;
    *out_len = 0;
    *done = false;
    while (!*done) {
        avail = avail + step < len ? avail + step : len;
        struct slice data;
        ssize_t r = http_chunked_decode(&d, in + pos, avail - pos, &data, done);
        if (r < 0)
            return -1;
        assert((size_t)r <= avail - pos);
        assert(data.len == 0 || (data.ptr >= in + pos && data.ptr + data.len <= in + avail));
        memcpy(out + *out_len, data.ptr, data.len);
        *out_len += data.len;
        pos += (size_t)r;
        if (r == 0 && avail == len)
            break;
    }
    return (ssize_t)pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 16 + 1;
    size -= 1;
    char *in = malloc(size ? size : 1);
    memcpy(in, data + 1, size);
    char *a = malloc(size + 1), *b = malloc(size + 1);
    size_t alen, blen;
    bool adone, bdone;
    ssize_t ra = run(in, size, size ? size : 1, a, &alen, &adone);
    ssize_t rb = run(in, size, step, b, &blen, &bdone);
    assert((ra < 0) == (rb < 0));
    if (ra >= 0) {
        assert(adone == bdone);
        if (adone)
            assert(ra == rb && alen == blen && memcmp(a, b, alen) == 0);
    }
    free(in);
    free(a);
    free(b);
    return 0;
}
