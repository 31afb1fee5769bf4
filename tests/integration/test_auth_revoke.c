/* test_auth_revoke: tokens issued before a user's credentials or status last changed are
 * refused (issue 14 point 5; users.credentials_changed_at, migration 0006), with the
 * principal and token caches on (AUTH_CACHE_SECONDS=3600): disabling then re-enabling a
 * user does not revive its old token; a password change (API or `sluice user passwd`)
 * revokes the tokens issued before it; a fresh login works; a role change does not
 * revoke (the role is read live). Refusals are audited with code "revoked". The group
 * owns the database and the process. */
#include "auth_util.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_db db;
static struct sluice_proc *proc;
static char *admin;
static long rita;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"AUTH_CACHE_SECONDS=3600", "LOGIN_MAX_FAILURES=1000", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    rita = admin ? create_user(proc, admin, "rita", "rita-password-1234", "viewer") : -1;
    return rita > 0 ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    return test_server_stop(&db, &proc);
}

static long me(const char *token) {
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/users/me", token, NULL, &r), 0);
    long st = r.status;
    if (st == 401) assert_problem(&r, 401, "unauthorized");
    http_response_cleanup(&r);
    return st;
}

static void patch_rita(const char *json) {
    char path[64];
    snprintf(path, sizeof path, "/users/%ld", rita);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "PATCH", path, admin, json, &r), 0);
    if (r.status != 200) fail_msg("PATCH %s: %ld %s", json, r.status, r.body);
    http_response_cleanup(&r);
}

static void disable_then_enable(void **state) {
    (void)state;
    char *old = test_login(proc, "rita", "rita-password-1234");
    assert_non_null(old);
    assert_int_equal(me(old), 200); /* cached now */
    patch_rita("{\"enabled\": false}");
    assert_int_equal(me(old), 401);
    patch_rita("{\"enabled\": true}");
    assert_int_equal(me(old), 401); /* not revived */
    assert_int_equal(me(old), 401);
    char *fresh = test_login(proc, "rita", "rita-password-1234");
    assert_non_null(fresh);
    assert_int_equal(me(fresh), 200);
    patch_rita("{\"role\": \"operator\"}"); /* not a credential: the token stays */
    assert_int_equal(me(fresh), 200);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'token.refused' "
                                "AND details->>'code' = 'revoked'") >= 1);
    free(old);
    free(fresh);
}

static void password_change(void **state) {
    (void)state;
    char *old = test_login(proc, "rita", "rita-password-1234");
    assert_non_null(old);
    assert_int_equal(me(old), 200);
    patch_rita("{\"password\": \"rita-password-5678\"}");
    assert_int_equal(me(old), 401);
    char *fresh = test_login(proc, "rita", "rita-password-5678");
    assert_non_null(fresh);
    assert_int_equal(me(fresh), 200);

    /* From the command line (another process: the change reaches this one's caches by
     * NOTIFY, and the stamp is in the row). */
    char pwfile[] = "/tmp/sluice-revoke-XXXXXX";
    int fd = mkstemp(pwfile);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(write_file(pwfile, "rita-password-9999\n", 19), 0);
    static const char *const env[] = {"SECRET_KEY=" TEST_SECRET_KEY, NULL};
    const char *const args[] = {"user", "passwd", "rita", "--password-file", pwfile, NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, args, env, &out);
    if (rc != 0) fail_msg("sluice user passwd: %d %s", rc, out);
    free(out);
    remove(pwfile);
    assert_int_equal(me(fresh), 401);
    char *third = test_login(proc, "rita", "rita-password-9999");
    assert_non_null(third);
    assert_int_equal(me(third), 200);
    free(old);
    free(fresh);
    free(third);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(disable_then_enable),
        cmocka_unit_test(password_change),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
