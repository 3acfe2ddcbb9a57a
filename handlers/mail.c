/* mail.c - POST /mail: request -> validated message -> SMTP; see mail.h.
 *
 * DESIGN
 * Three stages, each of which may end the request with an error status:
 *
 *   1. read:     the body, whatever its Content-Type, becomes a struct
 *                mail_fields of raw slices (into the body, the JSON arena or
 *                a decoded copy) plus decoded attachments;
 *   2. validate: every address goes through addr_parse(), the allow list is
 *                applied, header fields are checked for CR/LF/NUL and UTF-8;
 *   3. relay:    mime_build() makes the message, smtp_send() delivers it,
 *                and the outcome becomes the JSON response.
 *
 * No byte goes to the SMTP host before stage 3, so a request refused in
 * stage 1 or 2 leaves no trace there. Memory that outlives a stage (decoded
 * copies, attachments) is registered in struct mail_job and freed in one
 * place at the end.
 *
 * Recipients are capped at MAIL_MAX_RCPT: RFC 5321 4.5.3.1.8 only promises
 * that a server takes 100 RCPT commands per message. */
#include "mail.h"
#include "addr.h"
#include "base64.h"
#include "form.h"
#include "json.h"
#include "log.h"
#include "mime.h"
#include "multipart.h"
#include "pct.h"
#include "smtp.h"
#include "tlspipe.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAIL_MAX_RCPT     100 /* recipients in to, cc and bcc together */
#define MAIL_FILENAME_MAX 255 /* bytes of an attachment's file name */
#define MAIL_TYPE_MAX     255 /* bytes of an attachment's content type */

enum { F_FROM, F_REPLY_TO, F_SUBJECT, F_TEXT, F_HTML, F_TO, F_CC, F_BCC, NUM_FIELDS };

static const char *const field_names[NUM_FIELDS] = {
    [F_FROM] = "from", [F_REPLY_TO] = "reply_to", [F_SUBJECT] = "subject",
    [F_TEXT] = "text", [F_HTML] = "html",         [F_TO] = "to",
    [F_CC] = "cc",     [F_BCC] = "bcc",
};

struct slices {
    struct slice *v;
    size_t n, cap;
};

struct mail_job {
    const struct mail_config *cfg;
    const struct mail_request *req;
    struct buf *out;

    /* stage 1 */
    struct slice single[F_TO]; /* from .. html */
    bool has[F_TO];
    struct slices lists[NUM_FIELDS - F_TO]; /* to, cc, bcc: raw entries, maybe "a, b" */
    struct mime_attachment *att;
    size_t natt, catt;
    struct json_doc doc;
    void **mem; /* decoded copies, freed at the end */
    size_t nmem, cmem;

    /* stage 2 */
    struct addr from, reply_to;
    struct addr *rcpt; /* to, then cc, then bcc */
    size_t nrcpt, nlist[NUM_FIELDS - F_TO];
};

void
mail_config_defaults(struct mail_config *cfg)
{
    *cfg = (struct mail_config){
        .smtp_host = "localhost",
        .smtp_port = 1025,
        .max_body = 10 * 1024 * 1024,
        .connect_timeout_ms = 5000,
        .reply_timeout_ms = 10000,
        .total_timeout_ms = 30000,
        .helo_name = "localhost",
        .smtp_tls = SMTP_TLS_NONE,
        .smtp_openssl = TLSPIPE_OPENSSL_DEFAULT,
    };
}

int
mail_config_check(const struct mail_config *cfg, char *err, size_t cap)
{
    /* Checked as a request's "from" is, so that a bad one stops the start
     * instead of failing every request that leaves "from" out. */
    if (cfg->mail_from != NULL) {
        struct addr from;
        size_t len = strlen(cfg->mail_from);
        const char *why = addr_parse(slice_make(cfg->mail_from, len), &from);
        if (why != NULL) {
            char shown[128];
            log_escape(shown, sizeof(shown), cfg->mail_from, len);
            snprintf(err, cap, "bad --mail-from address '%s': %s", shown, why);
            return -1;
        }
    }
    if (cfg->smtp_ca != NULL && access(cfg->smtp_ca, R_OK) < 0) {
        snprintf(err, cap, "cannot read --smtp-ca '%s': %s", cfg->smtp_ca, strerror(errno));
        return -1;
    }
    if (cfg->smtp_tls != SMTP_TLS_NONE) {
        const char *openssl = cfg->smtp_openssl ? cfg->smtp_openssl : TLSPIPE_OPENSSL_DEFAULT;
        char why[200];
        if (tlspipe_check(openssl, why, sizeof(why)) < 0) {
            snprintf(err, cap, "--smtp-tls needs openssl: %s (see --smtp-openssl)", why);
            return -1;
        }
    }
    return 0;
}

