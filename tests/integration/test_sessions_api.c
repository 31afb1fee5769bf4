/* test_sessions_api: /sessions, /sessions/{id} and /sessions/{id}/pieces against the
 * real server and database, on the known data of production_fixture: default and
 * ascending order, the centre filter, from/to as dates and as RFC 3339 instants taken in
 * each centre's time zone, pagination, the detail with job profiles, waits and stops
 * (an open stop), the pieces walked page by page in both orders, and the 400/401/404
 * answers. The group owns the environment. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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

/* "CODE date" of every session of a list walked page by page, in order. */
struct seen {
    char keys[32][32];
    long long ids[32];
    size_t n;
};

static void collect(json_t *item, void *arg) {
    struct seen *s = arg;
    assert_true(s->n < 32);
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s %s", jstr(item, "centre"),
             jstr(item, "date_production"));
    s->ids[s->n++] = jint(item, "id");
}

/* The sessions path lists exactly `expected` (space-separated "CODE date" pairs joined
 * by commas), in that order. */
static void expect_sessions(const char *path, const char *expected) {
    struct seen s = {0};
    walk_pages(&env, env.viewer, path, collect, &s);
    char got[1024] = "";
    for (size_t i = 0; i < s.n; i++) {
        if (i) strcat(got, ",");
        strcat(got, s.keys[i]);
    }
    if (strcmp(got, expected) != 0) fail_msg("%s: got [%s], expected [%s]", path, got, expected);
}

static void list_orders(void **state) {
    (void)state;
    expect_sessions("/sessions/", "TST 2025-04-01,TST 2025-03-10,NYC 2025-03-04,TST 2025-03-04,"
                                  "TST 2025-03-03");
    expect_sessions("/sessions/?sort=date&limit=2", "TST 2025-03-03,TST 2025-03-04,"
                                                    "NYC 2025-03-04,TST 2025-03-10,TST 2025-04-01");
    /* One per page: same rows, same order (ties broken by id). */
    expect_sessions("/sessions/?limit=1", "TST 2025-04-01,TST 2025-03-10,NYC 2025-03-04,"
                                          "TST 2025-03-04,TST 2025-03-03");
}

static void figures(void **state) {
    (void)state;
    json_t *page =
        api_get_json(&env, env.viewer, "/sessions/?centre=TST&from=2025-03-03&to=2025-03-03");
    json_t *s = json_array_get(json_object_get(page, "items"), 0);
    assert_non_null(s);
    assert_int_equal(jint(s, "total_pieces"), 100);
    assert_true(jnum(s, "duree_production_totale") == 8.0);
    assert_true(jnum(s, "temps_attente") == 1.0);
    assert_true(jnum(s, "temps_arret_volontaire") == 0.5);
    assert_true(jnum(s, "temps_production_effectif") == 6.5);
    assert_true(jnum(s, "taux_occupation") == 81.25);
    assert_true(jnum(s, "taux_attente") == 12.5);
    assert_true(jnum(s, "taux_arret_volontaire") == 6.25);
    /* 06:00 in Paris on 3 March is 05:00 UTC. */
    assert_string_equal(jstr(s, "heure_premiere_piece"), "2025-03-03T05:00:00Z");
    assert_string_equal(jstr(s, "heure_derniere_piece"), "2025-03-03T13:00:00Z");
    assert_string_equal(jstr(s, "fichier_log_source"), "TST (PVC)/20250303.LOG");
    json_decref(page);
}

static void centre_filter(void **state) {
    (void)state;
    expect_sessions("/sessions/?centre=nyc", "NYC 2025-03-04");
    expect_sessions("/sessions/?centre=TST&sort=date",
                    "TST 2025-03-03,TST 2025-03-04,TST 2025-03-10,TST 2025-04-01");
    expect_sessions("/sessions/?centre=EMPTY", "");
    expect_problem(&env, env.viewer, "GET", "/sessions/?centre=NOPE", NULL, 400, "bad-request",
                   "centre");
    expect_problem(&env, env.viewer, "GET", "/sessions/?centre=a%2Fb", NULL, 400, "bad-request",
                   "centre");
}

