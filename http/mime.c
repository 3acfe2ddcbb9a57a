/* mime.c - RFC 5322 / MIME message builder; see mime.h.
 *
 * DESIGN
 * Headers are written through a tiny folding writer (struct hdr) that knows
 * the current column: each word goes on the current line when it fits in
 * MIME_FOLD_COLUMN, or in 76 once the line holds an encoded-word (RFC 2047
 * 2), a list's ',' after it included; otherwise a CRLF is inserted before
 * the white space that precedes it (RFC 5322 2.2.3 folding, so unfolding
 * restores the value).
 * Plain ASCII subjects keep their own spacing, folded only before white
 * space that a word follows, so that no continuation line is white space
 * alone (obs-FWS, RFC 5322 4.2). Anything non-ASCII, and ASCII with a word
 * or a run of white space too long for such lines, is written as B
 * encoded-words of at most 45 octets of UTF-8 each (60 base64 chars + 12 of
 * "=?utf-8?B?" "?=" = 72 <= 75), cut only on character boundaries; they
 * keep every space too.
 *
 * The body tree is at most two levels deep:
 *
 *     multipart/mixed                  (only with attachments)
 *       multipart/alternative          (only with both text and html)
 *         text/plain; charset=utf-8    7bit or quoted-printable
 *         text/html; charset=utf-8
 *       <attachment>                   base64, 76 columns
 *
 * Every entity is written without a final CRLF: that CRLF belongs to the
 * delimiter that follows it (RFC 2046 5.1.1). Boundaries are "=_" followed by
 * 32 random hex digits: "=_" can appear neither in base64 nor in
 * quoted-printable output, and 128 random bits will not turn up in a 7bit
 * text by chance.
 *
 * REFERENCES
 *   RFC 5322 sections 2.1.1 (line length), 2.2.3 (folding), 3.3 (date),
 *   3.4 (addresses), 3.6 (fields), 3.6.4 (Message-ID).
 *   RFC 2045 (MIME-Version, Content-Transfer-Encoding), RFC 2046 5.1
 *   (multipart), RFC 2047 sections 2, 4.1, 5 (encoded-words), RFC 2183
 *   (Content-Disposition), RFC 2231 sections 3, 4 (parameter continuations
 *   and charsets). */
#include "mime.h"
#include "addr.h"
#include "base64.h"
#include "qp.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

/* Bytes of UTF-8 per encoded-word; see the file comment. */
#define WORD_RAW_MAX 45

/* Longest line a 7bit body may have, CRLF excluded (RFC 5322 2.1.1). */
#define LINE_MAX_7BIT 998

/* A plain ASCII subject is written as it is, folded at its own white space,
 * when no word is longer than SUBJECT_WORD_MAX and no run of white space
 * longer than SUBJECT_SPACE_MAX; else it goes as encoded-words, which keep
 * every character on lines of 76. Folding needs a word after the white
 * space, so a line holds at most "Subject: ", a run, a word and the trailing
 * run: 9 + 32 + 898 + 32 = 971 <= 998 octets. Nobody types 33 spaces in a
 * row; a program may, and its subject still arrives intact. */
#define SUBJECT_WORD_MAX  (LINE_MAX_7BIT - 100)
#define SUBJECT_SPACE_MAX 32

/* ---- randomness ------------------------------------------------------- */

/* getrandom() seldom fails; if it does, time, pid and a counter are unique
 * enough for boundaries and Message-IDs, which need no secrecy. */
static void
random_bytes(void *out, size_t n)
{
    static atomic_ulong counter;
    if (getrandom(out, n, GRND_NONBLOCK) == (ssize_t)n)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t x = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec << 20 ^
                 (uint64_t)getpid() << 40 ^ atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15u;
    unsigned char *o = out;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdu;
        x ^= x >> 29;
        o[i] = (unsigned char)x;
    }
}

static void
random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[32];
    if (nbytes > sizeof(r))
        nbytes = sizeof(r);
    random_bytes(r, nbytes);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

/* RFC 5322 dot-atom-text: atext runs joined by single dots. */
static bool
is_dot_atom(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !addr_is_atext((unsigned char)s[i]))
            return false;
    return true;
}

void
mime_message_id(char *out, size_t cap, const char *host)
{
    if (host == NULL || strlen(host) > 253 || !is_dot_atom(host))
        host = "localhost";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char rnd[17];
    random_hex(rnd, 8);
    snprintf(out, cap, "<%lld.%06ld.%s@%s>", (long long)tv.tv_sec, (long)tv.tv_usec, rnd, host);
}

/* ---- header writer ---------------------------------------------------- */

struct hdr {
    struct buf *out;
    size_t col;
    bool fresh;   /* nothing after "Name:" yet: never fold here */
    bool encoded; /* the current line holds an encoded-word: at most 76 columns */
    int err;
};

