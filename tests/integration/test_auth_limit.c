/* test_auth_limit: brute-force protection against the real server and database. Failed
 * logins are counted in PostgreSQL per username and per client address: past
 * LOGIN_MAX_FAILURES (3 here) within LOGIN_WINDOW_SECONDS (6 here) → 429 with
 * Retry-After, RFC 6749 form, audited as login.locked; two sluice processes on one
 * database share the counts; each key locks on its own; the lock ends with the window;
 * a success forgets the username's failures; attempts sent all at once to both processes
 * get exactly LOGIN_MAX_FAILURES tries between them, the rest 429. The counter keys are computed
 * here as the server does (auth/pii.h, keyed BLAKE2b) to act on one key at a time. The group owns
 * the database and both servers. */
#include "auth/bytea.h"
#include "auth/pii.h"
#include "auth_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 6

static struct test_db db;
static struct sluice_proc *a, *b;
static struct pii_keys keys;

static int group_setup(void **state) {
    (void)state;
    if (sodium_init() < 0 || pii_keys_derive(TEST_PII_KEY, &keys) != 0) return -1;
    if (testdb_create(&db) != 0) return -1;
    /* Enough workers and hashes for the concurrent attempts to really run together. */
    static const char *const env[] = {"LOGIN_MAX_FAILURES=3", "LOGIN_WINDOW_SECONDS=6",
                                      "REQUEST_WORKERS=8", "PASSWORD_HASH_CONCURRENCY=8", NULL};
    a = sluice_start(db.url, env);
    b = a ? sluice_start(db.url, env) : NULL;
    if (!b) return -1;
    char *admin = test_login(a, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    long id = admin ? create_user(a, admin, "uma", "uma-password-1234", "viewer") : -1;
    free(admin);
    return id > 0 ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    int ra = a ? sluice_stop(a, SIGTERM) : 0, rb = b ? sluice_stop(b, SIGTERM) : 0;
    testdb_drop(&db);
    return ra == 0 && rb == 0 ? 0 : -1;
}

static void forget_all(void) { free(testdb_query(db.url, "DELETE FROM login_failures")); }

/* "DELETE/SELECT ... WHERE key = '\x...'" for the key of (kind, value). */
static long on_key(const char *sql_head, const char *kind, const char *value) {
    unsigned char h[PII_INDEX_BYTES];
    pii_limiter_key(&keys, kind, value, h);
    char *hex = bytea_param(h, sizeof h);
    char sql[256];
    snprintf(sql, sizeof sql, "%s WHERE key = '%s'::bytea", sql_head, hex);
    free(hex);
    return db_long(db.url, sql);
}

static long failures_of(const char *kind, const char *value) {
    return on_key("SELECT count(*) FROM login_failures", kind, value);
}

/* A login on p; returns the status, *retry_after gets Retry-After (0 when none). */
static long login(struct sluice_proc *p, const char *user, const char *pass, long *retry_after) {
    char body[256];
    snprintf(body, sizeof body, "grant_type=password&username=%s&password=%s", user, pass);
    struct http_response r;
    assert_int_equal(token_post(p, body, strlen(body), NULL, &r), 0);
    long status = r.status;
    const char *ra = http_header(&r, "Retry-After");
    if (retry_after) *retry_after = ra ? strtol(ra, NULL, 10) : 0;
    if (status == 429) {
        const char *why = oauth_error_check(&r, 429, "too_many_requests");
        if (why) fail_msg("429: %s", why);
        assert_non_null(ra);
    }
    http_response_cleanup(&r);
    return status;
}

static void shared_between_processes(void **state) {
    (void)state;
    forget_all();
    assert_int_equal(login(a, "admin", "wrong-password-1", NULL), 400);
    assert_int_equal(login(a, "admin", "wrong-password-2", NULL), 400);
    assert_int_equal(login(b, "admin", "wrong-password-3", NULL), 400);
    assert_int_equal(failures_of("username", "admin"), 3);
    assert_int_equal(failures_of("address", "127.0.0.1"), 3);
    /* the fourth try is refused on both processes, even with the right password */
    long ra = 0;
    assert_int_equal(login(a, "admin", TEST_ADMIN_PASSWORD, &ra), 429);
    assert_true(ra >= 1 && ra <= WINDOW);
    assert_int_equal(login(b, "admin", TEST_ADMIN_PASSWORD, &ra), 429);
    assert_true(ra >= 1 && ra <= WINDOW);
    /* refusals are not failures: the count stays */
    assert_int_equal(failures_of("username", "admin"), 3);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'login.locked' "
                                "AND client_addr = '127.0.0.1' AND (details->>'retry_after')::int "
                                "BETWEEN 1 AND 6") >= 2);
    /* usernames ignore case here too */
    assert_int_equal(login(b, "ADMIN", TEST_ADMIN_PASSWORD, NULL), 429);
    /* the keys are 32-byte hashes: no username or address is stored */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM login_failures WHERE length(key) <> 32"),
                     0);
}

