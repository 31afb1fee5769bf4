/* test_auth_audit: the audit log against the real server and database — logins
 * (success, failure, lock-out), user changes and token refusals are recorded with the
 * actor, the client address, the request id (the caller's X-Request-Id) and the time,
 * without passwords or personal data; and the batch deleters the maintenance.prune job
 * loops over (auth/audit.h audit_purge, auth/login_limit.h login_limit_purge, from
 * sluice_core) delete exactly the rows before the cut-off, oldest first, at most a
 * batch per call. The group owns the database and the server. */
#include "auth/audit.h"
#include "auth/login_limit.h"
#include "auth_util.h"
#include "db/db.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct test_db db;
static struct sluice_proc *proc;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"LOGIN_MAX_FAILURES=2", "LOGIN_WINDOW_SECONDS=60", NULL};
    return test_server_start(&db, env, &proc);
}

static int group_teardown(void **state) {
    (void)state;
    return test_server_stop(&db, &proc);
}

static long post_login(const char *body, const char *request_id) {
    char rid[160];
    snprintf(rid, sizeof rid, "X-Request-Id: %s", request_id);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", rid, NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "POST", "/token", hdrs, body, strlen(body), &r), 0);
    long status = r.status;
    assert_string_equal(http_header(&r, "X-Request-Id"), request_id);
    http_response_cleanup(&r);
    return status;
}

static long rows(const char *where) {
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE %s", where);
    return db_long(db.url, sql);
}

static void logins_are_recorded(void **state) {
    (void)state;
    assert_int_equal(post_login("username=admin&password=admin-password-123", "audit-ok-1"), 200);
    assert_int_equal(rows("action = 'login.success' AND actor_id = 1 AND target = 'user:1' AND "
                          "client_addr = '127.0.0.1' AND request_id = 'audit-ok-1' AND at > "
                          "now() - interval '1 minute'"),
                     1);
    assert_int_equal(post_login("username=admin&password=Secret-Guess-9", "audit-bad-1"), 400);
    assert_int_equal(rows("action = 'login.failure' AND actor_id IS NULL AND target = 'user:1' "
                          "AND request_id = 'audit-bad-1' AND details->>'reason' = "
                          "'bad_password'"),
                     1);
    assert_int_equal(post_login("username=Mallory.Unknown&password=Secret-Guess-9", "audit-bad-2"),
                     400);
    assert_int_equal(rows("action = 'login.failure' AND target IS NULL AND request_id = "
                          "'audit-bad-2' AND details->>'reason' = 'unknown_user'"),
                     1);
    /* two failures from this address: the next try is a lock-out */
    assert_int_equal(post_login("username=admin&password=admin-password-123", "audit-lock-1"), 429);
    assert_int_equal(rows("action = 'login.locked' AND request_id = 'audit-lock-1' AND "
                          "target = 'user:1'"),
                     1);
    /* neither passwords nor attempted unknown usernames are kept */
    assert_int_equal(rows("details::text LIKE '%Secret-Guess%' OR details::text LIKE "
                          "'%admin-password%' OR details::text ILIKE '%mallory%'"),
                     0);
    free(testdb_query(db.url, "DELETE FROM login_failures"));
}

static void changes_and_refusals_are_recorded(void **state) {
    (void)state;
    char *admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    assert_non_null(admin);
    long id = create_user(proc, admin, "audited", "audited-pass-123", "viewer");
    assert_true(id > 0);
    char path[64], where[256];
    snprintf(path, sizeof path, "/users/%ld", id);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "PATCH", path, admin, "{\"role\":\"operator\"}", &r), 0);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/users/me", "not.a.token", NULL, &r), 0);
    assert_int_equal(r.status, 401);
    http_response_cleanup(&r);
    snprintf(where, sizeof where,
             "action = 'user.create' AND actor_id = 1 AND target = 'user:%ld' AND client_addr = "
             "'127.0.0.1'",
             id);
    assert_int_equal(rows(where), 1);
    snprintf(where, sizeof where,
             "action = 'user.update' AND actor_id = 1 AND target = 'user:%ld' AND "
             "details->>'role' = 'operator'",
             id);
    assert_int_equal(rows(where), 1);
    assert_true(rows("action = 'token.refused' AND details->>'path' = '/users/me'") >= 1);
    assert_int_equal(rows("details::text LIKE '%audited-pass%'"), 0);
    free(admin);
}

static void retention(void **state) {
    (void)state;
    free(testdb_query(db.url, "INSERT INTO audit_log (at, action) SELECT now() - "
                              "make_interval(days => d), 'test.old' FROM generate_series(91, "
                              "95) AS d"));
    free(testdb_query(db.url, "INSERT INTO audit_log (at, action) VALUES (now() - interval '89 "
                              "days', 'test.recent')"));
    free(testdb_query(db.url, "INSERT INTO login_failures (key, at) SELECT "
                              "sha256(g::text::bytea), now() - interval '2 hours' FROM "
                              "generate_series(1, 4) AS g"));
    free(testdb_query(db.url, "INSERT INTO login_failures (key) VALUES (sha256('fresh'))"));
    long before = rows("true");
    /* the cut-offs the job computes from AUDIT_RETENTION_DAYS=90 / the 60 s window */
    char *audit_cut = testdb_query(db.url, "SELECT (now() - interval '90 days')::text");
    char *login_cut = testdb_query(db.url, "SELECT (clock_timestamp() - interval '60 "
                                           "seconds')::text");
    assert_non_null(audit_cut);
    assert_non_null(login_cut);
    struct db *conn = db_new(db.url);
    long deleted = -1;
    /* at most a batch per call, oldest first: 95 and 94 days old go first */
    assert_int_equal(audit_purge(conn, audit_cut, 2, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(rows("action = 'test.old' AND at < now() - interval '93 days 12 hours'"), 0);
    assert_int_equal(rows("action = 'test.old'"), 3);
    assert_int_equal(audit_purge(conn, audit_cut, 2, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(audit_purge(conn, audit_cut, 2, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(rows("action = 'test.old'"), 0);
    assert_int_equal(rows("action = 'test.recent'"), 1);
    assert_int_equal(rows("true"), before - 5);
    assert_int_equal(audit_purge(conn, audit_cut, 2, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(login_limit_purge(conn, login_cut, 3, &deleted), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(login_limit_purge(conn, login_cut, 3, &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM login_failures"), 1);
    assert_int_equal(login_limit_purge(conn, login_cut, 3, &deleted), 0);
    assert_int_equal(deleted, 0);
    free(audit_cut);
    free(login_cut);
    db_free(conn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logins_are_recorded),
        cmocka_unit_test(changes_and_refusals_are_recorded),
        cmocka_unit_test(retention),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
