/* test_centres_api: /centres against the real server and database — create (201 with
 * Location and defaults, 409 on a duplicate code or log folder, 422 naming each bad
 * field, unknown time zone), get (404, case-insensitive code), patch (merge semantics,
 * description to null, code immutable, 409, 404), list (filters actif and type_cu, sort
 * code/-code, pagination with Link), and the 400/401/403 answers. The group owns the
 * environment (database, server, tokens). */
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
    return api_env_start(&env, NULL);
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    return 0;
}

static void create_centre(const char *json) {
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/centres/", json, 201, &r);
    http_response_cleanup(&r);
}

static void create_and_get(void **state) {
    (void)state;
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/centres/",
             "{\"code\":\"C100\",\"nom\":\"Centre 100\",\"type_cu\":\"pvc\"}", 201, &r);
    assert_string_equal(http_header(&r, "Location"), "/centres/C100");
    assert_string_equal(jstr(r.json, "code"), "C100");
    assert_string_equal(jstr(r.json, "type_cu"), "PVC"); /* canonical spelling */
    assert_string_equal(jstr(r.json, "log_folder"), "C100 (PVC)");
    assert_string_equal(jstr(r.json, "time_zone"), "Europe/Paris");
    assert_true(json_is_true(json_object_get(r.json, "actif")));
    assert_true(json_is_null(json_object_get(r.json, "description")));
    long long id = jint(r.json, "id");
    http_response_cleanup(&r);

    json_t *got = api_get_json(&env, env.viewer, "/centres/c100"); /* case-insensitive */
    assert_int_equal(jint(got, "id"), id);
    assert_string_equal(jstr(got, "nom"), "Centre 100");
    json_decref(got);

    api_call(&env, env.admin, "POST", "/centres",
             "{\"code\":\"C101\",\"nom\":\"Centre 101\",\"type_cu\":\"HYBRIDE\","
             "\"description\":\"ligne 2\",\"actif\":false,\"log_folder\":\"SU-101 (HYB)\","
             "\"time_zone\":\"America/New_York\"}",
             201, &r);
    assert_string_equal(jstr(r.json, "log_folder"), "SU-101 (HYB)");
    assert_string_equal(jstr(r.json, "time_zone"), "America/New_York");
    assert_string_equal(jstr(r.json, "description"), "ligne 2");
    assert_true(json_is_false(json_object_get(r.json, "actif")));
    http_response_cleanup(&r);
}

static void create_conflicts(void **state) {
    (void)state;
    create_centre("{\"code\":\"C200\",\"nom\":\"x\",\"type_cu\":\"ALU\"}");
    expect_problem(&env, env.operator_, "POST", "/centres/",
                   "{\"code\":\"C200\",\"nom\":\"again\",\"type_cu\":\"PVC\"}", 409, "conflict",
                   "code");
    expect_problem(&env, env.operator_, "POST", "/centres/",
                   "{\"code\":\"C201\",\"nom\":\"y\",\"type_cu\":\"ALU\","
                   "\"log_folder\":\"C200 (ALU)\"}",
                   409, "conflict", "log_folder");
    /* Nothing was inserted by the refused requests. */
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM centre_usinage WHERE code IN "
                                         "('C201') OR nom = 'again'"),
                     0);
}

static void create_validation(void **state) {
    (void)state;
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"nom\":\"x\",\"type_cu\":\"PVC\"}", "code"},
        {"{\"code\":\"c300\",\"nom\":\"x\",\"type_cu\":\"PVC\"}", "code"},
        {"{\"code\":\"-C300\",\"nom\":\"x\",\"type_cu\":\"PVC\"}", "code"},
        {"{\"code\":\"C300C300C300C300C300C300C300C3001\",\"nom\":\"x\",\"type_cu\":\"PVC\"}",
         "code"},
        {"{\"code\":\"C300\",\"nom\":\"\",\"type_cu\":\"PVC\"}", "nom"},
        {"{\"code\":\"C300\",\"nom\":null,\"type_cu\":\"PVC\"}", "nom"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"BOIS\"}", "type_cu"},
        {"{\"code\":\"C300\",\"nom\":\"x\"}", "type_cu"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"actif\":\"yes\"}", "actif"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"log_folder\":\"a/b\"}",
         "log_folder"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"log_folder\":\"..\"}",
         "log_folder"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"time_zone\":\"Mars/Olympus\"}",
         "time_zone"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"time_zone\":\"a;b\"}",
         "time_zone"},
        {"{\"code\":\"C300\",\"nom\":\"x\",\"type_cu\":\"PVC\",\"colour\":\"red\"}", "colour"},
        {"{\"code\":\"C300\",\"nom\":\"a\\u0007b\",\"type_cu\":\"PVC\"}", "nom"},
        {"[]", "body"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.operator_, "POST", "/centres/", cases[i].body, 422, "validation",
                       cases[i].field);
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM centre_usinage WHERE "
                                         "upper(code) = 'C300'"),
                     0);
    /* Several bad fields are all listed. */
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/centres/",
             "{\"code\":\"x y\",\"nom\":\"\",\"type_cu\":\"?\",\"other\":1}", 422, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 4);
    http_response_cleanup(&r);
    /* Malformed JSON and wrong media type are refused before the handler. */
    expect_problem(&env, env.operator_, "POST", "/centres/", "{\"code\":", 400, "invalid-json",
                   NULL);
}