static void date_range(void **state) {
    (void)state;
    expect_sessions("/sessions/?from=2025-03-04&to=2025-03-10",
                    "TST 2025-03-10,NYC 2025-03-04,TST 2025-03-04");
    expect_sessions("/sessions/?from=2025-03-05", "TST 2025-04-01,TST 2025-03-10");
    expect_sessions("/sessions/?to=2025-03-03", "TST 2025-03-03");
    expect_sessions("/sessions/?centre=TST&from=2025-03-04&to=2025-03-04", "TST 2025-03-04");
    /* Page by page inside a range, both ways (the range's edges start the keyset). */
    expect_sessions("/sessions/?from=2025-03-04&to=2025-03-10&limit=1",
                    "TST 2025-03-10,NYC 2025-03-04,TST 2025-03-04");
    expect_sessions("/sessions/?from=2025-03-04&to=2025-03-10&limit=1&sort=date",
                    "TST 2025-03-04,NYC 2025-03-04,TST 2025-03-10");
    expect_sessions("/sessions/?centre=tst&from=2025-03-04&limit=1&sort=date",
                    "TST 2025-03-04,TST 2025-03-10,TST 2025-04-01");
    expect_sessions("/sessions/?centre=TST&to=2025-03-10&limit=2",
                    "TST 2025-03-10,TST 2025-03-04,TST 2025-03-03");
    /* A cursor from outside the range does not lead out of it. */
    expect_sessions("/sessions/?from=2025-03-04&to=2025-03-10"
                    "&cursor=WyItZGF0ZSIsIjIwMjUtMTItMzEiLCIxIl0", /* -date, 2025-12-31, 1 */
                    "TST 2025-03-10,NYC 2025-03-04,TST 2025-03-04");
}

/* Paris' 4 March runs from 2025-03-03T23:00Z to 2025-03-04T23:00Z; New York's from
 * 2025-03-04T05:00Z to 2025-03-05T05:00Z. */
static void instant_range(void **state) {
    (void)state;
    expect_sessions("/sessions/?from=2025-03-04T22:30:00Z&to=2025-03-05",
                    "NYC 2025-03-04,TST 2025-03-04");
    expect_sessions("/sessions/?from=2025-03-04T23:00:00Z&to=2025-03-05", "NYC 2025-03-04");
    /* The same instant written with an offset, `+` encoded or not. */
    expect_sessions("/sessions/?from=2025-03-05T00:30:00%2B01:30&to=2025-03-05", "NYC 2025-03-04");
    expect_sessions("/sessions/?from=2025-03-04T23:30:00+01:00&to=2025-03-05",
                    "NYC 2025-03-04,TST 2025-03-04");
    expect_sessions("/sessions/?from=2025-03-04T00:00:00-05:00&to=2025-03-05T04:59:59Z",
                    "NYC 2025-03-04,TST 2025-03-04");
    expect_sessions("/sessions/?centre=TST&from=2025-03-03&to=2025-03-03T22:59:59Z",
                    "TST 2025-03-03");
    expect_sessions("/sessions/?centre=TST&from=2025-03-03&to=2025-03-03T23:00:00Z",
                    "TST 2025-03-04,TST 2025-03-03");
    expect_sessions("/sessions/?centre=NYC&to=2025-03-04T04:59:59.999Z", "");
    expect_sessions("/sessions/?centre=NYC&to=2025-03-04T05:00:00.000Z", "NYC 2025-03-04");
}

static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *path, *field;
    } cases[] = {
        {"/sessions/?from=2025-02-30", "from"},
        {"/sessions/?from=yesterday", "from"},
        {"/sessions/?from=2025-03-04T25:00:00Z", "from"},
        {"/sessions/?from=2025-03-04T10:00:00", "from"}, /* no offset */
        {"/sessions/?to=0000-01-01", "to"},
        {"/sessions/?from=2025-03-05&to=2025-03-04", "to"},
        {"/sessions/?from=2025-03-05T00:00:00Z&to=2025-03-04T23:59:59Z", "to"},
        {"/sessions/?sort=pieces", "sort"},
        {"/sessions/?limit=1001", "limit"},
        {"/sessions/?limit=", "limit"},
        {"/sessions/?cursor=WyJudW1lcm8iLCIzIl0", "cursor"},                 /* a pieces cursor */
        {"/sessions/?cursor=WyItZGF0ZSIsIjIwMjUtMTMtMDEiLCIzIl0", "cursor"}, /* bad date */
        {"/sessions/?cursor=WyItZGF0ZSIsIjIwMjUtMDMtMDEiLCJ4Il0", "cursor"}, /* bad id */
        {"/sessions/?centre=TST&centre=NYC", "centre"},
        {"/sessions/?centres=TST", "centres"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.viewer, "GET", cases[i].path, NULL, 400, "bad-request",
                       cases[i].field);
}