/* ---- responses -------------------------------------------------------- */

/* Replaces whatever is in out with {"error": "<fmt...>"} and returns status. */
static int reply_error(struct mail_job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
reply_error(struct mail_job *j, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j->out->len = 0;
    if (buf_append_str(j->out, "{\"error\": ") < 0 ||
        json_write_string(j->out, msg, strlen(msg)) < 0 || buf_append_str(j->out, "}") < 0) {
        j->out->len = 0;
        return 500;
    }
    return status;
}

static int
nomem(struct mail_job *j)
{
    return reply_error(j, 500, "out of memory");
}

/* ---- bookkeeping ------------------------------------------------------ */

static void *
job_alloc(struct mail_job *j, size_t n)
{
    if (j->nmem == j->cmem) {
        size_t cap = j->cmem ? 2 * j->cmem : 16;
        void **m = realloc(j->mem, cap * sizeof(*m));
        if (m == NULL)
            return NULL;
        j->mem = m;
        j->cmem = cap;
    }
    void *p = malloc(n ? n : 1);
    if (p != NULL)
        j->mem[j->nmem++] = p;
    return p;
}

static int
slices_push(struct slices *l, struct slice s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct slice *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static struct mime_attachment *
new_attachment(struct mail_job *j)
{
    if (j->natt == j->catt) {
        size_t cap = j->catt ? 2 * j->catt : 4;
        struct mime_attachment *a = realloc(j->att, cap * sizeof(*a));
        if (a == NULL)
            return NULL;
        j->att = a;
        j->catt = cap;
    }
    struct mime_attachment *a = &j->att[j->natt++];
    *a = (struct mime_attachment){0};
    return a;
}

static void
job_free(struct mail_job *j)
{
    for (size_t i = 0; i < j->nmem; i++)
        free(j->mem[i]);
    free(j->mem);
    for (size_t i = 0; i < NUM_FIELDS - F_TO; i++)
        free(j->lists[i].v);
    free(j->att);
    free(j->rcpt);
    json_free(&j->doc);
}

/* ---- stage 0: authorization ------------------------------------------- */

/* Compares in time that depends only on the expected token's length. */
static bool
token_equal(struct slice given, const char *expected)
{
    size_t n = strlen(expected);
    volatile unsigned char diff = given.len != n;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(expected[i] ^ (i < given.len ? given.ptr[i] : 0));
    return diff == 0;
}

bool
mail_authorized(const struct mail_config *cfg, struct slice auth)
{
    if (cfg->token == NULL)
        return true;
    auth = slice_trim(auth);
    struct slice scheme = SLICE_LIT("Bearer");
    if (auth.len <= scheme.len || !slice_eq_ci(slice_make(auth.ptr, scheme.len), scheme) ||
        (auth.ptr[scheme.len] != ' ' && auth.ptr[scheme.len] != '\t'))
        return false;
    struct slice cred = slice_trim(slice_make(auth.ptr + scheme.len, auth.len - scheme.len));
    return token_equal(cred, cfg->token);
}

/* ---- stage 1: reading the body ---------------------------------------- */

static int
field_index(struct slice name)
{
    for (int i = 0; i < NUM_FIELDS; i++)
        if (slice_eq(name, slice_make(field_names[i], strlen(field_names[i]))))
            return i;
    /* The HTML form spelling of reply_to. */
    if (slice_eq(name, SLICE_LIT("reply-to")))
        return F_REPLY_TO;
    return -1;
}

/* Stores a field's string value. Returns 0, or an error status. */
static int
take_field(struct mail_job *j, int f, struct slice value)
{
    if (f >= F_TO) {
        if (slices_push(&j->lists[f - F_TO], value) < 0)
            return nomem(j);
        return 0;
    }
    if (j->has[f])
        return reply_error(j, 400, "field \"%s\" given more than once", field_names[f]);
    j->has[f] = true;
    j->single[f] = value;
    return 0;
}

static int
json_attachment(struct mail_job *j, const struct json_value *v, size_t idx)
{
    if (v->type != JSON_OBJECT)
        return reply_error(j, 400, "attachments[%zu] must be an object", idx);
    struct mime_attachment *a = new_attachment(j);
    if (a == NULL)
        return nomem(j);
    const struct json_value *content = NULL;
    for (const struct json_value *m = v->child; m != NULL; m = m->next) {
        struct slice *dst = NULL;
        if (slice_eq(m->key, SLICE_LIT("filename")))
            dst = &a->filename;
        else if (slice_eq(m->key, SLICE_LIT("content_type")))
            dst = &a->content_type;
        else if (!slice_eq(m->key, SLICE_LIT("content")))
            return reply_error(j, 400, "attachments[%zu]: unknown field \"%.*s\"", idx,
                               (int)m->key.len, m->key.ptr);
        if (m->type == JSON_NULL)
            continue;
        if (m->type != JSON_STRING)
            return reply_error(j, 400, "attachments[%zu].%.*s must be a string", idx,
                               (int)m->key.len, m->key.ptr);
        if (dst != NULL)
            *dst = m->str;
        else
            content = m;
    }
    if (content == NULL)
        return reply_error(j, 400, "attachments[%zu]: \"content\" (base64) is missing", idx);
    char *data = job_alloc(j, base64_decoded_bound(content->str.len));
    if (data == NULL)
        return nomem(j);
    ssize_t n = base64_decode(data, content->str.ptr, content->str.len);
    if (n < 0)
        return reply_error(j, 400, "attachments[%zu].content is not valid base64", idx);
    a->data = slice_make(data, (size_t)n);
    return 0;
}

static int
json_field(struct mail_job *j, const struct json_value *m, unsigned *seen)
{
    if (slice_eq(m->key, SLICE_LIT("attachments"))) {
        if (*seen & 1u << NUM_FIELDS)
            return reply_error(j, 400, "field \"attachments\" given more than once");
        *seen |= 1u << NUM_FIELDS;
        if (m->type == JSON_NULL)
            return 0;
        if (m->type != JSON_ARRAY)
            return reply_error(j, 400, "\"attachments\" must be an array");
        size_t i = 0;
        for (const struct json_value *a = m->child; a != NULL; a = a->next, i++) {
            int st = json_attachment(j, a, i);
            if (st != 0)
                return st;
        }
        return 0;
    }
    int f = field_index(m->key);
    if (f < 0 || slice_eq(m->key, SLICE_LIT("reply-to")))
        return reply_error(j, 400, "unknown field \"%.*s\"", (int)m->key.len, m->key.ptr);
    if (*seen & 1u << f)
        return reply_error(j, 400, "field \"%s\" given more than once", field_names[f]);
    *seen |= 1u << f;
    if (m->type == JSON_NULL)
        return 0;
    if (m->type == JSON_STRING)
        return take_field(j, f, m->str);
    if (m->type != JSON_ARRAY || f < F_TO)
        return reply_error(j, 400, "\"%s\" must be a string%s", field_names[f],
                           f >= F_TO ? " or an array of strings" : "");
    for (const struct json_value *e = m->child; e != NULL; e = e->next) {
        if (e->type != JSON_STRING)
            return reply_error(j, 400, "\"%s\" must be an array of strings", field_names[f]);
        int st = take_field(j, f, e->str);
        if (st != 0)
            return st;
    }
    return 0;
}

static int
read_json(struct mail_job *j)
{
    char err[128];
    int r = json_parse(&j->doc, j->req->body, j->req->body_len, err, sizeof(err));
    if (r == -2)
        return nomem(j);
    if (r < 0)
        return reply_error(j, 400, "%s", err);
    if (j->doc.root->type != JSON_OBJECT)
        return reply_error(j, 400, "the JSON body must be an object");
    unsigned seen = 0;
    for (const struct json_value *m = j->doc.root->child; m != NULL; m = m->next) {
        int st = json_field(j, m, &seen);
        if (st != 0)
            return st;
    }
    return 0;
}

/* The file name of a file part: filename* (RFC 5987, UTF-8 or ASCII only)
 * wins over filename; either loses any directory part (RFC 7578 4.2). */
static int
part_filename(struct mail_job *j, const struct multipart_part *part, struct slice *out)
{
    struct slice name = part->filename;
    char *buf;
    if (part->filename_ext.len > 0) {
        struct slice ext = part->filename_ext;
        const char *q1 = memchr(ext.ptr, '\'', ext.len);
        const char *q2 = q1 ? memchr(q1 + 1, '\'', ext.len - (size_t)(q1 + 1 - ext.ptr)) : NULL;
        if (q2 == NULL)
            return reply_error(j, 400, "malformed filename* parameter");
        struct slice charset = slice_make(ext.ptr, (size_t)(q1 - ext.ptr));
        if (!slice_eq_ci(charset, SLICE_LIT("utf-8")) &&
            !slice_eq_ci(charset, SLICE_LIT("us-ascii")))
            return reply_error(j, 400, "filename* charset must be UTF-8");
        struct slice enc = slice_make(q2 + 1, ext.len - (size_t)(q2 + 1 - ext.ptr));
        if ((buf = job_alloc(j, enc.len)) == NULL)
            return nomem(j);
        /* RFC 8187 3.2: percent-encoding only; '+' is itself. */
        ssize_t n = pct_decode(buf, enc.ptr, enc.len, false);
        if (n < 0)
            return reply_error(j, 400, "malformed filename* parameter");
        name = slice_make(buf, (size_t)n);
    } else {
        if ((buf = job_alloc(j, name.len)) == NULL)
            return nomem(j);
        name = slice_make(buf, multipart_unquote(buf, name));
    }
    for (size_t i = name.len; i > 0; i--) {
        if (name.ptr[i - 1] == '/' || name.ptr[i - 1] == '\\') {
            name = slice_make(name.ptr + i, name.len - i);
            break;
        }
    }
    *out = name;
    return 0;
}

static int
read_multipart(struct mail_job *j)
{
    struct slice boundary;
    if (multipart_boundary(j->req->content_type, &boundary) < 0)
        return reply_error(j, 400, "multipart/form-data without a valid boundary");
    struct multipart_reader r;
    multipart_init(&r, boundary, j->req->body, j->req->body_len);
    struct multipart_part part;
    int rc;
    while ((rc = multipart_next(&r, &part)) == 1) {
        if (part.is_file) {
            struct slice name;
            int st = part_filename(j, &part, &name);
            if (st != 0)
                return st;
            /* A browser sends an empty, nameless part for a file input left empty. */
            if (name.len == 0 && part.data.len == 0)
                continue;
            struct mime_attachment *a = new_attachment(j);
            if (a == NULL)
                return nomem(j);
            a->filename = name;
            /* The browser's guess from the file name (an .eml file is
             * message/rfc822): a composite type cannot go base64-encoded,
             * and the user cannot choose another, so send it as bytes. */
            if (!mime_type_is_composite(part.content_type))
                a->content_type = part.content_type;
            a->data = part.data;
            continue;
        }
        int f = field_index(part.name);
        if (f < 0)
            continue; /* other form controls (a submit button, say) */
        int st = take_field(j, f, part.data);
        if (st != 0)
            return st;
    }
    if (rc < 0)
        return reply_error(j, 400, "malformed multipart/form-data body");
    return 0;
}

static int
read_form(struct mail_job *j)
{
    struct slice rest = slice_make(j->req->body, j->req->body_len);
    struct slice name, value;
    /* Decoding never grows: one copy of the body holds every decoded pair. */
    char *buf = job_alloc(j, j->req->body_len);
    if (buf == NULL)
        return nomem(j);
    size_t used = 0;
    while (form_next(&rest, &name, &value)) {
        ssize_t nn = form_decode(buf + used, name);
        ssize_t vn = nn < 0 ? -1 : form_decode(buf + used + nn, value);
        if (vn < 0)
            return reply_error(j, 400, "bad %%-escape in form data");
        struct slice dname = slice_make(buf + used, (size_t)nn);
        struct slice dvalue = slice_make(buf + used + nn, (size_t)vn);
        used += (size_t)(nn + vn);
        int f = field_index(dname);
        if (f < 0)
            continue;
        int st = take_field(j, f, dvalue);
        if (st != 0)
            return st;
    }
    return 0;
}

static int
read_body(struct mail_job *j)
{
    struct slice ct = j->req->content_type;
    struct slice type = multipart_type(ct);
    struct slice charset;
    int rc = multipart_param(ct, "charset", &charset);
    if (rc < 0)
        return reply_error(j, 400, "malformed Content-Type");
    if (rc == 1 && !slice_eq_ci(charset, SLICE_LIT("utf-8")) &&
        !slice_eq_ci(charset, SLICE_LIT("us-ascii")))
        return reply_error(j, 415, "charset \"%.*s\" is not supported: send UTF-8",
                           (int)charset.len, charset.ptr);
    if (slice_eq_ci(type, SLICE_LIT("application/json")))
        return read_json(j);
    if (slice_eq_ci(type, SLICE_LIT("multipart/form-data")))
        return read_multipart(j);
    if (slice_eq_ci(type, SLICE_LIT("application/x-www-form-urlencoded")))
        return read_form(j);
    return reply_error(j, 415,
                       "Content-Type \"%.*s\" is not supported: send application/json, "
                       "multipart/form-data or application/x-www-form-urlencoded",
                       (int)type.len, type.ptr);
}

/* ---- stage 2: validation ---------------------------------------------- */

/* CR, LF, NUL and the other C0 controls and DEL; tab too unless allow_tab. */
static bool
has_control(struct slice s, bool allow_tab)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
            return true;
    }
    return false;
}

