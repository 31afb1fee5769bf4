/* test_http_core: the HTTP core of issue 2 against the real binary: problem+json error
 * bodies (404, 405 + Allow, 414, 431), request ids, nosniff, trailing slashes, the
 * built-in endpoints (/healthz, /readyz, /metrics, /openapi.json, /docs and its assets)
 * and the access log. One server and one throwaway database for the whole group, owned
 * by the group state and released in teardown. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_db db;
static struct sluice_proc *proc;

static int group_setup(void **state) {
    (void)state;
    return test_server_start(&db, NULL, &proc);
}

static int group_teardown(void **state) {
    (void)state;
    return test_server_stop(&db, &proc);
}

static void assert_nosniff(struct http_response *r) {
    const char *v = http_header(r, "X-Content-Type-Options");
    assert_non_null(v);
    assert_string_equal(v, "nosniff");
}

static bool contains(const char *hay, const char *needle) {
    return hay && strstr(hay, needle) != NULL;
}

/* ---- built-in endpoints ----------------------------------------------------------- */

static void healthz_ok(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_get(proc, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    assert_true(contains(http_header(&r, "Content-Type"), "application/json"));
    assert_nosniff(&r);
    http_response_cleanup(&r);
}

static void trailing_slash_equivalent(void **state) {
    (void)state;
    static const char *const paths[] = {"/healthz", "/readyz", "/openapi.json"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        char slashed[64];
        snprintf(slashed, sizeof slashed, "%s/", paths[i]);
        struct http_response a, b;
        assert_int_equal(http_get(proc, paths[i], &a), 0);
        assert_int_equal(http_get(proc, slashed, &b), 0);
        assert_int_equal(a.status, 200);
        if (b.status != 200)
            fail_msg("%s answered %ld, %s answered 200", slashed, b.status, paths[i]);
        assert_non_null(a.json);
        assert_non_null(b.json);
        assert_true(json_equal(a.json, b.json));
        http_response_cleanup(&a);
        http_response_cleanup(&b);
    }
}

static void readyz_ok(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_get(proc, "/readyz", &r), 0);
    if (r.status != 200) fail_msg("/readyz: %ld %s", r.status, r.body);
    assert_non_null(r.json);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
    assert_nosniff(&r);
    http_response_cleanup(&r);
}

