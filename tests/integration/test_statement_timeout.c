/* test_statement_timeout: REQUEST_STATEMENT_TIMEOUT_MS bounds the SQL of API requests.
 * While another session holds an ACCESS EXCLUSIVE lock on centre_usinage, a pipelined
 * list (GET /centres/), a pipelined row (GET /centres/{code}) and a synchronous handler
 * (GET /centres/{code}/kpis) all answer 503 /problems/query-timeout with Retry-After
 * after about the timeout, instead of waiting for the lock; once the lock is gone the
 * same workers answer 200 again. The group owns its api_env; the test owns its locking
 * connection. */
#include "harness.h"
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct api_env env;

static int group_setup(void **state) {
    (void)state;
    /* Long enough for the set-up on a slow machine; the lock makes the test exact. */
    static const char *const extra[] = {"REQUEST_STATEMENT_TIMEOUT_MS=1000", NULL};
    if (api_env_start(&env, extra) != 0) return -1;
    production_fixture(&env);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    return 0;
}

static void run_sql(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void expect_timeout(const char *path) {
    struct http_response r;
    char auth[4096];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", env.viewer);
    const char *headers[] = {auth, NULL};
    assert_int_equal(http_do(env.proc, "GET", path, headers, NULL, 0, &r), 0);
    const char *why = problem_check(&r, 503, "query-timeout");
    if (why) fail_msg("GET %s: %s (%ld %s)", path, why, r.status, r.body);
    assert_non_null(http_header(&r, "Retry-After"));
    assert_non_null(strstr(r.body, "REQUEST_STATEMENT_TIMEOUT_MS"));
    http_response_cleanup(&r);
}

static void a_blocked_statement_times_out(void **state) {
    (void)state;
    /* Warm the caches: the token and its user are known before the lock is taken. */
    json_decref(api_get_json(&env, env.viewer, "/centres/"));
    PGconn *locker = PQconnectdb(env.db.url);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    run_sql(locker, "BEGIN");
    run_sql(locker, "LOCK TABLE centre_usinage IN ACCESS EXCLUSIVE MODE");
    expect_timeout("/centres/");                                       /* a pipelined list */
    expect_timeout("/centres/TST");                                    /* a pipelined row */
    expect_timeout("/centres/TST/kpis?from=2025-03-01&to=2025-03-31"); /* synchronous */
    run_sql(locker, "ROLLBACK");
    PQfinish(locker);
    json_t *list = api_get_json(&env, env.viewer, "/centres/");
    assert_true(json_array_size(json_object_get(list, "items")) >= 3);
    json_decref(list);
    json_decref(api_get_json(&env, env.viewer, "/centres/TST"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_blocked_statement_times_out),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
