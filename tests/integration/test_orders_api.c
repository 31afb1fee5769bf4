/* test_orders_api: /commandes-volets against the real server and database — the list
 * on known orders (every filter: status single/comma/repeated, gestion_en_stock,
 * source, modification dates, q with LIKE wildcards taken literally; the four sorts
 * walked page by page), GET by number (every extension, 404), POST of one order
 * (defaults, Location) and of arrays (in order; 1,000 at once; 1,001 refused; all or
 * nothing on a conflict with the table or inside the array), 422 naming each bad field,
 * and the 400/401/403 answers. The group owns the environment. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct api_env env;

/* The known orders; 9001 comes from the "ERP" (SQL). */
static const char known[] =
    "[{\"numero_commande\":\"1001\",\"status\":\"Planifiee\",\"date_modification\":"
    "\"2025-05-01\",\"coffre\":\"SOP 125\"},"
    "{\"numero_commande\":\"1001\",\"extension\":\"A\",\"status\":\"vitrage\","
    "\"date_modification\":\"2025-05-03\",\"gestion_en_stock\":true},"
    "{\"numero_commande\":\"1002\",\"status\":\"lancer en prod\",\"date_modification\":"
    "\"2025-05-02\",\"coffre\":\"S P 165\",\"gestion_en_stock\":1},"
    "{\"numero_commande\":\"1003\",\"status\":\"Terminee\",\"date_modification\":"
    "\"2025-04-30\",\"gestion_en_stock\":0},"
    "{\"numero_commande\":\"2001\",\"status\":\"Annulee\",\"date_modification\":"
    "\"2025-05-03\",\"coffre\":\"S TAB 200\"},"
    "{\"numero_commande\":\"50%_1\",\"status\":\"PLANIFIEE\",\"date_modification\":"
    "\"2025-05-05\"},"
    "{\"numero_commande\":\"5001\",\"status\":\"planifiee\",\"date_modification\":"
    "\"2025-05-05\",\"coffre\":null}]";

static int group_setup(void **state) {
    (void)state;
    if (api_env_start(&env, NULL) != 0) return -1;
    struct http_response r;
    if (bearer_do(env.proc, "POST", "/commandes-volets/", env.operator_, known, &r) != 0 ||
        r.status != 201) {
        fprintf(stderr, "set-up POST: %ld %s\n", r.status, r.body);
        http_response_cleanup(&r);
        return -1;
    }
    http_response_cleanup(&r);
    char *v = testdb_query(env.db.url,
                           "INSERT INTO commandes_volets_roulants (numero_commande, status,"
                           " date_modification, source) VALUES ('9001', 'vitrage', '2025-05-04',"
                           " 'erp') RETURNING id");
    free(v);
    return v ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    return 0;
}

struct keys {
    char text[2048];
    size_t n;
};

static void collect(json_t *item, void *arg) {
    struct keys *k = arg;
    char one[64];
    const char *ext = jstr(item, "extension");
    snprintf(one, sizeof one, "%s%s%s%s", k->n ? "," : "", jstr(item, "numero_commande"),
             *ext ? "/" : "", ext);
    strncat(k->text, one, sizeof k->text - strlen(k->text) - 1);
    k->n++;
}

static void expect_list(const char *path, const char *expected) {
    struct keys k = {.n = 0};
    k.text[0] = '\0';
    walk_pages(&env, env.viewer, path, collect, &k);
    if (strcmp(k.text, expected) != 0)
        fail_msg("%s: got [%s], expected [%s]", path, k.text, expected);
}

static void sorts(void **state) {
    (void)state;
    const char *by_numero = "1001,1001/A,1002,1003,2001,50%_1,5001,9001";
    expect_list("/commandes-volets/", by_numero);
    expect_list("/commandes-volets/?limit=3", by_numero);
    expect_list("/commandes-volets/?limit=1&sort=numero", by_numero);
    expect_list("/commandes-volets?sort=-numero&limit=3",
                "9001,5001,50%_1,2001,1003,1002,1001/A,1001");
    const char *by_date = "1003,1001,1002,1001/A,2001,9001,50%_1,5001";
    expect_list("/commandes-volets/?sort=date_modification&limit=3", by_date);
    expect_list("/commandes-volets/?sort=-date_modification&limit=2",
                "5001,50%_1,9001,2001,1001/A,1002,1001,1003");
}

