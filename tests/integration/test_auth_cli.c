/* test_auth_cli: the first admin and `sluice user` against the real binary and database:
 * ADMIN_USERNAME/ADMIN_PASSWORD create one admin when no user exists (once, even with
 * two processes starting together; never again once users exist), a bad ADMIN_PASSWORD
 * or a missing/short SECRET_KEY or PII_KEY stops the start; `sluice user create|passwd|
 * list` with its errors, and the audit rows of each. Each test owns its database. */
#include "auth_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;

static int group_setup(void **state) {
    (void)state;
    tmp = make_temp_dir("sluice-auth-cli");
    return tmp ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    remove_tree(tmp);
    free(tmp);
    return 0;
}

/* A file holding one line; its path (static buffer per slot). */
static const char *password_file(int slot, const char *line) {
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/pw%d", tmp, slot);
    char content[2048];
    snprintf(content, sizeof content, "%s\n", line);
    assert_int_equal(write_file(paths[slot], content, strlen(content)), 0);
    return paths[slot];
}

/* Runs `sluice args...`; returns the exit status, output in *out (freed by the caller). */
static int cli(struct test_db *db, const char *const *args, const char *const *env, char **out) {
    return run_sluice_cli(db->url, args, env, out);
}

static bool can_login(struct sluice_proc *p, const char *user, const char *pass) {
    char body[512];
    snprintf(body, sizeof body, "username=%s&password=%s", user, pass);
    struct http_response r;
    assert_int_equal(token_post(p, body, strlen(body), NULL, &r), 0);
    bool ok = r.status == 200;
    http_response_cleanup(&r);
    return ok;
}

static void first_admin_once(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    struct sluice_proc *p = sluice_start(db.url, NULL);
    assert_non_null(p);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE role = 'admin' AND "
                                     "username = 'admin' AND enabled"),
                     1);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = "
                                     "'user.bootstrap' AND target = 'user:1'"),
                     1);
    assert_true(can_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD));
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    /* users exist: other ADMIN_* values change nothing */
    static const char *const env[] = {"ADMIN_USERNAME=root", "ADMIN_PASSWORD=another-password-1",
                                      NULL};
    p = sluice_start(db.url, env);
    assert_non_null(p);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users"), 1);
    assert_true(can_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD));
    assert_false(can_login(p, "root", "another-password-1"));
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    testdb_drop(&db);
}

/* Up to 90 s: two processes hashing the bootstrap password on a loaded machine. */
static bool wait_healthy(struct sluice_proc *p) {
    double deadline = now_ms() + 90000.0;
    while (now_ms() < deadline) {
        struct http_response r;
        bool up = http_get(p, "/healthz", &r) == 0 && r.status == 200;
        http_response_cleanup(&r);
        if (up) return true;
        if (!sluice_alive(p)) return false;
        usleep(100000);
    }
    return false;
}

static void two_processes_one_admin(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    char *out = NULL;
    static const char *const migrate[] = {"migrate", NULL};
    assert_int_equal(cli(&db, migrate, NULL, &out), 0);
    free(out);
    struct sluice_proc *a = sluice_start_in(db.url, NULL, NULL, false);
    struct sluice_proc *b = sluice_start_in(db.url, NULL, NULL, false);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(wait_healthy(a));
    assert_true(wait_healthy(b));
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users"), 1);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = "
                                     "'user.bootstrap'"),
                     1);
    assert_int_equal(sluice_stop(a, SIGTERM), 0);
    assert_int_equal(sluice_stop(b, SIGTERM), 0);
    testdb_drop(&db);
}

static void no_admin_configured(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    static const char *const env[] = {"ADMIN_USERNAME=", "ADMIN_PASSWORD=", NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users"), 0);
    char *log = sluice_log_read(p);
    assert_non_null(strstr(log, "no user exists"));
    free(log);
    /* the command line creates the first admin instead */
    const char *args[] = {"user",
                          "create",
                          "root",
                          "--role",
                          "admin",
                          "--email",
                          "root@example.org",
                          "--password-file",
                          password_file(0, "root-password-12"),
                          NULL};
    char *out = NULL;
    assert_int_equal(cli(&db, args, env, &out), 0);
    assert_non_null(strstr(out, "created user"));
    free(out);
    assert_true(can_login(p, "root", "root-password-12"));
    char *token = test_login(p, "root", "root-password-12");
    struct http_response r;
    assert_int_equal(bearer_do(p, "GET", "/users/me", token, NULL, &r), 0);
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "admin");
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "root@example.org");
    http_response_cleanup(&r);
    free(token);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    testdb_drop(&db);
}

