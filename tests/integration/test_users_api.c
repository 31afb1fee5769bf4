/* test_users_api: the users API against the real server and database — POST /users
 * (201 + Location, 409 on a username or email taken without regard to case, 422 naming
 * the field: password length rules, SQL-injection and 10 kB usernames, unknown fields),
 * GET /users (pages of limit, next_cursor and Link, 400 on a bad limit or cursor), GET
 * /users/me, GET/PATCH/DELETE /users/{id} (role, enabled, password, email; the last
 * enabled admin is kept), password hashes never in a response, email and full name
 * encrypted in the database with a blind index, rehash on login after a parameter
 * change, DELETE anonymising a user other rows refer to, and audit rows of each change.
 * The group owns the database and the server. */
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

static struct test_db db;
static struct sluice_proc *proc;
static char *admin;

static int group_setup(void **state) {
    (void)state;
    if (sodium_init() < 0) return -1;
    static const char *const env[] = {"LOGIN_MAX_FAILURES=1000", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return admin ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    return test_server_stop(&db, &proc);
}

/* Sends and returns the status; the response is kept in *r. */
static long call(const char *method, const char *path, const char *json, struct http_response *r) {
    assert_int_equal(bearer_do(proc, method, path, admin, json, r), 0);
    return r->status;
}

static void expect_invalid(const char *json, const char *field) {
    struct http_response r;
    call("POST", "/users", json, &r);
    assert_problem(&r, 422, "validation");
    const char *got = json_string_value(json_object_get(r.json, "field"));
    if (!got || strcmp(got, field) != 0)
        fail_msg("%.80s: field %s, expected %s (%s)", json, got ? got : "(none)", field, r.body);
    http_response_cleanup(&r);
}

static void create(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(call("POST", "/users",
                          "{\"username\":\"alice\",\"password\":\"alice-password-1\","
                          "\"role\":\"operator\",\"email\":\"Alice@Example.org\","
                          "\"full_name\":\"Alice Martin\"}",
                          &r),
                     201);
    long id = (long)json_integer_value(json_object_get(r.json, "id"));
    char location[64];
    snprintf(location, sizeof location, "/users/%ld", id);
    assert_string_equal(http_header(&r, "Location"), location);
    assert_string_equal(json_string_value(json_object_get(r.json, "username")), "alice");
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "operator");
    assert_true(json_is_true(json_object_get(r.json, "enabled")));
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "Alice@Example.org");
    assert_string_equal(json_string_value(json_object_get(r.json, "full_name")), "Alice Martin");
    assert_null(json_object_get(r.json, "password"));
    assert_null(json_object_get(r.json, "password_hash"));
    assert_null(strstr(r.body, "argon2"));
    http_response_cleanup(&r);
    /* the new user can log in and sees itself */
    char *token = test_login(proc, "alice", "alice-password-1");
    assert_non_null(token);
    assert_int_equal(bearer_do(proc, "GET", "/users/me", token, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "Alice@Example.org");
    http_response_cleanup(&r);
    free(token);
    /* audited with who, where and which request */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = "
                                     "'user.create' AND actor_id = 1 AND client_addr = "
                                     "'127.0.0.1' AND request_id IS NOT NULL AND "
                                     "details->>'username' = 'alice'"),
                     1);
}

static void conflicts(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(call("POST", "/users",
                          "{\"username\":\"ALICE\",\"password\":\"other-password-1\","
                          "\"role\":\"viewer\"}",
                          &r),
                     409);
    assert_problem(&r, 409, "conflict");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "username");
    http_response_cleanup(&r);
    /* the email is unique without regard to case too (blind index of the lower case) */
    assert_int_equal(call("POST", "/users",
                          "{\"username\":\"alice2\",\"password\":\"other-password-1\","
                          "\"role\":\"viewer\",\"email\":\"alice@EXAMPLE.org\"}",
                          &r),
                     409);
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "email");
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE username = 'alice2'"), 0);
}

