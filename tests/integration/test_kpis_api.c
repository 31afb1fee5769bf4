/* test_kpis_api: GET /centres/{code}/kpis and GET /kpis against the real server and
 * database on the known data of production_fixture: every figure of day, week and month
 * buckets (clipped to the range, empty buckets with null rates), instants taken as
 * local dates in the centre's time zone, the default range, the centres side by side
 * with pagination and the actif filter, and the 400/401/404 answers. The group owns the
 * environment. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct api_env env;

static int group_setup(void **state) {
    (void)state;
    return production_env_start(&env);
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    return 0;
}

/* Expected figures; a negative rate means null. */
struct figures {
    long sessions, pieces;
    double production, effective, wait, stop, occupation, wait_rate, stop_rate;
    long waits, stops;
    double per_hour;
};

static void expect_number(json_t *obj, const char *key, double want) {
    json_t *v = json_object_get(obj, key);
    if (want < 0) {
        if (!json_is_null(v))
            fail_msg("%s: expected null, got %s", key, json_dumps(v, JSON_ENCODE_ANY));
        return;
    }
    if (!json_is_number(v) || fabs(json_number_value(v) - want) > 1e-9)
        fail_msg("%s: expected %g, got %g", key, want,
                 json_is_number(v) ? json_number_value(v) : NAN);
}

static void expect_figures(json_t *obj, const struct figures *f) {
    assert_int_equal(jint(obj, "sessions"), f->sessions);
    assert_int_equal(jint(obj, "pieces"), f->pieces);
    expect_number(obj, "production_hours", f->production);
    expect_number(obj, "effective_hours", f->effective);
    expect_number(obj, "wait_hours", f->wait);
    expect_number(obj, "stop_hours", f->stop);
    expect_number(obj, "occupation_rate", f->occupation);
    expect_number(obj, "wait_rate", f->wait_rate);
    expect_number(obj, "stop_rate", f->stop_rate);
    assert_int_equal(jint(obj, "waits"), f->waits);
    assert_int_equal(jint(obj, "stops"), f->stops);
    expect_number(obj, "pieces_per_effective_hour", f->per_hour);
}

static const struct figures none = {0, 0, 0, 0, 0, 0, -1, -1, -1, 0, 0, -1};

static void expect_bucket(json_t *items, size_t i, const char *start, const char *end,
                          const struct figures *f) {
    json_t *b = json_array_get(items, i);
    if (!b) fail_msg("no bucket %zu", i);
    assert_string_equal(jstr(b, "start"), start);
    assert_string_equal(jstr(b, "end"), end);
    expect_figures(b, f);
}

static void days(void **state) {
    (void)state;
    json_t *k = api_get_json(&env, env.viewer, "/centres/TST/kpis?from=2025-03-03&to=2025-03-05");
    assert_string_equal(jstr(k, "centre"), "TST");
    assert_string_equal(jstr(k, "bucket"), "day");
    assert_string_equal(jstr(k, "time_zone"), "Europe/Paris");
    assert_string_equal(jstr(k, "from"), "2025-03-03");
    assert_string_equal(jstr(k, "to"), "2025-03-05");
    json_t *items = json_object_get(k, "items");
    assert_int_equal(json_array_size(items), 3);
    const struct figures d3 = {1, 100, 8, 6.5, 1, 0.5, 81.25, 12.5, 6.25, 2, 1, 15.38};
    const struct figures d4 = {1, 50, 4, 3, 0.5, 0.5, 75, 12.5, 12.5, 1, 1, 16.67};
    expect_bucket(items, 0, "2025-03-03", "2025-03-03", &d3);
    expect_bucket(items, 1, "2025-03-04", "2025-03-04", &d4);
    expect_bucket(items, 2, "2025-03-05", "2025-03-05", &none);
    json_decref(k);
}

