/* fuzz_json.c - libFuzzer target for the JSON parser of /mail bodies.
 *
 * Besides memory safety: a successful parse yields a tree whose counts
 * match its links, within the depth limit, with strings inside the arena. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/buf.c"
#include "../../http/json.c"
#include "../../http/utf8.c"

static size_t
walk(const struct json_value *v, int depth)
{
    assert(depth <= JSON_MAX_DEPTH + 1);
    size_t total = 1, n = 0;
    if (v->type == JSON_STRING || v->type == JSON_NUMBER)
        assert(v->str.ptr != NULL && v->str.ptr[v->str.len] == '\0');
    for (const struct json_value *c = v->child; c; c = c->next) {
        total += walk(c, depth + 1);
        n++;
    }
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT)
        assert(n == v->n);
    else
        assert(v->child == NULL);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    struct json_doc doc;
    char err[128];
    if (json_parse(&doc, text, size, err, sizeof(err)) == 0) {
        assert(doc.root != NULL);
        assert(walk(doc.root, 0) <= doc.nvalues);
    }
    json_free(&doc); /* in every case, as json.h says */
    free(text);
    return 0;
}