static void filters(void **state) {
    (void)state;
    expect_list("/commandes-volets/?status=planifiee", "1001,50%_1,5001");
    expect_list("/commandes-volets/?status=Planifiee,vitrage", "1001,1001/A,50%_1,5001,9001");
    expect_list("/commandes-volets/?status=vitrage&status=Terminee&limit=1", "1001/A,1003,9001");
    expect_list("/commandes-volets/?status=lancer%20en%20prod", "1002");
    expect_list("/commandes-volets/?gestion_en_stock=true", "1001/A,1002");
    expect_list("/commandes-volets/?gestion_en_stock=0&source=api", "1001,1003,2001,50%_1,5001");
    expect_list("/commandes-volets/?source=erp", "9001");
    expect_list("/commandes-volets/?modified_from=2025-05-03", "1001/A,2001,50%_1,5001,9001");
    expect_list("/commandes-volets/?modified_from=2025-05-02&modified_to=2025-05-03"
                "&sort=-date_modification",
                "2001,1001/A,1002");
    expect_list("/commandes-volets/?modified_from=2025-05-02&modified_to=2025-05-04"
                "&sort=date_modification&limit=1",
                "1002,1001/A,2001,9001");
    expect_list("/commandes-volets/?modified_to=2025-05-03&sort=-date_modification&limit=1",
                "2001,1001/A,1002,1001,1003");
    expect_list("/commandes-volets/?modified_from=2025-05-03&limit=2",
                "1001/A,2001,50%_1,5001,9001");
    /* A cursor from outside the range does not lead out of it. */
    expect_list("/commandes-volets/?modified_from=2025-05-04&sort=date_modification"
                "&cursor=WyJkYXRlX21vZGlmaWNhdGlvbiIsIjIwMjAtMDEtMDEiLCIxIiwiIl0",
                "9001,50%_1,5001");
    expect_list("/commandes-volets/?q=00", "1001,1001/A,1002,1003,2001,5001,9001");
    expect_list("/commandes-volets/?q=%25_", "50%_1"); /* LIKE wildcards are literal */
    expect_list("/commandes-volets/?q=_", "50%_1");
    expect_list("/commandes-volets/?q=10&status=vitrage", "1001/A");
    expect_list("/commandes-volets/?q=nothing", "");
}

static void list_bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *path, *field;
    } cases[] = {
        {"/commandes-volets/?status=Done", "status"},
        {"/commandes-volets/?status=Planifiee,Done", "status"},
        {"/commandes-volets/?status=", "status"},
        {"/commandes-volets/?gestion_en_stock=oui", "gestion_en_stock"},
        {"/commandes-volets/?modified_from=2025-5-1", "modified_from"},
        {"/commandes-volets/?modified_from=2025-05-01T00:00:00Z", "modified_from"},
        {"/commandes-volets/?modified_from=2025-05-03&modified_to=2025-05-01", "modified_to"},
        {"/commandes-volets/?q=", "q"},
        {"/commandes-volets/?q=123456789012345678901", "q"},
        {"/commandes-volets/?source=web", "source"},
        {"/commandes-volets/?sort=status", "sort"},
        {"/commandes-volets/?limit=100000", "limit"},
        {"/commandes-volets/?cursor=WyJudW1lcm8iLCIxMDAxIl0", "cursor"}, /* one key short */
        {"/commandes-volets/?from=2025-01-01", "from"},
        {"/commandes-volets/?source=api&source=erp", "source"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.viewer, "GET", cases[i].path, NULL, 400, "bad-request",
                       cases[i].field);
}

