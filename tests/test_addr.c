/* test_addr.c - address validation tables and list splitting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../http/addr.c"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in, *spec, *display; /* spec NULL: must be refused */
} cases[] = {
    {"sam@example.org", "sam@example.org", ""},
    {"  sam@example.org\t", "sam@example.org", ""},
    {"first.last+tag@sub.example.org", "first.last+tag@sub.example.org", ""},
    {"!#$%&'*+-/=?^_`{|}~@example.org", "!#$%&'*+-/=?^_`{|}~@example.org", ""},
    {"x@localhost", "x@localhost", ""},
    {"x@123.example", "x@123.example", ""},
    {"x@a-b.example", "x@a-b.example", ""},
    {"\"john doe\"@example.org", "\"john doe\"@example.org", ""},
    {"\"a@b\"@example.org", "\"a@b\"@example.org", ""},
    {"\"q\\\"x\"@example.org", "\"q\\\"x\"@example.org", ""},
    {"Pari <pari@example.org>", "pari@example.org", "Pari"},
    {"<pari@example.org>", "pari@example.org", ""},
    {"Pari J. Smith <pari@example.org>", "pari@example.org", "Pari J. Smith"},
    {"\"Smith, Pari\" <pari@example.org>", "pari@example.org", "Smith, Pari"},
    {"\"a \\\"b\\\" \\\\c\" <x@example.org>", "x@example.org", "a \"b\" \\c"},
    {"\"<x@evil>\" <x@example.org>", "x@example.org", "<x@evil>"},
    {"P\xc3\xa1ri \xc3\x9cnal <pari@example.org>", "pari@example.org", "P\xc3\xa1ri \xc3\x9cnal"},
    {"Pari<pari@example.org>", "pari@example.org", "Pari"},

    {"", NULL, NULL},
    {"   ", NULL, NULL},
    {"sam", NULL, NULL},
    {"sam@", NULL, NULL},
    {"@example.org", NULL, NULL},
    {"sam@@example.org", NULL, NULL},
    {"sam@example..org", NULL, NULL},
    {"sam@.example.org", NULL, NULL},
    {"sam@example.org.", NULL, NULL},
    {"sam@-example.org", NULL, NULL},
    {"sam@example-.org", NULL, NULL},
    {"sam@exa_mple.org", NULL, NULL},
    {"sam@[192.0.2.1]", NULL, NULL},
    {".sam@example.org", NULL, NULL},
    {"sam.@example.org", NULL, NULL},
    {"s..am@example.org", NULL, NULL},
    {"s am@example.org", NULL, NULL},
    {"sam @example.org", NULL, NULL},
    {"s(am)@example.org", NULL, NULL},
    {"s,am@example.org", NULL, NULL},
    {"s\xc3\xa4m@example.org", NULL, NULL},
    {"sam@b\xc3\xa4r.example", NULL, NULL},
    {"\"unterminated@example.org", NULL, NULL},
    {"\"a\"b@example.org", NULL, NULL},
    {"\"caf\\\xe9\"@example.org", NULL, NULL}, /* quoted-pair: %d92 %d32-126 only */
    {"\"a\\\x80x\"@example.org", NULL, NULL},
    {"sam@example.org\r\nBcc: x@evil.org", NULL, NULL},
    {"sam@example.org\n", NULL, NULL},
    {"Pari\r\n <pari@example.org>", NULL, NULL},
    {"\"Pa\rri\" <pari@example.org>", NULL, NULL},
    {"sam@exa\tmple.org", NULL, NULL},
    {"Pari <pari@example.org", NULL, NULL},
    {"Pari pari@example.org>", NULL, NULL},
    {"Pari <<pari@example.org>>", NULL, NULL},
    {"Pari <pari@example.org> x", NULL, NULL},
    {"a@b <c@example.org>", NULL, NULL},
    {"Pari, P <pari@example.org>", NULL, NULL},
    {"\"Pari\" x <pari@example.org>", NULL, NULL},
    {"P\xff <pari@example.org>", NULL, NULL},
    {"\"P\xc3\" <pari@example.org>", NULL, NULL},
    {"a@b, c@d", NULL, NULL},
};

static void
test_addr_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, cases[i].in, len);
        struct addr a;
        const char *why = addr_parse(slice_make(copy, len), &a);
        if (cases[i].spec == NULL && why == NULL)
            fail_msg("accepted \"%s\"", cases[i].in);
        if (cases[i].spec != NULL) {
            if (why != NULL)
                fail_msg("refused \"%s\": %s", cases[i].in, why);
            assert_string_equal(a.spec, cases[i].spec);
            assert_string_equal(a.display, cases[i].display);
            assert_int_equal(a.display_len, strlen(cases[i].display));
            assert_int_equal(a.spec[a.local_len], '@');
        }
        free(copy);
    }
}

