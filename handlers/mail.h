/* mail.h - POST /mail: validate a message request and relay it over SMTP.
 *
 * The HTTP core reads the whole body (after its own 413 check), then calls
 * mail_handle() on a worker thread of the job pool: it blocks on the SMTP
 * exchange, bounded by the timeouts in struct mail_config. Nothing is sent
 * to the SMTP host unless the whole request is valid.
 *
 * Request bodies: application/json, multipart/form-data (every file part is
 * an attachment) or application/x-www-form-urlencoded, with the fields from,
 * to, cc, bcc, reply_to, subject, text, html (and attachments in JSON).
 *
 * Responses (always a JSON body):
 *   200 {"message_id", "accepted": [...], "rejected": [{"address", "reply"}],
 *        "smtp_reply"}: the SMTP host took the message for every recipient or
 *        for some of them; the refused ones are listed in "rejected".
 *   400 malformed body, bad address, CR/LF/NUL in a header field, no
 *       recipient; 401 missing or wrong bearer token (the core should add
 *       "WWW-Authenticate: Bearer"); 403 recipient domain not allowed; 413 body
 *       over max_body, or message over the SMTP host's SIZE; 415 other
 *       Content-Type or charset; 502 SMTP host unreachable or refusing (its
 *       reply in "smtp_reply"), every recipient rejected, TLS refused (bad
 *       certificate, no STARTTLS, not TLS; the reason in "error"); 504 SMTP
 *       host too slow; 500 out of memory. Errors are {"error": "what was
 *       wrong", ...}. */
#ifndef MAIL_H
#define MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "slice.h"
#include "smtp.h"

struct mail_config {
    const char *smtp_host;     /* --smtp-host, default "localhost" */
    int smtp_port;             /* --smtp-port, default 1025 */
    const char *smtp_user;     /* --smtp-user; NULL: no AUTH */
    const char *smtp_password; /* from the environment variable SMTP_PASSWORD, never argv */
    const char *mail_from;     /* --mail-from: sender when the request gives none; may be NULL */
    const char *token;         /* MAIL_TOKEN from the environment; NULL: no auth required */
    const char *allow;         /* --mail-allow "example.org,example.com"; NULL: any domain */
    size_t max_body;           /* --mail-max-body, default 10 MiB */
    int connect_timeout_ms;    /* 5000 */
    int reply_timeout_ms;      /* 10000 */
    int total_timeout_ms;      /* 30000 */
    const char *helo_name;     /* name for EHLO; the core passes the machine's hostname */
    enum smtp_tls smtp_tls;    /* --smtp-tls none|implicit|starttls, default none */
    const char *smtp_ca;       /* --smtp-ca FILE: CAs to trust instead of the system store */
    const char *smtp_openssl;  /* --smtp-openssl PATH, default /usr/bin/openssl */
};

/* Fills cfg with the defaults above (NULL for the optional strings,
 * "localhost" for helo_name until the core sets the host name). */
void mail_config_defaults(struct mail_config *cfg);

/* Start-up check of the relay settings: --mail-from, when given, is an
 * address addr_parse() accepts; with TLS, the openssl program runs and says
 * it is OpenSSL; a CA file, when given, is readable. Returns 0, or -1 with
 * one line saying what is wrong in err[0..cap). */
int mail_config_check(const struct mail_config *cfg, char *err, size_t cap);

/* True when no token is configured, or auth is "Bearer <token>" with the
 * right token (RFC 6750 section 2.1; scheme case-insensitive; compared in
 * time independent of the given token). */
bool mail_authorized(const struct mail_config *cfg, struct slice auth);

struct mail_request {
    struct slice content_type;  /* Content-Type header value, may be empty */
    struct slice authorization; /* Authorization header value, may be empty */
    const char *body;
    size_t body_len;
};

/* Blocking. Returns the HTTP status (2xx on success, 400, 401, 403, 413, 415,
 * 502, 504, 500 on ENOMEM) and writes a JSON body into *out (appended; out
 * may start empty). cfg and req are only read; safe to call from several
 * threads at once. */
int mail_handle(const struct mail_config *cfg, const struct mail_request *req, struct buf *out);

#endif