static void get_by_number(void **state) {
    (void)state;
    json_t *o = api_get_json(&env, env.viewer, "/commandes-volets/1001");
    assert_string_equal(jstr(o, "numero_commande"), "1001");
    json_t *items = json_object_get(o, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *a = json_array_get(items, 0), *b = json_array_get(items, 1);
    assert_string_equal(jstr(a, "extension"), "");
    assert_string_equal(jstr(a, "status"), "Planifiee");
    assert_string_equal(jstr(a, "coffre"), "SOP 125");
    assert_string_equal(jstr(a, "date_modification"), "2025-05-01");
    assert_string_equal(jstr(a, "source"), "api");
    assert_true(json_is_false(json_object_get(a, "gestion_en_stock")));
    assert_string_equal(jstr(b, "extension"), "A");
    assert_true(json_is_true(json_object_get(b, "gestion_en_stock")));
    assert_true(json_is_null(json_object_get(b, "coffre")));
    json_decref(o);
    o = api_get_json(&env, env.viewer, "/commandes-volets/50%25_1");
    assert_string_equal(jstr(json_array_get(json_object_get(o, "items"), 0), "status"),
                        "Planifiee");
    json_decref(o);
    expect_problem(&env, env.viewer, "GET", "/commandes-volets/100", NULL, 404, "not-found", NULL);
    expect_problem(&env, env.viewer, "GET", "/commandes-volets/1001?x=1", NULL, 400, "bad-request",
                   "x");
}

static long orders_count(void) {
    return db_long(env.db.url, "SELECT count(*) FROM commandes_volets_roulants");
}

static void create_one(void **state) {
    (void)state;
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/commandes-volets",
             "{\"numero_commande\":\"7001 B\",\"status\":\"Vitrage\",\"gestion_en_stock\":1}", 201,
             &r);
    assert_string_equal(http_header(&r, "Location"), "/commandes-volets/7001%20B");
    assert_string_equal(jstr(r.json, "numero_commande"), "7001 B");
    assert_string_equal(jstr(r.json, "extension"), "");
    assert_string_equal(jstr(r.json, "status"), "vitrage");
    assert_string_equal(jstr(r.json, "source"), "api");
    assert_true(json_is_true(json_object_get(r.json, "gestion_en_stock")));
    assert_true(json_is_null(json_object_get(r.json, "coffre")));
    char *today = testdb_query(env.db.url, "SELECT CURRENT_DATE");
    assert_string_equal(jstr(r.json, "date_modification"), today);
    free(today);
    http_response_cleanup(&r);
    long before = orders_count();
    expect_problem(&env, env.operator_, "POST", "/commandes-volets/",
                   "{\"numero_commande\":\"7001 B\",\"status\":\"Planifiee\"}", 409, "conflict",
                   "numero_commande");
    assert_int_equal(orders_count(), before);
}

static void create_many(void **state) {
    (void)state;
    struct http_response r;
    api_call(&env, env.admin, "POST", "/commandes-volets/",
             "[{\"numero_commande\":\"8003\",\"status\":\"Annulee\"},"
             "{\"numero_commande\":\"8001\",\"status\":\"Planifiee\"},"
             "{\"numero_commande\":\"8001\",\"extension\":\"Z\",\"status\":\"Planifiee\"}]",
             201, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(jstr(json_array_get(items, 0), "numero_commande"), "8003"); /* as sent */
    assert_string_equal(jstr(json_array_get(items, 2), "extension"), "Z");
    assert_null(http_header(&r, "Location"));
    http_response_cleanup(&r);

    /* A conflict anywhere: nothing of the array is inserted. */
    long before = orders_count();
    expect_problem(&env, env.operator_, "POST", "/commandes-volets/",
                   "[{\"numero_commande\":\"8100\",\"status\":\"Planifiee\"},"
                   "{\"numero_commande\":\"8001\",\"extension\":\"Z\",\"status\":\"vitrage\"},"
                   "{\"numero_commande\":\"8101\",\"status\":\"Planifiee\"}]",
                   409, "conflict", "[1].numero_commande");
    expect_problem(&env, env.operator_, "POST", "/commandes-volets/",
                   "[{\"numero_commande\":\"8200\",\"status\":\"Planifiee\"},"
                   "{\"numero_commande\":\"8201\",\"status\":\"Planifiee\"},"
                   "{\"numero_commande\":\"8200\",\"extension\":\"\",\"status\":\"vitrage\"}]",
                   409, "conflict", "[2].numero_commande");
    assert_int_equal(orders_count(), before);

    /* 1,000 in one request; 1,001 and 0 are refused. */
    size_t cap = 1001 * 64, len = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    for (int i = 0; i < 1001; i++)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"numero_commande\":\"B%05d\",\"status\":\"Planifiee\"}",
                                i ? "," : "[", i);
    snprintf(b + len, cap - len, "]");
    expect_problem(&env, env.operator_, "POST", "/commandes-volets/", b, 422, "validation", "body");
    assert_int_equal(orders_count(), before);
    char *last = strrchr(b, '{');
    last[-1] = ']';
    last[0] = '\0';
    api_call(&env, env.operator_, "POST", "/commandes-volets/", b, 201, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1000);
    http_response_cleanup(&r);
    free(b);
    assert_int_equal(orders_count(), before + 1000);
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM commandes_volets_roulants"
                                         " WHERE numero_commande LIKE 'B%' AND source = 'api'"),
                     1000);
    expect_problem(&env, env.operator_, "POST", "/commandes-volets/", "[]", 422, "validation",
                   "body");
}