static void
hdr_put(struct hdr *h, const char *s, size_t n)
{
    if (buf_append(h->out, s, n) < 0)
        h->err = -1;
    h->col += n;
}

static void
hdr_begin(struct hdr *h, const char *name)
{
    h->col = 0;
    h->fresh = true;
    h->encoded = false;
    hdr_put(h, name, strlen(name));
    hdr_put(h, ":", 1);
}

static void
hdr_end(struct hdr *h)
{
    hdr_put(h, "\r\n", 2);
}

/* Ends the line; the white space written next starts the continuation. */
static void
hdr_fold(struct hdr *h)
{
    hdr_put(h, "\r\n", 2);
    h->col = 0;
    h->encoded = false;
}

/* The longest the current line may grow: RFC 2047 2 allows 76 characters on
 * a line with an encoded-word, RFC 5322 2.1.1 recommends 78 on any other. */
static size_t
hdr_line_max(const struct hdr *h)
{
    return h->encoded ? 76 : MIME_FOLD_COLUMN;
}

/* s[0..n) starts with white space: fold before it when it does not fit. */
static void
hdr_raw(struct hdr *h, const char *s, size_t n)
{
    if (!h->fresh && h->col + n > hdr_line_max(h))
        hdr_fold(h);
    h->fresh = false;
    hdr_put(h, s, n);
}

/* A word preceded by one space, folded as needed. tail counts what the
 * caller appends right after it with no chance to fold (a list's ','). */
static void
hdr_word(struct hdr *h, const char *s, size_t n, size_t tail)
{
    if (!h->fresh && h->col + 1 + n + tail > hdr_line_max(h))
        hdr_fold(h);
    h->fresh = false;
    hdr_put(h, " ", 1);
    hdr_put(h, s, n);
}

/* Where to cut s[0..len) so the first part has at most max bytes and ends on
 * a UTF-8 character boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    return cut > 0 ? cut : max;
}

/* s as RFC 2047 B encoded-words ("=?utf-8?B?...?="), each its own word and
 * each sized so that its line stays within 76 characters (RFC 2047 2): the
 * first one shares its line with what came before. Whatever follows on the
 * same line is held to 76 too (struct hdr's encoded). */
static void
hdr_encoded_words(struct hdr *h, const char *s, size_t len)
{
    const size_t line_max = 76, overhead = 12; /* "=?utf-8?B?" "?=" */
    while (len > 0) {
        size_t room = h->col + 1 + overhead < line_max ? line_max - h->col - 1 - overhead : 0;
        size_t max = room / 4 * 3;
        if (max < 12 && !h->fresh) {
            hdr_fold(h);
            max = WORD_RAW_MAX;
        }
        if (max > WORD_RAW_MAX)
            max = WORD_RAW_MAX;
        if (max < 3)
            max = 3;
        size_t n = utf8_cut(s, len, max);
        char word[16 + 64];
        memcpy(word, "=?utf-8?B?", 10);
        size_t w = 10 + base64_encode(word + 10, s, n, false);
        memcpy(word + w, "?=", 2);
        hdr_word(h, word, w + 2, 0);
        h->encoded = true;
        s += n;
        len -= n;
    }
}

static bool
is_ascii_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            if (s[i] != '\t')
                return false;
    return true;
}

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* v can be written as it is: plain ASCII that cannot be mistaken for
 * encoded-words, without a word or a run of white space too long to fold. */
static bool
is_plain_subject(struct slice v)
{
    if (!is_ascii_printable(v.ptr, v.len) || memmem(v.ptr, v.len, "=?", 2) != NULL)
        return false;
    size_t word = 0, space = 0;
    for (size_t i = 0; i < v.len; i++) {
        bool white = is_wsp(v.ptr[i]);
        word = white ? 0 : word + 1;
        space = white ? space + 1 : 0;
        if (word > SUBJECT_WORD_MAX || space > SUBJECT_SPACE_MAX)
            return false;
    }
    return true;
}

/* Subject: kept verbatim (folded at its own white space) when
 * is_plain_subject(), otherwise encoded-words. */
static void
hdr_unstructured(struct hdr *h, const char *name, struct slice v)
{
    hdr_begin(h, name);
    if (!is_plain_subject(v)) {
        hdr_encoded_words(h, v.ptr, v.len);
        hdr_end(h);
        return;
    }
    hdr_put(h, " ", 1);
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        /* A token: white space, then a word. */
        const char *q = p;
        while (q < end && is_wsp(*q))
            q++;
        while (q < end && !is_wsp(*q))
            q++;
        /* Trailing white space goes with the last word: on a line of its
         * own it would be obs-FWS, which RFC 5322 4 forbids to generate. */
        const char *rest = q;
        while (rest < end && is_wsp(*rest))
            rest++;
        if (rest == end)
            q = end;
        hdr_raw(h, p, (size_t)(q - p));
        p = q;
    }
    hdr_end(h);
}

