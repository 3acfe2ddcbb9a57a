/* deflate.c - DEFLATE compressor (RFC 1951): LZ77 with hash chains, Huffman blocks.
 *
 * Design
 *   Parsing. The input is cut into literals and (length, distance) matches,
 *   length 4..258 and distance 1..32767. Candidates come from hash chains:
 *   head[h] is the newest position whose next four bytes hash to h, and
 *   prev[pos % 32768] links each position to the previous one with the same
 *   hash, so walking prev visits older and older candidates until the chain
 *   leaves the window or the level's chain budget runs out. Every position is
 *   entered into the chains, including those covered by a match (the fast
 *   levels skip the inside of long matches). Levels 1-3 take the longest match
 *   found (greedy); levels 4-9 defer: before committing to a match at p the
 *   search is repeated at p + 1, and if that finds a longer match, p goes out
 *   as a literal and the search moves on (RFC 1951 section 4 sketches this
 *   "lazy" evaluation). A match at least nice_len long ends the search; one at
 *   least lazy_len long is taken without looking further; above good_len the
 *   second search walks only a quarter of the chain.
 *
 *   Positions. Chains store 16-bit positions relative to a base pointer that
 *   advances 32 KiB at a time; when it does, every entry drops by 32768 and
 *   those that fall out of the window saturate at POS_NONE. Small entries keep
 *   head and prev at 64 KiB each, which fits in L2, and the same code works
 *   for inputs of any size.
 *
 *   Blocks. Each literal or match is stored as one 32-bit item (a byte below
 *   256, else distance << 8 | (length - 3)) and counted as it is made. After
 *   BLOCK_ITEMS items the block is closed: Huffman code lengths are built from
 *   the counts (a Huffman tree, then lengths over 15 bits, or 7 for the code
 *   length code, are shortened while keeping the code complete), the exact
 *   size of the block as dynamic, static and stored is computed and the
 *   smallest is written. Stored blocks are held back so that a run of them can
 *   be written as few 65535-byte blocks as possible; random data therefore
 *   costs 5 bytes per 64 KiB.
 *
 *   Output. Codes are packed least significant bit first into a 64-bit
 *   accumulator (Huffman codes are bit-reversed once, when the code is built)
 *   and written 8 bytes at a time while there is room, a byte at a time near
 *   the end of the caller's buffer. Running out of room sets a flag and the
 *   call returns 0.
 *
 * References
 *   RFC 1951, DEFLATE Compressed Data Format Specification version 1.3.
 *   J. Ziv, A. Lempel, "A Universal Algorithm for Sequential Data
 *   Compression", IEEE Trans. Information Theory 23(3), 1977.
 *   D. A. Huffman, "A Method for the Construction of Minimum-Redundancy
 *   Codes", Proc. IRE 40(9), 1952.
 *   J. van Leeuwen, "On the construction of Huffman trees", ICALP 1976 (the
 *   two-queue construction over sorted weights).
 *   zlib's doc/algorithm.txt, for the meaning of its level parameters, which
 *   the table below imitates.
 */
#include "deflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFL_WINDOW        32768 /* RFC 1951 3.2.5 allows 32768; we use up to 32767 */
#define DEFL_MIN_MATCH     4     /* the format allows 3; see defl_find() */
#define DEFL_MAX_MATCH     258
#define DEFL_NUM_LITLEN    288 /* 286 used, 2 more exist in the static code */
#define DEFL_NUM_DIST      32  /* 30 used, 2 more exist in the static code */
#define DEFL_NUM_PRECODE   19
#define DEFL_END_BLOCK     256
#define DEFL_MAX_BITS      15
#define DEFL_MAX_PRE_BITS  7
#define DEFL_STORED_MAX    65535
#define DEFL_HASH_BITS_MAX 15
#define DEFL_POS_NONE      INT16_MIN

/* Items per block. A block pays for its code description (about 60-100 bytes
 * on text) and in exchange gets codes fitted to its own statistics. Small
 * blocks adapt faster to changing data and the item buffer stays in L1/L2;
 * large ones amortise the header. 16384 is zlib's figure at its default
 * memory level; on our corpus 8192 and 32768 were both within 0.3%. It keeps
 * the buffer at 64 KiB and sets the smallest block (one byte per item) that
 * deflate_bound() relies on. */
#define DEFL_BLOCK_ITEMS 16384
/* The lazy loop may add one literal per step, at most 255 in a row, plus the
 * match, after the block has reached BLOCK_ITEMS. */
#define DEFL_ITEM_SLACK 260

