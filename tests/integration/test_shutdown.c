/* test_shutdown: SIGTERM with requests in flight. A request whose body is only half sent
 * is in flight when SIGTERM arrives; the server must stop accepting (new connections
 * refused), still answer that request once its body completes, and exit 0. A request
 * that never completes must not hold the process beyond SHUTDOWN_GRACE_SECONDS. Each
 * test owns its database, process and sockets and releases them before returning. */
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

/* Sends the head of a request with a 10-byte body and 4 bytes of it. */
static int start_partial(struct sluice_proc *p, const char *path, const char *rid) {
    int fd = raw_connect(p);
    assert_true(fd >= 0);
    char head[512];
    snprintf(head, sizeof head,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: %s\r\n"
             "Content-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123",
             path, rid);
    assert_int_equal(raw_send_str(fd, head), 0);
    return fd;
}

/* Waits until the server's log shows it started stopping. */
static void wait_for_log(struct sluice_proc *p, const char *what) {
    for (int i = 0; i < 500; i++) {
        char *log = sluice_log_read(p);
        bool seen = log && strstr(log, what);
        free(log);
        if (seen) return;
        usleep(10000);
    }
    sluice_log_dump(p);
    fail_msg("\"%s\" never appeared in the log", what);
}

static void in_flight_request_finishes(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    static const char *const env[] = {"SHUTDOWN_GRACE_SECONDS=10", NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    int port = sluice_port(p);
    pid_t pid = sluice_pid(p);

    /* Two requests in flight: one served inline, one through the request pool. */
    int a = start_partial(p, "/healthz", "inflight-inline");
    int b = start_partial(p, "/readyz", "inflight-pool");
    usleep(200000); /* let the server read the heads */

    double t0 = now_ms();
    assert_int_equal(kill(pid, SIGTERM), 0);
    wait_for_log(p, "stopping");
    usleep(100000);

    /* New connections are refused (the listening socket is closed)... */
    int c = raw_connect_port(port);
    if (c >= 0) {
        /* ...or, at the very least, never answered with a success. */
        raw_send_str(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        struct http_response rc;
        int got = raw_read_response(c, 2000, &rc);
        long st = got == 0 ? rc.status : 0;
        if (got == 0) http_response_cleanup(&rc);
        close(c);
        fail_msg("a new connection was accepted after SIGTERM (status %ld)", st);
    }
    assert_true(sluice_alive(p)); /* still waiting for a and b */

    /* The in-flight requests still get their answers. */
    assert_int_equal(raw_send_str(a, "456789"), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(a, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "X-Request-Id"), "inflight-inline");
    assert_non_null(strstr(r.body, "\"ok\""));
    http_response_cleanup(&r);
    close(a);

    assert_int_equal(raw_send_str(b, "456789"), 0);
    assert_int_equal(raw_read_response(b, 5000, &r), 0);
    if (r.status != 200) fail_msg("in-flight /readyz answered %ld: %s", r.status, r.body);
    assert_string_equal(http_header(&r, "X-Request-Id"), "inflight-pool");
    http_response_cleanup(&r);
    close(b);

    /* Then the process exits 0, well within the grace period. */
    char *log = sluice_log_read(p);
    int status = sluice_stop_timeout(p, 0, 12);
    double took = now_ms() - t0;
    if (status != 0) {
        fprintf(stderr, "%s\n", log ? log : "");
        fail_msg("exit status %d after SIGTERM", status);
    }
    free(log);
    assert_true(took < 10000.0);
    testdb_drop(&db);
}

static void grace_period_bounds_shutdown(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    static const char *const env[] = {"SHUTDOWN_GRACE_SECONDS=2", NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    /* A request whose body never completes. */
    int a = start_partial(p, "/healthz", "never-finishes");
    usleep(200000);
    double t0 = now_ms();
    int status = sluice_stop_timeout(p, SIGTERM, 15);
    double took = now_ms() - t0;
    close(a);
    if (status != 0) fail_msg("exit status %d after SIGTERM with a stuck request", status);
    /* It waited for the request (about 2 s), but not much longer. */
    if (took < 1500.0 || took > 6000.0)
        fail_msg("shutdown took %.0f ms with SHUTDOWN_GRACE_SECONDS=2", took);
    testdb_drop(&db);
}

static void idle_shutdown_is_quick(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    struct sluice_proc *p = sluice_start(db.url, NULL);
    assert_non_null(p);
    struct http_response r;
    assert_int_equal(http_get(p, "/readyz", &r), 0);
    http_response_cleanup(&r);
    double t0 = now_ms();
    int status = sluice_stop_timeout(p, SIGTERM, 15);
    double took = now_ms() - t0;
    assert_int_equal(status, 0);
    if (took > 3000.0) fail_msg("an idle server took %.0f ms to stop", took);
    testdb_drop(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_flight_request_finishes),
        cmocka_unit_test(grace_period_bounds_shutdown),
        cmocka_unit_test(idle_shutdown_is_quick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
