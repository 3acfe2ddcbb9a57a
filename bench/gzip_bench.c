/* gzip_bench.c - our gzip encoder against the system gzip (and zlib) on a corpus.
 *
 * Usage:
 *   gzip_bench --gen KIND FILE BYTES      write a deterministic sample
 *       (KIND: html css js json log text random)
 *   gzip_bench [--out DIR] FILE...
 *       for levels 1, 6 and 9: compress each FILE with gzip_compress(), with
 *       `gzip -L` and, if python3 is installed, with zlib through python3;
 *       print sizes, ratios and MB/s in a table. With --out, our members are
 *       written to DIR/<name>.<level>.gz for the caller to verify.
 *
 * Timing. Our encoder is called in-process: one measurement repeats the call
 * until at least 20 ms have passed, and the figure quoted is the median of
 * BENCH_RUNS (default 7) measurements. python3 times zlib.compress() the same
 * way, in its own process. gzip runs as a process per file, so each of its
 * runs includes fork, exec and start-up; the median start-up time of `gzip -L`
 * on an empty file is subtracted from the median run. The three are measured
 * one after the other for each file and level, so that a change in machine
 * load hits all of them alike. Totals divide all bytes by the sum of the
 * per-file median times.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gzip.h"

#define BENCH_MAX_FILES 64
#define BENCH_MIN_TIME  0.02

static const int bench_levels[] = {1, 6, 9};
#define BENCH_NLEVELS ((int)(sizeof(bench_levels) / sizeof(bench_levels[0])))

struct bench_result {
    size_t ours_len, gzip_len;
    double ours_sec, gzip_sec, zlib_sec; /* median seconds per compression; < 0: none */
};

struct bench_file {
    const char *path;
    const char *name;
    unsigned char *data;
    size_t len;
    struct bench_result r[BENCH_NLEVELS];
};

/* ---- corpus generation ---------------------------------------------------- */

static uint64_t bench_seed = 0x243F6A8885A308D3u;

static uint32_t
bench_rand(void)
{
    /* xorshift64*: deterministic across runs and hosts */
    bench_seed ^= bench_seed >> 12;
    bench_seed ^= bench_seed << 25;
    bench_seed ^= bench_seed >> 27;
    return (uint32_t)((bench_seed * 0x2545F4914F6CDD1Du) >> 32);
}

static const char *const bench_words[] = {
    "the",     "of",      "and",      "to",      "in",         "is",       "request", "server",
    "client",  "header",  "content",  "length",  "response",   "body",     "value",   "user",
    "session", "cache",   "control",  "version", "connection", "timeout",  "error",   "status",
    "data",    "file",    "path",     "query",   "string",     "number",   "list",    "item",
    "page",    "section", "document", "example", "returns",    "function", "option",  "default",
};
#define BENCH_NWORDS (sizeof(bench_words) / sizeof(bench_words[0]))

static const char *
bench_word(void)
{
    uint32_t a = bench_rand() % BENCH_NWORDS, b = bench_rand() % BENCH_NWORDS;
    return bench_words[a < b ? a : b]; /* skewed towards the front, like real text */
}

static void
bench_sentence(FILE *f, int words)
{
    for (int i = 0; i < words; i++)
        fprintf(f, "%s%s", i ? " " : "", bench_word());
    fputs(". ", f);
}