/* Frequencies share a 32-bit sort key with a 9-bit symbol. */
_Static_assert(DEFL_BLOCK_ITEMS + DEFL_ITEM_SLACK < (1 << 23), "block too large for sort keys");
/* deflate_bound() counts at most n / 16384 + 1 blocks. */
_Static_assert(DEFL_BLOCK_ITEMS >= 16384, "deflate_bound() assumes blocks of 16384 or more");

struct defl_level {
    uint16_t max_chain;  /* candidates examined per search */
    uint16_t nice_len;   /* a match this long ends the search */
    uint16_t lazy_len;   /* try p + 1 only below this length; 0 = greedy */
    uint16_t good_len;   /* at or above this the p + 1 search walks chain / 4 */
    uint16_t insert_max; /* greedy: skip chain updates inside longer matches */
};

/* Time goes mostly into walking chains, so max_chain sets the speed; at level
 * 6 the lazy second search costs a third more time and saves 1.8%. Measured on
 * a 3.8 MB mix of HTML, CSS, JS, JSON, a log and text (relative size, speed):
 * level 1 1.20, 3.0x; 3 1.05, 1.9x; 4 1.03, 1.5x; 5 1.01, 1.3x; 6 1.00, 1x.
 * Level 6 comes out slightly smaller than gzip -6 and 1.3-2x faster than zlib
 * level 6; levels 7-9 save under 1% more for 1.2-2.5x the time. */
static const struct defl_level defl_levels[DEFLATE_MAX_LEVEL + 1] = {
    [1] = {4, 16, 0, 0, 6},
    [2] = {8, 24, 0, 0, 16},
    [3] = {16, 32, 0, 0, DEFL_MAX_MATCH},
    [4] = {24, 32, 8, 4, DEFL_MAX_MATCH},
    [5] = {48, 64, 16, 8, DEFL_MAX_MATCH},
    [6] = {128, 128, 16, 8, DEFL_MAX_MATCH},
    [7] = {256, 128, 32, 8, DEFL_MAX_MATCH},
    [8] = {1024, 258, 128, 32, DEFL_MAX_MATCH},
    [9] = {4096, 258, 258, 32, DEFL_MAX_MATCH},
};

/* RFC 1951 3.2.7: the order in which code length code lengths are sent. */
static const uint8_t defl_precode_order[DEFL_NUM_PRECODE] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                             11, 4,  12, 3, 13, 2, 14, 1, 15};

/* One Huffman code: lengths in bits and the codes, already bit-reversed. */
struct defl_code {
    uint8_t len[DEFL_NUM_LITLEN];
    uint16_t bits[DEFL_NUM_LITLEN];
};

/* A dynamic block's codes and its header, run-length coded (RFC 1951 3.2.7). */
struct defl_dynamic {
    struct defl_code litlen, dist, pre;
    unsigned hlit, hdist, hclen;
    unsigned nrle;
    uint8_t rle_sym[DEFL_NUM_LITLEN + DEFL_NUM_DIST];
    uint8_t rle_extra[DEFL_NUM_LITLEN + DEFL_NUM_DIST];
};

struct defl {
    struct defl_level lv;

    const uint8_t *in, *in_end;
    const uint8_t *hash_end; /* positions below have 4 bytes left to hash */
    const uint8_t *base;     /* chain entries are offsets from here */
    const uint8_t *ins;      /* next position to enter into the chains */
    int16_t *head;
    int16_t *prev;
    unsigned hash_shift;
    size_t hash_size;

    uint32_t *items;
    size_t nitems;
    const uint8_t *block_start;
    const uint8_t *stored_start; /* held-back stored run, or NULL */
    uint32_t litlen_freq[DEFL_NUM_LITLEN];
    uint32_t dist_freq[DEFL_NUM_DIST];

    uint64_t acc; /* pending output bits, the oldest in bit 0 */
    unsigned nbits;
    uint8_t *out_next, *out_end;
    int overflow;
};

/* ---- helpers ------------------------------------------------------------ */

static inline uint16_t
defl_load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t
defl_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t
defl_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void
defl_store_le64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof(v));
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* Length of the common prefix of a and b, known to be at least len, at most max. */
static inline unsigned
defl_extend(const uint8_t *a, const uint8_t *b, unsigned len, unsigned max)
{
    while (len + 8 <= max) {
        uint64_t x = defl_load64(a + len) ^ defl_load64(b + len);
        if (x != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return len + ((unsigned)__builtin_clzll(x) >> 3);
#else
            return len + ((unsigned)__builtin_ctzll(x) >> 3);
#endif
        }
        len += 8;
    }
    while (len < max && a[len] == b[len])
        len++;
    return len;
}

/* RFC 1951 3.2.5 length codes 257..285 as 0..28, from length - 3 (0..255).
 * Codes 8..27 split each power of two into four ranges. */
