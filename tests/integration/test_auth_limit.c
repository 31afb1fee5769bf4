/* test_auth_limit: brute-force protection against the real server and database (issue 14
 * point 5). Failed logins are counted in PostgreSQL per (username, address) pair, per
 * username and per address; clients bind 127.0.x.y source addresses to act as many
 * addresses. Checked: LOGIN_MAX_FAILURES (3 here) failures of a pair → 429 for that pair
 * only (the same user from another address, another user from the same address get
 * in); past LOGIN_USER_MAX_FAILURES (6) for a username, attempts from new addresses wait
 * a growing delay (4 s, then 8 s: checked against the time since the last failure), never a hard
 * lock; an address that logged in as the user before gets through at once; past
 * LOGIN_ADDRESS_MAX_FAILURES (8) an address gets 429 except for users known there; two processes
 * share the counts; and attempts sent all at once get exactly LOGIN_MAX_FAILURES tries. 429s are
 * RFC 6749 answers with Retry-After, audited as login.locked. The counter keys are computed here as
 * the server does (auth/pii.h, keyed BLAKE2b). The group owns the database and both
 * servers. */
#include "auth/bytea.h"
#include "auth/pii.h"
#include "auth_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* LOGIN_WINDOW_SECONDS: long enough that a loaded machine (a password hash can take
 * seconds there) never sees a test's first failures leave the window before its last. */
#define WINDOW 120

static struct test_db db;
static struct sluice_proc *a, *b;
static struct pii_keys keys;

static int group_setup(void **state) {
    (void)state;
    if (sodium_init() < 0 || pii_keys_derive(TEST_PII_KEY, &keys) != 0) return -1;
    if (testdb_create(&db) != 0) return -1;
    /* Enough workers and hashes for the concurrent attempts to really run together. */
    static const char *const env[] = {"LOGIN_MAX_FAILURES=3",
                                      "LOGIN_WINDOW_SECONDS=120",
                                      "LOGIN_USER_MAX_FAILURES=6",
                                      "LOGIN_ADDRESS_MAX_FAILURES=8",
                                      "LOGIN_USER_WINDOW_SECONDS=600",
                                      "LOGIN_MAX_DELAY_SECONDS=16",
                                      "REQUEST_WORKERS=8",
                                      "PASSWORD_HASH_CONCURRENCY=8",
                                      NULL};
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

static void forget_all(void) {
    free(testdb_query(db.url, "DELETE FROM login_failures"));
    free(testdb_query(db.url, "DELETE FROM login_known_addresses"));
}

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

/* Seconds since the newest failure of (kind, value), by the database's clock. */
static double since_last_failure(const char *kind, const char *value) {
    return (double)on_key("SELECT (extract(epoch FROM now() - max(at)) * 1000)::bigint"
                          " FROM login_failures",
                          kind, value) /
           1000.0;
}

/* Retry-After ra was computed as ceil(delay - time since the user's last failure): true
 * of the delay expected whatever the time the test took (the seconds since the failure,
 * measured after the answer, can only add). */
static void assert_user_delay(long ra, const char *user, double delay) {
    double since = since_last_failure("username", user);
    if (ra < 1 || (double)ra > delay || (double)ra + since < delay - 1.0)
        fail_msg("Retry-After %ld, %.1f s after the last failure: not a %.0f s delay", ra, since,
                 delay);
}

/* n failures of (kind, value) recorded now, as if they had just happened. */
static void add_failures(const char *kind, const char *value, int n) {
    unsigned char h[PII_INDEX_BYTES];
    pii_limiter_key(&keys, kind, value, h);
    char *hex = bytea_param(h, sizeof h);
    char sql[512];
    snprintf(sql, sizeof sql,
             "WITH x AS (INSERT INTO login_failures (key) SELECT '%s'::bytea FROM "
             "generate_series(1, %d) RETURNING 1) SELECT count(*) FROM x",
             hex, n);
    free(hex);
    assert_int_equal(db_long(db.url, sql), n);
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

/* A login on p from the source address 127.0.<addr> (e.g. "3.1"); the status, and
 * *retry_after gets Retry-After (0 when none). */
static long login_from(struct sluice_proc *p, const char *addr, const char *user, const char *pass,
                       long *retry_after) {
    char from_text[32], body[256], req[1024];
    snprintf(from_text, sizeof from_text, "127.0.%s", addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, from_text, &from.sin_addr), 1);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)sluice_port(p))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
    snprintf(body, sizeof body, "grant_type=password&username=%s&password=%s", user, pass);
    snprintf(req, sizeof req,
             "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n%s",
             strlen(body), body);
    assert_int_equal(raw_send_str(fd, req), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 30000, &r), 0);
    close(fd);
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
    assert_int_equal(failures_of("pair", "admin\n127.0.0.1"), 3);
    assert_int_equal(failures_of("username", "admin"), 3);
    assert_int_equal(failures_of("address", "127.0.0.1"), 3);
    long ra = 0;
    /* the right password, but the pair is over the limit: not even checked */
    assert_int_equal(login(a, "admin", TEST_ADMIN_PASSWORD, &ra), 429);
    assert_true(ra >= 1 && ra <= WINDOW);
    assert_int_equal(login(b, "ADMIN", TEST_ADMIN_PASSWORD, &ra), 429); /* case-insensitive */
    assert_true(ra >= 1 && ra <= WINDOW);
    assert_int_equal(failures_of("username", "admin"), 3); /* refusals are not counted */
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'login.locked' "
                                "AND details->>'limit' = 'pair'") >= 2);
    /* no username or address in clear: keyed hashes only */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM login_failures WHERE length(key) <> 32"),
                     0);
}