/* One mailbox: display name (atoms, quoted-string or encoded-words) and
 * <spec>, or the bare spec when there is no display name. */
static void
hdr_mailbox(struct hdr *h, const struct addr *a, bool comma)
{
    const char *d = a->display;
    size_t dn = a->display_len;
    size_t tail = comma ? 1 : 0;
    if (dn == 0) {
        hdr_word(h, a->spec, strlen(a->spec), tail);
    } else {
        if (!is_ascii_printable(d, dn) || memmem(d, dn, "=?", 2) != NULL) {
            hdr_encoded_words(h, d, dn);
        } else {
            bool atoms = d[0] != ' ' && d[dn - 1] != ' ';
            for (size_t i = 0; atoms && i < dn; i++)
                atoms = addr_is_atext((unsigned char)d[i]) || (d[i] == ' ' && d[i + 1] != ' ');
            char q[2 * ADDR_DISPLAY_MAX + 3];
            size_t n = 0;
            if (atoms) {
                memcpy(q, d, dn);
                n = dn;
            } else {
                q[n++] = '"';
                for (size_t i = 0; i < dn; i++) {
                    if (d[i] == '"' || d[i] == '\\')
                        q[n++] = '\\';
                    q[n++] = d[i];
                }
                q[n++] = '"';
            }
            hdr_word(h, q, n, 0);
        }
        char spec[ADDR_SPEC_MAX + 3];
        int n = snprintf(spec, sizeof(spec), "<%s>", a->spec);
        hdr_word(h, spec, (size_t)n, tail);
    }
    if (comma)
        hdr_put(h, ",", 1);
}

static void
hdr_address_list(struct hdr *h, const char *name, const struct addr *list, size_t n)
{
    if (n == 0)
        return;
    hdr_begin(h, name);
    for (size_t i = 0; i < n; i++)
        hdr_mailbox(h, &list[i], i + 1 < n);
    hdr_end(h);
}

static void
hdr_date(struct hdr *h, time_t t)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[64];
    int n = snprintf(s, sizeof(s), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
                     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
    hdr_put(h, s, (size_t)n);
}

/* ---- body parts ------------------------------------------------------- */

/* True when body can go as 7bit: ASCII without NUL, lines <= 998 octets. */
static bool
fits_7bit(struct slice body)
{
    size_t line = 0;
    for (size_t i = 0; i < body.len; i++) {
        unsigned char c = (unsigned char)body.ptr[i];
        if (c == '\r' || c == '\n') {
            line = 0;
            continue;
        }
        if (c == 0 || c > 0x7e || ++line > LINE_MAX_7BIT)
            return false;
    }
    return true;
}

/* Appends s with every line end (CRLF, bare CR, bare LF) written as CRLF. */
static int
append_crlf(struct buf *out, const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\r' && *q != '\n')
            q++;
        if (buf_append(out, p, (size_t)(q - p)) < 0)
            return -1;
        if (q == end)
            break;
        if (buf_append(out, "\r\n", 2) < 0)
            return -1;
        p = q + ((*q == '\r' && q + 1 < end && q[1] == '\n') ? 2 : 1);
    }
    return 0;
}

static int
write_text(struct buf *out, const char *subtype, struct slice body)
{
    bool plain = fits_7bit(body);
    if (buf_printf(out,
                   "Content-Type: text/%s; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: %s\r\n\r\n",
                   subtype, plain ? "7bit" : "quoted-printable") < 0)
        return -1;
    if (plain)
        return append_crlf(out, body.ptr, body.len);
    size_t bound = qp_encode_bound(body.len);
    if (bound == 0 || buf_reserve(out, bound) < 0)
        return -1;
    out->len += qp_encode(out->data + out->len, body.ptr, body.len);
    return 0;
}

static int
write_alternative(struct buf *out, const struct mime_message *m)
{
    if (!m->has_html)
        return write_text(out, "plain", m->has_text ? m->text : SLICE_LIT(""));
    if (!m->has_text)
        return write_text(out, "html", m->html);
    char b[40] = "=_";
    random_hex(b + 2, 16);
    if (buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n--%s\r\n", b,
                   b) < 0 ||
        write_text(out, "plain", m->text) < 0 || buf_printf(out, "\r\n--%s\r\n", b) < 0 ||
        write_text(out, "html", m->html) < 0 || buf_printf(out, "\r\n--%s--", b) < 0)
        return -1;
    return 0;
}

/* RFC 2231 attr-char: what may stay unencoded in an extended parameter. */
static bool
is_attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* filename="..." for printable ASCII, else RFC 2231 filename*=utf-8''...
 * split into filename*0*, filename*1*, ... pieces of at most 60 columns. */