static inline unsigned
defl_len_slot(unsigned l)
{
    if (l < 8)
        return l;
    if (l == 255) /* 258 has its own code; 284 would decode 258 as 227 + 31 */
        return 28;
    unsigned b = 31 - (unsigned)__builtin_clz(l);
    return 4 * (b - 1) + ((l >> (b - 2)) & 3);
}

static inline unsigned
defl_len_extra(unsigned slot)
{
    return slot < 8 || slot == 28 ? 0 : (slot >> 2) - 1;
}

/* Distance codes 0..29 from distance - 1 (0..32767): two per power of two. */
static inline unsigned
defl_dist_slot(unsigned d)
{
    if (d < 4)
        return d;
    unsigned b = 31 - (unsigned)__builtin_clz(d);
    return 2 * b + ((d >> (b - 1)) & 1);
}

static inline unsigned
defl_dist_extra(unsigned slot)
{
    return slot < 4 ? 0 : (slot >> 1) - 1;
}

/* ---- bit output ---------------------------------------------------------- */

/* v must fit in n bits; at most 56 bits may be pending between flushes. */
static inline void
defl_put(struct defl *s, uint64_t v, unsigned n)
{
    s->acc |= v << s->nbits;
    s->nbits += n;
}

/* Writes out whole bytes, leaving at most 7 bits pending. */
static inline void
defl_flush(struct defl *s)
{
    if (s->out_end - s->out_next >= 8) {
        defl_store_le64(s->out_next, s->acc);
        s->out_next += s->nbits >> 3;
        s->acc = s->nbits >= 8 ? s->acc >> (s->nbits & ~7u) : s->acc;
        s->nbits &= 7;
        return;
    }
    for (; s->nbits >= 8; s->nbits -= 8, s->acc >>= 8) {
        if (s->out_next == s->out_end) {
            s->overflow = 1;
            s->acc = 0;
            s->nbits = 0;
            return;
        }
        *s->out_next++ = (uint8_t)s->acc;
    }
}

/* Pads with zero bits to a byte boundary and writes everything pending. */
static void
defl_align(struct defl *s)
{
    s->nbits = (s->nbits + 7) & ~7u;
    defl_flush(s);
}

/* ---- Huffman codes ------------------------------------------------------- */

static void
defl_sift_down(uint32_t *a, unsigned i, unsigned n)
{
    uint32_t v = a[i];
    for (unsigned c; (c = 2 * i + 1) < n; i = c) {
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[c] <= v)
            break;
        a[i] = a[c];
    }
    a[i] = v;
}

/* Heapsort, ascending. n is at most 288, where qsort's indirect calls (and
 * glibc's temporary buffer) cost more than the sorting. */
static void
defl_sort(uint32_t *a, unsigned n)
{
    for (unsigned i = n / 2; i-- > 0;)
        defl_sift_down(a, i, n);
    for (unsigned end = n; end-- > 1;) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        defl_sift_down(a, 0, end);
    }
}

/* Sets len[0..nsym) to code lengths of at most max_bits for the frequencies
 * freq[0..nsym): optimal when the Huffman tree fits, close to it otherwise.
 * The code is always complete and has at least two symbols, adding unused
 * symbols with weight zero if need be: RFC 1951 permits a lone one-bit code,
 * but decoders disagree about incomplete codes and some reject them. */
