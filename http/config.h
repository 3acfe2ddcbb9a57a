/* config.h - compile-time limits and defaults; each is a trade-off noted beside it.
 *
 * Runtime flags (server.c) override the ones a user would want to change; the
 * rest are fixed here and checked below so a bad edit fails the build. */
#ifndef CONFIG_H
#define CONFIG_H

#define SERVER_NAME    "server"
#define SERVER_VERSION "1.0.0"

/* Default listening address and port (CodeCrafters expects 4221). */
#define DEFAULT_PORT 4221
#define DEFAULT_BIND "127.0.0.1"

/* Longest request line (method, target, version). A longer one is answered with
 * 414 and the connection closed. 8 KiB matches nginx's large_client_header_buffers. */
#define HTTP_MAX_REQUEST_LINE 8192

/* Whole header section, request line included. Also the size of a connection's
 * read buffer, so a head must fit in one buffer: 431 and close past it. */
#define HTTP_MAX_HEAD 32768

/* One header field line; larger fields are nearly always an attack or a bug. */
#define HTTP_MAX_FIELD 8192

/* Header fields per request: the parser keeps a slice pair for each on the
 * stack (16 bytes apiece), so this bounds stack use as well as work. */
#define HTTP_MAX_HEADERS 100

/* The whole head must arrive within this many ms of its first byte (slowloris;
 * flag --head-timeout). */
#define HEAD_TIMEOUT_MS 10000

/* An idle keep-alive connection is closed after this many ms (flag --keepalive-timeout). */
#define IDLE_TIMEOUT_MS 5000

/* A request body must make progress at least this often (flag --body-timeout). */
#define BODY_TIMEOUT_MS 30000

/* A client that reads nothing of a pending response for this long is dropped
 * (flag --write-timeout). */
#define WRITE_TIMEOUT_MS 30000

/* Requests served on one connection; the last response says Connection: close.
 * nginx and lighttpd default to 1000 too (flag --max-requests). */
#define MAX_REQUESTS_PER_CONN 1000

/* Largest POST /files body (flag --max-upload). */
#define MAX_UPLOAD_BYTES (64LL * 1024 * 1024)

/* Largest POST /mail body (flag --mail-max-body). */
#define MAX_MAIL_BODY (10L * 1024 * 1024)

/* Mail bodies are held in memory until relayed: all of them together, across
 * connections, may take this much (or one --mail-max-body, if larger); past
 * it a new message gets 503. Uploads go to disk and are not counted. */
#define MAIL_MEMORY_MAX (64L * 1024 * 1024)

/* Chunked-body trailer section; trailers are read and dropped. */
#define HTTP_MAX_TRAILER 8192

/* Output buffer per busy connection: response head plus small bodies go out in
 * one write. Larger bodies are sent from their own memory or from a file. */
#define CONN_OUT_BUF 16384

/* After accept() fails for lack of descriptors (EMFILE/ENFILE), stop accepting
 * for this long rather than spin on a listening socket that stays readable. */
#define ACCEPT_PAUSE_MS 100

/* On SIGTERM/SIGINT responses in flight get this long before the process exits. */
#define SHUTDOWN_GRACE_MS 1500

/* Blocking job pool for slow work (mail relay, upload fsync). */
#define JOB_THREADS   4
#define JOB_QUEUE_MAX 64

/* Compressions of large static files (gzcache.c) share that pool; at most
 * this many are queued or running at once, so that at least
 * JOB_THREADS - GZIP_JOBS_MAX workers stay free for upload commits and mail.
 * A file that finds them all taken goes out as identity and is compressed
 * on a later request. More would warm a cold site faster; fewer would
 * leave the other jobs more room. */
#define GZIP_JOBS_MAX 2

_Static_assert(HTTP_MAX_REQUEST_LINE <= HTTP_MAX_HEAD, "request line must fit in the head");
_Static_assert(HTTP_MAX_FIELD <= HTTP_MAX_HEAD, "a field must fit in the head");
_Static_assert(CONN_OUT_BUF >= 4096, "the output buffer must hold a response head");
_Static_assert(SHUTDOWN_GRACE_MS < 2000, "shutdown must finish within 2 s");
_Static_assert(GZIP_JOBS_MAX > 0 && GZIP_JOBS_MAX < JOB_THREADS,
               "compression must leave pool workers for uploads and mail");

#endif