/* The pair is locked; the same user from elsewhere and another user from the same
 * address are not (the old per-username and per-address locks refused both). */
static void only_the_pair_is_locked(void **state) {
    (void)state;
    forget_all();
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_from(a, "3.1", "uma", "wrong-password-x", NULL), 400);
    long ra = 0;
    assert_int_equal(login_from(a, "3.1", "uma", "uma-password-1234", &ra), 429);
    assert_true(ra >= 1 && ra <= WINDOW);
    assert_int_equal(login_from(b, "3.2", "uma", "uma-password-1234", NULL), 200);
    assert_int_equal(login_from(a, "3.1", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
}

/* Many addresses guessing one password: past LOGIN_USER_MAX_FAILURES each next attempt
 * waits 2^(failures - max) seconds after the last failure (here 8 failures: 4 s, then
 * 9: 8 s); after waiting, the password is checked again (no hard lock), and the right one
 * gets in. */
static void user_ceiling_slows_down(void **state) {
    (void)state;
    forget_all();
    char addr[16];
    for (int i = 1; i <= 6; i++) {
        snprintf(addr, sizeof addr, "4.%d", i);
        assert_int_equal(login_from(a, addr, "admin", "wrong-password-x", NULL), 400);
    }
    add_failures("username", "admin", 2); /* two more addresses, just now */
    long ra = 0;
    assert_int_equal(login_from(a, "4.7", "admin", TEST_ADMIN_PASSWORD, &ra), 429);
    assert_user_delay(ra, "admin", 4.0);
    /* Waiting what the server said (only ever too long on a loaded machine). */
    usleep((useconds_t)(ra * 1000 + 300) * 1000);
    assert_int_equal(login_from(b, "4.8", "admin", "wrong-password-y", NULL), 400);
    long ra2 = 0;
    assert_int_equal(login_from(a, "4.9", "admin", TEST_ADMIN_PASSWORD, &ra2), 429);
    assert_user_delay(ra2, "admin", 8.0); /* the delay doubled */
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'login.locked' "
                                "AND details->>'limit' = 'user'") >= 2);
    usleep((useconds_t)(ra2 * 1000 + 300) * 1000);
    assert_int_equal(login_from(a, "4.10", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
}

/* An address that logged in as the user before is not slowed by the others' failures. */
static void known_address_gets_through(void **state) {
    (void)state;
    forget_all();
    assert_int_equal(login_from(a, "5.1", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
    assert_int_equal(login_from(b, "5.2", "admin", "wrong-password-x", NULL), 400);
    add_failures("username", "admin", 20); /* a crowd guessing: the delay is at its cap */
    long ra = 0;
    assert_int_equal(login_from(a, "5.20", "admin", TEST_ADMIN_PASSWORD, &ra), 429);
    assert_user_delay(ra, "admin", 16.0);
    assert_int_equal(login_from(a, "5.1", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
    assert_int_equal(login_from(b, "5.1", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
}

/* One address trying many usernames: past LOGIN_ADDRESS_MAX_FAILURES it gets 429, except
 * for a user who logged in from it before. */
static void address_ceiling_spares_known_users(void **state) {
    (void)state;
    forget_all();
    assert_int_equal(login_from(a, "6.1", "uma", "uma-password-1234", NULL), 200);
    char user[32];
    for (int i = 1; i <= 8; i++) {
        snprintf(user, sizeof user, "nobody%d", i);
        assert_int_equal(login_from(a, "6.1", user, "wrong-password-x", NULL), 400);
    }
    long ra = 0;
    assert_int_equal(login_from(b, "6.1", "nobody9", "wrong-password-x", &ra), 429);
    assert_true(ra >= 1);
    assert_int_equal(login_from(b, "6.1", "admin", TEST_ADMIN_PASSWORD, NULL), 429);
    assert_int_equal(login_from(b, "6.1", "uma", "uma-password-1234", NULL), 200);
    assert_int_equal(login_from(a, "6.2", "admin", TEST_ADMIN_PASSWORD, NULL), 200);
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
    assert_int_equal(failures_of("pair", "uma\n127.0.0.1"), 3);
    assert_int_equal(failures_of("username", "uma"), 3);
    assert_int_equal(failures_of("address", "127.0.0.1"), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_between_processes),
        cmocka_unit_test(only_the_pair_is_locked),
        cmocka_unit_test(user_ceiling_slows_down),
        cmocka_unit_test(known_address_gets_through),
        cmocka_unit_test(address_ceiling_spares_known_users),
        cmocka_unit_test(concurrent_attempts_cannot_exceed_the_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