static void
defl_huff_lengths(const uint32_t *freq, unsigned nsym, unsigned max_bits, uint8_t *len)
{
    uint32_t key[DEFL_NUM_LITLEN]; /* freq << 9 | symbol, sorted: lightest first */
    uint32_t weight[2 * DEFL_NUM_LITLEN];
    uint16_t parent[2 * DEFL_NUM_LITLEN];
    unsigned depth[2 * DEFL_NUM_LITLEN];
    unsigned count[DEFL_MAX_BITS + 2] = {0};
    unsigned n = 0;

    memset(len, 0, nsym);
    for (unsigned sym = 0; sym < nsym; sym++)
        if (freq[sym] != 0)
            key[n++] = freq[sym] << 9 | sym;
    for (unsigned sym = 0; n < 2; sym++)
        if (freq[sym] == 0)
            key[n++] = sym;
    defl_sort(key, n);

    /* Leaves 0..n-1 come in weight order, and internal nodes n..2n-2 are
     * made in weight order too, so the two lightest are always at the front
     * of one queue or the other. */
    for (unsigned i = 0; i < n; i++)
        weight[i] = key[i] >> 9;
    unsigned leaf = 0, node = n;
    for (unsigned next = n; next < 2 * n - 1; next++) {
        uint32_t w = 0;
        for (int k = 0; k < 2; k++) {
            unsigned pick;
            if (leaf < n && (node == next || weight[leaf] <= weight[node]))
                pick = leaf++;
            else
                pick = node++;
            parent[pick] = (uint16_t)next;
            w += weight[pick];
        }
        weight[next] = w;
    }
    depth[2 * n - 2] = 0;
    for (unsigned i = 2 * n - 2; i-- > 0;)
        depth[i] = depth[parent[i]] + 1;

    int too_long = 0;
    for (unsigned i = 0; i < n; i++) {
        if (depth[i] > max_bits) {
            too_long = 1;
            depth[i] = max_bits;
        }
        count[depth[i]]++;
    }
    if (too_long) {
        /* Kraft sum in units of 2^-max_bits; a complete code has exactly
         * 2^max_bits. Clamping overfilled it: push the deepest leaves that
         * can still go deeper down one level until it fits, then, if that
         * went too far, lift leaves back up until the code is complete. */
        uint32_t target = 1u << max_bits, kraft = 0;
        for (unsigned b = 1; b <= max_bits; b++)
            kraft += count[b] << (max_bits - b);
        while (kraft > target) {
            unsigned b = max_bits - 1;
            while (count[b] == 0)
                b--;
            count[b]--;
            count[b + 1]++;
            kraft -= 1u << (max_bits - b - 1);
        }
        while (kraft < target) {
            unsigned b = max_bits;
            while (count[b] == 0 || (1u << (max_bits - b)) > target - kraft)
                b--;
            count[b]--;
            count[b - 1]++;
            kraft += 1u << (max_bits - b);
        }
    }

    /* The lightest symbols get the longest codes. */
    unsigned i = 0;
    for (unsigned b = max_bits; b >= 1; b--)
        for (unsigned c = count[b]; c > 0; c--)
            len[key[i++] & 511] = (uint8_t)b;
}

/* Canonical codes for the lengths (RFC 1951 3.2.2), bit-reversed because
 * DEFLATE sends Huffman codes most significant bit first into a stream that
 * is otherwise filled from bit 0. */
static void
defl_huff_codes(struct defl_code *c, unsigned nsym)
{
    unsigned count[DEFL_MAX_BITS + 1] = {0}, next[DEFL_MAX_BITS + 1];
    unsigned code = 0;

    for (unsigned sym = 0; sym < nsym; sym++)
        count[c->len[sym]]++;
    count[0] = 0;
    for (unsigned b = 1; b <= DEFL_MAX_BITS; b++) {
        code = (code + count[b - 1]) << 1;
        next[b] = code;
    }
    for (unsigned sym = 0; sym < nsym; sym++) {
        unsigned b = c->len[sym], v = b ? next[b]++ : 0, r = 0;
        for (unsigned k = 0; k < b; k++, v >>= 1)
            r = r << 1 | (v & 1);
        c->bits[sym] = (uint16_t)r;
    }
}

/* RFC 1951 3.2.6: the fixed literal/length code. */
static unsigned
defl_static_litlen_len(unsigned sym)
{
    if (sym < 144)
        return 8;
    if (sym < 256)
        return 9;
    return sym < 280 ? 7 : 8;
}

static void
defl_static_code(struct defl_code *litlen, struct defl_code *dist)
{
    for (unsigned sym = 0; sym < DEFL_NUM_LITLEN; sym++)
        litlen->len[sym] = (uint8_t)defl_static_litlen_len(sym);
    for (unsigned sym = 0; sym < DEFL_NUM_DIST; sym++)
        dist->len[sym] = 5;
    defl_huff_codes(litlen, DEFL_NUM_LITLEN);
    defl_huff_codes(dist, DEFL_NUM_DIST);
}

/* Run-length codes the code lengths of both codes as one sequence with the
 * code length alphabet (RFC 1951 3.2.7): 16 repeats the previous length 3-6
 * times, 17 and 18 give 3-10 and 11-138 zeros. */
static void
defl_rle(struct defl_dynamic *d, const uint8_t *lens, unsigned n, uint32_t *pre_freq)
{
    unsigned k = 0;

    for (unsigned i = 0; i < n;) {
        unsigned v = lens[i], run = 1;
        while (i + run < n && lens[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                unsigned r = run < 138 ? run : 138;
                d->rle_sym[k] = 18;
                d->rle_extra[k++] = (uint8_t)(r - 11);
                run -= r;
            }
            if (run >= 3) {
                d->rle_sym[k] = 17;
                d->rle_extra[k++] = (uint8_t)(run - 3);
                run = 0;
            }
        } else {
            d->rle_sym[k] = (uint8_t)v;
            d->rle_extra[k++] = 0;
            run--;
            while (run >= 3) {
                unsigned r = run < 6 ? run : 6;
                d->rle_sym[k] = 16;
                d->rle_extra[k++] = (uint8_t)(r - 3);
                run -= r;
            }
        }
        for (; run > 0; run--) {
            d->rle_sym[k] = (uint8_t)v;
            d->rle_extra[k++] = 0;
        }
    }
    d->nrle = k;
    for (unsigned j = 0; j < k; j++)
        pre_freq[d->rle_sym[j]]++;
}