static void weeks(void **state) {
    (void)state;
    json_t *k = api_get_json(&env, env.viewer,
                             "/centres/tst/kpis?from=2025-03-01&to=2025-03-16&bucket=WEEK");
    assert_string_equal(jstr(k, "bucket"), "week");
    json_t *items = json_object_get(k, "items");
    assert_int_equal(json_array_size(items), 3);
    /* The first week starts on Monday 24 February: clipped to the range. */
    expect_bucket(items, 0, "2025-03-01", "2025-03-02", &none);
    const struct figures w1 = {2, 150, 12, 9.5, 1.5, 1, 79.17, 12.5, 8.33, 3, 2, 15.79};
    const struct figures w2 = {1, 30, 2, 2, 0, 0, 100, 0, 0, 0, 0, 15};
    expect_bucket(items, 1, "2025-03-03", "2025-03-09", &w1);
    expect_bucket(items, 2, "2025-03-10", "2025-03-16", &w2);
    json_decref(k);
}

static void months(void **state) {
    (void)state;
    json_t *k = api_get_json(&env, env.viewer,
                             "/centres/TST/kpis?from=2025-03-01&to=2025-04-30&bucket=month");
    json_t *items = json_object_get(k, "items");
    assert_int_equal(json_array_size(items), 2);
    const struct figures m3 = {3, 180, 14, 11.5, 1.5, 1, 82.14, 10.71, 7.14, 3, 2, 15.65};
    const struct figures m4 = {1, 10, 1, 0.75, 0.25, 0, 75, 25, 0, 1, 0, 13.33};
    expect_bucket(items, 0, "2025-03-01", "2025-03-31", &m3);
    expect_bucket(items, 1, "2025-04-01", "2025-04-30", &m4);
    json_decref(k);
    /* A range inside one month: one clipped bucket. */
    k = api_get_json(&env, env.viewer,
                     "/centres/TST/kpis?from=2025-03-04&to=2025-03-10&bucket=month");
    items = json_object_get(k, "items");
    assert_int_equal(json_array_size(items), 1);
    const struct figures part = {2, 80, 6, 5, 0.5, 0.5, 83.33, 8.33, 8.33, 1, 1, 16};
    expect_bucket(items, 0, "2025-03-04", "2025-03-10", &part);
    json_decref(k);
}

static void instants_and_defaults(void **state) {
    (void)state;
    /* 23:30Z on 3 March is 00:30 on 4 March in Paris, 18:30 on 3 March in New York. */
    json_t *k = api_get_json(&env, env.viewer,
                             "/centres/TST/kpis?from=2025-03-03T23:30:00Z&to=2025-03-04T12:00:00Z");
    assert_string_equal(jstr(k, "from"), "2025-03-04");
    assert_string_equal(jstr(k, "to"), "2025-03-04");
    assert_int_equal(json_array_size(json_object_get(k, "items")), 1);
    json_decref(k);
    k = api_get_json(&env, env.viewer, "/centres/NYC/kpis?from=2025-03-03T23:30:00Z&to=2025-03-04");
    assert_string_equal(jstr(k, "from"), "2025-03-03");
    assert_string_equal(jstr(k, "time_zone"), "America/New_York");
    json_t *items = json_object_get(k, "items");
    assert_int_equal(json_array_size(items), 2);
    const struct figures nyc = {1, 20, 2, 2, 0, 0, 100, 0, 0, 0, 0, 10};
    expect_bucket(items, 1, "2025-03-04", "2025-03-04", &nyc);
    json_decref(k);

    /* Default: the 30 days up to today in the centre's time zone. */
    char *today = testdb_query(env.db.url, "SELECT (now() AT TIME ZONE 'Europe/Paris')::date");
    char *start = testdb_query(env.db.url, "SELECT (now() AT TIME ZONE 'Europe/Paris')::date - 29");
    assert_non_null(today);
    assert_non_null(start);
    k = api_get_json(&env, env.viewer, "/centres/TST/kpis");
    assert_string_equal(jstr(k, "to"), today);
    assert_string_equal(jstr(k, "from"), start);
    assert_int_equal(json_array_size(json_object_get(k, "items")), 30);
    json_decref(k);
    k = api_get_json(&env, env.viewer, "/centres/TST/kpis?from=2025-03-01&to=2025-03-31");
    assert_int_equal(json_array_size(json_object_get(k, "items")), 31);
    json_decref(k);
    free(today);
    free(start);
}

