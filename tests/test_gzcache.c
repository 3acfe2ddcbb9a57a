/* test_gzcache.c - the shared compressed-file cache: round trips through the
 * system gzip, hits, version changes, LRU eviction under the cap,
 * incompressible files, single-flight and reference counting with threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../handlers/gzcache.c"

/* ---- data and oracles ---- */

static char *
make_text(size_t n, unsigned seed)
{
    static const char *const words[] = {"static ", "server ", "gzip ",  "cache ", "range ",
                                        "etag\n",  "<div>",   "</div>", "0123 ",  "hello "};
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 10];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = w[k];
    }
    return p;
}

static char *
make_random(size_t n, uint64_t seed)
{
    char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p[i] = (char)seed;
    }
    return p;
}

static struct stat
fake_stat(size_t size, long sec, ino_t ino)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFREG | 0644;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = sec;
    st.st_mtim.tv_nsec = 123;
    st.st_ino = ino;
    st.st_dev = 42;
    return st;
}

/* Decompresses with the system gzip and compares with want. */
static void
assert_gunzips_to(const char *gz, size_t gz_len, const char *want, size_t want_len)
{
    char path[] = "/tmp/test_gzcache_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, gz, gz_len), (ssize_t)gz_len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "gzip -dc < %s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = malloc(want_len + 16);
    assert_non_null(out);
    size_t n = fread(out, 1, want_len + 16, f);
    assert_int_equal(pclose(f), 0);
    unlink(path);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
}

static int
temp_file_with(const char *data, size_t n)
{
    char path[] = "/tmp/test_gzcache_src_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    return fd;
}

/* temp_file_with(), and its fstat in *st. */
static int
temp_file_stat(const char *data, size_t n, struct stat *st)
{
    int fd = temp_file_with(data, n);
    assert_int_equal(fstat(fd, st), 0);
    return fd;
}

/* ---- tests ---- */

static void
test_gzcache_round_trip_data_and_fd(void **state)
{
    (void)state;
    size_t n = GZCACHE_INLINE_MAX; /* the largest a descriptor's reader compresses itself */
    char *text = make_text(n, 1);
    struct gzcache *c = gzcache_new(0, 6);
    assert_non_null(c);
    assert_int_equal(c->cap, GZCACHE_DEFAULT_CAP);

    struct stat st = fake_stat(n, 1000, 1);
    struct gzcache_entry *a = gzcache_get(c, SLICE_LIT("a.txt"), &st, -1, text);
    assert_non_null(a);
    assert_true(gzcache_len(a) < n / 2);
    assert_gunzips_to(gzcache_data(a), gzcache_len(a), text, n);

    /* The same file read through a descriptor: its own key, same bytes. */
    int fd = temp_file_with(text, n);
    struct stat real;
    assert_int_equal(fstat(fd, &real), 0);
    struct gzcache_entry *b = gzcache_get(c, SLICE_LIT("b.txt"), &real, fd, NULL);
    assert_non_null(b);
    assert_int_equal(gzcache_len(b), gzcache_len(a));
    assert_memory_equal(gzcache_data(b), gzcache_data(a), gzcache_len(a));
    close(fd);

    assert_int_equal(c->compressions, 2);
    assert_int_equal(c->count, 2);
    gzcache_release(a);
    gzcache_release(b);
    gzcache_free(c);
    free(text);
}