/* Builds the block's dynamic codes and returns the size of its header in
 * bits (block type included). */
static uint64_t
defl_build_dynamic(struct defl *s, struct defl_dynamic *d)
{
    static const uint8_t rle_extra_bits[3] = {2, 3, 7};
    uint32_t pre_freq[DEFL_NUM_PRECODE] = {0};
    uint8_t lens[DEFL_NUM_LITLEN + DEFL_NUM_DIST];

    defl_huff_lengths(s->litlen_freq, 286, DEFL_MAX_BITS, d->litlen.len);
    defl_huff_lengths(s->dist_freq, 30, DEFL_MAX_BITS, d->dist.len);
    defl_huff_codes(&d->litlen, 286);
    defl_huff_codes(&d->dist, 30);

    d->hlit = 286;
    while (d->hlit > 257 && d->litlen.len[d->hlit - 1] == 0)
        d->hlit--;
    d->hdist = 30;
    while (d->hdist > 1 && d->dist.len[d->hdist - 1] == 0)
        d->hdist--;
    memcpy(lens, d->litlen.len, d->hlit);
    memcpy(lens + d->hlit, d->dist.len, d->hdist);
    defl_rle(d, lens, d->hlit + d->hdist, pre_freq);

    defl_huff_lengths(pre_freq, DEFL_NUM_PRECODE, DEFL_MAX_PRE_BITS, d->pre.len);
    defl_huff_codes(&d->pre, DEFL_NUM_PRECODE);
    d->hclen = DEFL_NUM_PRECODE;
    while (d->hclen > 4 && d->pre.len[defl_precode_order[d->hclen - 1]] == 0)
        d->hclen--;

    uint64_t bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)d->hclen;
    for (unsigned sym = 0; sym < DEFL_NUM_PRECODE; sym++) {
        unsigned extra = sym >= 16 ? rle_extra_bits[sym - 16] : 0;
        bits += (uint64_t)pre_freq[sym] * (d->pre.len[sym] + extra);
    }
    return bits;
}

/* Bits for the block's symbols under the given code lengths, extra bits excluded. */
static uint64_t
defl_symbol_bits(const struct defl *s, const uint8_t *litlen_len, const uint8_t *dist_len)
{
    uint64_t bits = 0;

    for (unsigned sym = 0; sym < 286; sym++)
        bits += (uint64_t)s->litlen_freq[sym] * litlen_len[sym];
    for (unsigned sym = 0; sym < 30; sym++)
        bits += (uint64_t)s->dist_freq[sym] * dist_len[sym];
    return bits;
}

static uint64_t
defl_extra_bits(const struct defl *s)
{
    uint64_t bits = 0;

    for (unsigned slot = 0; slot < 29; slot++)
        bits += (uint64_t)s->litlen_freq[257 + slot] * defl_len_extra(slot);
    for (unsigned slot = 0; slot < 30; slot++)
        bits += (uint64_t)s->dist_freq[slot] * defl_dist_extra(slot);
    return bits;
}

/* ---- block output -------------------------------------------------------- */

static size_t
defl_stored_chunks(size_t len)
{
    return len == 0 ? 1 : (len + DEFL_STORED_MAX - 1) / DEFL_STORED_MAX;
}

/* Writes p[0..len) as stored blocks (RFC 1951 3.2.4); with last, the final one has BFINAL. */
static void
defl_write_stored(struct defl *s, const uint8_t *p, size_t len, int last)
{
    do {
        size_t chunk = len < DEFL_STORED_MAX ? len : DEFL_STORED_MAX;
        defl_put(s, last && chunk == len, 1);
        defl_put(s, 0, 2);
        defl_align(s);
        if (s->overflow || (size_t)(s->out_end - s->out_next) < 4 + chunk) {
            s->overflow = 1;
            return;
        }
        uint8_t *o = s->out_next;
        o[0] = (uint8_t)chunk;
        o[1] = (uint8_t)(chunk >> 8);
        o[2] = (uint8_t)~chunk;
        o[3] = (uint8_t)(~chunk >> 8);
        if (chunk > 0)
            memcpy(o + 4, p, chunk);
        s->out_next = o + 4 + chunk;
        p += chunk;
        len -= chunk;
    } while (len > 0);
}

