/* test_gzip.c - gzip/DEFLATE encoder: round trips through the system gzip.
 *
 * We link no inflater, so the oracle is `gzip -dc`: compressed members are
 * written to a temporary file (several members back to back, which gzip
 * decodes as the concatenation of their contents) and its output is compared
 * byte for byte with the input. Header, trailer, size bound and the
 * cap-too-small contract are checked directly, and the Huffman length limiter
 * is checked on its own with frequencies that force it to work. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../http/crc32.c"
#include "../http/deflate.c"
#include "../http/gzip.c"

/* ---- data ----------------------------------------------------------------- */

static uint32_t
rnd(uint64_t *s)
{
    /* splitmix64: fixed seeds give the same data on every run */
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint8_t *
xmalloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd(&seed);
}

/* English-like words with a skewed choice, spaces, punctuation, newlines. */
static void
fill_text(uint8_t *p, size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "the",     "of",       "and",       "to",       "a",         "in",      "is",
        "that",    "for",      "it",        "as",       "with",      "be",      "on",
        "not",     "this",     "by",        "are",      "or",        "from",    "at",
        "which",   "have",     "an",        "license",  "server",    "request", "response",
        "header",  "content",  "program",   "software", "copyright", "source",  "code",
        "without", "warranty", "terms",     "free",     "modify",    "version", "public",
        "<div>",   "</div>",   "{\"id\": ", "\"name\"", "return ",   "(x)",     "[];",
    };
    size_t nwords = sizeof(words) / sizeof(words[0]);
    size_t i = 0, col = 0;
    while (i < n) {
        uint32_t r = rnd(&seed);
        /* min of two uniforms: small indexes are more likely */
        size_t a = r % nwords, b = (r >> 16) % nwords;
        const char *w = words[a < b ? a : b];
        for (; *w != '\0' && i < n; w++, col++)
            p[i++] = (uint8_t)*w;
        if (i < n) {
            uint32_t k = (r >> 8) % 16;
            p[i++] = col > 70 ? '\n' : k == 0 ? ',' : k == 1 ? '.' : ' ';
            if (col > 70)
                col = 0;
        }
    }
}

/* Bytes drawn from an alphabet of k symbols, optionally in runs. */
static void
fill_alphabet(uint8_t *p, size_t n, unsigned k, unsigned max_run, uint64_t seed)
{
    uint8_t alpha[256];
    for (unsigned i = 0; i < 256; i++)
        alpha[i] = (uint8_t)i;
    for (unsigned i = 255; i > 0; i--) {
        unsigned j = rnd(&seed) % (i + 1);
        uint8_t t = alpha[i];
        alpha[i] = alpha[j];
        alpha[j] = t;
    }
    for (size_t i = 0; i < n;) {
        uint8_t c = alpha[rnd(&seed) % k];
        size_t run = max_run > 1 ? 1 + rnd(&seed) % max_run : 1;
        for (; run > 0 && i < n; run--)
            p[i++] = c;
    }
}

/* Copies of earlier data at random distances, some near and past 32 KiB. */
static void
fill_lz(uint8_t *p, size_t n, uint64_t seed)
{
    static const size_t far[] = {1, 2, 3, 4, 257, 4096, 32767, 32768, 32769, 40000};
    for (size_t i = 0; i < n;) {
        uint32_t r = rnd(&seed);
        if (i < 16 || r % 5 == 0) {
            p[i++] = (uint8_t)(rnd(&seed) % 64 + ' ');
            continue;
        }
        size_t dist = r % 3 == 0 ? far[rnd(&seed) % 10] : 1 + rnd(&seed) % (i < 60000 ? i : 60000);
        if (dist > i)
            dist = i;
        size_t len = 3 + rnd(&seed) % (r % 7 == 0 ? 400 : 20);
        for (; len > 0 && i < n; len--, i++)
            p[i] = p[i - dist];
    }
}

/* Literal counts in Fibonacci proportion: the Huffman tree gets deeper than
 * 15 levels inside one block, so the length limiter must step in. */
static void
fill_fibonacci(uint8_t *p, size_t n, uint64_t seed)
{
    uint32_t fib[24] = {1, 1};
    uint32_t total = 2;
    for (int i = 2; i < 24; i++) {
        fib[i] = fib[i - 1] + fib[i - 2];
        total += fib[i];
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd(&seed) % total;
        int sym = 0;
        while (r >= fib[sym])
            r -= fib[sym++];
        p[i] = (uint8_t)(sym * 11);
    }
}