/* `domain` is in the comma-separated allow list (case-insensitive, exact). */
static bool
domain_allowed(const char *allow, const char *domain)
{
    struct slice rest = slice_make(allow, strlen(allow));
    struct slice d = slice_make(domain, strlen(domain));
    while (rest.len > 0) {
        const char *comma = memchr(rest.ptr, ',', rest.len);
        size_t n = comma ? (size_t)(comma - rest.ptr) : rest.len;
        if (slice_eq_ci(slice_trim(slice_make(rest.ptr, n)), d))
            return true;
        rest = slice_make(rest.ptr + n + (comma ? 1 : 0), rest.len - n - (comma ? 1 : 0));
    }
    return false;
}

static int
check_address(struct mail_job *j, const char *what, struct slice raw, struct addr *a)
{
    const char *why = addr_parse(raw, a);
    if (why != NULL)
        return reply_error(j, 400, "bad %s address \"%.*s\": %s", what, (int)raw.len, raw.ptr, why);
    return 0;
}

static int
check_recipients(struct mail_job *j)
{
    j->rcpt = calloc(MAIL_MAX_RCPT, sizeof(*j->rcpt));
    if (j->rcpt == NULL)
        return nomem(j);
    for (int f = F_TO; f < NUM_FIELDS; f++) {
        const struct slices *l = &j->lists[f - F_TO];
        for (size_t i = 0; i < l->n; i++) {
            struct slice rest = l->v[i], item;
            while (addr_list_next(&rest, &item)) {
                if (item.len == 0)
                    continue;
                if (j->nrcpt == MAIL_MAX_RCPT)
                    return reply_error(j, 400, "too many recipients (at most %d)", MAIL_MAX_RCPT);
                struct addr *a = &j->rcpt[j->nrcpt];
                int st = check_address(j, field_names[f], item, a);
                if (st != 0)
                    return st;
                j->nrcpt++;
                j->nlist[f - F_TO]++;
            }
        }
    }
    if (j->nrcpt == 0)
        return reply_error(j, 400, "no recipient: give at least one address in to, cc or bcc");
    if (j->cfg->allow != NULL)
        for (size_t i = 0; i < j->nrcpt; i++)
            if (!domain_allowed(j->cfg->allow, addr_domain(&j->rcpt[i])))
                return reply_error(j, 403, "recipient domain not allowed: %s", j->rcpt[i].spec);
    return 0;
}

