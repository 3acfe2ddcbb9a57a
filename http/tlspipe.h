/* tlspipe.h - a TLS leg to an SMTP relay through `openssl s_client`.
 *
 * The server links no TLS library. When the relay wants TLS (implicit TLS on
 * port 465, or STARTTLS on 587), the SMTP client starts `openssl s_client`
 * as a child process and speaks SMTP through its stdin and stdout, exactly
 * as one does by hand. This module owns that child: it builds the command
 * line, spawns it without a shell, watches its stderr to learn when TLS is
 * up (or why it failed), writes to it without SIGPIPE, and always reaps it.
 *
 * The three pipe ends the parent keeps are O_CLOEXEC and O_NONBLOCK: the
 * caller polls them like a socket, under its own deadlines (s_client has no
 * timeout of its own). A child never outlives tlspipe_close(). */
#ifndef TLSPIPE_H
#define TLSPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TLSPIPE_OPENSSL_DEFAULT "/usr/bin/openssl"
#define TLSPIPE_ARGV_MAX        24   /* entries of the s_client command line, NULL included */
#define TLSPIPE_LOG_MAX         2048 /* bytes of the child's stderr kept for error messages */
#define TLSPIPE_LINE_MAX        256  /* one stderr line; longer ones are cut */

struct tlspipe_options {
    const char *openssl;   /* path of the openssl program (no PATH search) */
    const char *host;      /* relay name or IP address, checked against its certificate */
    int port;              /* 1..65535 */
    bool starttls;         /* plain SMTP first, then STARTTLS (port 587); else implicit TLS */
    const char *helo_name; /* with starttls: the name s_client gives in its EHLO */
    const char *ca_file;   /* CA bundle to trust instead of the system store; NULL: system */
};

/* The s_client command line: argv[] points into the options and into connect[]. */
struct tlspipe_argv {
    const char *argv[TLSPIPE_ARGV_MAX]; /* NULL-terminated */
    char connect[300];                  /* "host:port" or "[v6addr]:port" */
};

/* Fills *out with
 *   openssl s_client -quiet -no_ign_eof -nocommands -brief -verify_return_error
 *       -connect HOST:PORT (-servername HOST -verify_hostname HOST | -noservername -verify_ip ADDR)
 *       [-CAfile FILE] [-starttls smtp -name HELO]
 * Never a credential: those only ever cross the pipe, inside TLS. Returns 0,
 * or -1 when the host is empty, too long, starts with '-' or holds a space or
 * control byte, or the port is out of range. */
int tlspipe_build_argv(const struct tlspipe_options *opt, struct tlspipe_argv *out);

enum tlspipe_state {
    TLSPIPE_HANDSHAKE, /* connecting, STARTTLS, TLS handshake: nothing may be written yet */
    TLSPIPE_UP,        /* s_client said "CONNECTION ESTABLISHED" and "Verification: OK" */
    TLSPIPE_FAILED,    /* it ended, or said why it cannot go on; see tlspipe_reason() */
};

struct tlspipe {
    pid_t pid;  /* -1: no child (or reaped) */
    int in_fd;  /* the child's stdin (we write) */
    int out_fd; /* its stdout (we read): the server's SMTP replies */
    int err_fd; /* its stderr (we read); -1 once it reached EOF */
    enum tlspipe_state state;
    bool established;            /* "CONNECTION ESTABLISHED" seen */
    char line[TLSPIPE_LINE_MAX]; /* a stderr line still without its LF */
    size_t line_len;
    char log[TLSPIPE_LOG_MAX]; /* stderr lines, the newest; once TLS is up, error lines only */
    size_t log_len;
};

/* Marks t as holding no child and no descriptors. */
void tlspipe_init(struct tlspipe *t);

/* Spawns s_client for opt (posix_spawn, no shell) with a fixed environment
 * (PATH=/usr/bin:/bin, LC_ALL=C: nothing of ours such as SMTP_PASSWORD),
 * default signal dispositions, an empty signal mask, its own process group,
 * and no descriptor of ours but the three pipes. Returns 0, or -1 with the
 * reason in err[0..cap) and t left empty. */
int tlspipe_start(struct tlspipe *t, const struct tlspipe_options *opt, char *err, size_t cap);

/* Reads whatever the child's stderr holds now, without blocking, and updates
 * t->state from it. Call it whenever t->err_fd polls readable. Returns 1
 * while stderr is open, 0 once it reached EOF (t->err_fd is then -1). */
int tlspipe_read_stderr(struct tlspipe *t);

/* Waits at most timeout_ms for the handshake to end. Returns TLSPIPE_UP,
 * TLSPIPE_FAILED, or TLSPIPE_HANDSHAKE when the time ran out. */
enum tlspipe_state tlspipe_wait_up(struct tlspipe *t, int timeout_ms);

/* write(2) to the child's stdin with SIGPIPE held off for the calling thread:
 * a child that has gone away gives -1 with errno EPIPE, never a signal. */
ssize_t tlspipe_write(struct tlspipe *t, const void *data, size_t len);

/* After the child's stdout ended: reads its stderr until EOF, at most
 * timeout_ms, so that tlspipe_reason() sees its last words. */
void tlspipe_drain(struct tlspipe *t, int timeout_ms);

/* Why s_client gave up, from its stderr text log[0..len): a known failure
 * (self-signed, unknown CA, expired, wrong name, refused, not TLS, no
 * STARTTLS, ...) in plain words, else the reason field of its last error
 * line, else its last line. up tells whether TLS was up (TLSPIPE_UP) before
 * the failure: only when it was not is a closed connection called a failed
 * handshake. Writes a NUL-terminated string into out[0..cap) and returns
 * its length; 0 when log holds nothing to go on. */
size_t tlspipe_reason(const char *log, size_t len, bool up, char *out, size_t cap);

/* Ends the child: closes its stdin (s_client then shuts TLS down and exits),
 * waits up to grace_ms for it to go, then kills its process group with
 * SIGKILL, and in every case reaps it with waitpid(). Closes all three
 * pipes; t is left empty. Returns the child's wait status, or -1 when there
 * was no child. Safe to call twice. */
int tlspipe_close(struct tlspipe *t, int grace_ms);

/* Kills (SIGKILL, process group) every child started here and not reaped
 * yet. For a process about to _exit() with relay jobs still running, whose
 * s_client would otherwise outlive it, stuck in a handshake with a relay that
 * never answers (s_client has no timeout, and reads no stdin EOF until TLS
 * is up). Safe from any thread; init reaps them. */
void tlspipe_kill_all(void);

/* Start-up check: openssl is an executable file and `openssl version` says
 * "OpenSSL ..." within a few seconds. Returns 0, or -1 with a one-line
 * reason in err[0..cap). */
int tlspipe_check(const char *openssl, char *err, size_t cap);

#endif
