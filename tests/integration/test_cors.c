/* test_cors: CORS_ORIGINS against the real binary: an allowed origin gets
 * Access-Control-Allow-Origin (and exposed headers) on answers and preflights, any
 * other origin gets none; OPTIONS answers 204 with Allow, or a 404 problem for an unknown
 * path. The group owns the database and the server. */
#include "harness.h"

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
    static const char *const env[] = {"CORS_ORIGINS=http://app.example, https://ops.example", NULL};
    return test_server_start(&db, env, &proc);
}

static int group_teardown(void **state) {
    (void)state;
    return test_server_stop(&db, &proc);
}

static void allowed_origin(void **state) {
    (void)state;
    static const char *const hdr[] = {"Origin: https://ops.example", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "GET", "/healthz", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Access-Control-Allow-Origin"), "https://ops.example");
    assert_non_null(strstr(http_header(&r, "Access-Control-Expose-Headers"), "X-Request-Id"));
    assert_non_null(strstr(http_header(&r, "Vary"), "Origin"));
    http_response_cleanup(&r);

    /* Errors carry it too, so a browser app can read the problem. */
    assert_int_equal(http_do(proc, "GET", "/nowhere", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(http_header(&r, "Access-Control-Allow-Origin"), "https://ops.example");
    http_response_cleanup(&r);
}

static void other_origin(void **state) {
    (void)state;
    static const char *const hdr[] = {"Origin: https://evil.example", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "GET", "/healthz", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_response_cleanup(&r);
    /* A prefix of an allowed origin is not allowed. */
    static const char *const prefix[] = {"Origin: http://app.example.evil", NULL};
    assert_int_equal(http_do(proc, "GET", "/healthz", prefix, NULL, 0, &r), 0);
    assert_null(http_header(&r, "Access-Control-Allow-Origin"));
    http_response_cleanup(&r);
}

static void preflight(void **state) {
    (void)state;
    static const char *const hdr[] = {"Origin: http://app.example",
                                      "Access-Control-Request-Method: GET", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "OPTIONS", "/readyz", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    assert_non_null(strstr(http_header(&r, "Allow"), "GET"));
    assert_string_equal(http_header(&r, "Access-Control-Allow-Origin"), "http://app.example");
    assert_non_null(strstr(http_header(&r, "Access-Control-Allow-Methods"), "GET"));
    assert_non_null(strstr(http_header(&r, "Access-Control-Allow-Headers"), "Authorization"));
    http_response_cleanup(&r);

    assert_int_equal(http_do(proc, "OPTIONS", "/no/such/path", hdr, NULL, 0, &r), 0);
    const char *why = problem_check(&r, 404, "not-found");
    if (why) fail_msg("OPTIONS on an unknown path: %s", why);
    http_response_cleanup(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allowed_origin),
        cmocka_unit_test(other_origin),
        cmocka_unit_test(preflight),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
