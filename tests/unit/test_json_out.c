/* Unit tests of core/json_out.c: numbers rewritten as plain decimals, whitespace dropped
 * outside strings only, malformed text refused, jansson values dumped the same way.
 * Every buffer built here is freed by the test that built it. */
#include "core/json_out.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void number(const char *in, const char *want) {
    char out[64];
    size_t n = json_out_number(in, strlen(in), out, sizeof out);
    if (!want) {
        if (n != 0) fail_msg("%s: expected a refusal, got %s", in, out);
        return;
    }
    if (n == 0 || strcmp(out, want) != 0)
        fail_msg("%s: expected %s, got %s", in, want, n ? out : "(refused)");
    assert_int_equal(n, strlen(want));
}

static void numbers_are_plain_decimals(void **state) {
    (void)state;
    number("0", "0");
    number("12", "12");
    number("-7", "-7");
    number("12.5000", "12.5");
    number("12.5", "12.5");
    number("3.0", "3");
    number("-0", "0");
    number("-0.000", "0");
    number("0.0001", "0.0001");
    number("100", "100");
    number("100.00", "100");
    number("1e3", "1000");
    number("1E+3", "1000");
    number("1.5e-05", "0.000015");
    number("-2.50e1", "-25");
    number("123.456e-2", "1.23456");
    number("0.5e1", "5");
    number("9223372036854775807", "9223372036854775807");
    number("7.931027777777778", "7.931027777777778");
    number("", NULL);
    number("-", NULL);
    number("01", NULL);
    number("1.", NULL);
    number(".5", NULL);
    number("1e", NULL);
    number("+1", NULL);
    number("1x", NULL);
    char small[3];
    assert_int_equal(json_out_number("12.5", 4, small, sizeof small), 0); /* too small */
}

static void compact(const char *in, const char *want) {
    struct textbuf b = {0};
    int rc = json_out_append(&b, in, strlen(in));
    if (!want) {
        if (rc == 0) fail_msg("%s: expected a refusal, got %s", in, b.data ? b.data : "");
        free(b.data);
        return;
    }
    if (rc != 0 || strcmp(b.data ? b.data : "", want) != 0)
        fail_msg("%s: expected %s, got %s", in, want, rc ? "(refused)" : b.data);
    assert_true(json_out_is_canonical(want, strlen(want)));
    free(b.data);
}

static void text_is_compacted(void **state) {
    (void)state;
    /* PostgreSQL's json_build_object and json_agg */
    compact("{\"id\" : 1, \"x\" : 12.5000, \"t\" : \"a : b, c\"}",
            "{\"id\":1,\"x\":12.5,\"t\":\"a : b, c\"}");
    compact("[{\"a\" : null, \"b\" : true}, \n {\"a\" : false}]",
            "[{\"a\":null,\"b\":true},{\"a\":false}]");
    compact(" \t\r\n{ } ", "{}");
    compact("[]", "[]");
    compact("\"x\"", "\"x\"");
    compact("-0.0", "0");
    compact("{\"s\":\"esc \\\" \\\\ \\/ \\u00e9 \\n\"}",
            "{\"s\":\"esc \\\" \\\\ \\/ \\u00e9 \\n\"}");
    compact("{\"u\":\"caf\xc3\xa9\"}", "{\"u\":\"caf\xc3\xa9\"}");
    compact("", "");
    /* refused */
    compact("{\"a\":1", NULL);
    compact("[1}", NULL);
    compact("]", NULL);
    compact("{\"a\":tru}", NULL);
    compact("{\"a\":01}", NULL);
    compact("\"open", NULL);
    compact("\"bad \\x escape\"", NULL);
    compact("\"bad \\u12g4\"", NULL);
    compact("\"raw \n newline\"", NULL);
    compact("{\"a\":NaN}", NULL);
    assert_false(json_out_is_canonical("{\"a\" : 1}", 9));
    assert_false(json_out_is_canonical("[1.50]", 6));
    assert_true(json_out_is_canonical("[1.5]", 5));
}

static void jansson_values_are_dumped_plainly(void **state) {
    (void)state;
    json_t *v = json_pack("{s:f,s:f,s:f,s:I,s:s}", "a", 0.1, "b", 5.0, "c", 0.333, "d",
                          (json_int_t)42, "e", "caf\xc3\xa9");
    size_t len = 0;
    char *text = json_out_dump(v, &len);
    json_decref(v);
    assert_non_null(text);
    assert_string_equal(text, "{\"a\":0.1,\"b\":5,\"c\":0.333,\"d\":42,\"e\":\"caf\xc3\xa9\"}");
    assert_int_equal(len, strlen(text));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_are_plain_decimals),
        cmocka_unit_test(text_is_compacted),
        cmocka_unit_test(jansson_values_are_dumped_plainly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