static void
defl_flush_stored(struct defl *s, int last)
{
    if (s->stored_start != NULL) {
        defl_write_stored(s, s->stored_start, (size_t)(s->block_start - s->stored_start), last);
        s->stored_start = NULL;
    }
}

static void
defl_write_header(struct defl *s, const struct defl_dynamic *d, int last)
{
    static const uint8_t rle_extra_bits[3] = {2, 3, 7};

    defl_put(s, (unsigned)last, 1);
    defl_put(s, 2, 2);
    defl_put(s, d->hlit - 257, 5);
    defl_put(s, d->hdist - 1, 5);
    defl_put(s, d->hclen - 4, 4);
    defl_flush(s);
    for (unsigned i = 0; i < d->hclen; i++) {
        defl_put(s, d->pre.len[defl_precode_order[i]], 3);
        defl_flush(s);
    }
    for (unsigned i = 0; i < d->nrle; i++) {
        unsigned sym = d->rle_sym[i];
        defl_put(s, d->pre.bits[sym], d->pre.len[sym]);
        if (sym >= 16)
            defl_put(s, d->rle_extra[i], rle_extra_bits[sym - 16]);
        defl_flush(s);
    }
}

/* Writes the buffered items and the end-of-block code with the given codes. */
static void
defl_write_items(struct defl *s, const struct defl_code *litlen, const struct defl_code *dist)
{
    /* Length code and extra bits merged per length: one put per length. */
    uint32_t len_bits[256];
    uint8_t len_nbits[256];

    for (unsigned l = 0; l < 256; l++) {
        unsigned slot = defl_len_slot(l), sym = 257 + slot, extra = defl_len_extra(slot);
        len_bits[l] = litlen->bits[sym] | (l & ((1u << extra) - 1)) << litlen->len[sym];
        len_nbits[l] = (uint8_t)(litlen->len[sym] + extra);
    }
    for (size_t i = 0; i < s->nitems; i++) {
        uint32_t it = s->items[i];
        if (it < 256) {
            defl_put(s, litlen->bits[it], litlen->len[it]);
        } else {
            unsigned l = it & 255, d = (it >> 8) - 1;
            unsigned slot = defl_dist_slot(d), extra = defl_dist_extra(slot);
            defl_put(s, len_bits[l], len_nbits[l]);
            defl_put(s, dist->bits[slot] | (d & ((1u << extra) - 1)) << dist->len[slot],
                     dist->len[slot] + extra);
        }
        defl_flush(s);
    }
    defl_put(s, litlen->bits[DEFL_END_BLOCK], litlen->len[DEFL_END_BLOCK]);
    defl_flush(s);
}

/* Closes the block that covers block_start..end: picks the cheapest encoding
 * and writes it (or holds it back, if stored). */
static void
defl_end_block(struct defl *s, const uint8_t *end, int last)
{
    struct defl_dynamic dyn;
    struct defl_code st_litlen, st_dist;
    size_t len = (size_t)(end - s->block_start);

    s->litlen_freq[DEFL_END_BLOCK] = 1;
    uint64_t extra = defl_extra_bits(s);
    uint64_t dyn_bits =
        defl_build_dynamic(s, &dyn) + extra + defl_symbol_bits(s, dyn.litlen.len, dyn.dist.len);
    uint64_t st_bits = 3 + extra;
    for (unsigned sym = 0; sym < 286; sym++)
        st_bits += (uint64_t)s->litlen_freq[sym] * defl_static_litlen_len(sym);
    for (unsigned sym = 0; sym < 30; sym++)
        st_bits += (uint64_t)s->dist_freq[sym] * 5;

    /* A stored block continues a held-back run if there is one: only the
     * extra 65535-byte headers count. Otherwise 3 bits, padding, LEN, NLEN. */
    uint64_t stored_bits;
    if (s->stored_start != NULL) {
        size_t run = (size_t)(s->block_start - s->stored_start);
        stored_bits = 40 * (uint64_t)(defl_stored_chunks(run + len) - defl_stored_chunks(run));
    } else {
        unsigned pad = (8 - (s->nbits + 3) % 8) % 8;
        stored_bits = 3 + pad + 32 + 40 * (uint64_t)(defl_stored_chunks(len) - 1);
    }
    stored_bits += 8 * (uint64_t)len;

    if (stored_bits <= dyn_bits && stored_bits <= st_bits) {
        if (s->stored_start == NULL)
            s->stored_start = s->block_start;
        s->block_start = end;
        if (last)
            defl_flush_stored(s, 1);
    } else {
        defl_flush_stored(s, 0);
        if (dyn_bits <= st_bits) {
            defl_write_header(s, &dyn, last);
            defl_write_items(s, &dyn.litlen, &dyn.dist);
        } else {
            defl_static_code(&st_litlen, &st_dist);
            defl_put(s, (unsigned)last, 1);
            defl_put(s, 1, 2);
            defl_write_items(s, &st_litlen, &st_dist);
        }
        s->block_start = end;
    }
    s->nitems = 0;
    memset(s->litlen_freq, 0, sizeof(s->litlen_freq));
    memset(s->dist_freq, 0, sizeof(s->dist_freq));
}