static void
test_gzcache_hit_and_look_only(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = make_text(n, 2);
    struct gzcache *c = gzcache_new(1 << 20, 6);
    struct stat st = fake_stat(n, 1000, 7);

    /* Look-only on a cold file: nothing, and nothing is compressed. */
    assert_null(gzcache_get(c, SLICE_LIT("x.html"), &st, -1, NULL));
    assert_int_equal(c->compressions, 0);

    struct gzcache_entry *a = gzcache_get(c, SLICE_LIT("x.html"), &st, -1, text);
    struct gzcache_entry *b = gzcache_get(c, SLICE_LIT("x.html"), &st, -1, text);
    struct gzcache_entry *l = gzcache_get(c, SLICE_LIT("x.html"), &st, -1, NULL);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, l);
    assert_int_equal(c->compressions, 1);
    /* Same path, other inode: another file. */
    struct stat other = fake_stat(n, 1000, 8);
    assert_null(gzcache_get(c, SLICE_LIT("x.html"), &other, -1, NULL));
    /* refs: table + three holders */
    assert_int_equal(atomic_load(&a->refs), 4);
    gzcache_hold(a);
    gzcache_release(a);
    gzcache_release(a);
    gzcache_release(b);
    gzcache_release(l);
    gzcache_free(c);
    free(text);
}

static void
test_gzcache_version_change(void **state)
{
    (void)state;
    size_t n = 8000;
    char *v1 = make_text(n, 3), *v2 = make_text(n + 100, 4);
    struct gzcache *c = gzcache_new(1 << 20, 6);
    struct stat st1 = fake_stat(n, 1000, 9);
    struct gzcache_entry *a = gzcache_get(c, SLICE_LIT("f.css"), &st1, -1, v1);
    assert_non_null(a);

    /* New mtime: compressed again; the old entry leaves the table but the
     * holder's bytes stay valid. */
    struct stat st2 = fake_stat(n, 1001, 9);
    struct gzcache_entry *b = gzcache_get(c, SLICE_LIT("f.css"), &st2, -1, v1);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_false(a->linked);
    assert_int_equal(c->count, 1);
    assert_int_equal(c->compressions, 2);
    assert_gunzips_to(gzcache_data(a), gzcache_len(a), v1, n);

    /* New size: again. */
    struct stat st3 = fake_stat(n + 100, 1001, 9);
    struct gzcache_entry *d = gzcache_get(c, SLICE_LIT("f.css"), &st3, -1, v2);
    assert_non_null(d);
    assert_int_equal(c->count, 1);
    assert_int_equal(c->compressions, 3);
    assert_gunzips_to(gzcache_data(d), gzcache_len(d), v2, n + 100);

    /* Asking for the older version again replaces the newer: the caller's
     * stat is the truth. */
    assert_null(gzcache_get(c, SLICE_LIT("f.css"), &st2, -1, NULL));
    assert_int_equal(c->count, 0);

    gzcache_release(a);
    gzcache_release(b);
    gzcache_release(d);
    gzcache_free(c);
    free(v1);
    free(v2);
}