static void validation(void **state) {
    (void)state;
    expect_invalid("{\"username\":\"bob\",\"password\":\"short-pw\",\"role\":\"viewer\"}",
                   "password");
    /* 11 characters of 2 bytes: 22 bytes, still too short (characters are counted) */
    expect_invalid("{\"username\":\"bob\",\"password\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                   "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"role\":\"viewer\"}",
                   "password");
    /* a NUL in a JSON string is refused by the JSON parser already */
    struct http_response nul;
    call("POST", "/users",
         "{\"username\":\"bob\",\"password\":\"pass\\u0000word-123\",\"role\":\"viewer\"}", &nul);
    assert_problem(&nul, 400, "invalid-json");
    http_response_cleanup(&nul);
    expect_invalid("{\"username\":\"bob\",\"role\":\"viewer\"}", "password");
    expect_invalid("{\"username\":\"bob\",\"password\":\"bob-password-12\",\"role\":\"root\"}",
                   "role");
    expect_invalid("{\"username\":\"bob\",\"password\":\"bob-password-12\"}", "role");
    expect_invalid("{\"username\":\"admin' OR '1'='1\",\"password\":\"bob-password-12\","
                   "\"role\":\"viewer\"}",
                   "username");
    expect_invalid("{\"username\":\"x'; DROP TABLE users; --\",\"password\":\"bob-password-12\","
                   "\"role\":\"viewer\"}",
                   "username");
    expect_invalid("{\"username\":\"bo\",\"password\":\"bob-password-12\",\"role\":\"viewer\"}",
                   "username");
    expect_invalid("{\"username\":42,\"password\":\"bob-password-12\",\"role\":\"viewer\"}",
                   "username");
    expect_invalid("{\"username\":\"bob\",\"password\":\"bob-password-12\",\"role\":\"viewer\","
                   "\"is_admin\":true}",
                   "is_admin");
    expect_invalid("{\"username\":\"bob\",\"password\":\"bob-password-12\",\"role\":\"viewer\","
                   "\"email\":\"not-an-address\"}",
                   "email");
    expect_invalid("{\"username\":\"bob\",\"password\":\"bob-password-12\",\"role\":\"viewer\","
                   "\"email\":7}",
                   "email");
    /* 10 kB username and password; 1025-character password */
    size_t n = 10 * 1024;
    char *big = malloc(n + 128), *body = malloc(2 * n + 256);
    memset(big, 'u', n);
    big[n] = '\0';
    snprintf(body, 2 * n + 256,
             "{\"username\":\"%s\",\"password\":\"bob-password-12\",\"role\":\"viewer\"}", big);
    expect_invalid(body, "username");
    snprintf(body, 2 * n + 256, "{\"username\":\"bob\",\"password\":\"%s\",\"role\":\"viewer\"}",
             big);
    expect_invalid(body, "password");
    big[1025] = '\0';
    snprintf(body, 2 * n + 256, "{\"username\":\"bob\",\"password\":\"%s\",\"role\":\"viewer\"}",
             big);
    expect_invalid(body, "password");
    struct http_response r;
    call("POST", "/users", body, &r);
    assert_non_null(strstr(r.body, "at most 1024"));
    http_response_cleanup(&r);
    big[1024] = '\0';
    snprintf(body, 2 * n + 256, "{\"username\":\"bob\",\"password\":\"%s\",\"role\":\"viewer\"}",
             big);
    assert_int_equal(call("POST", "/users", body, &r), 201); /* exactly 1024 is fine */
    http_response_cleanup(&r);
    free(big);
    free(body);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users"), 3); /* admin, alice, bob */
}

static void personal_data_encrypted(void **state) {
    (void)state;
    /* nothing in the row holds the address or the name in clear */
    assert_int_equal(db_long(db.url,
                             "SELECT count(*) FROM users u WHERE lower(row_to_json(u)::text "
                             "|| encode(coalesce(u.email_ct, ''), 'escape') || "
                             "encode(coalesce(u.full_name_ct, ''), 'escape')) LIKE "
                             "'%example.org%' OR row_to_json(u)::text LIKE '%Martin%'"),
                     0);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE username = 'alice' AND "
                                     "length(email_nonce) = 24 AND length(email_index) = 32 AND "
                                     "length(email_ct) = 17 + 16 AND length(full_name_nonce) = 24"),
                     1);
    /* the blind index is keyed: not a plain hash of the address */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE email_index = "
                                     "sha256('alice@example.org') OR email_index = "
                                     "digest('alice@example.org', 'sha256')"),
                     0);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE password_hash LIKE "
                                     "'$argon2id$%'"),
                     db_long(db.url, "SELECT count(*) FROM users"));
}