static void metrics_prometheus(void **state) {
    (void)state;
    struct http_response r;
    /* Make sure a 404 and a 200 were counted before scraping. */
    assert_int_equal(http_get(proc, "/no-such-thing", &r), 0);
    http_response_cleanup(&r);
    assert_int_equal(http_get(proc, "/healthz", &r), 0);
    http_response_cleanup(&r);
    assert_int_equal(http_get(proc, "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(contains(http_header(&r, "Content-Type"), "text/plain"));
    assert_nosniff(&r);
    static const char *const want[] = {
        "# TYPE sluice_http_requests_total counter",
        "sluice_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "status=\"404\"",
        "# TYPE sluice_http_request_duration_seconds histogram",
        ("sluice_http_request_duration_seconds_bucket{method=\"GET\",route=\"/"
         "healthz\",le=\"+Inf\"}"),
        "sluice_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"}",
        "sluice_db_connections",
        "sluice_build_info{version=\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!contains(r.body, want[i])) fail_msg("/metrics lacks %s:\n%s", want[i], r.body);
    /* The /healthz counter is a positive integer. */
    const char *line = strstr(
        r.body, "sluice_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}");
    assert_non_null(line);
    long n = strtol(strchr(line, '}') + 1, NULL, 10);
    assert_true(n >= 1);
    http_response_cleanup(&r);
}

static void openapi_document(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_get(proc, "/openapi.json", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(contains(http_header(&r, "Content-Type"), "application/json"));
    assert_non_null(r.json);
    const char *v = json_string_value(json_object_get(r.json, "openapi"));
    assert_non_null(v);
    assert_true(strncmp(v, "3.1", 3) == 0);
    assert_true(json_is_object(json_object_get(r.json, "paths")));
    assert_non_null(json_object_get(json_object_get(r.json, "paths"), "/healthz"));
    /* compact, as every JSON answer (core/json_out.h) */
    assert_int_equal(strncmp(r.body, "{\"openapi\":\"3.1", 15), 0);
    assert_null(memchr(r.body, '\n', r.len));
    http_response_cleanup(&r);

    /* The root names the document and the docs. */
    assert_int_equal(http_get(proc, "/", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "/openapi.json");
    assert_string_equal(json_string_value(json_object_get(r.json, "docs")), "/docs");
    http_response_cleanup(&r);
}

static void docs_page_and_assets(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_get(proc, "/docs", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(contains(http_header(&r, "Content-Type"), "text/html"));
    assert_true(contains(r.body, "swagger-ui"));
    assert_true(contains(r.body, "/docs/swagger-ui-bundle.js"));
    assert_nosniff(&r);
    http_response_cleanup(&r);

    assert_int_equal(http_get(proc, "/docs/swagger-ui-bundle.js", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(contains(http_header(&r, "Content-Type"), "javascript"));
    assert_true(r.len > 100000); /* the real bundle, not a placeholder */
    assert_true(contains(r.body, "SwaggerUIBundle"));
    http_response_cleanup(&r);

    assert_int_equal(http_get(proc, "/docs/swagger-initializer.js", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(contains(r.body, "/openapi.json"));
    http_response_cleanup(&r);

    assert_int_equal(http_get(proc, "/docs/no-such-asset.js", &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
}

/* ---- errors ------------------------------------------------------------------------ */

static void not_found_problem(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_get(proc, "/definitely/not/here", &r), 0);
    assert_problem(&r, 404, "not-found");
    assert_nosniff(&r);
    assert_true(
        contains(json_string_value(json_object_get(r.json, "detail")), "/definitely/not/here"));
    http_response_cleanup(&r);
}

static void method_not_allowed_problem(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(http_do(proc, "DELETE", "/healthz", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 405, "method-not-allowed");
    const char *allow = http_header(&r, "Allow");
    assert_non_null(allow);
    assert_true(contains(allow, "GET"));
    assert_false(contains(allow, "DELETE"));
    assert_nosniff(&r);
    http_response_cleanup(&r);

    /* A resource with several methods lists them all. */
    assert_int_equal(http_do(proc, "POST", "/users/42", NULL, "{}", 2, &r), 0);
    assert_problem(&r, 405, "method-not-allowed");
    allow = http_header(&r, "Allow");
    assert_non_null(allow);
    assert_true(contains(allow, "GET") && contains(allow, "PATCH") && contains(allow, "DELETE"));
    assert_false(contains(allow, "POST"));
    http_response_cleanup(&r);

    /* With a trailing slash too. */
    assert_int_equal(http_do(proc, "PUT", "/readyz/", NULL, "{}", 2, &r), 0);
    assert_problem(&r, 405, "method-not-allowed");
    assert_true(contains(http_header(&r, "Allow"), "GET"));
    http_response_cleanup(&r);
}

static void uri_too_long_problem(void **state) {
    (void)state;
    size_t n = 12000; /* > MAX_HEADER_BYTES/2 with the default 16384 */
    char *path = malloc(n + 16);
    memcpy(path, "/healthz?q=", 11);
    memset(path + 11, 'a', n);
    path[11 + n] = '\0';
    struct http_response r;
    assert_int_equal(http_get(proc, path, &r), 0);
    assert_problem(&r, 414, "uri-too-long");
    assert_nosniff(&r);
    http_response_cleanup(&r);

    path[0] = '/';
    memset(path + 1, 'b', n);
    path[1 + n] = '\0';
    assert_int_equal(http_get(proc, path, &r), 0);
    assert_problem(&r, 414, "uri-too-long");
    http_response_cleanup(&r);
    free(path);
}

static void headers_too_large_problem(void **state) {
    (void)state;
    /* 4 headers of 5000 bytes: over MAX_HEADER_BYTES (16384). */
    char *h[5];
    for (int i = 0; i < 4; i++) {
        h[i] = malloc(5100);
        int k = snprintf(h[i], 5100, "X-Filler-%d: ", i);
        memset(h[i] + k, 'x', 5000);
        h[i][k + 5000] = '\0';
    }
    h[4] = NULL;
    struct http_response r;
    assert_int_equal(http_do(proc, "GET", "/healthz", (const char *const *)h, NULL, 0, &r), 0);
    assert_problem(&r, 431, "headers-too-large");
    assert_nosniff(&r);
    http_response_cleanup(&r);
    for (int i = 0; i < 4; i++) free(h[i]);
}

/* ---- request ids -------------------------------------------------------------------- */

static void request_id_generated(void **state) {
    (void)state;
    struct http_response a, b;
    assert_int_equal(http_get(proc, "/healthz", &a), 0);
    assert_int_equal(http_get(proc, "/healthz", &b), 0);
    char ida[256];
    const char *v = http_header(&a, "X-Request-Id");
    assert_non_null(v);
    snprintf(ida, sizeof ida, "%s", v);
    assert_true(strlen(ida) >= 16);
    v = http_header(&b, "X-Request-Id");
    assert_non_null(v);
    assert_string_not_equal(ida, v); /* unique per request */
    http_response_cleanup(&a);
    http_response_cleanup(&b);
}

/* Request ids come from a per-thread counter with a random start: 1,000 requests on
 * four concurrent clients (so on several of the server's event threads) get 1,000
 * distinct ids of 24 hex digits. */
enum { ID_CLIENTS = 4, ID_PER_CLIENT = 250 };
static char ids[ID_CLIENTS * ID_PER_CLIENT][32];

static void *id_client(void *arg) {
    int c = (int)(intptr_t)arg;
    for (int i = 0; i < ID_PER_CLIENT; i++) {
        struct http_response r;
        char *slot = ids[c * ID_PER_CLIENT + i];
        if (http_get(proc, "/healthz", &r) != 0) continue; /* an empty id fails below */
        const char *v = http_header(&r, "X-Request-Id");
        snprintf(slot, sizeof ids[0], "%s", v ? v : "");
        http_response_cleanup(&r);
    }
    return NULL;
}

static int cmp_ids(const void *a, const void *b) { return strcmp(a, b); }

static void request_ids_unique(void **state) {
    (void)state;
    memset(ids, 0, sizeof ids);
    pthread_t t[ID_CLIENTS];
    http_recording(false); /* /healthz is recorded for the OpenAPI check elsewhere */
    for (int c = 0; c < ID_CLIENTS; c++)
        assert_int_equal(pthread_create(&t[c], NULL, id_client, (void *)(intptr_t)c), 0);
    for (int c = 0; c < ID_CLIENTS; c++) pthread_join(t[c], NULL);
    http_recording(true);
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++) {
        if (strlen(ids[i]) != 24 || strspn(ids[i], "0123456789abcdef") != 24)
            fail_msg("request %zu: X-Request-Id \"%s\" is not 24 hex digits", i, ids[i]);
    }
    qsort(ids, n, sizeof ids[0], cmp_ids);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) fail_msg("X-Request-Id %s given twice", ids[i]);
}

static void request_id_kept(void **state) {
    (void)state;
    static const char *const hdr[] = {"X-Request-Id: my-trace_ID.42:abc", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "GET", "/healthz", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "X-Request-Id"), "my-trace_ID.42:abc");
    http_response_cleanup(&r);

    /* Kept on errors too, and echoed in the problem body. */
    assert_int_equal(http_do(proc, "GET", "/nowhere", hdr, NULL, 0, &r), 0);
    assert_problem(&r, 404, "not-found");
    assert_string_equal(json_string_value(json_object_get(r.json, "request_id")),
                        "my-trace_ID.42:abc");
    http_response_cleanup(&r);
}

static void request_id_invalid_replaced(void **state) {
    (void)state;
    char longid[200];
    memset(longid, 'a', 150);
    longid[150] = '\0';
    char longhdr[256];
    snprintf(longhdr, sizeof longhdr, "X-Request-Id: %s", longid);
    const char *bad[] = {"X-Request-Id: <script>alert(1)</script>", "X-Request-Id: a b", longhdr};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *hdr[] = {bad[i], NULL};
        struct http_response r;
        assert_int_equal(http_do(proc, "GET", "/nowhere", hdr, NULL, 0, &r), 0);
        assert_problem(&r, 404, "not-found");
        const char *id = http_header(&r, "X-Request-Id");
        assert_non_null(id);
        assert_true(strlen(id) > 0);
        assert_false(contains(bad[i], id)); /* not the client's value */
        assert_null(strpbrk(id, "<> "));
        http_response_cleanup(&r);
    }
}

/* ---- access log ------------------------------------------------------------------------ */

/* The access log line (the one with method and status) of the request with that id,
 * malloc'd; waits up to 2 s for it. */
static char *access_line(const char *rid) {
    for (int i = 0; i < 100; i++) {
        char *log = sluice_log_read(proc);
        for (char *l = log ? strtok(log, "\n") : NULL; l; l = strtok(NULL, "\n")) {
            if (strstr(l, rid) && strstr(l, "method") && strstr(l, "status")) {
                char *line = strdup(l);
                free(log);
                return line;
            }
        }
        free(log);
        usleep(20000);
    }
    fail_msg("no access log line with request id %s in %s", rid, sluice_log_path(proc));
    return NULL;
}

static void access_log_line(void **state) {
    (void)state;
    static const char *const hdr[] = {"X-Request-Id: access-log-check-123", NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "DELETE", "/healthz", hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    http_response_cleanup(&r);
    char *line = access_line("access-log-check-123");
    assert_true(contains(line, "DELETE"));
    assert_true(contains(line, "/healthz"));
    assert_true(contains(line, "405"));
    assert_true(contains(line, "request_id"));
    assert_true(contains(line, "duration_ms"));
    assert_true(contains(line, "bytes"));
    free(line);

    /* The route is logged as its pattern, not the concrete path. */
    static const char *const hdr2[] = {"X-Request-Id: access-log-route-456", NULL};
    assert_int_equal(http_do(proc, "GET", "/docs/swagger-ui.css", hdr2, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    line = access_line("access-log-route-456");
    assert_true(contains(line, "/docs/{asset}"));
    assert_true(contains(line, "200"));
    free(line);
}

/* The harness's login helper against the real /token (other tests build on it). */
static void login_helper(void **state) {
    (void)state;
    char *token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    assert_non_null(token);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *const hdr[] = {auth, NULL};
    struct http_response r;
    assert_int_equal(http_do(proc, "GET", "/users/me", hdr, NULL, 0, &r), 0);
    if (r.status != 200) fail_msg("GET /users/me with the admin token: %ld %s", r.status, r.body);
    http_response_cleanup(&r);
    free(token);
    assert_null(test_login(proc, TEST_ADMIN_USER, "wrong-password-123"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_ok),
        cmocka_unit_test(trailing_slash_equivalent),
        cmocka_unit_test(readyz_ok),
        cmocka_unit_test(metrics_prometheus),
        cmocka_unit_test(openapi_document),
        cmocka_unit_test(docs_page_and_assets),
        cmocka_unit_test(not_found_problem),
        cmocka_unit_test(method_not_allowed_problem),
        cmocka_unit_test(uri_too_long_problem),
        cmocka_unit_test(headers_too_large_problem),
        cmocka_unit_test(request_id_generated),
        cmocka_unit_test(request_ids_unique),
        cmocka_unit_test(request_id_kept),
        cmocka_unit_test(request_id_invalid_replaced),
        cmocka_unit_test(access_log_line),
        cmocka_unit_test(login_helper),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