static void
bench_gen_one(FILE *f, const char *kind, long i)
{
    if (strcmp(kind, "html") == 0) {
        fprintf(f, "<div class=\"entry\" id=\"e%ld\">\n  <h2><a href=\"/%s/%s\">%s</a></h2>\n  <p>",
                i, bench_word(), bench_word(), bench_word());
        bench_sentence(f, 8 + (int)(bench_rand() % 20));
        fputs("</p>\n</div>\n", f);
    } else if (strcmp(kind, "css") == 0) {
        fprintf(f, ".%s-%s > .%s {\n  margin: %upx %upx;\n  color: #%06x;\n  display: %s;\n}\n",
                bench_word(), bench_word(), bench_word(), bench_rand() % 40, bench_rand() % 40,
                bench_rand() % 0x1000000, bench_rand() % 2 ? "block" : "flex");
    } else if (strcmp(kind, "js") == 0) {
        fprintf(f,
                "function %s_%s(%s, %s) {\n  if (%s == null) return %u;\n"
                "  var %s = %s.%s(%s);\n  return %s + %u;\n}\n",
                bench_word(), bench_word(), bench_word(), bench_word(), bench_word(),
                bench_rand() % 100, bench_word(), bench_word(), bench_word(), bench_word(),
                bench_word(), bench_rand() % 1000);
    } else if (strcmp(kind, "json") == 0) {
        fprintf(
            f,
            "%s{\"id\": %ld, \"name\": \"%s %s\", \"score\": %u.%02u, \"tags\": [\"%s\", \"%s\"]}",
            i ? ",\n " : "[", i, bench_word(), bench_word(), bench_rand() % 1000,
            bench_rand() % 100, bench_word(), bench_word());
    } else if (strcmp(kind, "log") == 0) {
        fprintf(f,
                "10.0.%u.%u - - [12/Mar/2024:%02u:%02u:%02u +0000] \"GET /%s/%s HTTP/1.1\" %u %u "
                "\"-\" \"Mozilla/5.0\"\n",
                bench_rand() % 4, bench_rand() % 256, (unsigned)(i / 3600) % 24,
                (unsigned)(i / 60) % 60, (unsigned)i % 60, bench_word(), bench_word(),
                bench_rand() % 8 ? 200u : 404u, bench_rand() % 50000);
    } else {
        bench_sentence(f, 5 + (int)(bench_rand() % 15));
        if (bench_rand() % 4 == 0)
            fputs("\n\n", f);
    }
}

static int
bench_gen(const char *kind, const char *path, long bytes)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    if (strcmp(kind, "random") == 0) {
        for (long i = 0; i < bytes; i++)
            putc((int)(bench_rand() & 0xff), f);
    } else {
        for (long i = 0; ftell(f) < bytes; i++)
            bench_gen_one(f, kind, i);
        if (strcmp(kind, "json") == 0)
            fputs("]\n", f);
    }
    return fclose(f) == 0 ? 0 : 1;
}

/* ---- timing ------------------------------------------------------------------ */

static double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
bench_runs(void)
{
    const char *s = getenv("BENCH_RUNS");
    int n = s ? atoi(s) : 7;
    return n < 1 ? 1 : n > 101 ? 101 : n;
}

/* Median seconds per gzip_compress() call; leaves the output in out. */
static double
bench_ours(const struct bench_file *bf, int level, unsigned char *out, size_t cap, size_t *len)
{
    double samples[101];
    int runs = bench_runs();
    long reps = 1;

    /* Calibrate so that one measurement lasts at least BENCH_MIN_TIME. */
    for (;;) {
        double t = bench_now();
        for (long i = 0; i < reps; i++)
            *len = gzip_compress(bf->data, bf->len, out, cap, level);
        if (bench_now() - t >= BENCH_MIN_TIME || reps >= (1L << 20))
            break;
        reps *= 2;
    }
    for (int r = 0; r < runs; r++) {
        double t = bench_now();
        for (long i = 0; i < reps; i++)
            *len = gzip_compress(bf->data, bf->len, out, cap, level);
        samples[r] = (bench_now() - t) / (double)reps;
    }
    return bench_median(samples, runs);
}