static void list_pages(void **state) {
    (void)state;
    char *all = testdb_query(db.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users "
                                     "WHERE anonymised_at IS NULL");
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "pager%d", i);
        assert_true(create_user(proc, admin, name, "pager-password-1", "viewer") > 0);
    }
    free(all);
    all = testdb_query(db.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM users "
                               "WHERE anonymised_at IS NULL");
    char seen[512] = "", path[256] = "/users?limit=2";
    int pages = 0;
    for (;;) {
        struct http_response r;
        assert_int_equal(call("GET", path, NULL, &r), 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) <= 2);
        size_t i;
        json_t *u;
        json_array_foreach(items, i, u) {
            char id[24];
            snprintf(id, sizeof id, "%s%lld", seen[0] ? "," : "",
                     (long long)json_integer_value(json_object_get(u, "id")));
            strcat(seen, id);
            assert_null(json_object_get(u, "password_hash"));
        }
        assert_null(strstr(r.body, "argon2"));
        pages++;
        json_t *next = json_object_get(r.json, "next_cursor");
        const char *link = http_header(&r, "Link");
        if (json_is_null(next)) {
            assert_null(link);
            http_response_cleanup(&r);
            break;
        }
        assert_non_null(link);
        snprintf(path, sizeof path, "/users?limit=2&cursor=%s", json_string_value(next));
        char expected[300];
        snprintf(expected, sizeof expected, "<%s>; rel=\"next\"", path);
        assert_string_equal(link, expected);
        http_response_cleanup(&r);
        assert_true(pages < 10);
    }
    assert_string_equal(seen, all); /* every user once, by id */
    long users = db_long(db.url, "SELECT count(*) FROM users WHERE anonymised_at IS NULL");
    assert_true(users >= 5);
    assert_int_equal(pages, (users + 1) / 2); /* 2 a page, the last one says no next */
    free(all);
    /* bad parameters name themselves */
    const char *bad[] = {"/users?limit=0",
                         "/users?limit=1001",
                         "/users?limit=abc",
                         "/users?limit=1&limit=2",
                         "/users?cursor=%27%20OR%201%3D1--",
                         "/users?cursor=AAAA",
                         "/users?role=admin",
                         "/users?sort=id"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct http_response r;
        call("GET", bad[k], NULL, &r);
        assert_problem(&r, 400, "bad-request");
        assert_non_null(json_string_value(json_object_get(r.json, "field")));
        http_response_cleanup(&r);
    }
}

static void get_one(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(call("GET", "/users/1", NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "username")), "admin");
    http_response_cleanup(&r);
    const char *missing[] = {"/users/999999", "/users/abc",          "/users/0",
                             "/users/-1",     "/users/1%20OR%201=1", "/users/99999999999999999999"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        call("GET", missing[i], NULL, &r);
        assert_problem(&r, 404, "not-found");
        http_response_cleanup(&r);
    }
}

static long id_of(const char *username) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id FROM users WHERE username = '%s'", username);
    return db_long(db.url, sql);
}

static void patch(void **state) {
    (void)state;
    long id = id_of("alice");
    char path[64];
    snprintf(path, sizeof path, "/users/%ld", id);
    struct http_response r;
    assert_int_equal(call("PATCH", path, "{\"role\":\"viewer\",\"full_name\":null}", &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "viewer");
    assert_true(json_is_null(json_object_get(r.json, "full_name")));
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "Alice@Example.org");
    http_response_cleanup(&r);
    /* password: the old one stops working, the new one works */
    assert_int_equal(call("PATCH", path, "{\"password\":\"alice-new-password\"}", &r), 200);
    http_response_cleanup(&r);
    const char *old = "username=alice&password=alice-password-1";
    assert_int_equal(token_post(proc, old, strlen(old), NULL, &r), 0);
    assert_int_equal(r.status, 400);
    http_response_cleanup(&r);
    char *token = test_login(proc, "alice", "alice-new-password");
    assert_non_null(token);
    free(token);
    /* email changed, then erased */
    assert_int_equal(call("PATCH", path, "{\"email\":\"alice@new.example\"}", &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "alice@new.example");
    http_response_cleanup(&r);
    assert_int_equal(call("PATCH", path, "{\"email\":null}", &r), 200);
    assert_true(json_is_null(json_object_get(r.json, "email")));
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE username = 'alice' AND "
                                     "email_ct IS NULL AND email_index IS NULL"),
                     1);
    /* bad changes */
    call("PATCH", path, "{}", &r);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    call("PATCH", path, "{\"username\":\"eve\"}", &r);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    call("PATCH", path, "{\"enabled\":\"no\"}", &r);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    call("PATCH", path, "{\"password\":\"tiny\"}", &r);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    call("PATCH", "/users/999999", "{\"role\":\"admin\"}", &r);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    /* the last enabled admin stays */
    call("PATCH", "/users/1", "{\"role\":\"operator\"}", &r);
    assert_problem(&r, 409, "conflict");
    http_response_cleanup(&r);
    call("PATCH", "/users/1", "{\"enabled\":false}", &r);
    assert_problem(&r, 409, "conflict");
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE id = 1 AND role = "
                                     "'admin' AND enabled"),
                     1);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'user.update' "
                                "AND details->'changed' ? 'password' AND actor_id = 1") >= 1);
}

