/* test_request_batches: many requests in flight at once on one request worker
 * (REQUEST_WORKERS=1), so that the worker takes them in batches and pipelines their
 * statements (request_query_then, server/db/db.c). Every request is written on its own
 * connection before any answer is read; each answer must then be the one of its own
 * request (its X-Request-Id, status and body equal to the same request sent alone),
 * whatever mix of pipelined lists, lists whose empty page checks their parent
 * synchronously (400/404), single rows (GET /centres/{code}), synchronous handlers
 * (GET /centres/{code}/kpis) and refusals
 * (401) shares a batch, and batches slowed down by a login (Argon2id) give their
 * unstarted requests back to the queue. Also a second `sluice serve` on a port already in use fails
 * instead of sharing it. The group owns its api_env (database, server, tokens). */
#include "harness.h"
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct api_env env;

static int group_setup(void **state) {
    (void)state;
    static const char *const extra[] = {"REQUEST_WORKERS=1", "LOG_LEVEL=warn", NULL};
    if (api_env_start(&env, extra) != 0) return -1;
    production_fixture(&env);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    return 0;
}

/* The paths of the mix, each with the status it must get. */
static const struct {
    const char *path;
    bool auth;
    long status;
} mix[] = {
    {"POST /token", false, 200}, /* a slow one (Argon2id): its batch gives the rest back */
    {"/centres/", true, 200},
    {"/centres/?type_cu=ALU", true, 200},
    {"/centres/?sort=-code&limit=1", true, 200},
    {"/sessions/?centre=TST&limit=2", true, 200},
    {"/sessions/?centre=NOPE", true, 400},  /* empty page: parent checked, 400 */
    {"/sessions/999999/pieces", true, 404}, /* empty page: parent checked, 404 */
    {"/sessions/?centre=EMPTY", true, 200}, /* empty page, parent exists */
    {"/centres/TST", true, 200},            /* one row, pipelined */
    {"/centres/NOPE", true, 404},           /* no row: 404 */
    {"/centres/TST/kpis?from=2025-03-01&to=2025-03-31", true, 200}, /* a synchronous handler */
    {"/centres/NOPE/kpis", true, 404},                              /* synchronous, 404 */
    {"/kpis?from=2025-03-01&to=2025-03-31", true, 200},
    {"/commandes-volets/?limit=3", true, 200},
    {"/centres/", false, 401}, /* refused before any statement */
};
#define NMIX (sizeof mix / sizeof mix[0])
#define ROUNDS 6 /* each path several times: 90 requests in flight */

/* The value of a counter in a Prometheus text body, or -1. */
static long metric(const char *body, const char *name) {
    size_t n = strlen(name);
    for (const char *p = body; (p = strstr(p, name)) != NULL; p += n)
        if ((p == body || p[-1] == '\n') && p[n] == ' ') return strtol(p + n + 1, NULL, 10);
    return -1;
}

static void send_request(int fd, size_t k, int n) {
    char req[2048];
    if (strcmp(mix[k].path, "POST /token") == 0) {
        static const char body[] =
            "grant_type=password&username=" TEST_ADMIN_USER "&password=" TEST_ADMIN_PASSWORD;
        snprintf(req, sizeof req,
                 "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: batch-%d\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 n, sizeof body - 1, body);
        assert_int_equal(raw_send_str(fd, req), 0);
        return;
    }
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: batch-%d\r\n%s%s%s"
             "Connection: close\r\n\r\n",
             mix[k].path, n, mix[k].auth ? "Authorization: Bearer " : "",
             mix[k].auth ? env.viewer : "", mix[k].auth ? "\r\n" : "");
    assert_int_equal(raw_send_str(fd, req), 0);
}

static void answers_reach_their_own_requests(void **state) {
    (void)state;
    /* The same requests alone first: what each must answer. */
    char *alone[NMIX];
    for (size_t k = 0; k < NMIX; k++) {
        int fd = raw_connect(env.proc);
        assert_true(fd >= 0);
        send_request(fd, k, -1);
        struct http_response r;
        assert_int_equal(raw_read_response(fd, 10000, &r), 0);
        close(fd);
        if (r.status != mix[k].status)
            fail_msg("GET %s alone: %ld %s", mix[k].path, r.status, r.body);
        alone[k] = strdup(r.body);
        http_response_cleanup(&r);
    }
    /* Then all at once: every request written before any answer is read. */
    int fds[NMIX * ROUNDS];
    for (int n = 0; n < (int)(NMIX * ROUNDS); n++) {
        fds[n] = raw_connect(env.proc);
        assert_true(fds[n] >= 0);
    }
    for (int n = 0; n < (int)(NMIX * ROUNDS); n++) send_request(fds[n], (size_t)n % NMIX, n);
    for (int n = 0; n < (int)(NMIX * ROUNDS); n++) {
        size_t k = (size_t)n % NMIX;
        struct http_response r;
        assert_int_equal(raw_read_response(fds[n], 20000, &r), 0);
        close(fds[n]);
        char want_id[32];
        snprintf(want_id, sizeof want_id, "batch-%d", n);
        const char *id = http_header(&r, "X-Request-Id");
        if (!id || strcmp(id, want_id) != 0)
            fail_msg("request %d (GET %s) got the answer of %s", n, mix[k].path, id ? id : "?");
        if (r.status != mix[k].status)
            fail_msg("GET %s in a batch: %ld %s", mix[k].path, r.status, r.body);
        /* Problem bodies name their request id; tokens differ each time; the rest must
         * match byte for byte. */
        if (r.status < 400 && k > 0 && strcmp(r.body, alone[k]) != 0)
            fail_msg("GET %s in a batch answered\n%s\nalone\n%s", mix[k].path, r.body, alone[k]);
        if (r.status >= 400) assert_non_null(r.json);
        http_response_cleanup(&r);
    }
    for (size_t k = 0; k < NMIX; k++) free(alone[k]);
    /* Batching really happened (more requests than batches), and logins made batches
     * give requests back. */
    struct http_response m;
    assert_int_equal(http_get(env.proc, "/metrics", &m), 0);
    assert_int_equal(m.status, 200);
    long batches = metric(m.body, "sluice_request_batches_total");
    long taken = metric(m.body, "sluice_request_batched_total");
    long given_back = metric(m.body, "sluice_request_given_back_total");
    http_response_cleanup(&m);
    if (!(batches > 0 && taken > batches && given_back > 0))
        fail_msg("batches %ld, requests %ld, given back %ld", batches, taken, given_back);
    /* The server is still whole. */
    json_t *c = api_get_json(&env, env.viewer, "/centres/TST");
    json_decref(c);
}

static void a_second_server_on_the_same_port_fails(void **state) {
    (void)state;
    char port[32];
    snprintf(port, sizeof port, "HTTP_PORT=%d", sluice_port(env.proc));
    const char *const extra[] = {port, NULL};
    struct sluice_proc *second = sluice_start_in(env.db.url, extra, NULL, false);
    assert_non_null(second);
    int status = sluice_stop_timeout(second, 0, 20); /* it must exit on its own */
    assert_int_not_equal(status, 0);
    assert_true(status != -1);
    json_t *c = api_get_json(&env, env.viewer, "/centres/TST"); /* the first one still serves */
    json_decref(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_reach_their_own_requests),
        cmocka_unit_test(a_second_server_on_the_same_port_fails),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