/* ---- match finding ------------------------------------------------------- */

static inline uint32_t
defl_hash(const uint8_t *p, unsigned shift)
{
    /* Multiplicative hashing (Knuth, TAOCP 6.4): the top bits of the product
     * depend on all four bytes. */
    return (defl_load32(p) * 0x9E3779B1u) >> shift;
}

/* Entries that were already negative are more than 32 KiB behind the new
 * base and so out of any future window; the others drop by 32768. n is a
 * multiple of 64: the fixed inner count lets the compiler vectorise at -O2. */
static void
defl_slide_table(int16_t *t, size_t n)
{
    for (const int16_t *end = t + n; t < end; t += 64)
        for (int j = 0; j < 64; j++)
            t[j] = t[j] >= 0 ? (int16_t)(t[j] - DEFL_WINDOW) : DEFL_POS_NONE;
}

/* Moves the base 32 KiB forward. Kept out of line: it runs once per 32 KiB. */
__attribute__((noinline)) static void
defl_slide(struct defl *s)
{
    defl_slide_table(s->head, s->hash_size);
    defl_slide_table(s->prev, DEFL_WINDOW);
    s->base += DEFL_WINDOW;
}

/* Enters p into its chain and returns the previous head of that chain. */
static inline int
defl_insert(struct defl *s, const uint8_t *p)
{
    ptrdiff_t rel = p - s->base;
    if (rel >= DEFL_WINDOW) {
        defl_slide(s);
        rel -= DEFL_WINDOW;
    }
    uint32_t h = defl_hash(p, s->hash_shift);
    int cand = s->head[h];
    s->prev[rel & (DEFL_WINDOW - 1)] = (int16_t)cand;
    s->head[h] = (int16_t)rel;
    return cand;
}

/* Finds the longest match for p that is longer than best, walking at most
 * chain candidates; enters p (and any skipped positions) into the chains.
 * Returns the new best length and sets *dist, or returns best unchanged.
 * p must be below hash_end.
 *
 * Matches are at least 4 long: with a 4-byte hash a chain holds only
 * positions that agree on 4 bytes (bar collisions), and a 3-byte match costs
 * about as many bits as its three literals on typical text anyway. */
static inline unsigned
defl_find(struct defl *s, const uint8_t *p, unsigned best, unsigned chain, unsigned *dist)
{
    while (s->ins < p)
        defl_insert(s, s->ins++);
    int cand = defl_insert(s, p);
    s->ins = p + 1;

    size_t left = (size_t)(s->in_end - p);
    unsigned max_len = left < DEFL_MAX_MATCH ? (unsigned)left : DEFL_MAX_MATCH;
    unsigned nice = s->lv.nice_len < max_len ? s->lv.nice_len : max_len;
    if (best >= nice)
        return best;

    const uint8_t *base = s->base;
    int cur = (int)(p - base);
    int cutoff = cur - DEFL_WINDOW;
    uint32_t first4 = defl_load32(p);
    /* Invariant: best < nice <= max_len, so p[best] is inside the input. */
    while (cand > cutoff) {
        const uint8_t *m = base + cand;
        /* The two bytes ending at best must match for a longer match, and
         * they rule out most candidates before the first four are compared. */
        if (defl_load16(m + best - 1) == defl_load16(p + best - 1) && defl_load32(m) == first4) {
            unsigned len = defl_extend(m, p, 4, max_len);
            if (len > best) {
                best = len;
                *dist = (unsigned)(cur - cand);
                if (len >= nice)
                    break;
            }
        }
        if (--chain == 0)
            break;
        cand = s->prev[(unsigned)cand & (DEFL_WINDOW - 1)];
    }
    return best;
}

static inline void
defl_literal(struct defl *s, unsigned c)
{
    s->items[s->nitems++] = c;
    s->litlen_freq[c]++;
}

static inline void
defl_match(struct defl *s, unsigned len, unsigned dist)
{
    s->items[s->nitems++] = dist << 8 | (len - 3);
    s->litlen_freq[257 + defl_len_slot(len - 3)]++;
    s->dist_freq[defl_dist_slot(dist - 1)]++;
}

