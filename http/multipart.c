/* multipart.c - multipart/form-data parser; see multipart.h.
 *
 * DESIGN
 * The body is searched, never copied. A part runs from just after one
 * delimiter line to the CRLF that precedes the next "--boundary":
 *
 *     preamble CRLF --B [pad] CRLF headers CRLF CRLF data CRLF --B [pad] CRLF ...
 *                                                    data CRLF --B-- epilogue
 *                   ^ r->p                               ^ memmem("\r\n--B")
 *
 * The first delimiter may also open the body with no CRLF before it. As
 * RFC 2046 requires, the boundary is only recognised at the start of a line,
 * and the CRLF before it belongs to the delimiter, not to the data. The
 * preamble and epilogue are ignored. Line ends must be CRLF.
 *
 * REFERENCES
 *   RFC 7578 "Returning Values from Forms: multipart/form-data", sections 4.1
 *   (boundary), 4.2 (Content-Disposition, filename), 4.4 (Content-Type),
 *   4.7 (Content-Transfer-Encoding deprecated).
 *   RFC 2046 section 5.1.1 (delimiters, bchars, transport padding).
 *   RFC 2045 section 5.1 (parameter syntax), RFC 2183 (Content-Disposition),
 *   RFC 5987 (filename*). */
#include "multipart.h"

#include <string.h>

/* RFC 2045 5.1 tspecials, which may not appear in a token. */
static bool
is_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

struct slice
multipart_type(struct slice v)
{
    const char *semi = memchr(v.ptr, ';', v.len);
    if (semi != NULL)
        v.len = (size_t)(semi - v.ptr);
    return slice_trim(v);
}

static const char *
skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int
multipart_param(struct slice hv, const char *name, struct slice *value)
{
    const char *p = hv.ptr, *end = hv.ptr + hv.len;
    struct slice want = slice_make(name, strlen(name));
    const char *semi = memchr(p, ';', hv.len);
    if (semi == NULL)
        return 0;
    p = semi;
    int found = 0;
    while (p < end) {
        /* p at ';' */
        p = skip_ows(p + 1, end);
        if (p == end)
            break; /* a trailing ';' is harmless */
        const char *a = p;
        while (p < end && is_tchar((unsigned char)*p) && *p != '=')
            p++;
        struct slice attr = slice_make(a, (size_t)(p - a));
        p = skip_ows(p, end);
        if (attr.len == 0 || p == end || *p != '=')
            return -1;
        p = skip_ows(p + 1, end);
        struct slice v;
        if (p < end && *p == '"') {
            const char *q = ++p;
            while (q < end && *q != '"') {
                if (*q == '\\' && q + 1 < end)
                    q++;
                q++;
            }
            if (q >= end)
                return -1;
            v = slice_make(p, (size_t)(q - p));
            p = q + 1;
        } else {
            const char *q = p;
            while (q < end && is_tchar((unsigned char)*q))
                q++;
            if (q == p)
                return -1;
            v = slice_make(p, (size_t)(q - p));
            p = q;
        }
        p = skip_ows(p, end);
        if (p < end && *p != ';')
            return -1;
        if (!found && slice_eq_ci(attr, want)) {
            *value = v;
            found = 1;
        }
    }
    return found;
}

int
multipart_check_type(struct slice v)
{
    struct slice t = multipart_type(v);
    const char *slash = memchr(t.ptr, '/', t.len);
    if (slash == NULL || slash == t.ptr || slash + 1 == t.ptr + t.len)
        return -1;
    for (const char *p = t.ptr; p < t.ptr + t.len; p++)
        if (p != slash && !is_tchar((unsigned char)*p))
            return -1;
    /* The parameters: multipart_param() refuses a malformed list whatever
     * name it looks for, but lets a trailing ';' pass. */
    struct slice trimmed = slice_trim(v), unused;
    if (trimmed.ptr[trimmed.len - 1] == ';' || multipart_param(v, "", &unused) < 0)
        return -1;
    return 0;
}

static bool
is_bchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

int
multipart_boundary(struct slice content_type, struct slice *boundary)
{
    struct slice b;
    if (multipart_param(content_type, "boundary", &b) != 1)
        return -1;
    if (b.len == 0 || b.len > MULTIPART_BOUNDARY_MAX || b.ptr[b.len - 1] == ' ')
        return -1;
    for (size_t i = 0; i < b.len; i++)
        if (!is_bchar((unsigned char)b.ptr[i]))
            return -1;
    *boundary = b;
    return 0;
}

