/* test_auth_token: POST /token against the real server and database — the OAuth 2.0
 * password grant (RFC 6749 §4.3) and every bad input the issue lists: success with
 * Cache-Control/Pragma, no grant_type (FastAPI clients), Swagger UI's `Basic Og==`,
 * public client_id, unknown parameters ignored; errors in RFC 6749 §5.2 form:
 * invalid_request (wrong Content-Type, missing field, repeated field, NUL bytes, invalid
 * UTF-8, malformed escape), unsupported_grant_type, invalid_client (a secret),
 * invalid_grant (wrong password, unknown user, disabled user, SQL-injection strings,
 * 10 kB strings); a 10 MB body is 413. The group owns the database and the server. */
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

static struct test_db db;
static struct sluice_proc *proc;
static char *admin_token;

#define LOGIN "grant_type=password&username=admin&password=admin-password-123"

static int group_setup(void **state) {
    (void)state;
    /* generous limit: this file tests answers, test_auth_limit tests the limit */
    static const char *const env[] = {"LOGIN_MAX_FAILURES=1000", "ACCESS_TOKEN_EXPIRE_MINUTES=45",
                                      NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin_token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return admin_token ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin_token);
    return test_server_stop(&db, &proc);
}

#define assert_oauth(r, status, error)                                                             \
    do {                                                                                           \
        const char *why_ = oauth_error_check((r), (status), (error));                              \
        if (why_) fail_msg("line %d: %s", __LINE__, why_);                                         \
    } while (0)

/* Posts body (a C string) and checks the OAuth error. */
static void expect_error(const char *body, const char *header, long status, const char *error) {
    struct http_response r;
    assert_int_equal(token_post(proc, body, strlen(body), header, &r), 0);
    const char *why = oauth_error_check(&r, status, error);
    if (why) fail_msg("body \"%.80s\": %s", body, why);
    http_response_cleanup(&r);
}

static void expect_token(const char *body, size_t len, const char *header) {
    struct http_response r;
    assert_int_equal(token_post(proc, body, len, header, &r), 0);
    if (r.status != 200) fail_msg("body \"%.80s\": %ld %s", body, r.status, r.body);
    assert_true(json_is_string(json_object_get(r.json, "access_token")));
    http_response_cleanup(&r);
}

static void success(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(token_post(proc, LOGIN, strlen(LOGIN), NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"), "application/json");
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    assert_string_equal(http_header(&r, "Pragma"), "no-cache");
    assert_string_equal(json_string_value(json_object_get(r.json, "token_type")), "bearer");
    assert_int_equal(json_integer_value(json_object_get(r.json, "expires_in")), 45 * 60);
    const char *token = json_string_value(json_object_get(r.json, "access_token"));
    assert_non_null(token);
    /* three base64url parts */
    assert_non_null(strchr(token, '.'));
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_."),
                     strlen(token));
    struct http_response me;
    assert_int_equal(bearer_do(proc, "GET", "/users/me", token, NULL, &me), 0);
    assert_int_equal(me.status, 200);
    assert_string_equal(json_string_value(json_object_get(me.json, "username")), "admin");
    http_response_cleanup(&me);
    http_response_cleanup(&r);
}

static void accepted_variants(void **state) {
    (void)state;
    /* no grant_type (FastAPI's OAuth2PasswordRequestForm clients send none) */
    const char *b = "username=admin&password=admin-password-123";
    expect_token(b, strlen(b), NULL);
    /* Swagger UI's Authorize: empty client id and secret in HTTP Basic */
    expect_token(LOGIN, strlen(LOGIN), "Authorization: Basic Og==");
    /* a public client: client_id and an empty client_secret */
    b = LOGIN "&client_id=swagger&client_secret=";
    expect_token(b, strlen(b), NULL);
    /* Basic with a client id and an empty secret, the same id in the form */
    b = LOGIN "&client_id=cli";
    expect_token(b, strlen(b), "Authorization: Basic Y2xpOg=="); /* "cli:" */
    /* unknown parameters are ignored, scope too; field order does not matter */
    b = "scope=read%20write&foo=bar&password=admin-password-123&username=admin&x=";
    expect_token(b, strlen(b), NULL);
    /* usernames ignore case; a Content-Type with a charset parameter */
    b = "username=ADMIN&password=admin-password-123";
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded; charset=UTF-8", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "POST", "/token", hdrs, b, strlen(b), &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

static void invalid_request(void **state) {
    (void)state;
    expect_error("username=admin", NULL, 400, "invalid_request");              /* no password */
    expect_error("password=admin-password-123", NULL, 400, "invalid_request"); /* no username */
    expect_error("username=&password=x", NULL, 400, "invalid_request");        /* empty */
    expect_error("", NULL, 400, "invalid_request");                            /* empty body */
    /* a repeated parameter, even an ignored one, even spelled with an escape */
    expect_error(LOGIN "&username=other", NULL, 400, "invalid_request");
    expect_error(LOGIN "&grant_type=password", NULL, 400, "invalid_request");
    expect_error(LOGIN "&scope=a&scope=b", NULL, 400, "invalid_request");
    expect_error(LOGIN "&user%6Eame=admin", NULL, 400, "invalid_request");
    /* malformed escapes */
    expect_error("username=adm%4&password=admin-password-123", NULL, 400, "invalid_request");
    expect_error("username=admin&password=%ZZ", NULL, 400, "invalid_request");
    /* an Authorization header of another scheme, or Basic that is not id:secret */
    expect_error(LOGIN, "Authorization: Bearer abc", 400, "invalid_request");
    expect_error(LOGIN, "Authorization: Basic !!!!", 400, "invalid_request");
    expect_error(LOGIN, "Authorization: Basic bm9jb2xvbg==", 400, "invalid_request");
    /* client_id differing between Basic and the form */
    expect_error(LOGIN "&client_id=other", "Authorization: Basic Y2xpOg==", 400, "invalid_request");
    struct http_response r;
    assert_int_equal(token_post(proc, LOGIN "&username=x", strlen(LOGIN) + 11, NULL, &r), 0);
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "error_description")),
                           "\"username\" is repeated"));
    http_response_cleanup(&r);
}

