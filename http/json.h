/* json.h - a small strict JSON parser (a tree in one arena) and a string writer.
 *
 * json_parse() turns a whole JSON text (RFC 8259) into a tree of struct
 * json_value allocated in an arena owned by struct json_doc; json_free()
 * releases all of it at once, so nothing in the tree is freed on its own.
 * Strings are decoded (escapes, \uXXXX surrogate pairs) to UTF-8 and
 * NUL-terminated; the input must be valid UTF-8 and nothing but white space
 * may follow the top-level value. Nesting deeper than JSON_MAX_DEPTH and more
 * than JSON_MAX_VALUES values are refused, so a hostile document cannot make
 * the parser recurse without bound or blow its input up into an unbounded tree.
 *
 * Numbers are checked against the grammar and kept as their literal text. */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

#include "buf.h"
#include "slice.h"

/* Arrays and objects nested deeper than this are an error. A mail request
 * needs 3 levels; 32 leaves room for other uses while bounding recursion. */
#define JSON_MAX_DEPTH 32

/* At most this many values (scalars, arrays, objects) per document. Each costs
 * about 64 bytes of arena, so the tree stays under ~6 MiB whatever the input;
 * a mail request with a thousand recipients needs about a thousand values. */
#define JSON_MAX_VALUES 100000

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

struct json_value {
    enum json_type type;
    struct slice key;         /* member name (decoded) when the parent is an object */
    struct slice str;         /* JSON_STRING: decoded UTF-8 (may hold NUL from \u0000),
                               * NUL-terminated; JSON_NUMBER: the literal as written,
                               * NUL-terminated */
    struct json_value *child; /* JSON_ARRAY, JSON_OBJECT: first element or member */
    struct json_value *next;  /* next element or member of the parent */
    size_t n;                 /* JSON_ARRAY, JSON_OBJECT: number of children */
};

struct json_chunk;

struct json_doc {
    struct json_value *root;
    struct json_chunk *chunks; /* the arena; private */
    size_t nvalues;
};

/* Parses text[0..len) into *doc (overwritten). No NUL is needed; text is not
 * modified, and the tree does not point into it: it may go once this returns.
 * Returns 0 on success; -1 for a malformed document, with a message naming
 * the byte offset in err (errlen bytes, NUL-terminated); -2 when memory runs
 * out. Call json_free() in every case. */
int json_parse(struct json_doc *doc, const char *text, size_t len, char *err, size_t errlen);

/* Releases the arena; the doc is then empty. Accepts an empty or zeroed doc. */
void json_free(struct json_doc *doc);

/* The first member of obj named key, or NULL (also when obj is not an object). */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* Appends s[0..len) as a JSON string literal with its quotes: '"', '\\' and
 * control characters are escaped, bytes that are not valid UTF-8 become
 * \ufffd, so the output is always valid JSON. Returns 0 or -1 on ENOMEM. */
int json_write_string(struct buf *out, const char *s, size_t len);

#endif
