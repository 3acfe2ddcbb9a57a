/* form.h - application/x-www-form-urlencoded bodies (HTML form submissions).
 *
 * The body is a list of name=value pairs joined by '&', each side
 * percent-encoded with '+' for space (WHATWG URL standard, "application/
 * x-www-form-urlencoded parsing"). form_next() walks the raw pairs without
 * copying; form_decode() decodes one side with pct_decode(). */
#ifndef FORM_H
#define FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "slice.h"

/* Stores the next pair of *rest, still encoded, in *name and *value (a pair
 * without '=' has an empty value) and advances *rest past it and its '&'.
 * Empty pairs ("a=1&&b=2") are skipped. Returns false at the end. */
bool form_next(struct slice *rest, struct slice *name, struct slice *value);

/* Decodes in into out (which must hold in.len bytes): %XX and '+' as space.
 * Returns the decoded length or -1 for a bad % escape. */
ssize_t form_decode(char *out, struct slice in);

#endif