static void patch_centre(void **state) {
    (void)state;
    create_centre("{\"code\":\"C400\",\"nom\":\"avant\",\"type_cu\":\"ALU\","
                  "\"description\":\"d\"}");
    struct http_response r;
    api_call(&env, env.operator_, "PATCH", "/centres/c400",
             "{\"nom\":\"après\",\"actif\":false,\"time_zone\":\"Asia/Tokyo\"}", 200, &r);
    assert_string_equal(jstr(r.json, "nom"), "après");
    assert_true(json_is_false(json_object_get(r.json, "actif")));
    assert_string_equal(jstr(r.json, "time_zone"), "Asia/Tokyo");
    assert_string_equal(jstr(r.json, "description"), "d"); /* absent: unchanged */
    assert_string_equal(jstr(r.json, "type_cu"), "ALU");
    http_response_cleanup(&r);
    api_call(&env, env.operator_, "PATCH", "/centres/C400",
             "{\"description\":null,\"code\":\"C400\"}", 200, &r);
    assert_true(json_is_null(json_object_get(r.json, "description")));
    http_response_cleanup(&r);
    json_t *got = api_get_json(&env, env.viewer, "/centres/C400");
    assert_string_equal(jstr(got, "nom"), "après");
    assert_true(json_is_null(json_object_get(got, "description")));
    json_decref(got);

    expect_problem(&env, env.operator_, "PATCH", "/centres/C400", "{\"code\":\"C401\"}", 422,
                   "validation", "code");
    expect_problem(&env, env.operator_, "PATCH", "/centres/C400", "{\"nom\":null}", 422,
                   "validation", "nom");
    expect_problem(&env, env.operator_, "PATCH", "/centres/C400", "{\"time_zone\":\"Nowhere\"}",
                   422, "validation", "time_zone");
    expect_problem(&env, env.operator_, "PATCH", "/centres/C400", "{\"bogus\":1}", 422,
                   "validation", "bogus");
    create_centre("{\"code\":\"C402\",\"nom\":\"x\",\"type_cu\":\"ALU\"}");
    expect_problem(&env, env.operator_, "PATCH", "/centres/C400", "{\"log_folder\":\"C402 (ALU)\"}",
                   409, "conflict", "log_folder");
    expect_problem(&env, env.operator_, "PATCH", "/centres/NOPE", "{\"nom\":\"x\"}", 404,
                   "not-found", NULL);
    expect_problem(&env, env.operator_, "PATCH", "/centres/a%20b", "{\"nom\":\"x\"}", 404,
                   "not-found", NULL);
}

static void not_found(void **state) {
    (void)state;
    expect_problem(&env, env.viewer, "GET", "/centres/UNKNOWN", NULL, 404, "not-found", NULL);
    expect_problem(&env, env.viewer, "GET", "/centres/%2A%2A", NULL, 404, "not-found", NULL);
}

static void auth_required(void **state) {
    (void)state;
    expect_problem(&env, NULL, "GET", "/centres/", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "GET", "/centres/C100", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, "not-a-token", "GET", "/centres/", NULL, 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "POST", "/centres/", "{}", 401, "unauthorized", NULL);
    expect_problem(&env, NULL, "PATCH", "/centres/C100", "{\"nom\":\"x\"}", 401, "unauthorized",
                   NULL);
    expect_problem(&env, env.viewer, "POST", "/centres/",
                   "{\"code\":\"V1\",\"nom\":\"x\",\"type_cu\":\"PVC\"}", 403, "forbidden", NULL);
    expect_problem(&env, env.viewer, "PATCH", "/centres/C100", "{\"nom\":\"x\"}", 403, "forbidden",
                   NULL);
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM centre_usinage WHERE code = 'V1'"),
                     0);
}