static int
check_attachments(struct mail_job *j)
{
    for (size_t i = 0; i < j->natt; i++) {
        const struct mime_attachment *a = &j->att[i];
        if (has_control(a->filename, false))
            return reply_error(j, 400,
                               "attachment %zu: control character (CR, LF, NUL, ...) "
                               "in the file name",
                               i + 1);
        if (a->filename.len > MAIL_FILENAME_MAX || !utf8_valid(a->filename.ptr, a->filename.len))
            return reply_error(j, 400, "attachment %zu: file name too long or not UTF-8", i + 1);
        /* type "/" subtype, then parameters, all printable ASCII (RFC 2045 5.1). */
        struct slice t = a->content_type;
        bool ok = t.len == 0 || (t.len <= MAIL_TYPE_MAX && multipart_check_type(t) == 0);
        for (size_t k = 0; ok && k < t.len; k++)
            ok = (unsigned char)t.ptr[k] >= 0x20 && (unsigned char)t.ptr[k] < 0x7f;
        if (!ok)
            return reply_error(j, 400,
                               "attachment %zu: bad content type: want type/subtype, then "
                               "parameters such as ; name=value (RFC 2045 5.1)",
                               i + 1);
        if (mime_type_is_composite(t))
            return reply_error(j, 400,
                               "attachment %zu: content type %.*s cannot be sent: multipart/* "
                               "and message/* may not be base64-encoded (RFC 2046 5); send it "
                               "as application/octet-stream",
                               i + 1, (int)t.len, t.ptr);
    }
    return 0;
}

