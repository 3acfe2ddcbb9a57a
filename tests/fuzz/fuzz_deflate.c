/* fuzz_deflate.c - libFuzzer round-trip target for the DEFLATE and gzip encoders.
 *
 * The first input byte picks the level (-1..9), the rest is the data. The
 * deflate_compress() output must fit deflate_bound(), inflate to exactly the
 * data, end with its BFINAL block on its last byte, come out the same when
 * compressed again into a buffer of exactly its size, and give 0 with one
 * byte less room, writing nothing past the end (ASan watches). Level 0 must be
 * stored blocks only, 5 bytes per 65535. The gzip member must have the fixed
 * header of gzip.h, the same DEFLATE stream, and a trailer whose CRC-32
 * (computed here bitwise, not with crc32.c) and ISIZE match the data.
 *
 * The project links no inflater, so a small strict one (RFC 1951) lives here:
 * any invalid or truncated stream, and any output beyond the expected length,
 * is an error return, never a crash. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/crc32.c"
#include "../../http/deflate.c"
#include "../../http/gzip.c"

#define MAX_INPUT (256 * 1024)

/* ---- inflater ------------------------------------------------------------ */

#define INF_MAX_BITS 15
#define INF_NUM_SYMS 288 /* the fixed literal/length code has the most */

struct inf {
    const uint8_t *in;
    size_t in_len;
    size_t in_pos;   /* a byte counts as used once any of its bits is read */
    uint32_t bitbuf; /* read but unused bits, the next one in bit 0 */
    unsigned bitcnt; /* always < 8 after a read: only whole bytes are loaded */
    uint8_t *out;
    size_t out_cap, out_len;
};

/* A canonical Huffman code (RFC 1951 3.2.2) as the number of codes of each
 * length and the symbols in code order: by length, then by symbol value. */
struct inf_code {
    uint16_t count[INF_MAX_BITS + 1];
    uint16_t sym[INF_NUM_SYMS];
};

/* RFC 1951 3.2.5: base and extra bits of length symbols 257..285 and of
 * distance symbols 0..29. */
static const uint16_t inf_len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                          15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                          67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t inf_len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                          2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t inf_dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t inf_dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* RFC 1951 3.2.7: the order in which the code length code's lengths come. */
static const uint8_t inf_clen_order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                           11, 4,  12, 3, 13, 2, 14, 1, 15};

/* Returns the next n (at most 16) bits, the first in bit 0, or -1 at the end
 * of the input. */
static int
inf_bits(struct inf *f, unsigned n)
{
    while (f->bitcnt < n) {
        if (f->in_pos == f->in_len)
            return -1;
        f->bitbuf |= (uint32_t)f->in[f->in_pos++] << f->bitcnt;
        f->bitcnt += 8;
    }
    int v = (int)(f->bitbuf & ((1u << n) - 1));
    f->bitbuf >>= n;
    f->bitcnt -= n;
    return v;
}

/* Builds c from len[0..n). Returns 0 for a complete code, 1 for an incomplete
 * one and -1 for an over-subscribed one, which no decoder can use. */
static int
inf_build(struct inf_code *c, const uint8_t *len, unsigned n)
{
    uint16_t next[INF_MAX_BITS + 1];
    long left = 1; /* codes still free at the current length */

    memset(c->count, 0, sizeof(c->count));
    for (unsigned s = 0; s < n; s++)
        c->count[len[s]]++;
    for (unsigned b = 1; b <= INF_MAX_BITS; b++) {
        left = 2 * left - c->count[b];
        if (left < 0)
            return -1;
    }
    next[1] = 0;
    for (unsigned b = 1; b < INF_MAX_BITS; b++)
        next[b + 1] = (uint16_t)(next[b] + c->count[b]);
    for (unsigned s = 0; s < n; s++)
        if (len[s] != 0)
            c->sym[next[len[s]]++] = (uint16_t)s;
    return left > 0;
}

/* Over-subscribed codes are never valid. Like zlib, accept an incomplete code
 * only if it has at most one code, of one bit: RFC 1951 3.2.7 allows "one
 * distance code of one bit", and a block of literals needs no distance code. */
static int
inf_code_ok(const struct inf_code *c, int built)
{
    if (built <= 0)
        return built == 0;
    unsigned longer = 0;
    for (unsigned b = 2; b <= INF_MAX_BITS; b++)
        longer += c->count[b];
    return longer == 0 && c->count[1] <= 1;
}

/* Reads one symbol. Huffman codes are sent most significant bit first
 * (3.1.1), and the codes of one length are consecutive numbers from first,
 * the RFC's next_code. Returns -1 at the end of input or on an unused code. */