static void wrong_content_type(void **state) {
    (void)state;
    const char *types[] = {"Content-Type: application/json", "Content-Type: text/plain",
                           "Content-Type: multipart/form-data; boundary=x", NULL};
    for (size_t i = 0; types[i]; i++) {
        const char *hdrs[] = {types[i], NULL};
        struct http_response r;
        assert_int_equal(http_do(proc, "POST", "/token", hdrs, LOGIN, strlen(LOGIN), &r), 0);
        assert_oauth(&r, 400, "invalid_request"); /* not 415, not problem+json */
        assert_non_null(strstr(r.body, "x-www-form-urlencoded"));
        http_response_cleanup(&r);
    }
    /* no Content-Type at all (curl sends one by default for a body: remove it) */
    const char *hdrs[] = {"Content-Type:", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "POST", "/token", hdrs, LOGIN, strlen(LOGIN), &r), 0);
    assert_oauth(&r, 400, "invalid_request");
    http_response_cleanup(&r);
}

static void grant_and_client_errors(void **state) {
    (void)state;
    expect_error("grant_type=client_credentials&username=admin&password=admin-password-123", NULL,
                 400, "unsupported_grant_type");
    expect_error("grant_type=&username=admin&password=admin-password-123", NULL, 400,
                 "unsupported_grant_type");
    expect_error("grant_type=PASSWORD&username=admin&password=admin-password-123", NULL, 400,
                 "unsupported_grant_type");
    expect_error(LOGIN "&client_id=x&client_secret=s3cret", NULL, 401, "invalid_client");
    struct http_response r;
    /* "id:secret" in Basic */
    assert_int_equal(
        token_post(proc, LOGIN, strlen(LOGIN), "Authorization: Basic aWQ6c2VjcmV0", &r), 0);
    assert_oauth(&r, 401, "invalid_client");
    assert_non_null(strstr(http_header(&r, "WWW-Authenticate"), "Basic"));
    http_response_cleanup(&r);
}

static void invalid_grant(void **state) {
    (void)state;
    struct http_response wrong, unknown;
    const char *b1 = "grant_type=password&username=admin&password=wrong-password-123";
    const char *b2 = "grant_type=password&username=nobody-here&password=wrong-password-123";
    assert_int_equal(token_post(proc, b1, strlen(b1), NULL, &wrong), 0);
    assert_int_equal(token_post(proc, b2, strlen(b2), NULL, &unknown), 0);
    assert_oauth(&wrong, 400, "invalid_grant");
    assert_oauth(&unknown, 400, "invalid_grant");
    /* the same answer: nothing tells an unknown user from a wrong password */
    assert_string_equal(wrong.body, unknown.body);
    http_response_cleanup(&wrong);
    http_response_cleanup(&unknown);
    /* a disabled user with the right password */
    long id = create_user(proc, admin_token, "disabled-dora", "dora-password-123", "viewer");
    assert_true(id > 0);
    char path[64];
    snprintf(path, sizeof path, "/users/%ld", id);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "PATCH", path, admin_token, "{\"enabled\":false}", &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    expect_error("username=disabled-dora&password=dora-password-123", NULL, 400, "invalid_grant");
    /* the audit log tells the reasons apart */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = "
                                     "'login.failure' AND details->>'reason' = 'disabled'"),
                     1);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'login.failure' "
                                "AND details->>'reason' = 'unknown_user'") >= 1);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'login.failure' "
                                "AND details->>'reason' = 'bad_password' AND target = 'user:1' "
                                "AND client_addr = '127.0.0.1'") >= 1);
}

