/* smtp.h - a blocking SMTP client for one message at a time, with deadlines.
 *
 * smtp_send() resolves the host, connects, and runs one transaction:
 * greeting, EHLO (HELO when EHLO gets a 5xx), AUTH PLAIN or LOGIN when a
 * user is configured, MAIL FROM (with SIZE= when advertised), one RCPT TO per
 * recipient, DATA, QUIT. It blocks the calling thread but never longer than
 * the deadlines in struct smtp_options, and reports every failure as a status
 * plus a human-readable message in res->err (redis anet style error buffer).
 *
 * TLS (implicit on port 465, or STARTTLS on 587) goes through `openssl
 * s_client` as a child process (tlspipe.h): the same dialogue then runs over
 * its stdin and stdout instead of a socket, under the same deadlines, and
 * nothing of ours (no AUTH, no MAIL) is written before TLS is up and the
 * server's certificate verified for the host name.
 *
 * The reply parser has the picohttpparser shape and can be used on its own. */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>

#include "buf.h"

#define SMTP_REPLY_MAX 8192 /* bytes buffered for one reply, all its lines */
#define SMTP_TEXT_MAX  512  /* a folded reply kept for reporting, NUL included */
#define SMTP_ERR_MAX   256  /* the error buffer */

enum smtp_status {
    SMTP_OK = 0,       /* the server accepted the message for at least one recipient */
    SMTP_ERR_CONNECT,  /* name resolution or connect failed (HTTP 502) */
    SMTP_ERR_TIMEOUT,  /* a connect, reply or transaction deadline passed (HTTP 504) */
    SMTP_ERR_REFUSED,  /* the server refused: res->code and res->reply say how (HTTP 502) */
    SMTP_ERR_PROTOCOL, /* malformed reply, reply too long, connection closed (HTTP 502) */
    SMTP_ERR_TOO_BIG,  /* larger than the SIZE the server advertised (HTTP 413) */
    SMTP_ERR_NOMEM,    /* (HTTP 500) */
    SMTP_ERR_TLS,      /* no TLS: certificate, handshake, openssl; res->err says why (HTTP 502) */
};

enum smtp_tls {
    SMTP_TLS_NONE,     /* plain TCP */
    SMTP_TLS_IMPLICIT, /* TLS from the first byte (port 465, RFC 8314) */
    SMTP_TLS_STARTTLS, /* plain, then STARTTLS before anything else (port 587, RFC 3207) */
};

struct smtp_options {
    const char *host; /* name or address; getaddrinfo() resolves it */
    int port;
    const char *helo_name;  /* our name for EHLO/HELO */
    const char *user;       /* NULL: no AUTH */
    const char *password;   /* with user */
    int connect_timeout_ms; /* for the TCP connection, all addresses together */
    int reply_timeout_ms;   /* for each reply, and for each stalled write */
    int total_timeout_ms;   /* for everything, from the call on */
    enum smtp_tls tls;      /* SMTP_TLS_NONE unless set */
    const char *openssl;    /* with tls: the openssl program; NULL: /usr/bin/openssl */
    const char *ca_file;    /* with tls: CAs to trust instead of the system store; NULL: system */
};

struct smtp_rcpt {
    const char *address;       /* in: "local@domain" */
    int code;                  /* out: the RCPT TO reply code, 0 if never sent */
    char reply[SMTP_TEXT_MAX]; /* out: the folded RCPT TO reply, "550 5.1.1 unknown" */
};

struct smtp_result {
    int code;                  /* the last reply's code (0: none) */
    char reply[SMTP_TEXT_MAX]; /* SMTP_OK: the reply to the message data;
                                * SMTP_ERR_REFUSED: the refusing reply; else "" */
    size_t accepted;           /* recipients accepted */
    char err[SMTP_ERR_MAX];    /* what went wrong, "" on SMTP_OK */
};

/* Sends data[0..len) (a whole RFC 5322 message; line ends are normalised to
 * CRLF and lines starting with '.' are dot-stuffed here) from the envelope
 * sender `from` to each of rcpt[0..nrcpt) (nrcpt >= 1). Fills rcpt[i].code
 * and .reply, and *res. Succeeds when at least one recipient was accepted and
 * the data was; the rest show in rcpt[]. Returns the status. Writes the
 * dialogue to the wire trace (log_trace "C: "/"S: ", and "T: " for the
 * s_client command line and what it says on stderr) with AUTH secrets masked
 * and the message data summarised by size. Thread-safe. With TLS, the child
 * is reaped before this returns, whatever the outcome.
 *
 * Deadlines with TLS: the tunnel (connect, STARTTLS, handshake) must be up
 * within connect_timeout_ms + reply_timeout_ms, as the connection and the
 * greeting must be without it; each reply after that gets reply_timeout_ms. */
enum smtp_status smtp_send(const struct smtp_options *opt, const char *from, struct smtp_rcpt *rcpt,
                           size_t nrcpt, const char *data, size_t len, struct smtp_result *res);

/* "none", "implicit" or "starttls" into *mode. Returns 0, or -1 for any other name. */
int smtp_tls_parse(const char *name, enum smtp_tls *mode);

/* Parses one SMTP reply (RFC 5321 4.2) from buf[0..len): one or more lines
 * "ddd-text" CRLF closed by "ddd text" CRLF or "ddd" CRLF, all with the same
 * code. Returns the bytes consumed (> 0) with the code in *code, -1 when the
 * input is malformed (bad code, codes that differ, bare CR or LF, NUL), -2
 * when it is incomplete. Never allocates, never writes to buf, needs no NUL. */
int smtp_parse_reply(const char *buf, size_t len, int *code);

/* Folds a complete reply buf[0..len) (as accepted by smtp_parse_reply) into
 * one line, "250 first line text second line text", NUL-terminated in
 * out[0..cap) and truncated to fit. Returns the length written. */
size_t smtp_reply_fold(const char *buf, size_t len, char *out, size_t cap);

/* Appends data[0..len) as DATA content (RFC 5321 4.5.2, 4.1.1.4): every line
 * end becomes CRLF, a '.' that starts a line is doubled, a last line without
 * a line end gets one, and the terminating ".\r\n" follows. Returns 0 or -1
 * when memory runs out. */
int smtp_data_encode(struct buf *out, const char *data, size_t len);

#endif