static int
inf_decode(struct inf *f, const struct inf_code *c)
{
    unsigned code = 0, first = 0, index = 0;

    for (unsigned b = 1; b <= INF_MAX_BITS; b++) {
        int bit = inf_bits(f, 1);
        if (bit < 0)
            return -1;
        code = code << 1 | (unsigned)bit;
        if (code - first < c->count[b])
            return c->sym[index + code - first];
        index += c->count[b];
        first = (first + c->count[b]) << 1;
    }
    return -1;
}

static int
inf_stored(struct inf *f)
{
    /* The rest of the current byte is padding (3.2.4). */
    assert(f->bitcnt < 8);
    f->bitbuf = 0;
    f->bitcnt = 0;
    if (f->in_len - f->in_pos < 4)
        return -1;
    const uint8_t *p = f->in + f->in_pos;
    size_t len = (size_t)(p[0] | p[1] << 8), nlen = (size_t)(p[2] | p[3] << 8);
    if (len != (~nlen & 0xffff))
        return -1;
    f->in_pos += 4;
    if (f->in_len - f->in_pos < len || f->out_cap - f->out_len < len)
        return -1;
    memcpy(f->out + f->out_len, f->in + f->in_pos, len);
    f->in_pos += len;
    f->out_len += len;
    return 0;
}

/* Decodes a compressed block's data up to and including end-of-block. */
static int
inf_codes(struct inf *f, const struct inf_code *litlen, const struct inf_code *dist)
{
    for (;;) {
        int sym = inf_decode(f, litlen);
        if (sym < 0)
            return -1;
        if (sym < 256) {
            if (f->out_len == f->out_cap)
                return -1;
            f->out[f->out_len++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256)
            return 0;
        sym -= 257;
        if (sym >= 29) /* 286 and 287 only fill out the fixed code */
            return -1;
        int extra = inf_bits(f, inf_len_extra[sym]);
        if (extra < 0)
            return -1;
        size_t len = inf_len_base[sym] + (size_t)extra;
        int dsym = inf_decode(f, dist);
        if (dsym < 0 || dsym >= 30) /* likewise 30 and 31 */
            return -1;
        extra = inf_bits(f, inf_dist_extra[dsym]);
        if (extra < 0)
            return -1;
        size_t d = inf_dist_base[dsym] + (size_t)extra;
        if (d > f->out_len || len > f->out_cap - f->out_len)
            return -1;
        /* Byte by byte: a copy may overlap what it writes (3.2.3). */
        for (; len > 0; len--, f->out_len++)
            f->out[f->out_len] = f->out[f->out_len - d];
    }
}

/* RFC 1951 3.2.6. */
static void
inf_fixed(struct inf_code *litlen, struct inf_code *dist)
{
    uint8_t len[INF_NUM_SYMS];

    for (unsigned s = 0; s < INF_NUM_SYMS; s++)
        len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    inf_build(litlen, len, INF_NUM_SYMS);
    memset(len, 5, 32);
    inf_build(dist, len, 32);
}

/* Reads a dynamic block's code description (3.2.7). */
static int
inf_dynamic(struct inf *f, struct inf_code *litlen, struct inf_code *dist)
{
    uint8_t clen[19] = {0}, len[286 + 30];
    struct inf_code pre;

    int hlit = inf_bits(f, 5), hdist = inf_bits(f, 5), hclen = inf_bits(f, 4);
    if (hlit < 0 || hdist < 0 || hclen < 0)
        return -1;
    unsigned nlit = (unsigned)hlit + 257, ndist = (unsigned)hdist + 1;
    if (nlit > 286 || ndist > 30)
        return -1;
    for (int i = 0; i < hclen + 4; i++) {
        int v = inf_bits(f, 3);
        if (v < 0)
            return -1;
        clen[inf_clen_order[i]] = (uint8_t)v;
    }
    if (inf_build(&pre, clen, 19) != 0)
        return -1;

    /* One sequence for both codes: a repeat may cross from one to the other. */
    for (unsigned i = 0; i < nlit + ndist;) {
        int sym = inf_decode(f, &pre);
        if (sym < 0)
            return -1;
        if (sym < 16) {
            len[i++] = (uint8_t)sym;
            continue;
        }
        /* 16 repeats the previous length 3-6 times, 17 and 18 give 3-10 and
         * 11-138 zeros. */
        uint8_t v = 0;
        int extra;
        unsigned rep;
        if (sym == 16) {
            if (i == 0)
                return -1;
            v = len[i - 1];
            extra = inf_bits(f, 2);
            rep = 3;
        } else if (sym == 17) {
            extra = inf_bits(f, 3);
            rep = 3;
        } else {
            extra = inf_bits(f, 7);
            rep = 11;
        }
        if (extra < 0)
            return -1;
        rep += (unsigned)extra;
        if (rep > nlit + ndist - i)
            return -1;
        memset(len + i, v, rep);
        i += rep;
    }
    if (len[256] == 0) /* no way to end the block */
        return -1;
    if (!inf_code_ok(litlen, inf_build(litlen, len, nlit)))
        return -1;
    if (!inf_code_ok(dist, inf_build(dist, len + nlit, ndist)))
        return -1;
    return 0;
}

/* Inflates the raw DEFLATE stream in[0..in_len) into out[0..out_cap). On
 * success returns 0 and sets *out_len and *in_used, the bytes up to the one
 * holding the final block's last bit; returns -1 for an invalid or truncated
 * stream, or one that would write more than out_cap bytes. */
static int
inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len,
            size_t *in_used)
{
    struct inf f = {.in = in, .in_len = in_len, .out = out, .out_cap = out_cap};
    struct inf_code litlen, dist;
    int last;

    do {
        last = inf_bits(&f, 1);
        int type = inf_bits(&f, 2), r = -1;
        if (last < 0 || type < 0)
            return -1;
        if (type == 0) {
            r = inf_stored(&f);
        } else if (type == 1) {
            inf_fixed(&litlen, &dist);
            r = inf_codes(&f, &litlen, &dist);
        } else if (type == 2) {
            r = inf_dynamic(&f, &litlen, &dist);
            if (r == 0)
                r = inf_codes(&f, &litlen, &dist);
        }
        if (r < 0) /* including type 3, which is reserved */
            return -1;
    } while (!last);
    *out_len = f.out_len;
    *in_used = f.in_pos;
    return 0;
}