static long long session_id(const char *code, const char *date) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT s.id FROM session_production s JOIN centre_usinage c ON c.id = "
             "s.centre_usinage_id WHERE c.code = '%s' AND s.date_production = '%s'",
             code, date);
    long id = db_long(env.db.url, sql);
    assert_true(id > 0);
    return id;
}

static void detail(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/sessions/%lld", session_id("TST", "2025-03-03"));
    json_t *s = api_get_json(&env, env.viewer, path);
    assert_string_equal(jstr(s, "centre"), "TST");
    assert_int_equal(jint(s, "total_pieces"), 100);
    assert_int_equal(jint(s, "nombre_job_profils"), 2);
    assert_int_equal(jint(s, "nombre_attentes"), 2);
    assert_int_equal(jint(s, "nombre_arrets"), 1);
    json_t *jobs = json_object_get(s, "job_profils");
    assert_int_equal(json_array_size(jobs), 2);
    assert_string_equal(jstr(json_array_get(jobs, 0), "reference"), "7001"); /* by start */
    assert_string_equal(jstr(json_array_get(jobs, 0), "couleur"), "Blanc");
    assert_true(jnum(json_array_get(jobs, 0), "longueur") == 6500.0);
    assert_true(json_is_null(json_object_get(json_array_get(jobs, 1), "couleur")));
    json_t *waits = json_object_get(s, "periodes_attente");
    assert_int_equal(json_array_size(waits), 2);
    assert_string_equal(jstr(json_array_get(waits, 0), "timestamp_debut"), "2025-03-03T06:00:00Z");
    assert_string_equal(jstr(json_array_get(waits, 0), "timestamp_fin"), "2025-03-03T06:30:00Z");
    assert_true(jnum(json_array_get(waits, 0), "duree_secondes") == 1800.0);
    json_t *stops = json_object_get(s, "periodes_arret");
    assert_int_equal(json_array_size(stops), 1);
    assert_string_equal(jstr(json_array_get(stops, 0), "timestamp_fin"), "2025-03-03T09:30:00Z");
    json_decref(s);

    snprintf(path, sizeof path, "/sessions/%lld/", session_id("TST", "2025-03-04"));
    s = api_get_json(&env, env.viewer, path);
    stops = json_object_get(s, "periodes_arret");
    assert_int_equal(json_array_size(stops), 1);
    assert_true(json_is_null(json_object_get(json_array_get(stops, 0), "timestamp_fin")));
    assert_true(json_is_null(json_object_get(json_array_get(stops, 0), "duree_secondes")));
    assert_int_equal(json_array_size(json_object_get(s, "job_profils")), 0);
    json_decref(s);

    expect_problem(&env, env.viewer, "GET", "/sessions/999999999", NULL, 404, "not-found", NULL);
    expect_problem(&env, env.viewer, "GET", "/sessions/abc", NULL, 400, "bad-request", "id");
    expect_problem(&env, env.viewer, "GET", "/sessions/0", NULL, 400, "bad-request", "id");
    expect_problem(&env, env.viewer, "GET", "/sessions/99999999999999999999", NULL, 400,
                   "bad-request", "id");
    expect_problem(&env, env.viewer, "GET", "/sessions/1?x=1", NULL, 400, "bad-request", "x");
}

struct numbers {
    long long last;
    int count;
    int step; /* +1 ascending, -1 descending */
};

static void check_number(json_t *item, void *arg) {
    struct numbers *n = arg;
    long long k = jint(item, "numero_piece");
    if (k != n->last + n->step) fail_msg("piece %lld after %lld", k, n->last);
    n->last = k;
    n->count++;
    if (strncmp(jstr(item, "details"), "piece ", 6) != 0) fail_msg("details of piece %lld", k);
}