static void bad_keys_stop_the_start(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    static const char *const serve[] = {"serve", NULL};
    struct {
        const char *env[3];
        int status;
        const char *says;
    } cases[] = {
        {{"SECRET_KEY=too-short", NULL}, 2, "SECRET_KEY"},
        {{"SECRET_KEY=", NULL}, 2, "SECRET_KEY"},
        {{"PII_KEY=0011", NULL}, 2, "PII_KEY"},
        {{"PII_KEY=", NULL}, 2, "PII_KEY"},
        {{"PII_KEY=zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL},
         2,
         "PII_KEY"},
        {{"SECRET_KEY_PREVIOUS=short", NULL}, 2, "SECRET_KEY_PREVIOUS"},
        /* no user yet and a first admin password that breaks the rules */
        {{"ADMIN_PASSWORD=short", NULL}, 1, "ADMIN_USERNAME/ADMIN_PASSWORD"},
        {{"ADMIN_USERNAME=x' OR 1=1", NULL}, 1, "ADMIN_USERNAME/ADMIN_PASSWORD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char port[32];
        snprintf(port, sizeof port, "HTTP_PORT=%d", free_port());
        const char *env[] = {cases[i].env[0], port, NULL};
        char *out = NULL;
        int status = cli(&db, serve, env, &out);
        if (status != cases[i].status || !out || !strstr(out, cases[i].says))
            fail_msg("%s: exit %d, expected %d, output: %.300s", cases[i].env[0], status,
                     cases[i].status, out ? out : "");
        free(out);
    }
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users"), 0);
    testdb_drop(&db);
}

static void user_commands(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    struct sluice_proc *p = sluice_start(db.url, NULL);
    assert_non_null(p);
    char *out = NULL;
    const char *pw = password_file(1, "carol-password-1");
    const char *create[] = {"user",        "create",      "carol",           "--role", "operator",
                            "--full-name", "Carol Smith", "--password-file", pw,       NULL};
    assert_int_equal(cli(&db, create, NULL, &out), 0);
    free(out);
    assert_true(can_login(p, "carol", "carol-password-1"));
    /* taken, without regard to case */
    const char *again[] = {"user", "create", "CAROL", "--password-file", pw, NULL};
    assert_int_equal(cli(&db, again, NULL, &out), 1);
    assert_non_null(strstr(out, "taken"));
    free(out);
    /* bad input */
    const char *bad_role[] = {"user", "create",          "dan", "--role",
                              "root", "--password-file", pw,    NULL};
    assert_int_equal(cli(&db, bad_role, NULL, &out), 2);
    free(out);
    const char *bad_name[] = {"user", "create", "d'; DROP TABLE users; --", "--password-file",
                              pw,     NULL};
    assert_int_equal(cli(&db, bad_name, NULL, &out), 2);
    assert_non_null(strstr(out, "username"));
    free(out);
    const char *short_pw[] = {"user", "create", "dan", "--password-file", password_file(2, "short"),
                              NULL};
    assert_int_equal(cli(&db, short_pw, NULL, &out), 1);
    assert_non_null(strstr(out, "at least 12"));
    free(out);
    const char *no_file[] = {"user", "create", "dan", "--password-file", "/nonexistent/pw", NULL};
    assert_int_equal(cli(&db, no_file, NULL, &out), 1);
    free(out);
    const char *stdin_empty[] = {"user", "create", "dan", NULL}; /* stdin is /dev/null */
    assert_int_equal(cli(&db, stdin_empty, NULL, &out), 1);
    assert_non_null(strstr(out, "no password"));
    free(out);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE username = 'dan'"), 0);
    /* passwd */
    const char *passwd[] = {
        "user", "passwd", "Carol", "--password-file", password_file(3, "carol-new-password"), NULL};
    assert_int_equal(cli(&db, passwd, NULL, &out), 0);
    free(out);
    assert_false(can_login(p, "carol", "carol-password-1"));
    assert_true(can_login(p, "carol", "carol-new-password"));
    const char *passwd_nobody[] = {"user", "passwd", "nobody", "--password-file", pw, NULL};
    assert_int_equal(cli(&db, passwd_nobody, NULL, &out), 1);
    assert_non_null(strstr(out, "no user named"));
    free(out);
    /* list */
    const char *list[] = {"user", "list", NULL};
    assert_int_equal(cli(&db, list, NULL, &out), 0);
    assert_non_null(strstr(out, "admin"));
    assert_non_null(strstr(out, "carol"));
    assert_non_null(strstr(out, "operator"));
    assert_null(strstr(out, "$argon2id$"));  /* no hash in the listing */
    assert_null(strstr(out, "Carol Smith")); /* no personal data in the listing */
    free(out);
    /* help and usage */
    const char *help[] = {"user", "--help", NULL};
    assert_int_equal(cli(&db, help, NULL, &out), 0);
    assert_non_null(strstr(out, "--password-file"));
    free(out);
    const char *none[] = {"user", NULL};
    assert_int_equal(cli(&db, none, NULL, &out), 2);
    free(out);
    const char *unknown[] = {"user", "frobnicate", NULL};
    assert_int_equal(cli(&db, unknown, NULL, &out), 2);
    free(out);
    static const char *const bad_pii[] = {"PII_KEY=nope", NULL};
    assert_int_equal(cli(&db, list, bad_pii, &out), 2);
    assert_non_null(strstr(out, "PII_KEY"));
    free(out);
    /* audited as coming from the command line */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE details->>'source' = "
                                     "'cli' AND action IN ('user.create', 'user.update') AND "
                                     "actor_id IS NULL"),
                     2);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    testdb_drop(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_admin_once),    cmocka_unit_test(two_processes_one_admin),
        cmocka_unit_test(no_admin_configured), cmocka_unit_test(bad_keys_stop_the_start),
        cmocka_unit_test(user_commands),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