/* ---- checks -------------------------------------------------------------- */

/* CRC-32 one bit at a time (RFC 1952 section 8), independent of crc32.c. */
static uint32_t
crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffff;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
    }
    return ~crc;
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* z[0..zlen) must be one whole stream: exactly data[0..n) out, nothing after
 * the final block. The output buffer is exactly n bytes, so ASan catches an
 * inflater bug too. */
static void
check_inflates(const uint8_t *z, size_t zlen, const uint8_t *data, size_t n)
{
    uint8_t *out = malloc(n ? n : 1);
    size_t out_len = 0, used = 0;

    int r = inflate_raw(z, zlen, out, n, &out_len, &used);
    assert(r == 0);
    assert(out_len == n && used == zlen);
    assert(n == 0 || memcmp(out, data, n) == 0);
    free(out);
}

static void
check_gzip(const uint8_t *in, size_t n, int level, const uint8_t *z, size_t zlen)
{
    size_t cap = gzip_bound(n);
    uint8_t *g = malloc(cap);

    size_t glen = gzip_compress(in, n, g, cap, level);
    assert(glen == 10 + zlen + 8 && glen <= cap);
    /* ID1 ID2 CM, no flags, MTIME 0, OS 255 (RFC 1952 2.3.1, gzip.h). */
    assert(g[0] == 0x1f && g[1] == 0x8b && g[2] == 8 && g[3] == 0);
    assert(le32(g + 4) == 0 && g[9] == 255);
    check_inflates(g + 10, glen - 18, in, n);
    assert(memcmp(g + 10, z, zlen) == 0);
    assert(le32(g + glen - 8) == crc32_bitwise(in, n));
    assert(le32(g + glen - 4) == (uint32_t)n);
    free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > MAX_INPUT)
        return 0;
    int level = data[0] % 11 - 1; /* -1 means 6 */
    size_t n = size - 1;
    /* An exact-size copy, so ASan sees an over-read; NULL when empty, as
     * deflate.h allows. */
    uint8_t *in = n ? malloc(n) : NULL;
    if (n)
        memcpy(in, data + 1, n);

    size_t bound = deflate_bound(n);
    uint8_t *z = malloc(bound);
    size_t zlen = deflate_compress(in, n, z, bound, level);
    assert(zlen >= 2 && zlen <= bound);
    check_inflates(z, zlen, in, n);
    if (level == 0) {
        /* Stored blocks of at most 65535 bytes, 5 header bytes each, and
         * one even for empty input (RFC 1951 3.2.4). */
        size_t blocks = n == 0 ? 1 : (n + 65534) / 65535;
        assert(zlen == n + 5 * blocks);
    }

    /* The same bytes again, into a buffer of exactly that size. */
    uint8_t *again = malloc(zlen);
    size_t again_len = deflate_compress(in, n, again, zlen, level);
    assert(again_len == zlen && memcmp(again, z, zlen) == 0);
    free(again);

    /* One byte short is too small, and must not be written past. */
    uint8_t *shorter = malloc(zlen - 1);
    assert(deflate_compress(in, n, shorter, zlen - 1, level) == 0);
    free(shorter);

    check_gzip(in, n, level, z, zlen);
    free(z);
    free(in);
    return 0;
}