static void
test_gzcache_lru_eviction_under_cap(void **state)
{
    (void)state;
    size_t n = 4096;
    char *texts[5];
    for (int i = 0; i < 5; i++)
        texts[i] = make_text(n, 10u + (unsigned)i);
    /* Learn one entry's cost, then allow three. */
    struct gzcache *probe = gzcache_new(1 << 20, 6);
    struct stat st0 = fake_stat(n, 1, 100);
    struct gzcache_entry *e = gzcache_get(probe, SLICE_LIT("f0"), &st0, -1, texts[0]);
    assert_non_null(e);
    size_t cost = entry_cost(e) + 64;
    gzcache_release(e);
    gzcache_free(probe);

    struct gzcache *c = gzcache_new(3 * cost, 6);
    static const char *const names[5] = {"f0", "f1", "f2", "f3", "f4"};
    struct stat st[5];
    for (int i = 0; i < 5; i++)
        st[i] = fake_stat(n, 1, (ino_t)(100 + i));
    for (int i = 0; i < 3; i++) {
        e = gzcache_get(c, slice_make(names[i], 2), &st[i], -1, texts[i]);
        assert_non_null(e);
        gzcache_release(e);
    }
    assert_int_equal(c->count, 3);
    /* Touch f0, so f1 is the least recently used; f3 pushes it out. */
    e = gzcache_get(c, slice_make(names[0], 2), &st[0], -1, NULL);
    assert_non_null(e);
    gzcache_release(e);
    e = gzcache_get(c, slice_make(names[3], 2), &st[3], -1, texts[3]);
    assert_non_null(e);
    assert_true(c->bytes <= c->cap);
    assert_int_equal(c->count, 3);
    struct gzcache_entry *held = e; /* keep f3 held while it gets evicted */

    static const bool present[4] = {true, false, true, true};
    for (int i = 0; i < 4; i++) {
        e = gzcache_get(c, slice_make(names[i], 2), &st[i], -1, NULL);
        if ((e != NULL) != present[i])
            fail_msg("%s: present %d, want %d", names[i], e != NULL, present[i]);
        gzcache_release(e);
    }
    /* Touch f0 and f2 so f3 is the oldest: f4 evicts it while it is held,
     * and its bytes stay good until released. */
    for (int i = 0; i <= 2; i += 2) {
        e = gzcache_get(c, slice_make(names[i], 2), &st[i], -1, NULL);
        assert_non_null(e);
        gzcache_release(e);
    }
    e = gzcache_get(c, slice_make(names[4], 2), &st[4], -1, texts[4]);
    assert_non_null(e);
    gzcache_release(e);
    assert_null(gzcache_get(c, slice_make(names[3], 2), &st[3], -1, NULL));
    assert_false(held->linked);
    assert_gunzips_to(gzcache_data(held), gzcache_len(held), texts[3], n);
    gzcache_release(held);
    assert_true(c->bytes <= c->cap);

    /* The accounting adds up. */
    size_t sum = 0;
    for (struct lru_node *node = c->lru.head; node; node = node->next)
        sum += entry_cost(LRU_ENTRY(node, struct gzcache_entry, lru));
    assert_int_equal(sum, c->bytes);

    gzcache_free(c);
    for (int i = 0; i < 5; i++)
        free(texts[i]);
}

static void
test_gzcache_incompressible_remembered(void **state)
{
    (void)state;
    size_t n = 20000;
    char *noise = make_random(n, 99);
    struct gzcache *c = gzcache_new(1 << 20, 6);
    struct stat st = fake_stat(n, 5, 200);
    assert_null(gzcache_get(c, SLICE_LIT("noise.txt"), &st, -1, noise));
    assert_null(gzcache_get(c, SLICE_LIT("noise.txt"), &st, -1, noise));
    assert_int_equal(c->compressions, 1);
    assert_int_equal(c->count, 1);
    assert_true(c->bytes > 0 && c->bytes < 1024);
    gzcache_free(c);
    free(noise);
}

static void
test_gzcache_larger_than_cap(void **state)
{
    (void)state;
    size_t n = 50000;
    char *text = make_random(n, 5);
    /* Compressible but bigger than the whole cache once compressed. */
    for (size_t i = 0; i < n; i += 2)
        text[i] = 'a';
    struct gzcache *c = gzcache_new(512, 6);
    struct stat st = fake_stat(n, 5, 300);
    struct gzcache_entry *e = gzcache_get(c, SLICE_LIT("big.txt"), &st, -1, text);
    assert_non_null(e);
    assert_false(e->linked);
    assert_int_equal(c->count, 0);
    assert_int_equal(c->bytes, 0);
    assert_gunzips_to(gzcache_data(e), gzcache_len(e), text, n);
    gzcache_release(e);
    gzcache_free(c);
    free(text);
}