/* ---- checking --------------------------------------------------------------- */

static uint32_t
get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Compresses, checks header, trailer and bound; returns the member. */
static uint8_t *
compress_checked(const uint8_t *in, size_t n, int level, size_t *len)
{
    size_t cap = gzip_bound(n);
    uint8_t *out = xmalloc(cap);
    *len = gzip_compress(in, n, out, cap, level);
    assert_true(*len >= 20);
    assert_true(*len <= cap);
    assert_int_equal(out[0], 0x1f);
    assert_int_equal(out[1], 0x8b);
    assert_int_equal(out[2], 8);
    assert_int_equal(out[3], 0);
    assert_int_equal(get_le32(out + 4), 0);
    assert_int_equal(out[9], 255);
    assert_int_equal(get_le32(out + *len - 8), crc32_update(0, in, n));
    assert_int_equal(get_le32(out + *len - 4), (uint32_t)n);
    return out;
}

/* A batch of members and the inputs they should decode to. */
struct batch {
    FILE *gz;
    char path[4096];
    uint8_t *expect;
    size_t expect_len, expect_cap;
    size_t ends[1024]; /* end of each member's input in expect */
    size_t nmembers;
};

static void
batch_init(struct batch *b)
{
    const char *dir = getenv("TMPDIR");
    memset(b, 0, sizeof(*b));
    snprintf(b->path, sizeof(b->path), "%s/test_gzip.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(b->path);
    assert_true(fd >= 0);
    b->gz = fdopen(fd, "wb");
    assert_non_null(b->gz);
}

/* Compresses in[0..n) into the batch; returns the member's size. */
static size_t
batch_add(struct batch *b, const uint8_t *in, size_t n, int level)
{
    size_t len;
    uint8_t *out = compress_checked(in, n, level, &len);
    assert_int_equal(fwrite(out, 1, len, b->gz), len);
    free(out);
    if (b->expect_len + n > b->expect_cap) {
        b->expect_cap = (b->expect_len + n) * 2;
        b->expect = realloc(b->expect, b->expect_cap);
        assert_non_null(b->expect);
    }
    if (n > 0)
        memcpy(b->expect + b->expect_len, in, n);
    b->expect_len += n;
    assert_true(b->nmembers < sizeof(b->ends) / sizeof(b->ends[0]));
    b->ends[b->nmembers++] = b->expect_len;
    return len;
}

/* Runs `gzip -dc < path` and returns everything it printed. */
static uint8_t *
gunzip_file(const char *path, size_t cap, size_t *got, int *status)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fds[1], 1) < 0)
            _exit(127);
        close(fds[0]);
        close(fds[1]);
        execlp("gzip", "gzip", "-dc", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    uint8_t *buf = xmalloc(cap);
    ssize_t r;
    *got = 0;
    /* Reads one byte past the expected length, so extra output shows. */
    while (*got < cap &&
           ((r = read(fds[0], buf + *got, cap - *got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            *got += (size_t)r;
    close(fds[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return buf;
}

/* Runs gzip -dc over the batch and compares; names the first bad member. */
static void
batch_check(struct batch *b)
{
    size_t got, diff = 0;
    int status;
    assert_int_equal(fclose(b->gz), 0);
    uint8_t *buf = gunzip_file(b->path, b->expect_len + 1, &got, &status);
    unlink(b->path);
    while (diff < got && diff < b->expect_len && buf[diff] == b->expect[diff])
        diff++;
    if (status != 0 || got != b->expect_len || diff != got) {
        size_t m = 0;
        while (m < b->nmembers && b->ends[m] <= diff)
            m++;
        fail_msg("gzip -dc status %d, %zu of %zu bytes, first difference at %zu (member %zu)",
                 status, got, b->expect_len, diff, m);
    }
    free(buf);
    free(b->expect);
}

static void
roundtrip(const uint8_t *in, size_t n, int level)
{
    struct batch b;
    batch_init(&b);
    batch_add(&b, in, n, level);
    batch_check(&b);
}

/* ---- tests --------------------------------------------------------------------- */

static void
test_gzip_empty(void **state)
{
    (void)state;
    for (int level = 0; level <= 9; level++)
        roundtrip(NULL, 0, level);
    size_t len;
    uint8_t *out = compress_checked((const uint8_t *)"", 0, 6, &len);
    assert_int_equal(len, 20); /* header, a 2-byte static block, trailer */
    free(out);
}

static void
test_gzip_one_byte(void **state)
{
    struct batch b;
    (void)state;
    batch_init(&b);
    for (int c = 0; c < 256; c += 51)
        for (int level = 0; level <= 9; level++) {
            uint8_t in = (uint8_t)c;
            batch_add(&b, &in, 1, level);
        }
    batch_check(&b);
}

static void
test_gzip_block_edges(void **state)
{
    static const size_t sizes[] = {2,     3,     4,     5,     257,   258,   259,   16383,
                                   16384, 16385, 32767, 32768, 32769, 65535, 65536, 65537};
    uint8_t *in = xmalloc(65537);
    struct batch b;
    (void)state;
    batch_init(&b);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill_random(in, sizes[i], i);
        batch_add(&b, in, sizes[i], 6);
        fill_text(in, sizes[i], i);
        batch_add(&b, in, sizes[i], 1);
        batch_add(&b, in, sizes[i], 6);
        batch_add(&b, in, sizes[i], 9);
        memset(in, 'a', sizes[i]);
        batch_add(&b, in, sizes[i], 6);
    }
    batch_check(&b);
    free(in);
}

static void
test_gzip_random_1mib_every_level(void **state)
{
    enum { N = 1 << 20 };
    uint8_t *in = xmalloc(N);
    struct batch b;
    (void)state;
    fill_random(in, N, 42);
    batch_init(&b);
    for (int level = 1; level <= 9; level++) {
        size_t len = batch_add(&b, in, N, level);
        /* Stored blocks of 65535 bytes: 5 bytes each, then the 18 of gzip. */
        assert_true(len <= N + 5 * (N / 65535 + 1) + 18);
        assert_true((double)(len - 18 - N) <= 0.0005 * N);
    }
    batch_check(&b);
    free(in);
}

static void
test_gzip_repetitive_8mib(void **state)
{
    enum { N = 8 << 20 };
    uint8_t *in = xmalloc(N);
    uint64_t seed = 7;
    struct batch b;
    (void)state;
    /* A 1000-byte phrase repeated with a mutation now and then. */
    fill_text(in, 1000, 3);
    for (size_t i = 1000; i < N; i++)
        in[i] = rnd(&seed) % 4096 == 0 ? (uint8_t)rnd(&seed) : in[i - 1000];
    batch_init(&b);
    assert_true(batch_add(&b, in, N, 6) < N / 100);
    batch_add(&b, in, N, 1);
    memset(in, 0, N);
    batch_add(&b, in, N, 9);
    batch_check(&b);
    free(in);
}

static void
test_gzip_text_every_level(void **state)
{
    enum { N = 300000 };
    uint8_t *in = xmalloc(N);
    size_t sizes[10];
    struct batch b;
    (void)state;
    fill_text(in, N, 99);
    batch_init(&b);
    for (int level = 0; level <= 9; level++)
        sizes[level] = batch_add(&b, in, N, level);
    batch_check(&b);
    /* Stored is stored; compressing levels shrink text, 9 at least as well as 1. */
    assert_true(sizes[0] > N);
    for (int level = 1; level <= 9; level++)
        assert_true(sizes[level] < N / 2);
    assert_true(sizes[9] <= sizes[1]);
    assert_true(sizes[6] <= sizes[1]);
    free(in);
}

static void
test_gzip_randomized_roundtrips(void **state)
{
    enum { MAX = 200000 };
    uint8_t *in = xmalloc(MAX);
    uint64_t seed = 2024;
    struct batch b;
    (void)state;
    batch_init(&b);
    for (int round = 0; round < 240; round++) {
        uint32_t r = rnd(&seed);
        size_t n = r % 4 == 0   ? rnd(&seed) % 300
                   : r % 4 == 1 ? rnd(&seed) % 5000
                                : rnd(&seed) % MAX;
        int level = (int)(rnd(&seed) % 10);
        switch (round % 6) {
        case 0:
            fill_alphabet(in, n, 2 + rnd(&seed) % 255, 1, rnd(&seed));
            break;
        case 1:
            fill_alphabet(in, n, 2 + rnd(&seed) % 255, 2 + rnd(&seed) % 300, rnd(&seed));
            break;
        case 2:
            fill_lz(in, n, rnd(&seed));
            break;
        case 3:
            fill_text(in, n, rnd(&seed));
            break;
        case 4:
            fill_fibonacci(in, n, rnd(&seed));
            break;
        default:
            /* Segments of different kinds, so block types change mid-stream. */
            for (size_t off = 0; off < n;) {
                size_t seg = 1 + rnd(&seed) % 40000;
                if (seg > n - off)
                    seg = n - off;
                if (rnd(&seed) % 2)
                    fill_random(in + off, seg, rnd(&seed));
                else
                    fill_text(in + off, seg, rnd(&seed));
                off += seg;
            }
            break;
        }
        batch_add(&b, in, n, level);
    }
    batch_check(&b);
    free(in);
}

static void
test_gzip_bound_holds(void **state)
{
    static const size_t sizes[] = {0, 1, 17, 100, 1000, 16384, 65535, 65536, 65537, 300000};
    uint8_t *in = xmalloc(300000);
    (void)state;
    assert_true(gzip_bound(0) >= 20);
    assert_int_equal(gzip_bound(SIZE_MAX), SIZE_MAX);
    assert_int_equal(deflate_bound(SIZE_MAX - 10), SIZE_MAX);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int level = 0; level <= 9; level++) {
            size_t n = sizes[i];
            fill_random(in, n, 1000 + i);
            /* Nearly random: a small alphabet of random 8-byte words, where
             * dynamic and stored blocks cost about the same. */
            uint64_t seed = i;
            if (level % 2)
                for (size_t j = 8; j < n; j++)
                    if (rnd(&seed) % 3 == 0)
                        in[j] = in[j - 8];
            size_t cap = gzip_bound(n), len;
            uint8_t *out = xmalloc(cap);
            len = gzip_compress(in, n, out, cap, level);
            assert_true(len > 0 && len <= cap);
            free(out);
        }
    }
    free(in);
}

static void
test_gzip_cap_too_small(void **state)
{
    static const size_t sizes[] = {0, 1, 100, 5000, 70000, 200000};
    uint8_t *in = xmalloc(200000);
    (void)state;
    for (size_t i = 0; i < 2 * sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int level = 0; level <= 9; level += 3) {
            size_t n = sizes[i / 2], len;
            if (i % 2)
                fill_random(in, n, i);
            else
                fill_text(in, n, i);
            uint8_t *ref = compress_checked(in, n, level, &len);
            uint8_t *out = xmalloc(len);
            /* Exactly enough works and gives the same bytes; one less fails. */
            assert_int_equal(gzip_compress(in, n, out, len, level), len);
            assert_memory_equal(out, ref, len);
            assert_int_equal(gzip_compress(in, n, out, len - 1, level), 0);
            assert_int_equal(gzip_compress(in, n, out, len / 2, level), 0);
            assert_int_equal(gzip_compress(in, n, out, 18, level), 0);
            assert_int_equal(gzip_compress(in, n, out, 0, level), 0);
            assert_int_equal(deflate_compress(in, n, out, len - 19, level), 0);
            assert_int_equal(deflate_compress(in, n, out, len - 18, level), len - 18);
            free(out);
            free(ref);
        }
    }
    free(in);
}

static void
test_gzip_header_fields(void **state)
{
    static const uint8_t xfl[10] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 2};
    const char *msg = "hello, hello, hello world\n";
    (void)state;
    for (int level = 0; level <= 9; level++) {
        size_t len;
        uint8_t *out = compress_checked((const uint8_t *)msg, strlen(msg), level, &len);
        assert_int_equal(out[8], xfl[level]);
        free(out);
    }
    /* Levels out of range act as their nearest meaning: -1 is 6, 10+ is 9. */
    size_t a, c;
    uint8_t *six = compress_checked((const uint8_t *)msg, strlen(msg), 6, &a);
    uint8_t *dflt = compress_checked((const uint8_t *)msg, strlen(msg), -1, &c);
    assert_int_equal(a, c);
    assert_memory_equal(six, dflt, a);
    free(six);
    free(dflt);
    uint8_t *nine = compress_checked((const uint8_t *)msg, strlen(msg), 9, &a);
    uint8_t *big = compress_checked((const uint8_t *)msg, strlen(msg), 42, &c);
    assert_int_equal(a, c);
    assert_memory_equal(nine, big, a);
    free(nine);
    free(big);
}

static void
check_code(const uint32_t *freq, unsigned nsym, unsigned max_bits)
{
    uint8_t len[DEFL_NUM_LITLEN];
    uint64_t kraft = 0;
    unsigned used = 0;
    defl_huff_lengths(freq, nsym, max_bits, len);
    for (unsigned s = 0; s < nsym; s++) {
        assert_true(len[s] <= max_bits);
        if (freq[s] != 0)
            assert_true(len[s] > 0);
        if (len[s] != 0) {
            used++;
            kraft += (uint64_t)1 << (max_bits - len[s]);
        }
    }
    /* Complete (Kraft sum exactly 1) with at least two codes. */
    assert_true(used >= 2);
    assert_int_equal(kraft, (uint64_t)1 << max_bits);
}

static void
test_deflate_huffman_lengths(void **state)
{
    uint32_t freq[DEFL_NUM_LITLEN];
    uint64_t seed = 5;
    (void)state;
    /* Fibonacci weights make the deepest possible trees. */
    for (unsigned nsym = 2; nsym <= 30; nsym++) {
        memset(freq, 0, sizeof(freq));
        uint32_t a = 1, b = 1;
        for (unsigned s = 0; s < nsym; s++) {
            freq[s] = a;
            uint32_t t = a + b;
            a = b;
            b = t;
        }
        check_code(freq, 286, DEFL_MAX_BITS);
        check_code(freq, 30, DEFL_MAX_BITS);
        check_code(freq, 19, DEFL_MAX_PRE_BITS);
    }
    /* None, one, and random sparse or skewed sets. */
    memset(freq, 0, sizeof(freq));
    check_code(freq, 30, DEFL_MAX_BITS);
    freq[7] = 100;
    check_code(freq, 30, DEFL_MAX_BITS);
    for (int round = 0; round < 500; round++) {
        unsigned nsym = round % 3 == 0 ? 19 : round % 3 == 1 ? 30 : 286;
        unsigned max = nsym == 19 ? DEFL_MAX_PRE_BITS : DEFL_MAX_BITS;
        for (unsigned s = 0; s < nsym; s++) {
            uint32_t r = rnd(&seed);
            freq[s] = r % 3 == 0 ? 0 : (1u << (r >> 8) % 16) + (r >> 24);
        }
        check_code(freq, nsym, max);
    }
}

struct job {
    const uint8_t *in;
    size_t n;
    uint8_t *out;
    size_t len;
};

static void *
compress_job(void *arg)
{
    struct job *j = arg;
    j->len = gzip_compress(j->in, j->n, j->out, gzip_bound(j->n), 6);
    return NULL;
}

static void
test_gzip_threads(void **state)
{
    enum { N = 200000, T = 4 };
    uint8_t *in = xmalloc(N);
    struct job jobs[T];
    pthread_t tid[T];
    size_t ref_len;
    (void)state;
    fill_text(in, N, 11);
    uint8_t *ref = compress_checked(in, N, 6, &ref_len);
    for (int i = 0; i < T; i++) {
        jobs[i] = (struct job){in, N, xmalloc(gzip_bound(N)), 0};
        assert_int_equal(pthread_create(&tid[i], NULL, compress_job, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(jobs[i].len, ref_len);
        assert_memory_equal(jobs[i].out, ref, ref_len);
        free(jobs[i].out);
    }
    free(ref);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_empty),
        cmocka_unit_test(test_gzip_one_byte),
        cmocka_unit_test(test_gzip_header_fields),
        cmocka_unit_test(test_deflate_huffman_lengths),
        cmocka_unit_test(test_gzip_block_edges),
        cmocka_unit_test(test_gzip_cap_too_small),
        cmocka_unit_test(test_gzip_bound_holds),
        cmocka_unit_test(test_gzip_text_every_level),
        cmocka_unit_test(test_gzip_random_1mib_every_level),
        cmocka_unit_test(test_gzip_repetitive_8mib),
        cmocka_unit_test(test_gzip_randomized_roundtrips),
        cmocka_unit_test(test_gzip_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