struct codes {
    char list[64][40];
    size_t n;
};

static void collect_code(json_t *item, void *arg) {
    struct codes *c = arg;
    assert_true(c->n < 64);
    snprintf(c->list[c->n++], sizeof c->list[0], "%s", jstr(item, "code"));
}

static void list_and_filters(void **state) {
    (void)state;
    create_centre("{\"code\":\"L1\",\"nom\":\"x\",\"type_cu\":\"PVC\"}");
    create_centre("{\"code\":\"L2\",\"nom\":\"x\",\"type_cu\":\"ALU\",\"actif\":false}");
    create_centre("{\"code\":\"L3\",\"nom\":\"x\",\"type_cu\":\"HYBRIDE\"}");
    long total = db_long(env.db.url, "SELECT count(*) FROM centre_usinage");

    /* Every centre once, in code order, over pages of 2. */
    struct codes c = {0};
    int pages = walk_pages(&env, env.viewer, "/centres/?limit=2", collect_code, &c);
    assert_int_equal(c.n, total);
    assert_int_equal(pages, (total + 1) / 2);
    for (size_t i = 1; i < c.n; i++) assert_true(strcmp(c.list[i - 1], c.list[i]) < 0);

    struct codes d = {0};
    walk_pages(&env, env.viewer, "/centres/?sort=-code&limit=3", collect_code, &d);
    assert_int_equal(d.n, total);
    for (size_t i = 0; i < d.n; i++) assert_string_equal(d.list[i], c.list[c.n - 1 - i]);

    json_t *page = api_get_json(&env, env.viewer, "/centres/?type_cu=alu&actif=false");
    json_t *items = json_object_get(page, "items");
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        assert_string_equal(jstr(item, "type_cu"), "ALU");
        assert_true(json_is_false(json_object_get(item, "actif")));
    }
    assert_int_equal(json_array_size(items),
                     db_long(env.db.url, "SELECT count(*) FROM centre_usinage WHERE "
                                         "type_cu = 'ALU' AND NOT actif"));
    assert_true(json_array_size(items) >= 1);
    json_decref(page);
    page = api_get_json(&env, env.viewer, "/centres/?actif=1");
    assert_int_equal(json_array_size(json_object_get(page, "items")),
                     db_long(env.db.url, "SELECT count(*) FROM centre_usinage WHERE actif"));
    json_decref(page);
}

static void list_bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *path, *field;
    } cases[] = {
        {"/centres/?limit=0", "limit"},
        {"/centres/?limit=1001", "limit"},
        {"/centres/?limit=abc", "limit"},
        {"/centres/?limit=-1", "limit"},
        {"/centres/?sort=nom", "sort"},
        {"/centres/?cursor=not*base64", "cursor"},
        {"/centres/?cursor=WyJjb2RlIl0", "cursor"}, /* ["code"]: a key is missing */
        {"/centres/?sort=-code&cursor=WyJjb2RlIiwiTDEiXQ", "cursor"}, /* made for sort=code */
        {"/centres/?actif=maybe", "actif"},
        {"/centres/?type_cu=WOOD", "type_cu"},
        {"/centres/?colour=red", "colour"},
        {"/centres/?limit=2&limit=3", "limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_problem(&env, env.viewer, "GET", cases[i].path, NULL, 400, "bad-request",
                       cases[i].field);
    /* The cursor of sort=code, given back with the same sort, works. */
    json_t *page = api_get_json(&env, env.viewer, "/centres/?cursor=WyJjb2RlIiwiTDEiXQ");
    json_t *first = json_array_get(json_object_get(page, "items"), 0);
    assert_non_null(first);
    assert_true(strcmp(jstr(first, "code"), "L1") > 0);
    json_decref(page);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_get),    cmocka_unit_test(create_conflicts),
        cmocka_unit_test(create_validation), cmocka_unit_test(patch_centre),
        cmocka_unit_test(not_found),         cmocka_unit_test(auth_required),
        cmocka_unit_test(list_and_filters),  cmocka_unit_test(list_bad_parameters),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