static void
test_gzcache_file_changed_while_read(void **state)
{
    (void)state;
    size_t n = 10000;
    char *text = make_text(n, 6);
    int fd = temp_file_with(text, n);
    struct gzcache *c = gzcache_new(1 << 20, 6);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    /* The caller's stat says a bigger file: the read comes up short. */
    struct stat bigger = st;
    bigger.st_size += 10;
    assert_null(gzcache_get(c, SLICE_LIT("t.txt"), &bigger, fd, NULL));
    /* The caller's stat has another mtime: the bytes match no version. */
    struct stat older = st;
    older.st_mtim.tv_sec -= 10;
    assert_null(gzcache_get(c, SLICE_LIT("t.txt"), &older, fd, NULL));
    assert_int_equal(c->count, 0);
    /* With the right stat it works. */
    struct gzcache_entry *e = gzcache_get(c, SLICE_LIT("t.txt"), &st, fd, NULL);
    assert_non_null(e);
    gzcache_release(e);
    close(fd);
    gzcache_free(c);
    free(text);
}

static void
test_gzcache_rejects(void **state)
{
    (void)state;
    char text[1000];
    memset(text, 'a', sizeof(text));
    struct stat st = fake_stat(sizeof(text), 1, 1);
    assert_null(gzcache_get(NULL, SLICE_LIT("a"), &st, -1, text));
    struct gzcache *c = gzcache_new(1 << 20, 6);
    st.st_mode = S_IFIFO | 0644;
    assert_null(gzcache_get(c, SLICE_LIT("a"), &st, -1, text));
    assert_int_equal(c->compressions, 0);
    gzcache_release(NULL);
    gzcache_free(c);
    gzcache_free(NULL);
}

static void
test_gzcache_release_after_free(void **state)
{
    (void)state;
    size_t n = 3000;
    char *text = make_text(n, 8);
    struct gzcache *c = gzcache_new(1 << 20, 6);
    struct stat st = fake_stat(n, 1, 1);
    struct gzcache_entry *e = gzcache_get(c, SLICE_LIT("a"), &st, -1, text);
    assert_non_null(e);
    gzcache_free(c);
    assert_gunzips_to(gzcache_data(e), gzcache_len(e), text, n);
    gzcache_release(e);
    free(text);
}

/* ---- threads ---- */

#define NTHREADS 8

struct flight {
    struct gzcache *c;
    pthread_barrier_t *barrier;
    const char *text;
    struct stat st;
    struct gzcache_entry *got;
};

static void *
flight_main(void *arg)
{
    struct flight *f = arg;
    pthread_barrier_wait(f->barrier);
    f->got = gzcache_get(f->c, SLICE_LIT("hot.js"), &f->st, -1, f->text);
    return NULL;
}

static void
test_gzcache_single_flight(void **state)
{
    (void)state;
    size_t n = 2u << 20; /* long enough to compress that the others arrive meanwhile */
    char *text = make_text(n, 9);
    struct gzcache *c = gzcache_new(0, 6);
    pthread_barrier_t barrier;
    for (int round = 0; round < 3; round++) {
        pthread_t tid[NTHREADS];
        struct flight f[NTHREADS];
        pthread_barrier_init(&barrier, NULL, NTHREADS);
        unsigned long long before = c->compressions;
        for (int i = 0; i < NTHREADS; i++) {
            f[i] = (struct flight){c, &barrier, text, fake_stat(n, 1000 + round, 77), NULL};
            assert_int_equal(pthread_create(&tid[i], NULL, flight_main, &f[i]), 0);
        }
        int hits = 0;
        struct gzcache_entry *ref = NULL;
        for (int i = 0; i < NTHREADS; i++) {
            assert_int_equal(pthread_join(tid[i], NULL), 0);
            if (f[i].got) {
                hits++;
                if (ref)
                    assert_ptr_equal(f[i].got, ref);
                ref = f[i].got;
            }
        }
        pthread_barrier_destroy(&barrier);
        /* Exactly one compression per version; whoever did it got the body,
         * the rest got identity or (arriving after) the same entry. */
        assert_int_equal(c->compressions - before, 1);
        assert_true(hits >= 1);
        if (round == 0)
            assert_gunzips_to(gzcache_data(ref), gzcache_len(ref), text, n);
        for (int i = 0; i < NTHREADS; i++)
            gzcache_release(f[i].got);
        assert_int_equal(c->count, 1);
    }
    gzcache_free(c);
    free(text);
}