/* Runs `gzip -level -c path > out_path` once; returns wall seconds or -1. */
static double
bench_gzip_once(const char *path, int level, const char *out_path)
{
    char flag[8];
    snprintf(flag, sizeof(flag), "-%d", level);
    double t = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(127);
        execlp("gzip", "gzip", flag, "-c", path, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return bench_now() - t;
}

static double
bench_gzip(const char *path, int level, const char *out_path, size_t *len)
{
    double samples[101];
    int runs = bench_runs();
    struct stat st;

    for (int r = 0; r < runs; r++)
        if ((samples[r] = bench_gzip_once(path, level, out_path)) < 0)
            return -1;
    *len = stat(out_path, &st) == 0 ? (size_t)st.st_size : 0;
    return bench_median(samples, runs);
}

/* zlib via python3, timed like bench_ours(); prints median seconds per call. */
static const char bench_zlib_script[] =
    "import statistics, sys, time, zlib\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "level, runs = int(sys.argv[2]), int(sys.argv[3])\n"
    "reps = 1\n"
    "while True:\n"
    "    t = time.perf_counter()\n"
    "    for _ in range(reps):\n"
    "        zlib.compress(data, level)\n"
    "    if time.perf_counter() - t >= 0.02 or reps >= 1 << 20:\n"
    "        break\n"
    "    reps *= 2\n"
    "samples = []\n"
    "for _ in range(runs):\n"
    "    t = time.perf_counter()\n"
    "    for _ in range(reps):\n"
    "        zlib.compress(data, level)\n"
    "    samples.append((time.perf_counter() - t) / reps)\n"
    "print('%.9f' % statistics.median(samples))\n";

/* Returns zlib's median seconds per compression, or -1 without python3. */
static double
bench_zlib(const char *path, int level)
{
    char lv[16], runs[16], buf[64];
    int fds[2];
    snprintf(lv, sizeof(lv), "%d", level);
    snprintf(runs, sizeof(runs), "%d", bench_runs());
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (dup2(fds[1], 1) < 0 || (null >= 0 && dup2(null, 2) < 0))
            _exit(127);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", "-c", bench_zlib_script, path, lv, runs, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    ssize_t r;
    size_t got = 0;
    while (got < sizeof(buf) - 1 && (r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return got > 0 ? atof(buf) : -1;
}

/* ---- main ------------------------------------------------------------------------ */

static int
bench_load(struct bench_file *bf, const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    bf->path = path;
    bf->name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    bf->len = (size_t)st.st_size;
    bf->data = malloc(bf->len ? bf->len : 1);
    if (bf->data == NULL || fread(bf->data, 1, bf->len, f) != bf->len) {
        fprintf(stderr, "%s: read failed\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static void
bench_mbps(char *buf, size_t len, double bytes, double sec)
{
    if (sec > 0)
        snprintf(buf, len, "%8.1f", bytes / sec / 1e6);
    else
        snprintf(buf, len, "%8s", "-");
}

static void
bench_row(const char *name, size_t len, int level, const struct bench_result *r)
{
    char ours[16], gz[16], zl[16];
    bench_mbps(ours, sizeof(ours), (double)len, r->ours_sec);
    bench_mbps(gz, sizeof(gz), (double)len, r->gzip_sec);
    bench_mbps(zl, sizeof(zl), (double)len, r->zlib_sec);
    double base = len ? (double)len : 1;
    printf("%-22.22s %10zu  %d | %10zu %7.2f%% %s | %10zu %7.2f%% %s | %s | %+7.2f%%\n", name, len,
           level, r->ours_len, 100.0 * (double)r->ours_len / base, ours, r->gzip_len,
           100.0 * (double)r->gzip_len / base, gz, zl,
           r->gzip_len ? 100.0 * ((double)r->ours_len / (double)r->gzip_len - 1) : 0.0);
}

int
main(int argc, char **argv)
{
    static struct bench_file files[BENCH_MAX_FILES];
    const char *out_dir = NULL;
    int nfiles = 0, i = 1;

    if (argc == 5 && strcmp(argv[1], "--gen") == 0)
        return bench_gen(argv[2], argv[3], atol(argv[4]));
    for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        if (strcmp(argv[i], "--out") == 0)
            out_dir = argv[i + 1];
    }
    for (; i < argc && nfiles < BENCH_MAX_FILES; i++)
        if (bench_load(&files[nfiles], argv[i]) == 0)
            nfiles++;
    if (nfiles == 0) {
        fprintf(stderr,
                "usage: %s [--out DIR] FILE...\n"
                "       %s --gen KIND FILE BYTES\n",
                argv[0], argv[0]);
        return 2;
    }

    char tmp[4096], empty[4096];
    const char *dir = out_dir ? out_dir : "/tmp";
    snprintf(tmp, sizeof(tmp), "%s/gzip_bench.%ld.gz", dir, (long)getpid());
    snprintf(empty, sizeof(empty), "%s/gzip_bench.%ld.empty", dir, (long)getpid());
    FILE *ef = fopen(empty, "wb");
    if (ef == NULL) {
        perror(empty);
        return 1;
    }
    fclose(ef);

    double startup[BENCH_NLEVELS];
    for (int l = 0; l < BENCH_NLEVELS; l++) {
        size_t dummy;
        startup[l] = bench_gzip(empty, bench_levels[l], tmp, &dummy);
    }

    printf(
        "%d runs per figure, medians. gzip start-up (%.2f ms median) subtracted from its times.\n",
        bench_runs(), startup[1] * 1e3);
    printf("%-22s %10s %2s | %-28s | %-28s | %8s | %s\n", "", "", "", "ours (gzip_compress)",
           "gzip -L (system)", "zlib -L", "ours vs");
    printf("%-22s %10s %2s | %10s %8s %8s | %10s %8s %8s | %8s | %s\n", "file", "bytes", "L",
           "bytes", "ratio", "MB/s", "bytes", "ratio", "MB/s", "MB/s", "gzip size");
    for (int f = 0; f < nfiles; f++) {
        struct bench_file *bf = &files[f];
        size_t cap = gzip_bound(bf->len);
        unsigned char *out = malloc(cap);
        if (out == NULL)
            return 1;
        for (int l = 0; l < BENCH_NLEVELS; l++) {
            struct bench_result *r = &bf->r[l];
            r->ours_sec = bench_ours(bf, bench_levels[l], out, cap, &r->ours_len);
            r->gzip_sec = bench_gzip(bf->path, bench_levels[l], tmp, &r->gzip_len);
            if (r->gzip_sec >= 0)
                r->gzip_sec -= startup[l];
            r->zlib_sec = bench_zlib(bf->path, bench_levels[l]);
            if (out_dir) {
                char path[4096 + 64];
                snprintf(path, sizeof(path), "%s/%s.%d.gz", out_dir, bf->name, bench_levels[l]);
                FILE *o = fopen(path, "wb");
                if (o == NULL || fwrite(out, 1, r->ours_len, o) != r->ours_len || fclose(o) != 0)
                    perror(path);
            }
            bench_row(bf->name, bf->len, bench_levels[l], r);
        }
        free(out);
    }

    /* The size target is about compressible payloads, so those get their own
     * totals: files that gzip -6 shrinks below 90%. */
    for (int pass = 0; pass < 2; pass++) {
        printf(pass ? "\ntotals, compressible files only\n"
                    : "\ntotals (MB/s = all bytes / sum of median times)\n");
        for (int l = 0; l < BENCH_NLEVELS; l++) {
            struct bench_result t = {0, 0, 0, 0, 0};
            size_t len = 0;
            for (int f = 0; f < nfiles; f++) {
                const struct bench_result *r = &files[f].r[l];
                if (pass && (double)files[f].r[1].gzip_len >= 0.9 * (double)files[f].len)
                    continue;
                len += files[f].len;
                t.ours_len += r->ours_len;
                t.gzip_len += r->gzip_len;
                t.ours_sec += r->ours_sec;
                t.gzip_sec = t.gzip_sec < 0 || r->gzip_sec <= 0 ? -1 : t.gzip_sec + r->gzip_sec;
                t.zlib_sec = t.zlib_sec < 0 || r->zlib_sec < 0 ? -1 : t.zlib_sec + r->zlib_sec;
            }
            bench_row(pass ? "TOTAL compressible" : "TOTAL", len, bench_levels[l], &t);
        }
    }
    unlink(tmp);
    unlink(empty);
    return 0;
}
