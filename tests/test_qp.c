/* test_qp.c - quoted-printable encoding (RFC 2045 section 6.7): the rules one
 * by one, line length, and round trips through an independent decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/qp.c"

#include <stdlib.h>
#include <string.h>

/* Encodes an exact-size copy; returns a NUL-terminated malloc'd result. */
static char *
encode(const char *in, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    size_t bound = qp_encode_bound(len);
    char *out = malloc(bound + 1);
    assert_non_null(out);
    size_t n = qp_encode(out, copy, len);
    assert_true(n <= bound);
    out[n] = '\0';
    free(copy);
    return out;
}

static void
check(const char *in, const char *want)
{
    char *got = encode(in, strlen(in));
    assert_string_equal(got, want);
    free(got);
}

static void
test_qp_rules(void **state)
{
    (void)state;
    check("", "");
    check("plain text", "plain text");       /* rule 2 */
    check("a=b", "a=3Db");                   /* '=' always encoded */
    check("caf\xc3\xa9", "caf=C3=A9");       /* rule 1: 8-bit */
    check("tab\there", "tab\there");         /* rule 3: inner white space */
    check("end \r\nnext", "end=20\r\nnext"); /* rule 3: before a break */
    check("end\t\nnext", "end=09\r\nnext");
    check("last ", "last=20");                 /* at the end of the input */
    check("a\nb\rc\r\nd", "a\r\nb\r\nc\r\nd"); /* rule 4: any break -> CRLF */
    check("x\n", "x\r\n");
    check("\x01\x7f~!", "=01=7F~!"); /* controls and DEL */
    check(".\r\n", ".\r\n");         /* the SMTP layer stuffs dots */
}

static void
test_qp_soft_breaks(void **state)
{
    (void)state;
    char line[200];
    /* Exactly 76 characters fit on one line. */
    memset(line, 'a', 76);
    line[76] = '\0';
    check(line, line);
    /* 77 do not: 75 + "=" soft break, then the rest. */
    memset(line, 'a', 77);
    line[77] = '\0';
    char want[200];
    memset(want, 'a', 75);
    memcpy(want + 75, "=\r\naa", 6);
    check(line, want);
    /* An escape is never split across a soft break. */
    memset(line, 'a', 74);
    memcpy(line + 74, "==", 3);
    memset(want, 'a', 74);
    memcpy(want + 74, "=\r\n=3D=3D", 10);
    check(line, want);
}

static int
hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* An independent decoder: undoes soft breaks and =XX, keeps CRLF. */
static size_t
decode(const char *in, char *out)
{
    size_t n = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=') {
            out[n++] = (char)(hexval(p[1]) << 4 | hexval(p[2]));
            p += 3;
        } else {
            out[n++] = *p++;
        }
    }
    return n;
}

static void
test_qp_round_trip(void **state)
{
    (void)state;
    srand(2045);
    static const char alphabet[] = "ab =.\t\r\n\xc3\xa9\x00~";
    for (int round = 0; round < 500; round++) {
        size_t len = (size_t)(rand() % 400);
        char *in = malloc(len + 1);
        assert_non_null(in);
        for (size_t i = 0; i < len; i++)
            in[i] = alphabet[rand() % (sizeof(alphabet) - 1)];
        char *enc = encode(in, len);
        /* Every line: at most 76 characters, printable ASCII, CRLF ends,
         * no white space right before a line end. */
        size_t col = 0;
        for (char *p = enc; *p; p++) {
            if (*p == '\r') {
                assert_int_equal(p[1], '\n');
                assert_true(p == enc || (p[-1] != ' ' && p[-1] != '\t'));
                col = 0;
                p++;
                continue;
            }
            assert_true((*p >= 32 && *p <= 126) || *p == '\t');
            assert_true(++col <= QP_LINE_MAX);
        }
        assert_true(col == 0 || (enc[strlen(enc) - 1] != ' ' && enc[strlen(enc) - 1] != '\t'));
        /* Decoding gives the input with line breaks as CRLF. */
        char *want = malloc(2 * len + 1), *got = malloc(strlen(enc) + 1);
        assert_non_null(want);
        assert_non_null(got);
        size_t w = 0;
        for (size_t i = 0; i < len; i++) {
            if (in[i] == '\r' || in[i] == '\n') {
                if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                    i++;
                want[w++] = '\r';
                want[w++] = '\n';
            } else {
                want[w++] = in[i];
            }
        }
        size_t g = decode(enc, got);
        assert_int_equal(g, w);
        assert_memory_equal(got, want, w);
        free(want);
        free(got);
        free(enc);
        free(in);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qp_rules),
        cmocka_unit_test(test_qp_soft_breaks),
        cmocka_unit_test(test_qp_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