struct churn {
    struct gzcache *c;
    char **texts;
    unsigned seed;
    size_t n;
};

static void *
churn_main(void *arg)
{
    struct churn *ch = arg;
    static const char *const names[6] = {"a", "b", "c", "d", "e", "f"};
    unsigned s = ch->seed;
    struct gzcache_entry *held[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 400; i++) {
        s = s * 1103515245u + 12345u;
        int k = (int)((s >> 16) % 6);
        int version = (int)((s >> 8) % 2);
        struct stat st = fake_stat(ch->n, 10 + version, (ino_t)(1 + k));
        struct gzcache_entry *e =
            gzcache_get(ch->c, slice_make(names[k], 1), &st, -1, ch->texts[k]);
        int slot = i % 4;
        if (held[slot]) {
            /* Read the held bytes: ASan/TSan catch a premature free. */
            volatile char sink = gzcache_data(held[slot])[gzcache_len(held[slot]) - 1];
            (void)sink;
            gzcache_release(held[slot]);
        }
        held[slot] = e;
    }
    for (int i = 0; i < 4; i++)
        gzcache_release(held[i]);
    return NULL;
}

static void
test_gzcache_threads_churn(void **state)
{
    (void)state;
    size_t n = 6000;
    char *texts[6];
    for (int i = 0; i < 6; i++)
        texts[i] = make_text(n, 20u + (unsigned)i);
    /* A cap of about two entries: constant eviction while others hold. */
    struct gzcache *c = gzcache_new(2 * (sizeof(struct gzcache_entry) + 1200), 6);
    pthread_t tid[NTHREADS];
    struct churn ch[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        ch[i] = (struct churn){c, texts, 1000u + (unsigned)i, n};
        assert_int_equal(pthread_create(&tid[i], NULL, churn_main, &ch[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    assert_true(c->bytes <= c->cap);
    gzcache_free(c);
    for (int i = 0; i < 6; i++)
        free(texts[i]);
}

/* A file over GZCACHE_INLINE_MAX that the pool cannot take (here: no room
 * in its queue, as before pool_start) goes out as identity, and the asking
 * thread does not compress it either; nothing is kept, so a later request
 * tries again. */
static void
test_gzcache_full_queue_gives_identity(void **state)
{
    (void)state;
    size_t n = GZCACHE_INLINE_MAX + 50000;
    char *text = make_text(n, 10);
    struct stat st;
    int fd = temp_file_stat(text, n, &st);
    struct gzcache *c = gzcache_new(0, 6);
    for (int i = 0; i < 2; i++) {
        assert_null(gzcache_get(c, SLICE_LIT("big.txt"), &st, fd, NULL));
        assert_int_equal(c->compressions, 0);
        assert_int_equal(c->count, 0);
        assert_int_equal(c->jobs, 0);
    }
    close(fd);
    gzcache_free(c);
    free(text);
}

/* A file over GZCACHE_INLINE_MAX is compressed by a pool worker: the asking
 * thread gets NULL at once, and the entry turns ready in the background. */
static void
test_gzcache_large_file_on_pool(void **state)
{
    (void)state;
    assert_int_equal(pool_start(1, 4), 0);
    size_t n = GZCACHE_INLINE_MAX + 50000;
    char *text = make_text(n, 9);
    struct stat st;
    int fd = temp_file_stat(text, n, &st);
    struct gzcache *c = gzcache_new(0, 6);
    assert_null(gzcache_get(c, SLICE_LIT("big.txt"), &st, fd, NULL));
    close(fd); /* the job has its own descriptor */
    struct gzcache_entry *e = NULL;
    for (int i = 0; i < 500 && e == NULL; i++) {
        e = gzcache_get(c, SLICE_LIT("big.txt"), &st, -1, NULL);
        if (e == NULL)
            usleep(10000);
    }
    assert_non_null(e);
    assert_int_equal(c->compressions, 1);
    assert_gunzips_to(gzcache_data(e), gzcache_len(e), text, n);
    gzcache_release(e);
    gzcache_free(c);
    free(text);
}

/* A pool job that holds its worker until a byte arrives on gate[0]. */
struct gate_job {
    struct job job;
    int gate[2];
};

static void
gate_run(struct job *job)
{
    struct gate_job *g = (struct gate_job *)job;
    char b;
    assert_int_equal(read(g->gate[0], &b, 1), 1);
}

static void
gate_done(struct job *job)
{
    (void)job;
}

/* At most GZIP_JOBS_MAX compressions wait for or hold pool workers, even
 * with room left in the queue; the next file goes out as identity, and is
 * not compressed by the asking thread either. */
static void
test_gzcache_pool_jobs_capped(void **state)
{
    (void)state;
    struct gate_job gate = {.job = {.run = gate_run, .done = gate_done, .loop = NULL}};
    assert_int_equal(pipe(gate.gate), 0);
    assert_int_equal(pool_submit(&gate.job), 0); /* the one worker is busy */
    size_t n = GZCACHE_INLINE_MAX + 1000;
    char *text = make_text(n, 11);
    struct gzcache *c = gzcache_new(0, 6);
    int fds[GZIP_JOBS_MAX + 1];
    struct stat st[GZIP_JOBS_MAX + 1];
    static const char *const names[] = {"a.js", "b.js", "c.js", "d.js", "e.js"};
    _Static_assert(GZIP_JOBS_MAX + 1 <= 5, "names for every file");
    for (int i = 0; i <= GZIP_JOBS_MAX; i++) {
        fds[i] = temp_file_stat(text, n, &st[i]);
        struct slice name = slice_make(names[i], strlen(names[i]));
        assert_null(gzcache_get(c, name, &st[i], fds[i], NULL));
        assert_int_equal(c->jobs, i < GZIP_JOBS_MAX ? i + 1 : GZIP_JOBS_MAX);
    }
    assert_int_equal(c->count, GZIP_JOBS_MAX); /* the last one was not kept */
    assert_int_equal(c->compressions, 0);
    assert_int_equal(write(gate.gate[1], "x", 1), 1);
    for (int i = 0; i < 500 && c->compressions < GZIP_JOBS_MAX; i++)
        usleep(10000);
    assert_true(pool_stop(5000));
    assert_int_equal(c->compressions, GZIP_JOBS_MAX);
    assert_int_equal(c->jobs, 0);
    for (int i = 0; i <= GZIP_JOBS_MAX; i++)
        close(fds[i]);
    close(gate.gate[0]);
    close(gate.gate[1]);
    gzcache_free(c);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzcache_round_trip_data_and_fd),
        cmocka_unit_test(test_gzcache_hit_and_look_only),
        cmocka_unit_test(test_gzcache_version_change),
        cmocka_unit_test(test_gzcache_lru_eviction_under_cap),
        cmocka_unit_test(test_gzcache_incompressible_remembered),
        cmocka_unit_test(test_gzcache_larger_than_cap),
        cmocka_unit_test(test_gzcache_file_changed_while_read),
        cmocka_unit_test(test_gzcache_rejects),
        cmocka_unit_test(test_gzcache_release_after_free),
        cmocka_unit_test(test_gzcache_single_flight),
        cmocka_unit_test(test_gzcache_threads_churn),
        cmocka_unit_test(test_gzcache_full_queue_gives_identity), /* before the pool starts */
        cmocka_unit_test(test_gzcache_large_file_on_pool),        /* starts the pool */
        cmocka_unit_test(test_gzcache_pool_jobs_capped),          /* stops it */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