static int
validate(struct mail_job *j)
{
    struct slice from;
    if (j->has[F_FROM] && j->single[F_FROM].len > 0)
        from = j->single[F_FROM];
    else if (j->cfg->mail_from != NULL)
        from = slice_make(j->cfg->mail_from, strlen(j->cfg->mail_from));
    else
        return reply_error(j, 400,
                           "no sender: give \"from\" (or start the server with "
                           "--mail-from)");
    int st = check_address(j, "from", from, &j->from);
    if (st == 0 && j->has[F_REPLY_TO] && j->single[F_REPLY_TO].len > 0)
        st = check_address(j, "reply_to", j->single[F_REPLY_TO], &j->reply_to);
    if (st != 0)
        return st;
    struct slice subject = j->single[F_SUBJECT];
    if (has_control(subject, true))
        return reply_error(j, 400, "subject contains a control character (CR, LF, NUL, ...)");
    for (int f = F_SUBJECT; f <= F_HTML; f++)
        if (!utf8_valid(j->single[f].ptr, j->single[f].len))
            return reply_error(j, 400, "%s is not valid UTF-8", field_names[f]);
    if ((st = check_attachments(j)) != 0)
        return st;
    return check_recipients(j);
}

/* ---- stage 3: relay --------------------------------------------------- */

