/* Unit tests of auth/form.c, the x-www-form-urlencoded decoder: decoding rules, and
 * every refusal (repeated field, NUL, invalid UTF-8, malformed escape, too many fields)
 * naming the field. Each struct form is cleaned up by the test that filled it. */
#include "auth/form.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static enum form_status parse(const char *body, struct form *f, struct form_error *e) {
    return form_parse(body, strlen(body), f, e);
}

static void decodes_fields(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    assert_int_equal(
        parse("grant_type=password&username=alice+b&password=p%40ss%2Bw%C3%A9", &f, &e), FORM_OK);
    assert_int_equal(f.n, 3);
    assert_string_equal(form_get(&f, "grant_type"), "password");
    assert_string_equal(form_get(&f, "username"), "alice b");
    assert_string_equal(form_get(&f, "password"), "p@ss+w\xC3\xA9");
    assert_int_equal(f.fields[2].value_len, 8);
    assert_null(form_get(&f, "scope"));
    form_cleanup(&f);
    assert_int_equal(f.n, 0);
}

static void empty_parts_and_bare_names(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    assert_int_equal(parse("&&a=1&&flag&b=&=v&", &f, &e), FORM_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(form_get(&f, "a"), "1");
    assert_string_equal(form_get(&f, "flag"), "");
    assert_string_equal(form_get(&f, "b"), "");
    assert_string_equal(form_get(&f, ""), "v");
    form_cleanup(&f);
    assert_int_equal(form_parse("", 0, &f, &e), FORM_OK);
    assert_int_equal(f.n, 0);
}

static void repeated_field_is_refused(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    assert_int_equal(parse("username=a&password=x&username=b", &f, &e), FORM_DUPLICATE);
    assert_string_equal(e.field, "username");
    assert_int_equal(f.n, 0);
    /* the same name spelled with an escape is the same field */
    assert_int_equal(parse("username=a&user%6Eame=b", &f, &e), FORM_DUPLICATE);
    assert_string_equal(e.field, "username");
    char text[128];
    form_error_text(&e, text, sizeof text);
    assert_non_null(strstr(text, "\"username\" is repeated"));
}

static void nul_bytes_are_refused(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    assert_int_equal(parse("username=ad%00min", &f, &e), FORM_NUL);
    assert_string_equal(e.field, "username");
    static const char raw[] = "password=ab\0cd";
    assert_int_equal(form_parse(raw, sizeof raw - 1, &f, &e), FORM_NUL);
    assert_string_equal(e.field, "password");
    assert_int_equal(parse("us%00er=x", &f, &e), FORM_NUL);
    char text[128];
    form_error_text(&e, text, sizeof text);
    assert_non_null(strstr(text, "NUL"));
}

static void invalid_utf8_is_refused(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    const char *bad[] = {"username=%FF", "username=%C3", "username=%C0%AF", "username=%ED%A0%80",
                         "password=a\xE9z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &f, &e), FORM_BAD_UTF8);
        assert_int_equal(f.n, 0);
    }
    assert_string_equal(e.field, "password");
    assert_int_equal(parse("na%FFme=1", &f, &e), FORM_BAD_UTF8);
    assert_string_equal(e.field, "na%FFme"); /* named as sent when it cannot be decoded */
    char text[128];
    form_error_text(&e, text, sizeof text);
    assert_non_null(strstr(text, "not valid UTF-8"));
}

static void malformed_escapes_are_refused(void **state) {
    (void)state;
    struct form f;
    struct form_error e;
    const char *bad[] = {"a=%", "a=%4", "a=%G1", "a=%4g", "a=x%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], &f, &e), FORM_BAD_ESCAPE);
        assert_string_equal(e.field, "a");
    }
    assert_int_equal(parse("a=%4a%4A", &f, &e), FORM_OK);
    assert_string_equal(form_get(&f, "a"), "JJ");
    form_cleanup(&f);
}

static void too_many_fields(void **state) {
    (void)state;
    char body[FORM_MAX_FIELDS * 8 + 16] = "";
    for (int i = 0; i <= FORM_MAX_FIELDS; i++) {
        char part[16];
        snprintf(part, sizeof part, "%sf%d=1", i ? "&" : "", i);
        strcat(body, part);
    }
    struct form f;
    struct form_error e;
    assert_int_equal(parse(body, &f, &e), FORM_TOO_MANY);
    assert_int_equal(f.n, 0);
    /* exactly the maximum is fine */
    char *last = strrchr(body, '&');
    *last = '\0';
    assert_int_equal(parse(body, &f, &e), FORM_OK);
    assert_int_equal(f.n, FORM_MAX_FIELDS);
    form_cleanup(&f);
}

static void long_values(void **state) {
    (void)state;
    size_t n = 10000;
    char *body = malloc(n + 16);
    strcpy(body, "username=");
    memset(body + 9, 'x', n);
    body[9 + n] = '\0';
    struct form f;
    struct form_error e;
    assert_int_equal(parse(body, &f, &e), FORM_OK);
    assert_int_equal(strlen(form_get(&f, "username")), n);
    form_cleanup(&f);
    free(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_fields),
        cmocka_unit_test(empty_parts_and_bare_names),
        cmocka_unit_test(repeated_field_is_refused),
        cmocka_unit_test(nul_bytes_are_refused),
        cmocka_unit_test(invalid_utf8_is_refused),
        cmocka_unit_test(malformed_escapes_are_refused),
        cmocka_unit_test(too_many_fields),
        cmocka_unit_test(long_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