static void per_username(void **state) {
    (void)state;
    forget_all();
    for (int i = 0; i < 3; i++) assert_int_equal(login(a, "admin", "wrong-password-x", NULL), 400);
    /* forget the address's count: the username's alone still locks */
    on_key("DELETE FROM login_failures", "address", "127.0.0.1");
    assert_int_equal(failures_of("address", "127.0.0.1"), 0);
    assert_int_equal(login(a, "admin", TEST_ADMIN_PASSWORD, NULL), 429);
    /* another user from the same address is not affected */
    assert_int_equal(login(b, "uma", "uma-password-1234", NULL), 200);
}

static void per_address(void **state) {
    (void)state;
    forget_all();
    assert_int_equal(login(a, "nobody1", "wrong-password-x", NULL), 400);
    assert_int_equal(login(b, "nobody2", "wrong-password-x", NULL), 400);
    assert_int_equal(login(a, "admin", "wrong-password-x", NULL), 400);
    assert_int_equal(failures_of("username", "uma"), 0);
    /* uma never failed, but this address did three times */
    long ra = 0;
    assert_int_equal(login(b, "uma", "uma-password-1234", &ra), 429);
    assert_true(ra >= 1 && ra <= WINDOW);
    /* the lock ends with the window */
    sleep((unsigned)ra + 1);
    assert_int_equal(login(b, "uma", "uma-password-1234", NULL), 200);
}

static void success_forgets_username_failures(void **state) {
    (void)state;
    forget_all();
    assert_int_equal(login(a, "uma", "wrong-password-x", NULL), 400);
    assert_int_equal(login(a, "uma", "wrong-password-y", NULL), 400);
    assert_int_equal(failures_of("username", "uma"), 2);
    assert_int_equal(login(b, "uma", "uma-password-1234", NULL), 200);
    assert_int_equal(failures_of("username", "uma"), 0);
    /* the address keeps its count (a valid account does not reset an attacker's) */
    assert_int_equal(failures_of("address", "127.0.0.1"), 2);
}

/* 12 wrong passwords for one user, all written (6 to each process) before any answer is
 * read: the limit holds across concurrent attempts, none slips past it. */
static void concurrent_attempts_cannot_exceed_the_limit(void **state) {
    (void)state;
    forget_all();
    enum { N = 12 };
    int fds[N];
    static const char body[] = "grant_type=password&username=uma&password=wrong-password-c";
    char req[512];
    snprintf(req, sizeof req,
             "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n%s",
             sizeof body - 1, body);
    for (int i = 0; i < N; i++) {
        fds[i] = raw_connect(i % 2 ? b : a);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) assert_int_equal(raw_send_str(fds[i], req), 0);
    int tried = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        struct http_response r;
        assert_int_equal(raw_read_response(fds[i], 30000, &r), 0);
        close(fds[i]);
        if (r.status == 400)
            tried++;
        else if (r.status == 429)
            refused++;
        else
            fail_msg("attempt %d: %ld %s", i, r.status, r.body);
        http_response_cleanup(&r);
    }
    assert_int_equal(tried, 3);
    assert_int_equal(refused, N - 3);
    assert_int_equal(failures_of("username", "uma"), 3);
    assert_int_equal(failures_of("address", "127.0.0.1"), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_between_processes),
        cmocka_unit_test(per_username),
        cmocka_unit_test(per_address),
        cmocka_unit_test(success_forgets_username_failures),
        cmocka_unit_test(concurrent_attempts_cannot_exceed_the_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