static void centre_errors(void **state) {
    (void)state;
    static const struct {
        const char *path, *field;
    } cases[] = {
        {"/centres/TST/kpis?bucket=year", "bucket"},
        {"/centres/TST/kpis?from=2020-01-01&to=2025-01-01", "from"},
        {"/centres/TST/kpis?from=2025-03-05&to=2025-03-04", "to"},
        {"/centres/TST/kpis?from=03/04/2025", "from"},
        {"/centres/TST/kpis?to=2025-02-29", "to"},
        {"/centres/TST/kpis?limit=10", "limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.viewer, "GET", cases[i].path, NULL, 400, "bad-request",
                       cases[i].field);
    expect_problem(&env, env.viewer, "GET", "/centres/NOPE/kpis", NULL, 404, "not-found", NULL);
    expect_problem(&env, NULL, "GET", "/centres/TST/kpis", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "GET", "/kpis", NULL, 401, "unauthorized", NULL);
}

struct codes {
    char list[8][16];
    json_t *items[8];
    size_t n;
};

static void collect(json_t *item, void *arg) {
    struct codes *c = arg;
    assert_true(c->n < 8);
    snprintf(c->list[c->n], sizeof c->list[0], "%s", jstr(item, "centre"));
    c->items[c->n++] = json_incref(item);
}

static void compare(void **state) {
    (void)state;
    struct codes c = {0};
    int pages =
        walk_pages(&env, env.viewer, "/kpis?from=2025-03-01&to=2025-03-31&limit=1", collect, &c);
    assert_int_equal(pages, 3);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.list[0], "EMPTY");
    assert_string_equal(c.list[1], "NYC");
    assert_string_equal(c.list[2], "TST");
    expect_figures(c.items[0], &none);
    const struct figures nyc = {1, 20, 2, 2, 0, 0, 100, 0, 0, 0, 0, 10};
    const struct figures tst = {3, 180, 14, 11.5, 1.5, 1, 82.14, 10.71, 7.14, 3, 2, 15.65};
    expect_figures(c.items[1], &nyc);
    expect_figures(c.items[2], &tst);
    assert_string_equal(jstr(c.items[2], "type_cu"), "PVC");
    assert_string_equal(jstr(c.items[2], "from"), "2025-03-01");
    assert_string_equal(jstr(c.items[2], "to"), "2025-03-31");
    for (size_t i = 0; i < c.n; i++) json_decref(c.items[i]);

    struct http_response r;
    api_call(&env, env.operator_, "PATCH", "/centres/EMPTY", "{\"actif\":false}", 200, &r);
    http_response_cleanup(&r);
    json_t *page = api_get_json(&env, env.viewer, "/kpis?actif=false");
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "centre"), "EMPTY");
    json_decref(page);
    page =
        api_get_json(&env, env.viewer, "/kpis?actif=true&from=2025-03-04T23:30:00Z&to=2025-03-05");
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 2);
    /* The instant is the 4th in New York, the 5th in Paris. */
    assert_string_equal(jstr(json_array_get(items, 0), "from"), "2025-03-04");
    assert_int_equal(jint(json_array_get(items, 0), "sessions"), 1);
    assert_string_equal(jstr(json_array_get(items, 1), "from"), "2025-03-05");
    assert_int_equal(jint(json_array_get(items, 1), "sessions"), 0);
    json_decref(page);

    expect_problem(&env, env.viewer, "GET", "/kpis?sort=-centre", NULL, 400, "bad-request", "sort");
    expect_problem(&env, env.viewer, "GET", "/kpis?actif=2", NULL, 400, "bad-request", "actif");
    expect_problem(&env, env.viewer, "GET", "/kpis?to=2025-13-01", NULL, 400, "bad-request", "to");
    expect_problem(&env, env.viewer, "GET", "/kpis?bucket=day", NULL, 400, "bad-request", "bucket");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(days),          cmocka_unit_test(weeks),
        cmocka_unit_test(months),        cmocka_unit_test(instants_and_defaults),
        cmocka_unit_test(centre_errors), cmocka_unit_test(compare),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