static void create_validation(void **state) {
    (void)state;
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"status\":\"Planifiee\"}", "numero_commande"},
        {"{\"numero_commande\":\"\",\"status\":\"Planifiee\"}", "numero_commande"},
        {"{\"numero_commande\":\"123456789012345678901\",\"status\":\"Planifiee\"}",
         "numero_commande"},
        {"{\"numero_commande\":\" 12\",\"status\":\"Planifiee\"}", "numero_commande"},
        {"{\"numero_commande\":12,\"status\":\"Planifiee\"}", "numero_commande"},
        {"{\"numero_commande\":\"a\\tb\",\"status\":\"Planifiee\"}", "numero_commande"},
        {"{\"numero_commande\":\"9\"}", "status"},
        {"{\"numero_commande\":\"9\",\"status\":\"Livree\"}", "status"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"extension\":\"ABCDEF\"}",
         "extension"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"extension\":null}", "extension"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"date_modification\":\"2025-02-"
         "29\"}",
         "date_modification"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"date_modification\":20250101}",
         "date_modification"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"coffre\":\"\"}", "coffre"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"gestion_en_stock\":2}",
         "gestion_en_stock"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"gestion_en_stock\":\"true\"}",
         "gestion_en_stock"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"source\":\"erp\"}", "source"},
        {"[{\"numero_commande\":\"9\",\"status\":\"Planifiee\"},{\"numero_commande\":\"10\"}]",
         "[1].status"},
        {"[{\"numero_commande\":\"9\",\"status\":\"Planifiee\"},42]", "[1]"},
        {"{\"numero_commande\":\"9\",\"status\":\"Planifiee\",\"coffre\":125}", "coffre"},
    };
    long before = orders_count();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.operator_, "POST", "/commandes-volets/", cases[i].body, 422,
                       "validation", cases[i].field);
    assert_int_equal(orders_count(), before);
}

static void auth_required(void **state) {
    (void)state;
    expect_problem(&env, NULL, "GET", "/commandes-volets/", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "GET", "/commandes-volets/1001", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "POST", "/commandes-volets/",
                   "{\"numero_commande\":\"V1\",\"status\":\"Planifiee\"}", 401, "unauthorized",
                   NULL);
    expect_problem(&env, env.viewer, "POST", "/commandes-volets/",
                   "{\"numero_commande\":\"V1\",\"status\":\"Planifiee\"}", 403, "forbidden", NULL);
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM commandes_volets_roulants"
                                         " WHERE numero_commande = 'V1'"),
                     0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sorts),
        cmocka_unit_test(filters),
        cmocka_unit_test(list_bad_parameters),
        cmocka_unit_test(get_by_number),
        cmocka_unit_test(create_one),
        cmocka_unit_test(create_many),
        cmocka_unit_test(create_validation),
        cmocka_unit_test(auth_required),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
