/* test_http_nul: NUL bytes and repeated credentials are refused with 400 before routing
 * (issue 14 point 5): %00 in the path (GET /docs/%00, GET /docs/swagger-ui.css%00.png)
 * or the query, a NUL hidden in a header value (Authorization: Bearer <token>\0garbage,
 * or any other header), two Authorization headers. Before, the first two answered 200
 * and the token with garbage was accepted. Clean requests are unaffected. Raw sockets:
 * libcurl cannot send a NUL in a header. The group owns the database, the server and the
 * admin's token. */
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
static char *token;

static int group_setup(void **state) {
    (void)state;
    if (test_server_start(&db, NULL, &proc) != 0) return -1;
    token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return token ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(token);
    return test_server_stop(&db, &proc);
}

/* Sends len raw bytes as a whole request and reads the answer into r (recorded for the
 * OpenAPI check under method and path). */
static void exchange(const char *method, const char *path, const char *raw, size_t len,
                     struct http_response *r) {
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, raw, len), 0);
    assert_int_equal(raw_read_response(fd, 5000, r), 0);
    http_record(method, path, r->status, http_header(r, "Content-Type"), r->body, r->len);
    close(fd);
}

static void get_path(const char *path, struct http_response *r) {
    char raw[1024];
    int n =
        snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    exchange("GET", path, raw, (size_t)n, r);
}

static void nul_in_path_and_query(void **state) {
    (void)state;
    static const char *const refused[] = {"/docs/%00",      "/docs/swagger-ui.css%00.png",
                                          "/healthz?x=%00", "/healthz?a%00b=1",
                                          "/%00",           NULL};
    for (size_t i = 0; refused[i]; i++) {
        struct http_response r;
        get_path(refused[i], &r);
        assert_problem(&r, 400, "bad-request");
        assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "NUL"));
        http_response_cleanup(&r);
    }
    /* The same without the NUL: served as before. */
    struct http_response r;
    get_path("/docs/swagger-ui.css", &r);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    get_path("/healthz?x=%41", &r);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

/* A request with `header_line` (raw bytes, may hold NULs) on GET /users/me. */
static void me_with(const char *header_line, size_t hlen, struct http_response *r) {
    char raw[4096];
    static const char start[] = "GET /users/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    size_t n = 0;
    memcpy(raw, start, sizeof start - 1);
    n += sizeof start - 1;
    memcpy(raw + n, header_line, hlen);
    n += hlen;
    memcpy(raw + n, "\r\n\r\n", 4);
    n += 4;
    exchange("GET", "/users/me", raw, n, r);
}

static void nul_in_header_value(void **state) {
    (void)state;
    char line[2048];
    struct http_response r;
    int n = snprintf(line, sizeof line, "Authorization: Bearer %s", token);
    me_with(line, (size_t)n, &r); /* the token alone: accepted */
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);

    memcpy(line + n, "\0garbage", 8);
    me_with(line, (size_t)n + 8, &r);
    assert_problem(&r, 400, "bad-request");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "Authorization");
    http_response_cleanup(&r);

    memcpy(line + n, "\0\0\0x", 4); /* several NULs before the rest */
    me_with(line, (size_t)n + 4, &r);
    assert_problem(&r, 400, "bad-request");
    http_response_cleanup(&r);

    /* Another header, before the Authorization one. */
    int k = snprintf(line, sizeof line, "X-Note: a");
    memcpy(line + k, "\0b\r\n", 4);
    k += 4;
    k += snprintf(line + k, sizeof line - (size_t)k, "Authorization: Bearer %s", token);
    me_with(line, (size_t)k, &r);
    assert_problem(&r, 400, "bad-request");
    assert_string_equal(json_string_value(json_object_get(r.json, "field")), "X-Note");
    http_response_cleanup(&r);

    /* Bare LF line ends and an empty header value are fine. */
    static const char lf[] = "GET /healthz HTTP/1.1\nHost: x\nX-Empty:\nConnection: close\n\n";
    exchange("GET", "/healthz", lf, sizeof lf - 1, &r);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

static void two_authorization_headers(void **state) {
    (void)state;
    char line[4096];
    struct http_response r;
    int n = snprintf(line, sizeof line, "Authorization: Bearer %s\r\nAuthorization: Bearer %s",
                     token, token);
    me_with(line, (size_t)n, &r);
    assert_problem(&r, 400, "bad-request");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "Authorization"));
    http_response_cleanup(&r);
    /* Even on a public route, and whatever the case of the name. */
    static const char pub[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nauthorization: a\r\n"
                              "AUTHORIZATION: b\r\nConnection: close\r\n\r\n";
    exchange("GET", "/healthz", pub, sizeof pub - 1, &r);
    assert_problem(&r, 400, "bad-request");
    http_response_cleanup(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nul_in_path_and_query),
        cmocka_unit_test(nul_in_header_value),
        cmocka_unit_test(two_authorization_headers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