static void pieces(void **state) {
    (void)state;
    char path[96];
    long long id = session_id("TST", "2025-03-03");
    snprintf(path, sizeof path, "/sessions/%lld/pieces?limit=7", id);
    struct numbers n = {0, 0, 1};
    int pages = walk_pages(&env, env.viewer, path, check_number, &n);
    assert_int_equal(n.count, 100);
    assert_int_equal(pages, 15);
    snprintf(path, sizeof path, "/sessions/%lld/pieces?sort=-numero&limit=30", id);
    struct numbers d = {101, 0, -1};
    walk_pages(&env, env.viewer, path, check_number, &d);
    assert_int_equal(d.count, 100);

    snprintf(path, sizeof path, "/sessions/%lld/pieces", id);
    json_t *page = api_get_json(&env, env.viewer, path);
    json_t *first = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(jstr(first, "details"), "piece 1");
    assert_string_equal(jstr(first, "timestamp_production"), "2025-03-03T05:00:00Z");
    assert_int_equal(json_array_size(json_object_get(page, "items")), 50); /* default limit */
    json_decref(page);

    /* A session without pieces: an empty page, not 404. */
    snprintf(path, sizeof path, "/sessions/%lld/pieces", session_id("NYC", "2025-03-04"));
    page = api_get_json(&env, env.viewer, path);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);

    expect_problem(&env, env.viewer, "GET", "/sessions/999999999/pieces", NULL, 404, "not-found",
                   NULL);
    snprintf(path, sizeof path, "/sessions/%lld/pieces?sort=numero&limit=5000", id);
    expect_problem(&env, env.viewer, "GET", path, NULL, 400, "bad-request", "limit");
    snprintf(path, sizeof path, "/sessions/%lld/pieces?cursor=WyJudW1lcm8iLCI5OTk5OTk5OTk5OTkiXQ",
             id); /* a forged key beyond any piece: empty page */
    page = api_get_json(&env, env.viewer, path);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
}

static void auth_required(void **state) {
    (void)state;
    expect_problem(&env, NULL, "GET", "/sessions/", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "GET", "/sessions/1", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "GET", "/sessions/1/pieces", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, env.viewer, "POST", "/sessions/", "{}", 405, "method-not-allowed", NULL);
}

/* The JSON token of member name in raw JSON text (the first occurrence), into out. */
static void raw_member(const char *raw, const char *name, char *out, size_t outlen) {
    char key[80];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(raw, key);
    if (!p) fail_msg("no member %s in %s", name, raw);
    p += strlen(key);
    size_t n = *p == '"' ? strcspn(p + 1, "\"") + 2 : strcspn(p, ",}]");
    if (n >= outlen) n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A session reads the same, byte for byte, in the list and in its detail: numbers
 * rounded to the same scale without trailing zeros, times to the second (the bug was
 * 12.5 in the list and 12.5000 in the detail, and fractions of seconds in one only). */
static void list_and_detail_spell_alike(void **state) {
    (void)state;
    long long id = session_id("TST", "2025-03-04");
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE session_production SET duree_production_totale = 7.931027777777778,"
             " temps_attente = 12.5, temps_arret_volontaire = 0.00004999,"
             " taux_occupation = 81.255, taux_attente = 100, taux_arret_volontaire = 1e-7,"
             " heure_premiere_piece = '2025-03-04 05:00:00.75+00' WHERE id = %lld",
             id);
    sql_exec(&env, sql);
    struct http_response list, one;
    api_call(&env, env.viewer, "GET", "/sessions/?centre=TST&from=2025-03-04&to=2025-03-04", NULL,
             200, &list);
    char path[64];
    snprintf(path, sizeof path, "/sessions/%lld", id);
    api_call(&env, env.viewer, "GET", path, NULL, 200, &one);
    static const struct {
        const char *name, *want;
    } members[] = {
        {"duree_production_totale", "7.931"},
        {"temps_attente", "12.5"},
        {"temps_arret_volontaire", "0"},
        {"taux_occupation", "81.26"},
        {"taux_attente", "100"},
        {"taux_arret_volontaire", "0"},
        {"heure_premiere_piece", "\"2025-03-04T05:00:00Z\""},
        {"date_production", "\"2025-03-04\""},
        {"total_pieces", NULL},
        {"heure_derniere_piece", NULL},
        {"fichier_log_source", NULL},
    };
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        char a[128], b[128];
        raw_member(list.body, members[i].name, a, sizeof a);
        raw_member(one.body, members[i].name, b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: %s in the list, %s in the detail", members[i].name, a, b);
        if (members[i].want && strcmp(a, members[i].want) != 0)
            fail_msg("%s: %s, expected %s", members[i].name, a, members[i].want);
    }
    assert_null(strstr(one.body, " : ")); /* compact */
    http_response_cleanup(&list);
    http_response_cleanup(&one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_orders),   cmocka_unit_test(figures),
        cmocka_unit_test(centre_filter), cmocka_unit_test(date_range),
        cmocka_unit_test(instant_range), cmocka_unit_test(bad_parameters),
        cmocka_unit_test(detail),        cmocka_unit_test(pieces),
        cmocka_unit_test(auth_required), cmocka_unit_test(list_and_detail_spell_alike),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
