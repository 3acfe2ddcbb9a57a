/* encoding.c - Accept-Encoding negotiation; see encoding.h.
 *
 * The field is a list of codings, each with optional parameters:
 *
 *     Accept-Encoding: br;q=1.0, gzip ; q=0.8, *;q=0.1, identity
 *                      ^coding ^weight (RFC 9110 12.4.2, thousandths here)
 *
 * Each element is parsed on its own; an element that does not parse is
 * dropped and the rest still count, so one odd entry cannot turn gzip off
 * for a whole header (nor on: a broken "gzip;q=" is no "gzip"). */
#include "encoding.h"

#include <stddef.h>

#include "parse.h"

/* Weights are kept in thousandths: qvalue has at most three decimals. */
#define Q_ONE     1000
#define Q_INVALID (-1)
#define Q_ABSENT  (-1)

/* tchar (RFC 9110 5.6.2) */
static bool
is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

static const char *
skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *
skip_token(const char *p, const char *end)
{
    while (p < end && is_tchar(*p))
        p++;
    return p;
}

/* The end of the list element starting at p: the next ',' outside a
 * quoted-string, or end. */
static const char *
element_end(const char *p, const char *end)
{
    bool quoted = false;
    for (; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            break;
    }
    return p;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); returns the
 * weight in thousandths, or Q_INVALID. */
static int
parse_qvalue(struct slice v)
{
    if (v.len == 0 || v.len > 5 || (v.ptr[0] != '0' && v.ptr[0] != '1'))
        return Q_INVALID;
    int q = (v.ptr[0] - '0') * Q_ONE;
    if (v.len == 1)
        return q;
    if (v.ptr[1] != '.')
        return Q_INVALID;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        char c = v.ptr[i];
        if (c < '0' || c > '9' || (q == Q_ONE && c != '0'))
            return Q_INVALID;
        q += (c - '0') * scale;
    }
    return q;
}

/* Parses the parameters after a coding: *( OWS ";" OWS name "=" value ).
 * Returns the weight (Q_ONE when there is no q), or Q_INVALID. */
static int
parse_weight(const char *p, const char *end)
{
    int q = Q_ONE;
    for (p = skip_ows(p, end); p < end; p = skip_ows(p, end)) {
        if (*p != ';')
            return Q_INVALID;
        p = skip_ows(p + 1, end);
        const char *name = p;
        p = skip_token(p, end);
        struct slice pname = slice_make(name, (size_t)(p - name));
        p = skip_ows(p, end);
        if (pname.len == 0 || p == end || *p != '=')
            return Q_INVALID;
        p = skip_ows(p + 1, end);
        const char *val = p;
        if (p < end && *p == '"') {
            /* A quoted-string value: only for parameters we do not use. */
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && p + 1 < end)
                    p++;
            if (p == end)
                return Q_INVALID;
            p++;
            if (slice_eq_ci(pname, SLICE_LIT("q")))
                return Q_INVALID;
            continue;
        }
        p = skip_token(p, end);
        if (slice_eq_ci(pname, SLICE_LIT("q"))) {
            q = parse_qvalue(slice_make(val, (size_t)(p - val)));
            if (q == Q_INVALID)
                return Q_INVALID;
        }
    }
    return q;
}

/* The largest weights given to gzip (or x-gzip) and to "*" so far. */
struct weights {
    int gzip, star;
};

static void
weigh_list(struct weights *w, struct slice list)
{
    const char *p = list.ptr, *end = p + list.len;
    while (p < end) {
        const char *elem_end = element_end(p, end);
        const char *tok = skip_ows(p, elem_end);
        const char *tok_end = skip_token(tok, elem_end);
        struct slice coding = slice_make(tok, (size_t)(tok_end - tok));
        int q = coding.len > 0 ? parse_weight(tok_end, elem_end) : Q_INVALID;
        if (q != Q_INVALID) {
            if (slice_eq_ci(coding, SLICE_LIT("gzip")) ||
                slice_eq_ci(coding, SLICE_LIT("x-gzip"))) {
                if (q > w->gzip)
                    w->gzip = q;
            } else if (slice_eq(coding, SLICE_LIT("*"))) {
                if (q > w->star)
                    w->star = q;
            }
        }
        p = elem_end < end ? elem_end + 1 : end;
    }
}

static bool
weights_select_gzip(const struct weights *w)
{
    if (w->gzip != Q_ABSENT)
        return w->gzip > 0;
    return w->star > 0;
}

bool
http_accepts_gzip(struct slice accept_encoding)
{
    struct weights w = {Q_ABSENT, Q_ABSENT};
    if (accept_encoding.ptr == NULL)
        return false;
    weigh_list(&w, accept_encoding);
    return weights_select_gzip(&w);
}

bool
http_request_accepts_gzip(const struct http_request *req)
{
    struct weights w = {Q_ABSENT, Q_ABSENT};
    struct slice line;
    if (req->accept_encoding.ptr == NULL)
        return false;
    for (size_t i = 0; http_header_next(req, SLICE_LIT("Accept-Encoding"), &i, &line);)
        weigh_list(&w, line);
    return weights_select_gzip(&w);
}