static int
write_filename(struct buf *out, struct slice name)
{
    if (is_ascii_printable(name.ptr, name.len)) {
        if (buf_append_str(out, "; filename=\"") < 0)
            return -1;
        for (size_t i = 0; i < name.len; i++) {
            char c = name.ptr[i];
            if ((c == '"' || c == '\\') && buf_append_char(out, '\\') < 0)
                return -1;
            if (buf_append_char(out, c) < 0)
                return -1;
        }
        return buf_append_char(out, '"');
    }
    static const char hex[] = "0123456789ABCDEF";
    struct buf enc = {0};
    int rc = -1;
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
        int r = is_attr_char(c) ? buf_append_char(&enc, (char)c) : buf_append(&enc, pct, 3);
        if (r < 0)
            goto end;
    }
    const size_t piece = 60;
    if (enc.len + 8 <= piece) {
        rc = buf_printf(out, ";\r\n filename*=utf-8''%.*s", (int)enc.len, enc.data);
        goto end;
    }
    for (size_t off = 0, i = 0; off < enc.len; i++) {
        size_t n = enc.len - off < piece ? enc.len - off : piece;
        /* Never split a %XX triplet. */
        if (off + n < enc.len && n >= 2 && enc.data[off + n - 1] == '%')
            n -= 1;
        else if (off + n < enc.len && n >= 2 && enc.data[off + n - 2] == '%')
            n -= 2;
        if (buf_printf(out, ";\r\n filename*%zu*=%s%.*s", i, i == 0 ? "utf-8''" : "", (int)n,
                       enc.data + off) < 0)
            goto end;
        off += n;
    }
    rc = 0;
end:
    buf_free(&enc);
    return rc;
}

bool
mime_type_is_composite(struct slice type)
{
    type = slice_trim(type);
    const char *slash = type.len > 0 ? memchr(type.ptr, '/', type.len) : NULL;
    struct slice top = slice_make(type.ptr, slash ? (size_t)(slash - type.ptr) : type.len);
    return slice_eq_ci(top, SLICE_LIT("multipart")) || slice_eq_ci(top, SLICE_LIT("message"));
}

static int
write_attachment(struct buf *out, const struct mime_attachment *a)
{
    struct slice type =
        a->content_type.len ? a->content_type : SLICE_LIT("application/octet-stream");
    struct slice name = a->filename.len ? a->filename : SLICE_LIT("attachment");
    if (buf_printf(out, "Content-Type: %.*s\r\nContent-Disposition: attachment", (int)type.len,
                   type.ptr) < 0 ||
        write_filename(out, name) < 0 ||
        buf_append_str(out, "\r\nContent-Transfer-Encoding: base64\r\n\r\n") < 0)
        return -1;
    size_t n = base64_encoded_len(a->data.len, true);
    if ((n == 0 && a->data.len > 0) || buf_reserve(out, n) < 0)
        return -1;
    n = base64_encode(out->data + out->len, a->data.ptr, a->data.len, true);
    /* The last CRLF belongs to the next delimiter. */
    out->len += n >= 2 ? n - 2 : n;
    return 0;
}

static int
write_body(struct buf *out, const struct mime_message *m)
{
    if (m->nattachments == 0)
        return write_alternative(out, m);
    char b[40] = "=_";
    random_hex(b + 2, 16);
    if (buf_printf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n", b, b) <
            0 ||
        write_alternative(out, m) < 0)
        return -1;
    for (size_t i = 0; i < m->nattachments; i++)
        if (buf_printf(out, "\r\n--%s\r\n", b) < 0 || write_attachment(out, &m->attachments[i]) < 0)
            return -1;
    return buf_printf(out, "\r\n--%s--\r\n", b);
}

int
mime_build(struct buf *out, const struct mime_message *m)
{
    struct hdr h = {.out = out};
    hdr_address_list(&h, "From", m->from, 1);
    hdr_address_list(&h, "To", m->to, m->nto);
    hdr_address_list(&h, "Cc", m->cc, m->ncc);
    if (m->reply_to != NULL)
        hdr_address_list(&h, "Reply-To", m->reply_to, 1);
    if (m->subject.len > 0)
        hdr_unstructured(&h, "Subject", m->subject);
    hdr_date(&h, m->date);
    hdr_begin(&h, "Message-ID");
    hdr_word(&h, m->message_id, strlen(m->message_id), 0);
    hdr_end(&h);
    hdr_put(&h, "MIME-Version: 1.0\r\n", 19);
    if (h.err < 0 || write_body(out, m) < 0)
        return -1;
    /* A message ends with a line end (the last delimiter has one already). */
    if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
        return buf_append(out, "\r\n", 2);
    return 0;
}
