/* json.c - strict JSON parser into an arena-allocated tree; see json.h.
 *
 * DESIGN
 * Recursive descent over the grammar of RFC 8259 section 2-7, one function
 * per production, with the nesting depth passed down and checked so the C
 * stack is bounded. Every node and every decoded string comes from a bump
 * arena: a list of chunks, each at least ARENA_CHUNK bytes, freed together.
 * A string's decoded form is never longer than its escaped form (\uXXXX is 6
 * bytes for at most 3 of UTF-8, a surrogate pair 12 for 4), so it is decoded
 * straight into an arena block sized from the raw length.
 *
 * REFERENCES
 *   RFC 8259 "The JavaScript Object Notation (JSON) Data Interchange Format":
 *   section 2 (grammar, white space), 6 (numbers), 7 (strings, surrogate
 *   pairs), 8.1 (UTF-8), 8.2 (unpaired surrogates); utf8.c checks the UTF-8. */
#include "json.h"
#include "utf8.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunk payload size: large enough that a mail request needs one or two
 * chunks, small enough not to matter for a tiny document. */
#define ARENA_CHUNK 16384

struct json_chunk {
    struct json_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct parser {
    const char *start, *p, *end;
    struct json_doc *doc;
    char *err;
    size_t errlen;
    bool nomem;
};

static void *
arena_alloc(struct json_doc *doc, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + align - 1) / align * align;
    struct json_chunk *c = doc->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = doc->chunks;
        doc->chunks = c;
    }
    void *r = (char *)c->data + c->used;
    c->used += size;
    return r;
}

void
json_free(struct json_doc *doc)
{
    struct json_chunk *c = doc->chunks;
    while (c != NULL) {
        struct json_chunk *next = c->next;
        free(c);
        c = next;
    }
    *doc = (struct json_doc){0};
}

static int
parse_error(struct parser *ps, const char *what)
{
    if (ps->errlen > 0)
        snprintf(ps->err, ps->errlen, "JSON error at byte %zu: %s", (size_t)(ps->p - ps->start),
                 what);
    return -1;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static struct json_value *
new_value(struct parser *ps, enum json_type type)
{
    if (ps->doc->nvalues >= JSON_MAX_VALUES) {
        parse_error(ps, "too many values");
        return NULL;
    }
    struct json_value *v = arena_alloc(ps->doc, sizeof(*v));
    if (v == NULL) {
        ps->nomem = true;
        return NULL;
    }
    *v = (struct json_value){.type = type};
    ps->doc->nvalues++;
    return v;
}

static int
hex4(const char *p, const char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One \uXXXX escape (p at the 'u'), joined with a following low surrogate when
 * it is a high one (RFC 8259 section 7). Advances *pp past what it used. */
static int
parse_u_escape(struct parser *ps, const char **pp, uint32_t *cp)
{
    const char *p = *pp;
    uint32_t hi;
    if (hex4(p + 1, ps->end, &hi) < 0)
        return parse_error(ps, "bad \\u escape");
    p += 5;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return parse_error(ps, "unpaired low surrogate");
    if (hi >= 0xd800 && hi <= 0xdbff) {
        uint32_t lo;
        if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, ps->end, &lo) < 0 ||
            lo < 0xdc00 || lo > 0xdfff)
            return parse_error(ps, "unpaired high surrogate");
        hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
    }
    *pp = p;
    *cp = hi;
    return 0;
}

/* A string starting at the opening quote; the decoded bytes go to *out. */
static int
parse_string(struct parser *ps, struct slice *out)
{
    const char *p = ps->p + 1;
    const char *q = p;
    /* First find the closing quote, to size the arena block. */
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end)
        return parse_error(ps, "unterminated string");
    char *dst = arena_alloc(ps->doc, (size_t)(q - p) + 1);
    if (dst == NULL) {
        ps->nomem = true;
        return -1;
    }
    size_t n = 0;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) {
            ps->p = p;
            return parse_error(ps, "control character in string");
        }
        if (c >= 0x80) {
            size_t k = utf8_seq_len(p, q);
            if (k == 0) {
                ps->p = p;
                return parse_error(ps, "invalid UTF-8");
            }
            memcpy(dst + n, p, k);
            n += k;
            p += k;
            continue;
        }
        if (c != '\\') {
            dst[n++] = (char)c;
            p++;
            continue;
        }
        char e = p[1];
        const char *simple = "\"\\/bfnrt";
        const char *decoded = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(simple, e) : NULL;
        if (hit != NULL) {
            dst[n++] = decoded[hit - simple];
            p += 2;
        } else if (e == 'u') {
            uint32_t cp = 0;
            ps->p = p;
            p++;
            if (parse_u_escape(ps, &p, &cp) < 0)
                return -1;
            n += put_utf8(dst + n, cp);
        } else {
            ps->p = p;
            return parse_error(ps, "bad escape");
        }
    }
    dst[n] = '\0';
    *out = slice_make(dst, n);
    ps->p = q + 1;
    return 0;
}

