/* test_readyz_pg: PostgreSQL stopped under a running server (SLUICE_TEST_PG_CTL, which
 * controls the server of SLUICE_TEST_PG_ADMIN_URL): /readyz turns 503 problem+json,
 * database routes (GET /users/ with a valid token) answer 503 database-unavailable, the process
 * stays up and /healthz keeps answering; once PostgreSQL is back /readyz is 200 again on every
 * worker. Registered RUN_SERIAL: it stops the shared test PostgreSQL. Exits 77 (skipped) when
 * SLUICE_TEST_PG_CTL is not set. The group owns the database and the process; the
 * PostgreSQL server is always started again in teardown. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_db db;
static struct sluice_proc *proc;
static bool pg_stopped;
static char *admin_token;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"REQUEST_WORKERS=3", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin_token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (pg_stopped && testdb_pg_ctl("start") == 0) pg_stopped = false;
    int rc = proc ? sluice_stop(proc, SIGTERM) : 0;
    proc = NULL;
    free(admin_token);
    admin_token = NULL;
    testdb_drop(&db);
    return rc == 0 && !pg_stopped ? 0 : -1;
}

static void expect_ready(int times) {
    for (int i = 0; i < times; i++) {
        struct http_response r;
        assert_int_equal(http_get(proc, "/readyz", &r), 0);
        if (r.status != 200) fail_msg("/readyz: %ld %s", r.status, r.body);
        http_response_cleanup(&r);
    }
}

static void down_then_back(void **state) {
    (void)state;
    expect_ready(6); /* every worker holds a live connection */

    assert_int_equal(testdb_pg_ctl("stop -m fast"), 0);
    pg_stopped = true;

    /* /readyz: 503 problem naming the database, on every worker. */
    for (int i = 0; i < 6; i++) {
        struct http_response r;
        double t0 = now_ms();
        assert_int_equal(http_get(proc, "/readyz", &r), 0);
        const char *why = problem_check(&r, 503, "not-ready");
        if (why) fail_msg("/readyz with PostgreSQL stopped (try %d): %s", i, why);
        const char *detail = json_string_value(json_object_get(r.json, "detail"));
        assert_non_null(strstr(detail, "database"));
        assert_non_null(http_header(&r, "Retry-After"));
        http_response_cleanup(&r);
        /* connect_timeout bounds the wait; a refused connection is immediate. */
        assert_true(now_ms() - t0 < 8000.0);
    }

    /* The process is up: /healthz answers, /metrics says the database is down. */
    struct http_response r;
    assert_int_equal(http_get(proc, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    bool saw_down = false;
    for (int i = 0; i < 10 && !saw_down; i++) {
        assert_int_equal(http_get(proc, "/metrics", &r), 0);
        assert_int_equal(r.status, 200);
        saw_down = strstr(r.body, "\nsluice_db_up 0\n") != NULL;
        http_response_cleanup(&r);
    }
    assert_true(saw_down);

    /* A database route gets 503 database-unavailable: GET /users/ with a valid token
     * (the bearer middleware loads the caller from the database). */
    assert_non_null(admin_token);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin_token);
    const char *const hdr[] = {auth, NULL};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(http_do(proc, "GET", "/users/", hdr, NULL, 0, &r), 0);
        const char *why = problem_check(&r, 503, "database-unavailable");
        if (why) fail_msg("GET /users/ with PostgreSQL stopped (try %d): %s", i, why);
        assert_non_null(http_header(&r, "Retry-After"));
        http_response_cleanup(&r);
    }
    /* POST /token answers 503 too (in OAuth form: RFC 6749 errors). */
    static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    static const char body[] =
        "grant_type=password&username=" TEST_ADMIN_USER "&password=" TEST_ADMIN_PASSWORD;
    assert_int_equal(http_do(proc, "POST", "/token", form, body, sizeof body - 1, &r), 0);
    if (r.status != 503) fail_msg("POST /token with PostgreSQL stopped: %ld %s", r.status, r.body);
    http_response_cleanup(&r);
    assert_true(sluice_alive(proc));

    /* PostgreSQL back: ready again on every worker, within 30 s. */
    assert_int_equal(testdb_pg_ctl("start"), 0);
    pg_stopped = false;
    double deadline = now_ms() + 30000.0;
    long last = 0;
    while (now_ms() < deadline) {
        assert_int_equal(http_get(proc, "/readyz", &r), 0);
        last = r.status;
        http_response_cleanup(&r);
        if (last == 200) break;
        usleep(200000);
    }
    assert_int_equal(last, 200);
    expect_ready(9);
    assert_true(sluice_alive(proc));
    assert_int_equal(http_do(proc, "GET", "/users/", hdr, NULL, 0, &r), 0);
    if (r.status != 200) fail_msg("GET /users/ after recovery: %ld %s", r.status, r.body);
    http_response_cleanup(&r);
    char *again = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    assert_non_null(again);
    free(again);
}

int main(void) {
    const char *ctl = getenv("SLUICE_TEST_PG_CTL");
    if (!ctl || !*ctl) {
        fprintf(stderr, "SKIPPED: SLUICE_TEST_PG_CTL is not set (scripts/test sets it)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(down_then_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
