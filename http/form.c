/* form.c - application/x-www-form-urlencoded pairs; see form.h.
 *
 * REFERENCES
 *   WHATWG URL Standard, section 5.1 "application/x-www-form-urlencoded parsing".
 *   HTML Standard, 4.10.21.8 (how browsers encode form submissions). */
#include "form.h"
#include "pct.h"

#include <string.h>

bool
form_next(struct slice *rest, struct slice *name, struct slice *value)
{
    while (rest->len > 0) {
        const char *amp = memchr(rest->ptr, '&', rest->len);
        size_t n = amp ? (size_t)(amp - rest->ptr) : rest->len;
        struct slice pair = slice_make(rest->ptr, n);
        *rest = slice_make(rest->ptr + n + (amp ? 1 : 0), rest->len - n - (amp ? 1 : 0));
        if (pair.len == 0)
            continue;
        const char *eq = memchr(pair.ptr, '=', pair.len);
        if (eq == NULL) {
            *name = pair;
            *value = slice_make(pair.ptr + pair.len, 0);
        } else {
            *name = slice_make(pair.ptr, (size_t)(eq - pair.ptr));
            *value = slice_make(eq + 1, pair.len - name->len - 1);
        }
        return true;
    }
    return false;
}

ssize_t
form_decode(char *out, struct slice in)
{
    return pct_decode(out, in.ptr, in.len, true);
}