static void
defl_parse(struct defl *s)
{
    const uint8_t *p = s->in, *end = s->in_end, *hash_end = s->hash_end;
    unsigned max_chain = s->lv.max_chain, lazy_len = s->lv.lazy_len;

    while (p < end) {
        if (s->nitems >= DEFL_BLOCK_ITEMS) {
            defl_end_block(s, p, 0);
            if (s->overflow)
                return;
        }
        unsigned dist = 0, len = 0;
        if (p < hash_end)
            len = defl_find(s, p, DEFL_MIN_MATCH - 1, max_chain, &dist);
        if (len < DEFL_MIN_MATCH) {
            defl_literal(s, *p++);
            continue;
        }
        while (len < lazy_len && p + 1 < hash_end) {
            unsigned dist2 = 0, chain = len >= s->lv.good_len ? max_chain >> 2 : max_chain;
            unsigned len2 = defl_find(s, p + 1, len, chain ? chain : 1, &dist2);
            if (len2 <= len)
                break;
            defl_literal(s, *p++);
            len = len2;
            dist = dist2;
        }
        defl_match(s, len, dist);
        if (len > s->lv.insert_max)
            s->ins = p + len;
        p += len;
    }
    defl_end_block(s, p, 1);
}

/* ---- entry points -------------------------------------------------------- */

static size_t
defl_stored_only(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    struct defl s;

    memset(&s, 0, sizeof(s));
    s.out_next = out;
    s.out_end = out + cap;
    defl_write_stored(&s, in, n, 1);
    return s.overflow ? 0 : (size_t)(s.out_next - out);
}

size_t
deflate_compress(const void *in, size_t n, void *out, size_t cap, int level)
{
    const uint8_t *src = n ? in : (const uint8_t *)"";
    struct defl *s;

    if (cap < 2) /* no stream is shorter */
        return 0;
    if (level < 0)
        level = DEFLATE_DEFAULT_LEVEL;
    if (level > DEFLATE_MAX_LEVEL)
        level = DEFLATE_MAX_LEVEL;
    if (level == 0)
        return defl_stored_only(src, n, out, cap);

    /* Size the tables to the input: a small response should not pay for
     * clearing 64 KiB of hash heads. */
    unsigned hash_bits = 8;
    while (hash_bits < DEFL_HASH_BITS_MAX && ((size_t)1 << hash_bits) < n)
        hash_bits++;
    size_t hash_size = (size_t)1 << hash_bits;
    size_t prev_size = n < DEFL_WINDOW ? n : DEFL_WINDOW;
    size_t items_size = (n < DEFL_BLOCK_ITEMS ? n : DEFL_BLOCK_ITEMS) + DEFL_ITEM_SLACK;
    size_t total = sizeof(*s) + items_size * sizeof(uint32_t) + (hash_size + prev_size) * 2;
    if ((s = malloc(total)) == NULL)
        return defl_stored_only(src, n, out, cap);

    memset(s, 0, sizeof(*s));
    s->lv = defl_levels[level];
    s->in = s->base = s->ins = s->block_start = src;
    s->in_end = src + n;
    s->hash_end = n >= DEFL_MIN_MATCH ? s->in_end - (DEFL_MIN_MATCH - 1) : src;
    s->items = (uint32_t *)(s + 1);
    s->head = (int16_t *)(s->items + items_size);
    s->prev = s->head + hash_size;
    s->hash_size = hash_size;
    s->hash_shift = 32 - hash_bits;
    for (size_t i = 0; i < hash_size; i++)
        s->head[i] = DEFL_POS_NONE;
    /* prev is only read where it was written, but a slide rewrites it all. */
    if (n > DEFL_WINDOW)
        for (size_t i = 0; i < DEFL_WINDOW; i++)
            s->prev[i] = DEFL_POS_NONE;
    s->out_next = out;
    s->out_end = (uint8_t *)out + cap;

    defl_parse(s);
    if (!s->overflow)
        defl_align(s);
    size_t written = s->overflow ? 0 : (size_t)(s->out_next - (uint8_t *)out);
    free(s);
    return written;
}

size_t
deflate_bound(size_t n)
{
    /* Every block costs at most its stored form: 5 bytes per 65535-byte piece
     * plus 3 bits and padding per block (see defl_end_block()). Every block but
     * the last covers at least DEFL_BLOCK_ITEMS bytes, so there are at most
     * n / 16384 + 1 blocks; 5n/65535 + 6n/16384 < n/2048. */
    size_t extra = n / 2048 + 32;
    return n > SIZE_MAX - extra ? SIZE_MAX : n + extra;
}