static const char *
helo_name(const struct mail_config *cfg)
{
    const char *h = cfg->helo_name;
    if (h == NULL || *h == '\0' || strlen(h) > 255)
        return "localhost";
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return "localhost";
    return h;
}

static int
write_recipients(struct buf *out, const struct smtp_rcpt *r, size_t n)
{
    int rc = buf_append_str(out, ", \"accepted\": [");
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        if (r[i].code != 250 && r[i].code != 251)
            continue;
        if ((k++ && buf_append_str(out, ", ") < 0) ||
            json_write_string(out, r[i].address, strlen(r[i].address)) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = buf_append_str(out, "], \"rejected\": [");
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        if (r[i].code == 0 || r[i].code == 250 || r[i].code == 251)
            continue;
        if ((k++ && buf_append_str(out, ", ") < 0) || buf_append_str(out, "{\"address\": ") < 0 ||
            json_write_string(out, r[i].address, strlen(r[i].address)) < 0 ||
            buf_append_str(out, ", \"reply\": ") < 0 ||
            json_write_string(out, r[i].reply, strlen(r[i].reply)) < 0 ||
            buf_append_str(out, "}") < 0)
            rc = -1;
    }
    return rc == 0 ? buf_append_str(out, "]") : -1;
}

static int
relay_result(struct mail_job *j, enum smtp_status st, const struct smtp_result *res,
             const struct smtp_rcpt *r, size_t n, const char *message_id)
{
    int status;
    switch (st) {
    case SMTP_OK:
        status = 200;
        break;
    case SMTP_ERR_TIMEOUT:
        status = 504;
        break;
    case SMTP_ERR_TOO_BIG:
        status = 413;
        break;
    case SMTP_ERR_NOMEM:
        return nomem(j);
    default:
        status = 502;
        break;
    }
    if (st != SMTP_OK) {
        /* res->err may quote the SMTP host's reply: no escape sequence of
         * its own may reach a terminal or a log file. */
        char shown[4 * SMTP_ERR_MAX];
        log_escape(shown, sizeof(shown), res->err, strlen(res->err));
        log_warn("mail: %s", shown);
    }
    struct buf *out = j->out;
    out->len = 0;
    int rc;
    if (st == SMTP_OK) {
        rc = buf_append_str(out, "{\"message_id\": ") < 0 ||
             json_write_string(out, message_id, strlen(message_id)) < 0;
    } else {
        rc = buf_append_str(out, "{\"error\": ") < 0 ||
             json_write_string(out, res->err, strlen(res->err)) < 0;
    }
    bool tried = false; /* did any RCPT TO go out? */
    for (size_t i = 0; i < n; i++)
        tried |= r[i].code != 0;
    if (rc == 0 && (st == SMTP_OK || tried))
        rc = write_recipients(out, r, n) < 0;
    if (rc == 0 && res->reply[0] != '\0')
        rc = buf_append_str(out, ", \"smtp_reply\": ") < 0 ||
             json_write_string(out, res->reply, strlen(res->reply)) < 0;
    if (rc != 0 || buf_append_str(out, "}") < 0)
        return nomem(j);
    return status;
}

