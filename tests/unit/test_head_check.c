/* Unit tests of http/head_check.c on heads laid out as libmicrohttpd leaves them (line
 * ends and the ':' after each name turned into NUL bytes): clean heads with CRLF and LF
 * line ends pass; a NUL hidden inside a value (one or several, in the middle or last
 * header) is found; a folded value (not in the head) is not checked. Heads are static. */
#include "http/head_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Builds the fields of a head: each name is found after the previous value, each value
 * after its name's NUL and the spaces that follow. */
static size_t fields_of(const char *head, size_t len, const char *const *names,
                        struct head_field *f) {
    size_t n = 0;
    const char *p = head;
    for (; names[n]; n++) {
        const char *name = NULL;
        for (const char *q = p; q + strlen(names[n]) < head + len; q++)
            if (memcmp(q, names[n], strlen(names[n]) + 1) == 0) {
                name = q;
                break;
            }
        assert_non_null(name);
        const char *v = name + strlen(names[n]) + 1;
        while (*v == ' ') v++;
        f[n] = (struct head_field){name, v, strlen(v)};
        p = v + strlen(v);
    }
    return n;
}

static bool check(const char *head, size_t len, const char *const *names, size_t *which) {
    struct head_field f[8];
    size_t n = fields_of(head, len, names, f);
    return head_hidden_nul(head, len, f, n, which);
}

#define HEAD(s) s, sizeof s - 1

static void clean_heads(void **state) {
    (void)state;
    static const char *const names[] = {"Host", "Authorization", NULL};
    size_t which = 99;
    /* CRLF: each line end is two NULs, the empty line two more. */
    assert_false(check(HEAD("GET\0/\0HTTP/1.1\0\0Host\0 x\0\0Authorization\0 Bearer t\0\0\0\0"),
                       names, &which));
    /* LF only. */
    assert_false(
        check(HEAD("GET\0/\0HTTP/1.1\0Host\0 x\0Authorization\0 Bearer t\0\0"), names, &which));
    /* An empty value. */
    static const char *const one[] = {"X-Empty", "Host", NULL};
    assert_false(check(HEAD("GET\0/\0HTTP/1.1\0\0X-Empty\0\0\0Host\0 x\0\0\0\0"), one, &which));
    assert_int_equal(which, 99);
}

static void hidden_nul(void **state) {
    (void)state;
    static const char *const names[] = {"Host", "Authorization", NULL};
    size_t which = 99;
    /* The last header. */
    assert_true(check(HEAD("GET\0/\0HTTP/1.1\0\0Host\0 x\0\0Authorization\0 Bearer t\0garbage"
                           "\0\0\0\0"),
                      names, &which));
    assert_int_equal(which, 1);
    /* Several NULs, then garbage. */
    assert_true(check(HEAD("GET\0/\0HTTP/1.1\0\0Host\0 x\0\0Authorization\0 Bearer t\0\0\0junk"
                           "\0\0\0\0"),
                      names, &which));
    assert_int_equal(which, 1);
    /* A header in the middle. */
    which = 99;
    assert_true(check(HEAD("GET\0/\0HTTP/1.1\0\0Host\0 x\0y\0\0Authorization\0 Bearer t\0\0\0\0"),
                      names, &which));
    assert_int_equal(which, 0);
}

static void folded_value_skipped(void **state) {
    (void)state;
    static const char head[] = "GET\0/\0HTTP/1.1\0\0Host\0 x\0\0\0\0";
    static const char elsewhere[] = "folded value";
    struct head_field f = {head + 16, elsewhere, sizeof elsewhere - 1};
    size_t which = 99;
    assert_false(head_hidden_nul(head, sizeof head - 1, &f, 1, &which));
    /* A continuation line (starting with a space) after a value is not hidden data. */
    static const char *const names[] = {"Host", NULL};
    assert_false(check(HEAD("GET\0/\0HTTP/1.1\0\0Host\0 x\0\0 more\0\0\0\0"), names, &which));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_heads),
        cmocka_unit_test(hidden_nul),
        cmocka_unit_test(folded_value_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