static void rehash_on_login(void **state) {
    (void)state;
    /* a hash made with weaker parameters than the server's current ones */
    const char *pw = "legacy-password-1";
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(weak, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    long id = create_user(proc, admin, "legacy", "placeholder-pass-1", "viewer");
    assert_true(id > 0);
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE users SET password_hash = '%s' WHERE id = %ld", weak, id);
    free(testdb_query(db.url, sql));
    char *token = test_login(proc, "legacy", pw);
    assert_non_null(token);
    free(token);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM users WHERE id = %ld AND password_hash <> '%s' AND "
             "password_hash LIKE '$argon2id$v=19$m=65536,t=2,%%'",
             id, weak);
    assert_int_equal(db_long(db.url, sql), 1);
    token = test_login(proc, "legacy", pw); /* still the same password */
    assert_non_null(token);
    free(token);
}

static void delete_removes_or_anonymises(void **state) {
    (void)state;
    struct http_response r;
    /* never logged in, nothing refers to it: the row goes */
    long lone = create_user(proc, admin, "lone", "lone-password-12", "viewer");
    char path[64];
    snprintf(path, sizeof path, "/users/%ld", lone);
    assert_int_equal(call("DELETE", path, NULL, &r), 204);
    assert_int_equal(r.len, 0);
    http_response_cleanup(&r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE id = %ld", lone);
    assert_int_equal(db_long(db.url, sql), 0);
    /* alice logged in (the audit log refers to her): anonymised, the trail intact */
    long alice = id_of("alice");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE actor_id = %ld", alice);
    long trail = db_long(db.url, sql);
    assert_true(trail >= 1);
    snprintf(path, sizeof path, "/users/%ld", alice);
    assert_int_equal(call("DELETE", path, NULL, &r), 204);
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, sql), trail);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM users WHERE id = %ld AND anonymised_at IS NOT NULL AND "
             "username IS NULL AND password_hash IS NULL AND email_ct IS NULL AND email_index "
             "IS NULL AND full_name_ct IS NULL AND NOT enabled",
             alice);
    assert_int_equal(db_long(db.url, sql), 1);
    call("GET", path, NULL, &r);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    call("DELETE", path, NULL, &r);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    /* gone from the list; the username is free again */
    call("GET", "/users?limit=200", NULL, &r);
    assert_null(strstr(r.body, "\"alice\""));
    http_response_cleanup(&r);
    assert_true(create_user(proc, admin, "alice", "alice-again-1234", "viewer") > alice);
    /* the delete is audited */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_log WHERE action = 'user.delete' AND target = "
             "'user:%ld' AND details->>'anonymised' = 'true' AND actor_id = 1",
             alice);
    assert_int_equal(db_long(db.url, sql), 1);
    /* the last admin cannot be deleted */
    call("DELETE", "/users/1", NULL, &r);
    assert_problem(&r, 409, "conflict");
    http_response_cleanup(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create),
        cmocka_unit_test(conflicts),
        cmocka_unit_test(validation),
        cmocka_unit_test(personal_data_encrypted),
        cmocka_unit_test(list_pages),
        cmocka_unit_test(get_one),
        cmocka_unit_test(patch),
        cmocka_unit_test(rehash_on_login),
        cmocka_unit_test(delete_removes_or_anonymises),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
