/* addr.c - strict e-mail address checking; see addr.h.
 *
 * DESIGN
 * A hand-written check of a small subset of RFC 5322 section 3.4:
 *
 *   address   = [display] "<" addr-spec ">"  /  addr-spec
 *   display   = quoted-string / words of atext, '.', space and UTF-8
 *   addr-spec = (dot-atom / quoted-string) "@" domain
 *   domain    = label *("." label), label = LDH, 1-63 octets, no edge '-'
 *
 * The unquoted display name allows '.' ("J. Smith"), as obs-phrase does,
 * and UTF-8, which RFC 6532 allows and which the MIME builder turns into
 * encoded-words; it refuses the other specials, so "a@b <c@d>" or a stray
 * comma is an error rather than a guess.
 *
 * REFERENCES
 *   RFC 5322 sections 3.2.3 (atext, dot-atom), 3.2.4 (quoted-string),
 *   3.4 (address), 3.4.1 (addr-spec).
 *   RFC 5321 sections 4.1.2 (Mailbox, Domain), 4.5.3.1 (size limits).
 *   RFC 1123 section 2.1 (host names may start with a digit). */
#include "addr.h"
#include "utf8.h"

#include <string.h>
#include <strings.h>

/* RFC 5322 3.2.3: atext = ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~" */
bool
addr_is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Index of the quote that closes the quoted string opening at s[i], or len. */
static size_t
quote_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i;
    }
    return len;
}

static const char *
check_domain(const char *d, size_t len)
{
    if (len == 0)
        return "missing domain";
    if (d[0] == '[')
        return "address literals are not supported";
    if (len > ADDR_DOMAIN_MAX)
        return "domain too long";
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || d[i] == '.') {
            if (label == 0)
                return "empty domain label";
            if (d[i - 1] == '-' || d[i - label] == '-')
                return "domain label starts or ends with '-'";
            label = 0;
            continue;
        }
        if (!is_ldh((unsigned char)d[i]))
            return "invalid character in domain";
        if (++label > 63)
            return "domain label too long";
    }
    return NULL;
}

static const char *
check_local(const char *l, size_t len)
{
    if (len == 0)
        return "empty local part";
    if (len > ADDR_LOCAL_MAX)
        return "local part too long";
    if (l[0] == '"') {
        /* quoted-string: qtext or quoted-pair of printable ASCII (RFC 5321 4.1.2,
         * quoted-pairSMTP = %d92 %d32-126): the byte after a backslash too. */
        if (len < 2 || quote_end(l, len, 0) != len - 1)
            return "bad quoted local part";
        for (size_t i = 1; i < len - 1; i++) {
            unsigned char c = (unsigned char)l[i];
            if (c == '\\')
                c = (unsigned char)l[++i];
            if (c < 0x20 || c > 0x7e)
                return "invalid character in local part";
        }
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (l[i] == '.') {
            if (i == 0 || i == len - 1 || l[i + 1] == '.')
                return "misplaced '.' in local part";
        } else if (!addr_is_atext((unsigned char)l[i])) {
            return "invalid character in local part";
        }
    }
    return NULL;
}

static const char *
parse_spec(const char *s, size_t len, struct addr *a)
{
    /* The last '@' splits: a quoted local part may contain '@'. */
    size_t at = len;
    while (at > 0 && s[at - 1] != '@')
        at--;
    if (at == 0)
        return "missing '@'";
    at--;
    const char *why = check_local(s, at);
    if (why == NULL)
        why = check_domain(s + at + 1, len - at - 1);
    if (why != NULL)
        return why;
    if (len > ADDR_SPEC_MAX)
        return "address too long";
    memcpy(a->spec, s, len);
    a->spec[len] = '\0';
    a->local_len = at;
    return NULL;
}

static const char *
parse_display(const char *s, size_t len, struct addr *a)
{
    size_t n = 0;
    if (len > 0 && s[0] == '"') {
        if (quote_end(s, len, 0) != len - 1)
            return "bad quoted display name";
        s++;
        len -= 2;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '\\')
                i++;
            if (n == ADDR_DISPLAY_MAX)
                return "display name too long";
            a->display[n++] = s[i];
        }
    } else {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!addr_is_atext(c) && c != ' ' && c != '.' && c < 0x80)
                return "special character in display name (quote it)";
        }
        if (len > ADDR_DISPLAY_MAX)
            return "display name too long";
        memcpy(a->display, s, len);
        n = len;
    }
    if (!utf8_valid(a->display, n))
        return "display name is not valid UTF-8";
    a->display[n] = '\0';
    a->display_len = n;
    return NULL;
}

const char *
addr_parse(struct slice in, struct addr *a)
{
    in = slice_trim(in);
    const char *s = in.ptr;
    size_t len = in.len;
    a->spec[0] = '\0';
    a->display[0] = '\0';
    a->display_len = 0;
    if (len == 0)
        return "empty address";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return "control character (CR, LF, NUL, ...) in address";
    }
    if (s[len - 1] != '>') {
        for (size_t i = 0; i < len; i++)
            if (s[i] == '"')
                i = quote_end(s, len, i);
            else if (s[i] == '<' || s[i] == ' ' || s[i] == '\t')
                return "unexpected character in address";
        return parse_spec(s, len, a);
    }
    /* Find the '<' outside any quoted display name. */
    size_t lt = len;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') {
            i = quote_end(s, len, i);
        } else if (s[i] == '<') {
            lt = i;
            break;
        }
    }
    if (lt == len)
        return "'>' without '<'";
    struct slice display = slice_trim(slice_make(s, lt));
    const char *why = parse_display(display.ptr, display.len, a);
    if (why != NULL)
        return why;
    const char *spec = s + lt + 1;
    size_t spec_len = len - lt - 2;
    if (memchr(spec, '<', spec_len) != NULL || memchr(spec, '>', spec_len) != NULL)
        return "unexpected '<' or '>' in address";
    return parse_spec(spec, spec_len, a);
}

const char *
addr_domain(const struct addr *a)
{
    return a->spec + a->local_len + 1;
}

bool
addr_same_mailbox(const struct addr *a, const struct addr *b)
{
    return a->local_len == b->local_len && memcmp(a->spec, b->spec, a->local_len) == 0 &&
           strcasecmp(addr_domain(a), addr_domain(b)) == 0;
}

bool
addr_list_next(struct slice *rest, struct slice *item)
{
    const char *s = rest->ptr;
    size_t len = rest->len;
    if (len == 0)
        return false;
    size_t i = 0;
    bool angle = false;
    for (; i < len; i++) {
        if (s[i] == '"')
            i = quote_end(s, len, i);
        else if (s[i] == '<')
            angle = true;
        else if (s[i] == '>')
            angle = false;
        else if (s[i] == ',' && !angle)
            break;
    }
    if (i > len)
        i = len;
    *item = slice_trim(slice_make(s, i));
    if (i < len)
        i++; /* the comma */
    *rest = slice_make(s + i, len - i);
    return true;
}
