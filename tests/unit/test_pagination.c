/* test_pagination: the pure parts of list handling, without I/O — keyset cursors
 * (round trip of text, integer and date keys; every kind of forged or foreign cursor
 * refused), limit/sort/cursor parsing on a hand-built request, and the date and RFC 3339
 * instant parsers with calendar arithmetic. Everything allocated is freed in the test. */
#include "api/pagination.h"
#include "api/query_params.h"
#include "http/reply.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct page_sort sorts[] = {
    {"-date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}},
    {"numero", 2, {PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
};

static char *b64(const char *json) {
    size_t len = strlen(json);
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(n);
    sodium_bin2base64(out, n, (const unsigned char *)json, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static void cursor_round_trip(void **state) {
    (void)state;
    const char *keys[] = {"2025-05-28", "9223372036854775807"};
    char *c = page_cursor_encode(&sorts[0], keys);
    assert_non_null(c);
    for (const char *p = c; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    char *out[PAGE_MAX_KEYS];
    char why[128];
    assert_true(page_cursor_decode(&sorts[0], c, out, why, sizeof why));
    assert_string_equal(out[0], "2025-05-28");
    assert_string_equal(out[1], "9223372036854775807");
    for (int i = 0; i < PAGE_MAX_KEYS; i++) free(out[i]);
    free(c);

    /* Text keys survive quotes, commas, slashes, empty strings and UTF-8. */
    const char *texts[] = {"50%_\"1\",/é", ""};
    c = page_cursor_encode(&sorts[1], texts);
    assert_true(page_cursor_decode(&sorts[1], c, out, why, sizeof why));
    assert_string_equal(out[0], texts[0]);
    assert_string_equal(out[1], "");
    for (int i = 0; i < PAGE_MAX_KEYS; i++) free(out[i]);
    free(c);
}

static void cursor_refused(void **state) {
    (void)state;
    const char *bad_json[] = {
        "[\"numero\",\"a\",\"b\"]",                            /* another sort */
        "[\"-date\",\"2025-05-28\"]",                          /* a key missing */
        "[\"-date\",\"2025-05-28\",\"1\",\"2\"]",              /* a key too many */
        "[\"-date\",\"2025-02-30\",\"1\"]",                    /* not a date */
        "[\"-date\",\"2025-05-28\",\"1x\"]",                   /* not an integer */
        "[\"-date\",\"2025-05-28\",\"99999999999999999999\"]", /* out of range */
        "[\"-date\",\"2025-05-28\",1]",                        /* a number, not a string */
        "{\"-date\":1}",
        "[\"-date\",\"2025-05-28\",\"1\"", /* truncated */
        "[\"-date\",\"2025-05-28\",\"\"]",
    };
    char *out[PAGE_MAX_KEYS];
    char why[128];
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        char *c = b64(bad_json[i]);
        if (page_cursor_decode(&sorts[0], c, out, why, sizeof why))
            fail_msg("accepted %s", bad_json[i]);
        for (int k = 0; k < PAGE_MAX_KEYS; k++) assert_null(out[k]);
        free(c);
    }
    assert_false(page_cursor_decode(&sorts[0], "", out, why, sizeof why));
    assert_false(page_cursor_decode(&sorts[0], "a+b/c=", out, why, sizeof why));
    assert_false(page_cursor_decode(&sorts[0], "!!!", out, why, sizeof why));
    char *text_nul = b64("[\"numero\",\"a\\u0000b\",\"c\"]");
    assert_false(page_cursor_decode(&sorts[1], text_nul, out, why, sizeof why));
    free(text_nul);
    char *wrong = b64("[\"numero\",\"a\",\"b\"]");
    assert_false(page_cursor_decode(&sorts[0], wrong, out, why, sizeof why));
    assert_non_null(strstr(why, "sort=numero"));
    free(wrong);
}

/* A request with the given query pairs (borrowed strings) and a problem-free reply. */
struct fake {
    struct request req;
    struct kv q[4];
};

static void fake_init(struct fake *f, const char *const *pairs) {
    memset(f, 0, sizeof *f);
    size_t n = 0;
    for (; pairs && pairs[2 * n]; n++) {
        f->q[n].key = (char *)pairs[2 * n];
        f->q[n].value = (char *)pairs[2 * n + 1];
    }
    f->req.query = f->q;
    f->req.nquery = n;
    f->req.path = "/things/";
    snprintf(f->req.request_id, sizeof f->req.request_id, "test");
}

static const char *problem_field(struct fake *f) {
    static char field[64];
    json_t *body = json_loadb(f->req.reply.body, f->req.reply.len, 0, NULL);
    const char *v = json_string_value(json_object_get(body, "field"));
    snprintf(field, sizeof field, "%s", v ? v : "");
    json_decref(body);
    return field;
}

static void parse_defaults_and_values(void **state) {
    (void)state;
    struct fake f;
    struct page pg;
    fake_init(&f, NULL);
    assert_true(page_parse(&f.req, sorts, 2, &pg));
    assert_int_equal(pg.limit, 50);
    assert_int_equal(pg.sort_index, 0);
    assert_false(pg.has_cursor);
    assert_string_equal(pg.fetch, "51");
    assert_string_equal(page_key(&pg, 0, "infinity"), "infinity");
    page_cleanup(&pg);

    const char *keys[] = {"a", "b"};
    char *c = page_cursor_encode(&sorts[1], keys);
    const char *pairs[] = {"limit", "1000", "sort", "numero", "cursor", c, NULL};
    fake_init(&f, pairs);
    assert_true(page_parse(&f.req, sorts, 2, &pg));
    assert_int_equal(pg.limit, 1000);
    assert_int_equal(pg.sort_index, 1);
    assert_true(pg.has_cursor);
    assert_string_equal(pg.fetch, "1001");
    assert_string_equal(page_key(&pg, 0, ""), "a");
    assert_string_equal(page_key(&pg, 1, ""), "b");
    page_cleanup(&pg);
    free(c);
}

static void parse_errors_name_the_parameter(void **state) {
    (void)state;
    static const char *const cases[][3] = {
        {"limit", "0", "limit"},  {"limit", "1001", "limit"}, {"limit", "", "limit"},
        {"limit", "+5", "limit"}, {"limit", "5 ", "limit"},   {"limit", "99999999", "limit"},
        {"sort", "date", "sort"}, {"sort", "", "sort"},       {"cursor", "x", "cursor"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *pairs[] = {cases[i][0], cases[i][1], NULL};
        struct fake f;
        struct page pg;
        fake_init(&f, pairs);
        assert_false(page_parse(&f.req, sorts, 2, &pg));
        assert_int_equal(f.req.reply.status, 400);
        assert_string_equal(problem_field(&f), cases[i][2]);
        reply_cleanup(&f.req.reply);
    }
    /* A cursor made for the default sort, sent with another sort. */
    const char *keys[] = {"2025-01-01", "5"};
    char *c = page_cursor_encode(&sorts[0], keys);
    const char *pairs[] = {"sort", "numero", "cursor", c, NULL};
    struct fake f;
    struct page pg;
    fake_init(&f, pairs);
    assert_false(page_parse(&f.req, sorts, 2, &pg));
    assert_string_equal(problem_field(&f), "cursor");
    reply_cleanup(&f.req.reply);
    free(c);
}

static void unknown_and_repeated_parameters(void **state) {
    (void)state;
    static const char *const allowed[] = {"limit", "status", NULL};
    static const char *const repeatable[] = {"status", NULL};
    struct fake f;
    const char *ok[] = {"status", "a", "status", "b", "limit", "3", NULL};
    fake_init(&f, ok);
    assert_true(query_check_names(&f.req, allowed, repeatable));
    const char *twice[] = {"limit", "1", "limit", "2", NULL};
    fake_init(&f, twice);
    assert_false(query_check_names(&f.req, allowed, repeatable));
    assert_string_equal(problem_field(&f), "limit");
    reply_cleanup(&f.req.reply);
    const char *unknown[] = {"limit", "1", "colour", "red", NULL};
    fake_init(&f, unknown);
    assert_false(query_check_names(&f.req, allowed, repeatable));
    assert_string_equal(problem_field(&f), "colour");
    reply_cleanup(&f.req.reply);
}

static void dates(void **state) {
    (void)state;
    struct query_date d;
    assert_true(parse_date("2024-02-29", &d));
    assert_int_equal(d.year, 2024);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 29);
    const char *bad[] = {"2025-02-29", "1900-02-29", "2025-13-01", "2025-00-10",
                         "2025-04-31", "0000-01-01", "2025-1-01",  "2025-01-01x",
                         "25-01-01",   "",           "2025/01/01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_date(bad[i], &d)) fail_msg("accepted %s", bad[i]);
    assert_true(parse_date("2000-02-29", &d));
    struct query_date epoch = {1970, 1, 1}, y2k = {2000, 3, 1};
    assert_int_equal(date_days(&epoch), 0);
    assert_int_equal(date_days(&y2k), 11017);
    struct query_date back = date_add_days(&y2k, -1);
    char text[11];
    date_format(&back, text);
    assert_string_equal(text, "2000-02-29");
    struct query_date ny = {2024, 12, 31};
    struct query_date next = date_add_days(&ny, 1);
    date_format(&next, text);
    assert_string_equal(text, "2025-01-01");
}

static void instants(void **state) {
    (void)state;
    struct query_time t;
    assert_true(parse_instant("2025-03-04T23:30:00Z", &t));
    assert_int_equal(t.kind, QUERY_TIME_INSTANT);
    assert_string_equal(t.text, "2025-03-04T23:30:00Z");
    assert_int_equal(t.date.day, 4);
    assert_true(t.epoch == 1741131000LL);
    /* The UTC date of an instant written with an offset. */
    assert_true(parse_instant("2025-03-05T00:30:00+01:30", &t));
    assert_int_equal(t.date.day, 4);
    assert_true(t.epoch == 1741129200LL);
    assert_string_equal(t.text, "2025-03-05T00:30:00+01:30");
    assert_true(parse_instant("2024-12-31T22:00:00-05:00", &t));
    assert_int_equal(t.date.year, 2025);
    assert_int_equal(t.date.day, 1);
    /* An unencoded `+` arrives as a space; lower-case t and z; fractions. */
    assert_true(parse_instant("2025-03-04t10:00:00.123456789 02:00", &t));
    assert_string_equal(t.text, "2025-03-04T10:00:00.123456789+02:00");
    assert_true(parse_instant("2025-03-04 10:00:00z", &t));
    assert_string_equal(t.text, "2025-03-04T10:00:00Z");
    const char *bad[] = {"2025-03-04",
                         "2025-03-04T10:00:00",
                         "2025-03-04T24:00:00Z",
                         "2025-03-04T10:60:00Z",
                         "2025-03-04T10:00:61Z",
                         "2025-03-04T10:00Z",
                         "2025-03-04T10:00:00.Z",
                         "2025-03-04T10:00:00+0200",
                         "2025-03-04T10:00:00+24:00",
                         "2025-02-30T10:00:00Z",
                         "2025-03-04T10:00:00.1234567890Z",
                         "2025-03-04T10:00:00ZZ"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_instant(bad[i], &t)) fail_msg("accepted %s", bad[i]);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cursor_round_trip),
        cmocka_unit_test(cursor_refused),
        cmocka_unit_test(parse_defaults_and_values),
        cmocka_unit_test(parse_errors_name_the_parameter),
        cmocka_unit_test(unknown_and_repeated_parameters),
        cmocka_unit_test(dates),
        cmocka_unit_test(instants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
