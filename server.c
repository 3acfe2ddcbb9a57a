/* server.c - command line, configuration, listening socket, threads, signals.
 *
 * main() parses flags into a struct server_config, opens the directory and
 * the listening socket (failing with one line and exit 1 if either is
 * wrong), starts the job pool and one event loop per thread, then waits for
 * a signal: SIGHUP reopens the access log, SIGINT/SIGTERM drain and exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gzcache.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "router.h"
#include "tlspipe.h"

static const char usage_text[] =
    "usage: server [options]\n"
    "\n"
    "A small HTTP/1.1 server: /echo/{s}, /user-agent, /files/{name}, POST /mail,\n"
    "and a static site from --directory.\n"
    "\n"
    "Server:\n"
    "  -d, --directory DIR       serve and store files in DIR (default: none)\n"
    "  -p, --port N              TCP port (default: 4221)\n"
    "  -b, --bind ADDR           address to listen on (default: 127.0.0.1)\n"
    "  -t, --threads N           event-loop threads (default: number of cores)\n"
    "      --reuseport           share the port with other server processes\n"
    "      --drain-time MS       on SIGTERM, answer /healthz with 503 for MS while\n"
    "                            still serving, then stop (default: 0)\n"
    "      --trusted-proxy ADDRS comma-separated proxy addresses whose X-Forwarded-For\n"
    "                            names the client in the access log (default: none)\n"
    "  -q, --quiet               no access log\n"
    "      --log FILE            access log to FILE instead of stdout (SIGHUP reopens)\n"
    "      --trace               print every request and response head, and the SMTP\n"
    "                            dialogue, to stderr as they cross the wire\n"
    "  -h, --help                this text\n"
    "  -V, --version             version and build options\n"
    "\n"
    "Limits:\n"
    "      --keepalive-timeout MS  close idle keep-alive connections after MS (default: 5000)\n"
    "      --head-timeout MS     a request head must arrive within MS (default: 10000)\n"
    "      --body-timeout MS     a request body must progress every MS (default: 30000)\n"
    "      --write-timeout MS    drop a client that reads nothing for MS (default: 30000)\n"
    "      --max-requests N      requests per connection (default: 1000)\n"
    "      --max-upload BYTES    largest POST /files body (default: 67108864)\n"
    "\n"
    "gzip:\n"
    "      --gzip-level N        1 (fast) to 9 (small) (default: 6)\n"
    "      --gzip-max BYTES      larger bodies go out uncompressed (default: 8388608)\n"
    "      --gzip-cache BYTES    memory for compressed static files; 0 sends them\n"
    "                            uncompressed (default: 67108864)\n"
    "\n"
    "Mail (POST /mail):\n"
    "      --smtp-host HOST      SMTP server to relay to (default: localhost)\n"
    "      --smtp-port N         its port (default: 1025)\n"
    "      --smtp-user USER      AUTH user; the password comes from $SMTP_PASSWORD\n"
    "      --smtp-tls MODE       none, implicit (TLS from the start, port 465) or\n"
    "                            starttls (port 587), through openssl s_client (default: none)\n"
    "      --smtp-ca FILE        CA certificates to trust instead of the system store\n"
    "      --smtp-openssl PATH   the openssl program (default: /usr/bin/openssl)\n"
    "      --mail-from ADDR      sender when a request names none\n"
    "      --mail-allow DOMAINS  comma-separated recipient domains allowed (default: any)\n"
    "      --mail-max-body BYTES largest /mail request body (default: 10485760)\n"
    "  Environment: SMTP_PASSWORD (AUTH password), MAIL_TOKEN (when set, /mail needs\n"
    "  'Authorization: Bearer <token>').\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot start, 2 for bad usage.\n";

enum {
    OPT_REUSEPORT = 256,
    OPT_DRAIN,
    OPT_TRUSTED_PROXY,
    OPT_LOG,
    OPT_TRACE,
    OPT_KEEPALIVE,
    OPT_HEAD_TIMEOUT,
    OPT_BODY_TIMEOUT,
    OPT_WRITE_TIMEOUT,
    OPT_MAX_REQUESTS,
    OPT_MAX_UPLOAD,
    OPT_GZIP_LEVEL,
    OPT_GZIP_MAX,
    OPT_GZIP_CACHE,
    OPT_SMTP_HOST,
    OPT_SMTP_PORT,
    OPT_SMTP_USER,
    OPT_SMTP_TLS,
    OPT_SMTP_CA,
    OPT_SMTP_OPENSSL,
    OPT_MAIL_FROM,
    OPT_MAIL_ALLOW,
    OPT_MAIL_MAX_BODY,
};

static const struct option long_options[] = {
    {"directory", required_argument, NULL, 'd'},
    {"port", required_argument, NULL, 'p'},
    {"bind", required_argument, NULL, 'b'},
    {"threads", required_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"reuseport", no_argument, NULL, OPT_REUSEPORT},
    {"drain-time", required_argument, NULL, OPT_DRAIN},
    {"trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY},
    {"log", required_argument, NULL, OPT_LOG},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE},
    {"head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT},
    {"body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT},
    {"write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT},
    {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
    {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
    {"gzip-level", required_argument, NULL, OPT_GZIP_LEVEL},
    {"gzip-max", required_argument, NULL, OPT_GZIP_MAX},
    {"gzip-cache", required_argument, NULL, OPT_GZIP_CACHE},
    {"smtp-host", required_argument, NULL, OPT_SMTP_HOST},
    {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
    {"smtp-user", required_argument, NULL, OPT_SMTP_USER},
    {"smtp-tls", required_argument, NULL, OPT_SMTP_TLS},
    {"smtp-ca", required_argument, NULL, OPT_SMTP_CA},
    {"smtp-openssl", required_argument, NULL, OPT_SMTP_OPENSSL},
    {"mail-from", required_argument, NULL, OPT_MAIL_FROM},
    {"mail-allow", required_argument, NULL, OPT_MAIL_ALLOW},
    {"mail-max-body", required_argument, NULL, OPT_MAIL_MAX_BODY},
    {NULL, 0, NULL, 0},
};

/* Prints "server: <message>" and exits; a trailing ':' appends strerror(errno)
 * (quark's die()). Only before the threads start. */