static int
parse_number(struct parser *ps, struct json_value *v)
{
    const char *p = ps->p, *end = ps->end;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return parse_error(ps, "bad number");
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return parse_error(ps, "bad number fraction");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return parse_error(ps, "bad number exponent");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t len = (size_t)(p - ps->p);
    char *dst = arena_alloc(ps->doc, len + 1);
    if (dst == NULL) {
        ps->nomem = true;
        return -1;
    }
    memcpy(dst, ps->p, len);
    dst[len] = '\0';
    v->str = slice_make(dst, len);
    ps->p = p;
    return 0;
}

static int parse_value(struct parser *ps, int depth, struct json_value **out);

static int
parse_literal(struct parser *ps, const char *word, enum json_type type, struct json_value **out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return parse_error(ps, "unexpected character");
    if ((*out = new_value(ps, type)) == NULL)
        return -1;
    ps->p += n;
    return 0;
}

/* Array or object: ps->p at '[' or '{'. */
static int
parse_container(struct parser *ps, int depth, struct json_value **out)
{
    bool object = *ps->p == '{';
    char close = object ? '}' : ']';
    if (depth >= JSON_MAX_DEPTH)
        return parse_error(ps, "nested too deeply");
    struct json_value *v = new_value(ps, object ? JSON_OBJECT : JSON_ARRAY);
    if (v == NULL)
        return -1;
    *out = v;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    struct json_value **tail = &v->child;
    for (;;) {
        struct slice key = {0};
        if (object) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return parse_error(ps, "expected member name");
            if (parse_string(ps, &key) < 0)
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return parse_error(ps, "expected ':'");
            ps->p++;
        }
        struct json_value *child;
        if (parse_value(ps, depth + 1, &child) < 0)
            return -1;
        child->key = key;
        *tail = child;
        tail = &child->next;
        v->n++;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return parse_error(ps, object ? "unterminated object" : "unterminated array");
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return parse_error(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        ps->p++;
    }
}

static int
parse_value(struct parser *ps, int depth, struct json_value **out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return parse_error(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, depth, out);
    case '"':
        if ((*out = new_value(ps, JSON_STRING)) == NULL)
            return -1;
        return parse_string(ps, &(*out)->str);
    case 't':
        return parse_literal(ps, "true", JSON_TRUE, out);
    case 'f':
        return parse_literal(ps, "false", JSON_FALSE, out);
    case 'n':
        return parse_literal(ps, "null", JSON_NULL, out);
    default:
        if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
            return parse_error(ps, "unexpected character");
        if ((*out = new_value(ps, JSON_NUMBER)) == NULL)
            return -1;
        return parse_number(ps, *out);
    }
}

int
json_parse(struct json_doc *doc, const char *text, size_t len, char *err, size_t errlen)
{
    *doc = (struct json_doc){0};
    struct parser ps = {text, text, text + len, doc, err, errlen, false};
    if (errlen > 0)
        err[0] = '\0';
    struct json_value *root;
    int r = parse_value(&ps, 0, &root);
    if (r == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            r = parse_error(&ps, "trailing characters after the value");
    }
    if (ps.nomem)
        return -2;
    if (r < 0)
        return -1;
    doc->root = root;
    return 0;
}

const struct json_value *
json_get(const struct json_value *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    struct slice k = slice_make(key, strlen(key));
    for (const struct json_value *m = obj->child; m != NULL; m = m->next)
        if (slice_eq(m->key, k))
            return m;
    return NULL;
}

int
json_write_string(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    if (buf_append_char(out, '"') < 0)
        return -1;
    while (p < end) {
        /* Copy the longest run that needs no escaping in one append. */
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
            p++;
        while (p < end && *p >= 0x80) {
            size_t k = utf8_seq_len((const char *)p, (const char *)end);
            if (k == 0)
                break;
            p += k;
        }
        if (p > run) {
            if (buf_append(out, run, (size_t)(p - run)) < 0)
                return -1;
            continue;
        }
        char esc[8] = {'\\', 0};
        size_t n = 2;
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (*p >= 0x80) {
                memcpy(esc, "\\ufffd", 6); /* not UTF-8: the replacement character */
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
            }
            n = 6;
            break;
        }
        if (buf_append(out, esc, n) < 0)
            return -1;
        p++;
    }
    return buf_append_char(out, '"');
}