static void sql_injection_strings(void **state) {
    (void)state;
    static const char *const bodies[] = {
        "username=admin'--&password=x",
        "username=admin%27%20OR%20%271%27%3D%271&password=x%27%20OR%20%271%27%3D%271",
        "username=%27%3B%20DROP%20TABLE%20users%3B%20--&password=admin-password-123",
        "username=admin&password=%27%20OR%201%3D1%20--",
        "username=%5C%27%20UNION%20SELECT%20password_hash%20FROM%20users--&password=a",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_error(bodies[i], NULL, 400, "invalid_grant");
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM users WHERE username = 'admin'"), 1);
    expect_token(LOGIN, strlen(LOGIN), NULL);
}

static char *ten_kb_body(const char *field, const char *other) {
    size_t n = 10 * 1024;
    char *b = malloc(n + 128);
    int k = sprintf(b, "%s&%s=", other, field);
    memset(b + k, 'A', n);
    b[k + n] = '\0';
    return b;
}

static void ten_kb_strings(void **state) {
    (void)state;
    char *b = ten_kb_body("username", "password=admin-password-123");
    expect_error(b, NULL, 400, "invalid_grant");
    free(b);
    b = ten_kb_body("password", "username=admin");
    expect_error(b, NULL, 400, "invalid_grant");
    free(b);
    b = ten_kb_body("client_id", LOGIN);
    expect_token(b, strlen(b), NULL); /* an odd client id is still a public client */
    free(b);
}

static void nul_bytes_and_invalid_utf8(void **state) {
    (void)state;
    expect_error("username=ad%00min&password=admin-password-123", NULL, 400, "invalid_request");
    expect_error("username=admin&password=admin-password-123%00", NULL, 400, "invalid_request");
    static const char raw[] = "username=admin&password=admin-pass\0word-123";
    struct http_response r;
    assert_int_equal(token_post(proc, raw, sizeof raw - 1, NULL, &r), 0);
    assert_oauth(&r, 400, "invalid_request");
    assert_non_null(strstr(r.body, "NUL"));
    http_response_cleanup(&r);
    expect_error("username=%FFadmin&password=admin-password-123", NULL, 400, "invalid_request");
    expect_error("username=admin&password=%C0%AFx", NULL, 400, "invalid_request");
    static const char raw_utf8[] = "username=adm\xE9in&password=admin-password-123";
    assert_int_equal(token_post(proc, raw_utf8, sizeof raw_utf8 - 1, NULL, &r), 0);
    assert_oauth(&r, 400, "invalid_request");
    assert_non_null(strstr(r.body, "UTF-8"));
    http_response_cleanup(&r);
    /* valid non-ASCII is fine (and simply wrong here) */
    expect_error("username=%C3%A9lodie&password=%E2%82%AC%E2%82%AC%E2%82%AC", NULL, 400,
                 "invalid_grant");
}

static void ten_megabyte_body(void **state) {
    (void)state;
    size_t n = 10u * 1024 * 1024;
    char *b = malloc(n);
    memcpy(b, LOGIN "&pad=", strlen(LOGIN) + 5);
    memset(b + strlen(LOGIN) + 5, 'x', n - strlen(LOGIN) - 5);
    struct http_response r;
    assert_int_equal(token_post(proc, b, n, NULL, &r), 0);
    assert_oauth(&r, 413, "invalid_request");
    assert_non_null(strstr(r.body, "MAX_BODY_BYTES"));
    http_response_cleanup(&r);
    free(b);
    /* the server is fine afterwards */
    expect_token(LOGIN, strlen(LOGIN), NULL);
}

static void hashes_never_leave(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(token_post(proc, LOGIN, strlen(LOGIN), NULL, &r), 0);
    assert_null(strstr(r.body, "argon2"));
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/users/me", admin_token, NULL, &r), 0);
    assert_null(strstr(r.body, "argon2"));
    assert_null(strstr(r.body, "password"));
    http_response_cleanup(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success),
        cmocka_unit_test(accepted_variants),
        cmocka_unit_test(invalid_request),
        cmocka_unit_test(wrong_content_type),
        cmocka_unit_test(grant_and_client_errors),
        cmocka_unit_test(invalid_grant),
        cmocka_unit_test(sql_injection_strings),
        cmocka_unit_test(ten_kb_strings),
        cmocka_unit_test(nul_bytes_and_invalid_utf8),
        cmocka_unit_test(ten_megabyte_body),
        cmocka_unit_test(hashes_never_leave),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
