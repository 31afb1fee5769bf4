/* test_json_row: JSON objects written from PGresult text columns (server/api/json_row.c),
 * on results built in memory with libpq's PQmakeEmptyPGresult/PQsetvalue (no server):
 * integers, strings with quotes/backslashes/control characters/UTF-8, numbers rounded and
 * trimmed, UTC instants from JSON_SQL_UTC, nested JSON compacted (JCOL_JSON), NULLs; the
 * output parses as JSON with the same values. The result and buffers are freed in each test. */
#include "api/json_row.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct json_col cols[] = {
    {"id", JCOL_INT, 0},   {"name", JCOL_TEXT, 0}, {"hours", JCOL_NUM, 4},
    {"rate", JCOL_NUM, 2}, {"at", JCOL_UTC, 0},    {"note", JCOL_TEXT, 0},
};

/* One row of six text columns; NULL values stay SQL NULL. */
static PGresult *one_row(const char *const values[6]) {
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[6];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < 6; i++) {
        attrs[i].name = (char *)cols[i].name;
        attrs[i].format = 0;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(r, 6, attrs), 1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(
            PQsetvalue(r, 0, i, (char *)values[i], values[i] ? (int)strlen(values[i]) : -1), 1);
    return r;
}

static json_t *render(const char *const values[6], char **text) {
    PGresult *r = one_row(values);
    struct textbuf b = {0};
    json_row_append(&b, r, 0, 0, cols, 6);
    PQclear(r);
    json_error_t e;
    json_t *obj = json_loads(b.data, 0, &e);
    if (!obj) fail_msg("not JSON (%s): %s", e.text, b.data);
    *text = b.data;
    return obj;
}

static void values_and_escapes(void **state) {
    (void)state;
    const char *v[6] = {"42",
                        "a \"quoted\" \\ name\twith\ncontrol é",
                        "7.93104999",
                        "81.255",
                        "2025-03-04T23:30:00Z",
                        "x\x01y"};
    char *text;
    json_t *o = render(v, &text);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "name")),
                        "a \"quoted\" \\ name\twith\ncontrol é");
    assert_true(json_real_value(json_object_get(o, "hours")) == 7.931);
    assert_non_null(strstr(text, "\"hours\":7.931,")); /* rounded, trailing zero trimmed */
    assert_non_null(strstr(text, "\"at\":\"2025-03-04T23:30:00Z\""));
    assert_string_equal(json_string_value(json_object_get(o, "note")), "x\x01y");
    assert_non_null(strstr(text, "x\\u0001y"));
    json_decref(o);
    free(text);
}

static void numbers_and_nulls(void **state) {
    (void)state;
    const char *v[6] = {"-7", "", "8", "-0.001", NULL, NULL};
    char *text;
    json_t *o = render(v, &text);
    assert_non_null(strstr(text, "\"hours\":8,"));
    assert_non_null(strstr(text, "\"rate\":0,")); /* -0.00 is written 0 */
    assert_true(json_is_null(json_object_get(o, "at")));
    assert_true(json_is_null(json_object_get(o, "note")));
    assert_string_equal(json_string_value(json_object_get(o, "name")), "");
    json_decref(o);
    free(text);

    /* Rounding carries through nines; exponents go through strtod. */
    const char *c[6] = {"2", "n", "99.99995", "0.995", NULL, NULL};
    o = render(c, &text);
    assert_non_null(strstr(text, "\"hours\":100,"));
    assert_non_null(strstr(text, "\"rate\":1,"));
    json_decref(o);
    free(text);
    const char *e[6] = {"3", "n", "1.5e-05", "-12.345678", NULL, NULL};
    o = render(e, &text);
    assert_non_null(strstr(text, "\"hours\":0,"));
    assert_non_null(strstr(text, "\"rate\":-12.35,"));
    json_decref(o);
    free(text);

    const char *w[6] = {"1", "n", "NaN", "Infinity", NULL, "z"}; /* to_char(infinity): NULL */
    o = render(w, &text);
    assert_true(json_is_null(json_object_get(o, "hours")));
    assert_true(json_is_null(json_object_get(o, "rate")));
    assert_true(json_is_null(json_object_get(o, "at")));
    json_decref(o);
    free(text);
}

/* JCOL_JSON: json_agg's text compacted with plain numbers; text that is not JSON (never
 * from PostgreSQL) is written null, not half. */
static void nested_json(void **state) {
    (void)state;
    static const struct json_col jcols[] = {{"id", JCOL_INT, 0}, {"rows", JCOL_JSON, 0}};
    const char *cases[][2] = {
        {"[{\"a\" : 1.50, \"t\" : \"x : y\"}, \n {\"a\" : null}]",
         "{\"id\":1,\"rows\":[{\"a\":1.5,\"t\":\"x : y\"},{\"a\":null}]}"},
        {"[1, 2", "{\"id\":1,\"rows\":null}"},
    };
    for (size_t i = 0; i < 2; i++) {
        PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        PGresAttDesc attrs[2];
        memset(attrs, 0, sizeof attrs);
        for (int k = 0; k < 2; k++) {
            attrs[k].name = (char *)jcols[k].name;
            attrs[k].typlen = -1;
            attrs[k].atttypmod = -1;
        }
        assert_int_equal(PQsetResultAttrs(r, 2, attrs), 1);
        assert_int_equal(PQsetvalue(r, 0, 0, "1", 1), 1);
        assert_int_equal(PQsetvalue(r, 0, 1, (char *)cases[i][0], (int)strlen(cases[i][0])), 1);
        struct textbuf b = {0};
        json_row_append(&b, r, 0, 0, jcols, 2);
        PQclear(r);
        assert_string_equal(b.data, cases[i][1]);
        free(b.data);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_and_escapes),
        cmocka_unit_test(numbers_and_nulls),
        cmocka_unit_test(nested_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
