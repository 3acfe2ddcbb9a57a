/* mime.h - builds an RFC 5322 / MIME message from validated parts.
 *
 * The output is 7-bit, every line ends in CRLF and none is longer than 998
 * octets, so it can go into SMTP DATA as it is (after dot-stuffing, which is
 * the SMTP client's job). Header values that are not plain ASCII become
 * RFC 2047 encoded-words; attachment names that are not become RFC 2231
 * parameters. There is no Bcc field in struct mime_message: blind copies go
 * into the SMTP envelope only, so they can never leak into the headers.
 *
 * The caller validates first: addresses through addr_parse(), no CR, LF or
 * NUL in the subject or file names, UTF-8 everywhere, and attachment
 * content types of printable ASCII in RFC 2045 5.1 syntax that are not
 * composite. The builder trusts its input to be such. */
#ifndef MIME_H
#define MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "slice.h"

/* Room for a Message-ID from mime_message_id(), NUL included. */
#define MIME_MESSAGE_ID_MAX 320

/* A soft bound on header line length (RFC 5322 2.1.1 "SHOULD be no more
 * than 78"); folding aims for it, the hard limit of 998 always holds. */
#define MIME_FOLD_COLUMN 78

struct mime_attachment {
    struct slice filename;     /* UTF-8; empty: "attachment" */
    struct slice content_type; /* e.g. "image/jpeg"; empty: application/octet-stream;
                                * never one for which mime_type_is_composite() holds */
    struct slice data;         /* any bytes; sent base64-encoded */
};

/* True for multipart/... and message/... (any case): composite types, whose
 * body may only be 7bit, 8bit or binary (RFC 2045 6.4, RFC 2046 5.1, 5.2),
 * so they cannot be the type of an attachment sent base64-encoded. */
bool mime_type_is_composite(struct slice content_type);

struct mime_message {
    const struct addr *from;
    const struct addr *to;
    size_t nto;
    const struct addr *cc;
    size_t ncc;
    const struct addr *reply_to; /* or NULL */
    struct slice subject;        /* UTF-8; empty: no Subject field */
    struct slice text;           /* text/plain body, UTF-8 */
    bool has_text;
    struct slice html; /* text/html body, UTF-8 */
    bool has_html;
    const struct mime_attachment *attachments;
    size_t nattachments;
    const char *message_id; /* "<...>", from mime_message_id() */
    time_t date;
};

/* Writes a new unique Message-ID, "<seconds.micros.random@host>", into out
 * (cap bytes, at least MIME_MESSAGE_ID_MAX). host should be a domain name;
 * anything else (NULL, empty, characters outside dot-atom) falls back to
 * "localhost". Uniqueness: time to the microsecond plus 64 random bits. */
void mime_message_id(char *out, size_t cap, const char *host);

/* Appends the whole message (headers, blank line, body) to out. Layout:
 * text/plain, text/html, or multipart/alternative when both; wrapped in
 * multipart/mixed when there are attachments. Text bodies are 7bit when they
 * are ASCII with lines of at most 998 octets, else quoted-printable; their
 * line ends become CRLF. Returns 0, or -1 when memory runs out (out then
 * holds a partial message and should be discarded). */
int mime_build(struct buf *out, const struct mime_message *m);

#endif