static void
test_addr_nul(void **state)
{
    (void)state;
    struct addr a;
    assert_non_null(addr_parse(slice_make("sam@exa\0mple.org", 16), &a));
    assert_non_null(addr_parse(slice_make("Pa\0ri <p@example.org>", 21), &a));
}

static void
test_addr_lengths(void **state)
{
    (void)state;
    char in[600];
    struct addr a;
    /* Local part: 64 octets pass, 65 do not. */
    memset(in, 'l', 64);
    strcpy(in + 64, "@example.org");
    assert_null(addr_parse(slice_make(in, strlen(in)), &a));
    memset(in, 'l', 65);
    strcpy(in + 65, "@example.org");
    assert_non_null(addr_parse(slice_make(in, strlen(in)), &a));
    /* Domain label: 63 pass, 64 do not. */
    strcpy(in, "x@");
    memset(in + 2, 'd', 63);
    strcpy(in + 65, ".org");
    assert_null(addr_parse(slice_make(in, strlen(in)), &a));
    memset(in + 2, 'd', 64);
    strcpy(in + 66, ".org");
    assert_non_null(addr_parse(slice_make(in, strlen(in)), &a));
    /* Whole address: 254 pass, 255 do not. */
    size_t n = 0;
    memset(in, 'l', 64);
    n = 64;
    in[n++] = '@';
    while (n < 254) {
        size_t label = 254 - n > 63 ? 62 : 254 - n;
        memset(in + n, 'd', label);
        n += label;
        if (n < 254)
            in[n++] = '.';
    }
    in[n] = '\0';
    assert_int_equal(strlen(in), 254);
    assert_null(addr_parse(slice_make(in, 254), &a));
    in[253] = '.';
    in[254] = 'x';
    in[255] = '\0';
    assert_non_null(addr_parse(slice_make(in, 255), &a));
    /* Display names are capped too. */
    memset(in, 'n', ADDR_DISPLAY_MAX + 1);
    strcpy(in + ADDR_DISPLAY_MAX + 1, " <x@example.org>");
    assert_non_null(addr_parse(slice_make(in, strlen(in)), &a));
    memset(in, 'n', ADDR_DISPLAY_MAX);
    strcpy(in + ADDR_DISPLAY_MAX, " <x@example.org>");
    assert_null(addr_parse(slice_make(in, strlen(in)), &a));
}

static void
test_addr_domain(void **state)
{
    (void)state;
    struct addr a;
    assert_null(addr_parse(SLICE_LIT("\"x@y\"@Example.ORG"), &a));
    assert_string_equal(addr_domain(&a), "Example.ORG");
}

static void
test_addr_same_mailbox(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        bool same;
    } rows[] = {
        {"sam@example.org", "Sam Smith <sam@example.org>", true},
        {"sam@example.org", "sam@EXAMPLE.Org", true},  /* domains ignore case */
        {"sam@example.org", "Sam@example.org", false}, /* local parts do not */
        {"sam@example.org", "sa@mexample.org", false},
        {"\"a@b\"@x.org", "\"a@B\"@x.org", false},
        {"sam@example.org", "sam@example.org.uk", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct addr a, b;
        assert_null(addr_parse(slice_make(rows[i].a, strlen(rows[i].a)), &a));
        assert_null(addr_parse(slice_make(rows[i].b, strlen(rows[i].b)), &b));
        if (addr_same_mailbox(&a, &b) != rows[i].same || addr_same_mailbox(&b, &a) != rows[i].same)
            fail_msg("row %zu: %s vs %s", i, rows[i].a, rows[i].b);
    }
}

static void
test_addr_list(void **state)
{
    (void)state;
    struct slice rest = SLICE_LIT(" a@x.org, \"Smith, J\" <j@x.org>,,Kim <k@x.org> ,<l,m@x>,");
    static const char *const want[] = {"a@x.org", "\"Smith, J\" <j@x.org>", "", "Kim <k@x.org>",
                                       "<l,m@x>"};
    struct slice item;
    size_t n = 0;
    while (addr_list_next(&rest, &item)) {
        assert_true(n < sizeof(want) / sizeof(want[0]));
        assert_int_equal(item.len, strlen(want[n]));
        assert_memory_equal(item.ptr, want[n], item.len);
        n++;
    }
    assert_int_equal(n, 5);
    rest = SLICE_LIT("\"unterminated, a@b");
    assert_true(addr_list_next(&rest, &item));
    assert_int_equal(item.len, 18); /* the whole rest: no closing quote */
    assert_false(addr_list_next(&rest, &item));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_table),   cmocka_unit_test(test_addr_nul),
        cmocka_unit_test(test_addr_lengths), cmocka_unit_test(test_addr_domain),
        cmocka_unit_test(test_addr_list),    cmocka_unit_test(test_addr_same_mailbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
