/* addr.h - strict e-mail address checking for the mail relay.
 *
 * Accepts the two forms people type, `local@domain` and
 * `Display Name <local@domain>`, and nothing looser: the local part is a
 * dot-atom or a quoted string, the domain is a host name of LDH labels, no
 * control character (CR, LF, NUL, ...) appears anywhere, and the RFC 5321
 * length limits hold. Address literals ([192.0.2.1]), comments, group syntax,
 * source routes and non-ASCII local parts or domains (SMTPUTF8, IDN U-labels)
 * are refused. The display name may be UTF-8; the MIME builder encodes it. */
#ifndef ADDR_H
#define ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "slice.h"

#define ADDR_LOCAL_MAX   64  /* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX  255 /* RFC 5321 4.5.3.1.2 */
#define ADDR_SPEC_MAX    254 /* RFC 5321 4.5.3.1.3: a path is 256 octets with its <> */
#define ADDR_DISPLAY_MAX 256 /* our own bound on display names, in bytes */

struct addr {
    char spec[ADDR_SPEC_MAX + 1];       /* "local@domain" as SMTP sends it, NUL-terminated */
    size_t local_len;                   /* spec[0..local_len) is the local part */
    char display[ADDR_DISPLAY_MAX + 1]; /* display name, unquoted UTF-8; "" when none */
    size_t display_len;
};

/* Parses one address from in (surrounding spaces and tabs are ignored) into
 * *a. Returns NULL on success, or a short static reason ("domain label too
 * long") that the caller may show to a client. *a is undefined on failure. */
const char *addr_parse(struct slice in, struct addr *a);

/* The domain part of a parsed address (after the '@'). */
const char *addr_domain(const struct addr *a);

/* True when a and b name the same mailbox: the local parts are equal byte
 * for byte (RFC 5321 2.4: only the recipient's host may read "Sam" and
 * "sam" as one), the domains are equal ignoring ASCII case. */
bool addr_same_mailbox(const struct addr *a, const struct addr *b);

/* Splits a comma-separated address list: stores the next item, trimmed, in
 * *item and advances *rest past it and its comma. Commas inside quoted
 * strings or angle brackets do not split. Items may be empty ("a@x,,b@y").
 * Returns false once *rest is exhausted. */
bool addr_list_next(struct slice *rest, struct slice *item);

/* RFC 5322 section 3.2.3 atext: letters, digits and !#$%&'*+-/=?^_`{|}~ */
bool addr_is_atext(unsigned char c);

#endif
