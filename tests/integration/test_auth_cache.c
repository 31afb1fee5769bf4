/* test_auth_cache: the principal cache (auth/principal_cache.c) never lets a change of a
 * user wait for its TTL. Both servers run with AUTH_CACHE_SECONDS=3600, so anything
 * that takes effect within the test came from an invalidation, not from expiry:
 * - same process: a token works; the admin disables its user (PATCH) → the very next
 *   request is 401; enabled again → 200; demoted to viewer → an operator route is 403 at
 *   once; deleted → 401.
 * - the cache is really used: with the NOTIFY trigger switched off, a change made in SQL
 *   behind the server's back is not seen (the cached answer stands).
 * - two processes on one database: B has the user cached; A disables it → B refuses the
 *   token within 10 s (through LISTEN/NOTIFY: B's TTL is an hour); A enables it → B
 *   accepts again.
 * - each process LISTENs on one connection only (the user cache and the job pool share
 *   the loop of db/db_listen.h): two processes, two LISTEN connections.
 * The group owns the database and both servers; tokens are malloc'd and freed here. */
#include "auth_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct test_db db;
static struct sluice_proc *proc_a, *proc_b;
static char *admin;

static const char *const cache_env[] = {"AUTH_CACHE_SECONDS=3600", "LOGIN_MAX_FAILURES=1000", NULL};

/* Waits (up to 20 s) until p's log says its change listener holds LISTEN. */
static bool listener_ready(struct sluice_proc *p) {
    for (int i = 0; i < 200; i++) {
        char *log = sluice_log_read(p);
        bool ready = log && strstr(log, "user change listener: listening");
        free(log);
        if (ready) return true;
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    return false;
}

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&db) != 0) return -1;
    proc_a = sluice_start(db.url, cache_env);
    if (!proc_a) return -1;
    proc_b = sluice_start(db.url, cache_env);
    if (!proc_b) return -1;
    if (!listener_ready(proc_a) || !listener_ready(proc_b)) {
        sluice_log_dump(proc_b);
        return -1;
    }
    admin = test_login(proc_a, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return admin ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    int rc_a = proc_a ? sluice_stop(proc_a, SIGTERM) : 0;
    int rc_b = proc_b ? sluice_stop(proc_b, SIGTERM) : 0;
    testdb_drop(&db);
    return rc_a == 0 && rc_b == 0 ? 0 : -1;
}

static long status_of(struct sluice_proc *p, const char *method, const char *path,
                      const char *token, const char *json) {
    struct http_response r;
    assert_int_equal(bearer_do(p, method, path, token, json, &r), 0);
    long status = r.status;
    http_response_cleanup(&r);
    return status;
}

/* PATCH /users/{id} through process A as admin; asserts 200. */
static void admin_patch(long id, const char *json) {
    char path[48];
    snprintf(path, sizeof path, "/users/%ld", id);
    assert_int_equal(status_of(proc_a, "PATCH", path, admin, json), 200);
}

static void sql(const char *statement) {
    char *out = testdb_query(db.url, statement);
    assert_non_null(out);
    free(out);
}

static void same_process_changes_apply_on_the_next_request(void **state) {
    (void)state;
    long id = create_user(proc_a, admin, "cora", "cora-password-123", "operator");
    assert_true(id > 0);
    char *token = test_login(proc_a, "cora", "cora-password-123");
    assert_non_null(token);
    for (int i = 0; i < 3; i++)
        assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 200);
    /* An operator passes authorisation on POST /centres/ (then the empty body is 422). */
    assert_int_equal(status_of(proc_a, "POST", "/centres/", token, "{}"), 422);

    admin_patch(id, "{\"enabled\":false}");
    assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 401);
    admin_patch(id, "{\"enabled\":true}");
    /* Re-enabled: tokens issued before the change stay refused (issue 14); a new login works. */
    assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 401);
    free(token);
    token = test_login(proc_a, "cora", "cora-password-123");
    assert_non_null(token);
    assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 200);

    admin_patch(id, "{\"role\":\"viewer\"}");
    assert_int_equal(status_of(proc_a, "POST", "/centres/", token, "{}"), 403);
    assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 200);
    admin_patch(id, "{\"role\":\"operator\"}");
    assert_int_equal(status_of(proc_a, "POST", "/centres/", token, "{}"), 422);

    char path[48];
    snprintf(path, sizeof path, "/users/%ld", id);
    assert_int_equal(status_of(proc_a, "DELETE", path, admin, NULL), 204);
    assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 401);
    free(token);
}

static void the_cache_answers_while_notifications_are_off(void **state) {
    (void)state;
    long id = create_user(proc_a, admin, "cache-probe", "probe-password-123", "operator");
    assert_true(id > 0);
    char *token = test_login(proc_a, "cache-probe", "probe-password-123");
    assert_non_null(token);
    /* Several times: a late notification of the previous test may drop one fill. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(status_of(proc_a, "GET", "/users/me", token, NULL), 200);
    char statement[160];
    sql("ALTER TABLE users DISABLE TRIGGER users_notify_change");
    snprintf(statement, sizeof statement, "UPDATE users SET enabled = false WHERE id = %ld", id);
    sql(statement);
    /* Nobody told process A: its cached answer (an hour's TTL) stands. */
    long cached = status_of(proc_a, "GET", "/users/me", token, NULL);
    snprintf(statement, sizeof statement, "UPDATE users SET enabled = true WHERE id = %ld", id);
    sql(statement);
    sql("ALTER TABLE users ENABLE TRIGGER users_notify_change");
    assert_int_equal(cached, 200);
    free(token);
}

static void another_process_hears_the_change(void **state) {
    (void)state;
    long id = create_user(proc_a, admin, "bruno", "bruno-password-123", "operator");
    assert_true(id > 0);
    char *token = test_login(proc_a, "bruno", "bruno-password-123");
    assert_non_null(token);
    for (int i = 0; i < 3; i++)
        assert_int_equal(status_of(proc_b, "GET", "/users/me", token, NULL), 200);

    admin_patch(id, "{\"enabled\":false}");
    long status = 0;
    for (int i = 0; i < 100 && status != 401; i++) {
        status = status_of(proc_b, "GET", "/users/me", token, NULL);
        if (status != 401) nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    if (status != 401) fail_msg("process B still accepts a disabled user after 10 s: %ld", status);

    admin_patch(id, "{\"enabled\":true}"); /* refusals are not cached: at once */
    assert_int_equal(status_of(proc_b, "GET", "/users/me", token, NULL), 401); /* old token */
    free(token);
    token = test_login(proc_a, "bruno", "bruno-password-123");
    assert_non_null(token);
    assert_int_equal(status_of(proc_b, "GET", "/users/me", token, NULL), 200);
    free(token);
}

/* pg_stat_activity.query is the last statement of each backend: the LISTEN loop's
 * connection runs nothing else, no other connection ever runs LISTEN. */
static void one_listen_connection_per_process(void **state) {
    (void)state;
    char *n = testdb_query(db.url, "SELECT count(*) FROM pg_stat_activity"
                                   " WHERE datname = current_database() AND query LIKE 'LISTEN %'");
    assert_non_null(n);
    if (strcmp(n, "2") != 0) fail_msg("%s connections LISTEN for 2 processes (1 each expected)", n);
    free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_listen_connection_per_process),
        cmocka_unit_test(same_process_changes_apply_on_the_next_request),
        cmocka_unit_test(the_cache_answers_while_notifications_are_off),
        cmocka_unit_test(another_process_hears_the_change),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
