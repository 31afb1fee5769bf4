/* test_http_body: request body handling of the HTTP core, on POST /users/ (an admin
 * JSON-body route): 413 from Content-Length alone and 415 for a wrong or missing
 * Content-Type (both from the head, before authorization, answered before any body byte
 * is sent); a caller without a token gets 401 before the body is read; with the admin's
 * token, 413 for a chunked body past MAX_BODY_BYTES (without buffering it: the server's
 * memory stays flat) and 400 naming line and column for malformed JSON. The group owns
 * the database, the server and the admin's token; each test closes its sockets. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY 4096

static struct test_db db;
static struct sluice_proc *proc;
static char *admin_auth; /* "Authorization: Bearer <admin token>" */

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"MAX_BODY_BYTES=4096", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    char *token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    if (!token) return -1;
    admin_auth = malloc(strlen(token) + 32);
    sprintf(admin_auth, "Authorization: Bearer %s", token);
    free(token);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin_auth);
    return test_server_stop(&db, &proc);
}

static void too_large_by_content_length(void **state) {
    (void)state;
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    /* Only the head: the answer must come without the body being sent. */
    assert_int_equal(raw_send_str(fd, "POST /users/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Content-Length: 50000000\r\n\r\n"),
                     0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 3000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    assert_int_equal(json_integer_value(json_object_get(r.json, "max_bytes")), MAX_BODY);
    assert_string_equal(http_header(&r, "X-Content-Type-Options"), "nosniff");
    http_record("POST", "/users/", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);

    /* The same through libcurl, with a body one byte over the limit. */
    char *body = malloc(MAX_BODY + 1);
    memset(body, ' ', MAX_BODY + 1);
    body[0] = '{';
    body[MAX_BODY] = '}';
    static const char *const json_ct[] = {"Content-Type: application/json", NULL};
    assert_int_equal(http_do(proc, "POST", "/users/", json_ct, body, MAX_BODY + 1, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    http_response_cleanup(&r);
    free(body);
}

static void too_large_chunked(void **state) {
    (void)state;
    long rss_before = proc_rss_kib(sluice_pid(proc));
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    char head[2048];
    snprintf(head, sizeof head,
             "POST /users/ HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
             admin_auth);
    assert_int_equal(raw_send_str(fd, head), 0);
    /* 32 MiB in 64 KiB chunks, far beyond MAX_BODY_BYTES. */
    (void)raw_send_chunked(fd, 'a', 65536, 512);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 10000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    http_record("POST", "/users/", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
    long rss_after = proc_rss_kib(sluice_pid(proc));
    assert_true(rss_before > 0 && rss_after > 0);
    if (rss_after - rss_before > 16 * 1024)
        fail_msg("server RSS grew by %ld KiB while a 32 MiB body was refused",
                 rss_after - rss_before);
    /* The server is fine afterwards. */
    assert_int_equal(http_get(proc, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

static void unsupported_media_type(void **state) {
    (void)state;
    static const char body[] = "{\"username\":\"x\"}";
    const char *const types[] = {"Content-Type: text/plain", "Content-Type: application/xml",
                                 "Content-Type: application/x-www-form-urlencoded", NULL};
    for (size_t i = 0; types[i]; i++) {
        const char *const hdr[] = {types[i], NULL};
        struct http_response r;
        assert_int_equal(http_do(proc, "POST", "/users/", hdr, body, sizeof body - 1, &r), 0);
        assert_problem(&r, 415, "unsupported-media-type");
        assert_string_equal(json_string_value(json_object_get(r.json, "expected")),
                            "application/json");
        http_response_cleanup(&r);
    }
    /* No Content-Type at all (raw: libcurl would add a form type). */
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_str(fd, "POST /users/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Content-Length: 2\r\nConnection: close\r\n\r\n{}"),
                     0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 3000, &r), 0);
    assert_problem(&r, 415, "unsupported-media-type");
    http_response_cleanup(&r);
    close(fd);
    /* application/json with parameters and +json types are accepted past this check. */
    static const char *const ok[] = {"Content-Type: application/json; charset=utf-8", NULL};
    assert_int_equal(http_do(proc, "POST", "/users/", ok, body, sizeof body - 1, &r), 0);
    assert_int_not_equal(r.status, 415);
    http_response_cleanup(&r);
}

static void malformed_json(void **state) {
    (void)state;
    const char *const hdr[] = {"Content-Type: application/json", admin_auth, NULL};
    static const char body[] = "{\n  \"username\": \"x\",\n  \"role\": \n}";
    struct http_response r;
    assert_int_equal(http_do(proc, "POST", "/users/", hdr, body, sizeof body - 1, &r), 0);
    assert_problem(&r, 400, "invalid-json");
    assert_int_equal(json_integer_value(json_object_get(r.json, "line")), 4);
    assert_true(json_integer_value(json_object_get(r.json, "column")) >= 1);
    const char *detail = json_string_value(json_object_get(r.json, "detail"));
    assert_non_null(strstr(detail, "line 4"));
    assert_non_null(strstr(detail, "column"));
    http_response_cleanup(&r);

    static const char trailing[] = "{\"username\": \"x\"} garbage";
    assert_int_equal(http_do(proc, "POST", "/users/", hdr, trailing, sizeof trailing - 1, &r), 0);
    assert_problem(&r, 400, "invalid-json");
    assert_int_equal(json_integer_value(json_object_get(r.json, "line")), 1);
    http_response_cleanup(&r);

    static const char dup[] = "{\"username\": \"x\", \"username\": \"y\"}";
    assert_int_equal(http_do(proc, "POST", "/users/", hdr, dup, sizeof dup - 1, &r), 0);
    assert_problem(&r, 400, "invalid-json");
    http_response_cleanup(&r);

    assert_int_equal(http_do(proc, "POST", "/users/", hdr, "", 0, &r), 0);
    assert_problem(&r, 400, "invalid-json");
    http_response_cleanup(&r);
}

static void unauthorized_before_body(void **state) {
    (void)state;
    /* Without a token: 401 from the head alone, for a valid body or a malformed one (it
     * is never read), and the connection is closed after the answer. */
    static const char *const hdr[] = {"Content-Type: application/json", NULL};
    static const char body[] = "{\"username\": \"someone\"}";
    struct http_response r;
    assert_int_equal(http_do(proc, "POST", "/users/", hdr, body, sizeof body - 1, &r), 0);
    assert_problem(&r, 401, "unauthorized");
    http_response_cleanup(&r);
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_str(fd, "POST /users/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Content-Length: 4000\r\n\r\n"),
                     0);
    assert_int_equal(raw_read_response(fd, 3000, &r), 0);
    assert_problem(&r, 401, "unauthorized");
    http_record("POST", "/users/", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(too_large_by_content_length), cmocka_unit_test(too_large_chunked),
        cmocka_unit_test(unsupported_media_type),      cmocka_unit_test(malformed_json),
        cmocka_unit_test(unauthorized_before_body),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