/* Envelope recipients: to, cc and bcc, each mailbox once. */
static struct smtp_rcpt *
envelope(struct mail_job *j, size_t *n)
{
    struct smtp_rcpt *r = calloc(j->nrcpt, sizeof(*r));
    if (r == NULL)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < j->nrcpt; i++) {
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = addr_same_mailbox(&j->rcpt[k], &j->rcpt[i]);
        if (!dup)
            r[(*n)++].address = j->rcpt[i].spec;
    }
    return r;
}

static int
relay(struct mail_job *j)
{
    const struct mail_config *cfg = j->cfg;
    char message_id[MIME_MESSAGE_ID_MAX];
    mime_message_id(message_id, sizeof(message_id), helo_name(cfg));
    struct mime_message m = {
        .from = &j->from,
        .to = j->rcpt,
        .nto = j->nlist[0],
        .cc = j->rcpt + j->nlist[0],
        .ncc = j->nlist[1],
        .reply_to = j->has[F_REPLY_TO] && j->single[F_REPLY_TO].len ? &j->reply_to : NULL,
        .subject = j->single[F_SUBJECT],
        .text = j->single[F_TEXT],
        .has_text = j->has[F_TEXT],
        .html = j->single[F_HTML],
        .has_html = j->has[F_HTML],
        .attachments = j->att,
        .nattachments = j->natt,
        .message_id = message_id,
        .date = time(NULL),
    };
    struct buf msg = {0};
    struct smtp_rcpt *r = NULL;
    size_t n = 0;
    int status;
    if (mime_build(&msg, &m) < 0 || (r = envelope(j, &n)) == NULL) {
        status = nomem(j);
        goto end;
    }
    struct smtp_options opt = {
        .host = cfg->smtp_host ? cfg->smtp_host : "localhost",
        .port = cfg->smtp_port,
        .helo_name = helo_name(cfg),
        .user = cfg->smtp_user,
        .password = cfg->smtp_password ? cfg->smtp_password : "",
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .reply_timeout_ms = cfg->reply_timeout_ms,
        .total_timeout_ms = cfg->total_timeout_ms,
        .tls = cfg->smtp_tls,
        .openssl = cfg->smtp_openssl,
        .ca_file = cfg->smtp_ca,
    };
    struct smtp_result res;
    enum smtp_status st = smtp_send(&opt, j->from.spec, r, n, msg.data, msg.len, &res);
    status = relay_result(j, st, &res, r, n, message_id);
end:
    free(r);
    buf_free(&msg);
    return status;
}

int
mail_handle(const struct mail_config *cfg, const struct mail_request *req, struct buf *out)
{
    struct mail_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        out->len = 0;
        buf_append_str(out, "{\"error\": \"out of memory\"}");
        return 500;
    }
    j->cfg = cfg;
    j->req = req;
    j->out = out;
    int status;
    if (!mail_authorized(cfg, req->authorization))
        status = reply_error(j, 401, "missing or wrong bearer token");
    else if (req->body_len > cfg->max_body)
        status = reply_error(j, 413, "body larger than %zu bytes", cfg->max_body);
    else if ((status = read_body(j)) == 0 && (status = validate(j)) == 0)
        status = relay(j);
    job_free(j);
    free(j);
    return status;
}