static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
    int err = errno;
    fputs("server: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    size_t len = strlen(fmt);
    if (len > 0 && fmt[len - 1] == ':')
        fprintf(stderr, " %s", strerror(err));
    fputc('\n', stderr);
    exit(status);
}

/* A whole number in [min, max], or die naming the flag. */
static long long
number(const char *flag, const char *s, long long min, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        die(2, "--%s wants a number from %lld to %lld, not '%s'", flag, min, max, s);
    return v;
}

static void
parse_flags(int argc, char **argv, struct server_config *cfg, const char **log_path)
{
    int opt;
    while ((opt = getopt_long(argc, argv, "d:p:b:t:qhV", long_options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            cfg->directory = optarg;
            break;
        case 'p':
            cfg->port = (int)number("port", optarg, 0, 65535);
            break;
        case 'b':
            cfg->bind = optarg;
            break;
        case 't':
            cfg->threads = (int)number("threads", optarg, 1, 256);
            break;
        case 'q':
            log_access_enabled = false;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case 'V':
            printf("server %s\nbuilt with %s, C %ld, libc only; limits: head %d B, "
                   "%d headers, upload %lld B\n",
                   SERVER_VERSION, __VERSION__, (long)__STDC_VERSION__, HTTP_MAX_HEAD,
                   HTTP_MAX_HEADERS, (long long)MAX_UPLOAD_BYTES);
            exit(0);
        case OPT_REUSEPORT:
            cfg->reuseport = true;
            break;
        case OPT_DRAIN:
            cfg->drain_ms = (int)number("drain-time", optarg, 0, 3600000);
            break;
        case OPT_TRUSTED_PROXY:
            cfg->trusted_proxies = optarg;
            break;
        case OPT_LOG:
            *log_path = optarg;
            break;
        case OPT_TRACE:
            log_trace_enabled = true;
            break;
        case OPT_KEEPALIVE:
            cfg->keepalive_ms = (int)number("keepalive-timeout", optarg, 1, 3600000);
            break;
        case OPT_HEAD_TIMEOUT:
            cfg->head_timeout_ms = (int)number("head-timeout", optarg, 1, 3600000);
            break;
        case OPT_BODY_TIMEOUT:
            cfg->body_timeout_ms = (int)number("body-timeout", optarg, 1, 3600000);
            break;
        case OPT_WRITE_TIMEOUT:
            cfg->write_timeout_ms = (int)number("write-timeout", optarg, 1, 3600000);
            break;
        case OPT_MAX_REQUESTS:
            cfg->max_requests = (int)number("max-requests", optarg, 1, INT_MAX);
            break;
        case OPT_MAX_UPLOAD:
            cfg->max_upload = number("max-upload", optarg, 0, LLONG_MAX);
            break;
        case OPT_GZIP_LEVEL:
            cfg->gzip_level = (int)number("gzip-level", optarg, 1, 9);
            break;
        case OPT_GZIP_MAX:
            cfg->gzip_max = (size_t)number("gzip-max", optarg, 0, 1LL << 40);
            break;
        case OPT_GZIP_CACHE:
            cfg->gzip_cache_bytes = (size_t)number("gzip-cache", optarg, 0, 1LL << 40);
            break;
        case OPT_SMTP_HOST:
            cfg->mail.smtp_host = optarg;
            break;
        case OPT_SMTP_PORT:
            cfg->mail.smtp_port = (int)number("smtp-port", optarg, 1, 65535);
            break;
        case OPT_SMTP_USER:
            cfg->mail.smtp_user = optarg;
            break;
        case OPT_SMTP_TLS:
            if (smtp_tls_parse(optarg, &cfg->mail.smtp_tls) < 0)
                die(2, "--smtp-tls wants none, implicit or starttls, not '%s'", optarg);
            break;
        case OPT_SMTP_CA:
            cfg->mail.smtp_ca = optarg;
            break;
        case OPT_SMTP_OPENSSL:
            cfg->mail.smtp_openssl = optarg;
            break;
        case OPT_MAIL_FROM:
            cfg->mail.mail_from = optarg;
            break;
        case OPT_MAIL_ALLOW:
            cfg->mail.allow = optarg;
            break;
        case OPT_MAIL_MAX_BODY:
            cfg->mail.max_body = (size_t)number("mail-max-body", optarg, 0, 1LL << 40);
            break;
        default:
            fputs(usage_text, stderr);
            exit(2);
        }
    }
    if (optind < argc)
        die(2, "unexpected argument '%s' (see --help)", argv[optind]);
}

/* Binds the listening socket (redis anetTcpServer): one line of error on failure. */
static int
listen_on(const struct server_config *cfg)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char port[8];
    snprintf(port, sizeof(port), "%d", cfg->port);
    int gai = getaddrinfo(cfg->bind, port, &hints, &res);
    if (gai != 0)
        die(1, "cannot use address '%s': %s", cfg->bind, gai_strerror(gai));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(1, "socket:");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (cfg->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        die(1, "SO_REUSEPORT:");
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
        die(1, "cannot listen on %s:%d:", cfg->bind, cfg->port);
    if (listen(fd, SOMAXCONN) < 0)
        die(1, "listen:");
    freeaddrinfo(res);
    return fd;
}

/* SIGHUP: reopen --log after logrotate moved it. */
static void
reopen_log(const char *log_path)
{
    if (log_path && log_open_access(log_path) < 0)
        log_err("cannot reopen log file '%s': %s", log_path, strerror(errno));
}

/* Closes the listening socket once every loop has let go of it, rather than
 * after the last response: a connection the kernel queues for us meanwhile
 * would only wait for our exit and then be reset. With --reuseport the other
 * processes on the port then take every new connection, and with
 * net.ipv4.tcp_migrate_req=1 also those still queued here. Returns false,
 * leaving the socket open, if a loop has not let go within the grace period. */
static bool
close_listener(int fd, struct loop **loops, int n)
{
    for (int ms = 0; ms < SHUTDOWN_GRACE_MS; ms++) {
        int i = 0;
        while (i < n && loop_left_port(loops[i]))
            i++;
        if (i == n) {
            close(fd);
            return true;
        }
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return false;
}

static void *
loop_thread(void *arg)
{
    loop_run(arg);
    return NULL;
}

int
main(int argc, char **argv)
{
    static struct server_config cfg = {
        .bind = DEFAULT_BIND,
        .port = DEFAULT_PORT,
        .root_fd = -1,
        .keepalive_ms = IDLE_TIMEOUT_MS,
        .head_timeout_ms = HEAD_TIMEOUT_MS,
        .body_timeout_ms = BODY_TIMEOUT_MS,
        .write_timeout_ms = WRITE_TIMEOUT_MS,
        .max_requests = MAX_REQUESTS_PER_CONN,
        .max_upload = MAX_UPLOAD_BYTES,
        .gzip_level = 6,
        .gzip_max = 8 * 1024 * 1024,
        .gzip_cache_bytes = 64 * 1024 * 1024,
    };
    mail_config_defaults(&cfg.mail);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = cores > 0 ? (int)cores : 1;
    const char *log_path = NULL;
    parse_flags(argc, argv, &cfg, &log_path);
    char mail_err[300];
    if (mail_config_check(&cfg.mail, mail_err, sizeof(mail_err)) < 0)
        die(1, "%s", mail_err);

    cfg.mail.smtp_password = getenv("SMTP_PASSWORD");
    cfg.mail.token = getenv("MAIL_TOKEN");
    if (cfg.mail.token && cfg.mail.token[0] == '\0')
        cfg.mail.token = NULL;
    static char hostname[256];
    if (gethostname(hostname, sizeof(hostname)) == 0 && hostname[0] != '\0')
        cfg.mail.helo_name = hostname;

    if (cfg.directory) {
        cfg.root_fd = open(cfg.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cfg.root_fd < 0)
            die(1, "cannot use directory '%s':", cfg.directory);
    }
    if (log_path && log_open_access(log_path) < 0)
        die(1, "cannot open log file '%s':", log_path);

    /* Signals go to the main thread's sigwait(); every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* An upload past RLIMIT_FSIZE would otherwise kill the whole process
     * (and leave its temporary behind); ignored, the write fails with EFBIG. */
    signal(SIGXFSZ, SIG_IGN);

    int listen_fd = listen_on(&cfg);
    /* --gzip-cache 0: no cache, so static files go out as identity. */
    struct gzcache *gz = NULL;
    if (cfg.gzip_cache_bytes > 0 &&
        (gz = gzcache_new(cfg.gzip_cache_bytes, cfg.gzip_level)) == NULL)
        die(1, "out of memory");
    if (pool_start(JOB_THREADS, JOB_QUEUE_MAX) < 0)
        die(1, "cannot start the job pool:");

    struct loop **loops = calloc((size_t)cfg.threads, sizeof(*loops));
    pthread_t *threads = calloc((size_t)cfg.threads, sizeof(*threads));
    if (loops == NULL || threads == NULL)
        die(1, "out of memory");
    for (int i = 0; i < cfg.threads; i++) {
        char err[256];
        if ((loops[i] = loop_new(&cfg, listen_fd, gz, err, sizeof(err))) == NULL)
            die(1, "%s", err);
        int e = pthread_create(&threads[i], NULL, loop_thread, loops[i]);
        if (e) {
            errno = e;
            die(1, "pthread_create:");
        }
    }
    if (log_access_enabled)
        fprintf(stderr, "server: listening on %s:%d with %d thread%s%s%s\n", cfg.bind, cfg.port,
                cfg.threads, cfg.threads == 1 ? "" : "s", cfg.directory ? ", directory " : "",
                cfg.directory ? cfg.directory : "");

    for (;;) {
        int sig;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reopen_log(log_path);
            continue;
        }
        break;
    }
    /* Drain: /healthz says 503 while we keep serving, so a load balancer
     * stops sending before we stop accepting. SIGHUP still reopens the log;
     * a second SIGTERM or SIGINT cuts the drain short. */
    loop_set_draining();
    struct timespec now, until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += cfg.drain_ms / 1000;
    until.tv_nsec += (long)(cfg.drain_ms % 1000) * 1000000L;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left_ns =
            (until.tv_sec - now.tv_sec) * 1000000000LL + until.tv_nsec - now.tv_nsec;
        if (left_ns <= 0)
            break;
        struct timespec wait = {(time_t)(left_ns / 1000000000LL), (long)(left_ns % 1000000000LL)};
        int sig = sigtimedwait(&sigs, NULL, &wait);
        if (sig == SIGHUP)
            reopen_log(log_path);
        else if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    for (int i = 0; i < cfg.threads; i++)
        loop_stop(loops[i]);
    bool closed = close_listener(listen_fd, loops, cfg.threads);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(threads[i], NULL);
    if (!closed)
        close(listen_fd);
    if (!pool_stop(SHUTDOWN_GRACE_MS / 3)) {
        /* A relay job is stuck on a slow SMTP host past the grace period:
         * leave no openssl child behind it. */
        tlspipe_kill_all();
        fflush(NULL);
        _exit(0);
    }
    for (int i = 0; i < cfg.threads; i++)
        loop_free(loops[i]);
    free(loops);
    free(threads);
    gzcache_free(gz);
    if (cfg.root_fd >= 0)
        close(cfg.root_fd);
    return 0;
}