void
multipart_init(struct multipart_reader *r, struct slice boundary, const char *body, size_t len)
{
    *r = (struct multipart_reader){
        .p = NULL, .end = body + len, .body = body, .boundary = boundary, .final = 1};
}

/* The next "\r\n--boundary" at or after p, pointing at the "--", or NULL. */
static const char *
find_delimiter(const struct multipart_reader *r, const char *p)
{
    size_t blen = r->boundary.len;
    while (p < r->end) {
        const char *hit = memmem(p, (size_t)(r->end - p), "\r\n--", 4);
        if (hit == NULL)
            return NULL;
        hit += 2;
        if ((size_t)(r->end - hit) >= blen + 2 && memcmp(hit + 2, r->boundary.ptr, blen) == 0)
            return hit;
        p = hit;
    }
    return NULL;
}

static bool
starts_delimiter(const struct multipart_reader *r, const char *p)
{
    size_t blen = r->boundary.len;
    return (size_t)(r->end - p) >= blen + 2 && p[0] == '-' && p[1] == '-' &&
           memcmp(p + 2, r->boundary.ptr, blen) == 0;
}

/* One header line p[0..len) of a part. Returns 0 or -1. */
static int
part_header(struct slice line, struct multipart_part *part, bool *has_disposition)
{
    const char *colon = memchr(line.ptr, ':', line.len);
    if (colon == NULL || colon == line.ptr)
        return -1;
    struct slice name = slice_make(line.ptr, (size_t)(colon - line.ptr));
    struct slice value =
        slice_trim(slice_make(colon + 1, line.len - (size_t)(colon + 1 - line.ptr)));
    for (size_t i = 0; i < name.len; i++)
        if (!is_tchar((unsigned char)name.ptr[i]))
            return -1;
    if (slice_eq_ci(name, SLICE_LIT("Content-Type"))) {
        part->content_type = value;
    } else if (slice_eq_ci(name, SLICE_LIT("Content-Disposition"))) {
        if (!slice_eq_ci(multipart_type(value), SLICE_LIT("form-data")))
            return -1;
        if (multipart_param(value, "name", &part->name) < 0)
            return -1;
        int f = multipart_param(value, "filename", &part->filename);
        int fx = multipart_param(value, "filename*", &part->filename_ext);
        part->is_file = f == 1 || fx == 1;
        *has_disposition = true;
    } else if (slice_eq_ci(name, SLICE_LIT("Content-Transfer-Encoding"))) {
        /* Deprecated (RFC 7578 4.7); we only take identity encodings. */
        if (!slice_eq_ci(value, SLICE_LIT("7bit")) && !slice_eq_ci(value, SLICE_LIT("8bit")) &&
            !slice_eq_ci(value, SLICE_LIT("binary")))
            return -1;
    }
    return 0;
}

static int
reader_fail(struct multipart_reader *r)
{
    r->final = -1;
    return -1;
}

int
multipart_next(struct multipart_reader *r, struct multipart_part *part)
{
    if (r->final != 1)
        return r->final;
    if (r->p == NULL) {
        r->p = starts_delimiter(r, r->body) ? r->body : find_delimiter(r, r->body);
        if (r->p == NULL)
            return reader_fail(r);
    }
    /* r->p at "--boundary": the close delimiter or a delimiter line. */
    const char *p = r->p + 2 + r->boundary.len;
    if (r->end - p >= 2 && p[0] == '-' && p[1] == '-') {
        r->final = 0;
        return 0;
    }
    p = skip_ows(p, r->end);
    if (r->end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return reader_fail(r);
    p += 2;

    *part = (struct multipart_part){0};
    bool has_disposition = false;
    for (;;) {
        const char *eol = memmem(p, (size_t)(r->end - p), "\r\n", 2);
        if (eol == NULL)
            return reader_fail(r);
        if (eol == p) {
            p += 2;
            break;
        }
        if (part_header(slice_make(p, (size_t)(eol - p)), part, &has_disposition) < 0)
            return reader_fail(r);
        p = eol + 2;
    }
    if (!has_disposition)
        return reader_fail(r);

    const char *next = find_delimiter(r, p - 2);
    if (next == NULL)
        return reader_fail(r);
    /* An empty part's data is the CRLF shared by the blank line and the delimiter. */
    const char *data_end = next - 2 < p ? p : next - 2;
    part->data = slice_make(p, (size_t)(data_end - p));
    r->p = next;
    return 1;
}

size_t
multipart_unquote(char *out, struct slice in)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        if (in.ptr[i] == '\\' && i + 1 < in.len && (in.ptr[i + 1] == '"' || in.ptr[i + 1] == '\\'))
            i++;
        out[n++] = in.ptr[i];
    }
    return n;
}
