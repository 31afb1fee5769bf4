/* test_audit_flood: refused bearer tokens cannot flood the audit log (issue 14 point 3).
 * 10,000 refused tokens (two reasons, four threads) from one address leave a few rows
 * (one per reason and AUDIT_REFUSAL_WINDOW_SECONDS window) whose counts add up to
 * 10,000, and /metrics counts each refusal; refusals from more addresses than
 * AUDIT_REFUSAL_KEYS groups (clients bound to 127.0.2.x) share one row per reason
 * without an address. The group owns the database and the process. */
#include "auth_util.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WINDOW_S 5
#define FLOOD 10000
#define THREADS 4
#define ADDRESSES 20
#define PER_ADDRESS 20

static struct test_db db;
static struct sluice_proc *proc;
static char bad_signature[2048];
static const char malformed[] = "not-a-jwt";
static atomic_long sent, unauthorized;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"AUDIT_REFUSAL_WINDOW_SECONDS=5", "AUDIT_REFUSAL_KEYS=8",
                                      "LOG_LEVEL=warn", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    char *token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    if (!token) return -1;
    /* The same token with its signature changed: well-formed, refused. */
    snprintf(bad_signature, sizeof bad_signature, "%s", token);
    size_t n = strlen(bad_signature);
    bad_signature[n - 2] = bad_signature[n - 2] == 'A' ? 'B' : 'A';
    free(token);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    return test_server_stop(&db, &proc);
}

static long rows(const char *where) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_log WHERE action = 'token.refused' AND %s", where);
    return db_long(db.url, sql);
}

static long counted(const char *where) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum((details->>'count')::bigint), 0) FROM audit_log "
             "WHERE action = 'token.refused' AND %s",
             where);
    return db_long(db.url, sql);
}

static long metric(const char *line) {
    struct http_response r;
    if (http_get(proc, "/metrics", &r) != 0) return -1;
    long v = -1;
    const char *at = r.body ? strstr(r.body, line) : NULL;
    if (at) v = strtol(at + strlen(line), NULL, 10);
    http_response_cleanup(&r);
    return v;
}

static void *flood(void *arg) {
    long me = (long)(intptr_t)arg;
    for (long i = me; i < FLOOD; i += THREADS) {
        struct http_response r;
        const char *token = i % 2 ? malformed : bad_signature;
        if (bearer_do(proc, "GET", "/centres/", token, NULL, &r) == 0) {
            atomic_fetch_add(&sent, 1);
            if (r.status == 401) atomic_fetch_add(&unauthorized, 1);
            http_response_cleanup(&r);
        }
    }
    return NULL;
}

static void ten_thousand_refusals(void **state) {
    (void)state;
    long before = rows("true");
    http_recording(false); /* 10,000 identical 401s; test_auth_bearer records this answer */
    pthread_t t[THREADS];
    double t0 = now_ms();
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, flood, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    double elapsed_s = (now_ms() - t0) / 1000.0;
    http_recording(true);
    assert_int_equal(atomic_load(&sent), FLOOD);
    assert_int_equal(atomic_load(&unauthorized), FLOOD);
    /* The first of each reason is written at once. */
    assert_true(rows("client_addr = '127.0.0.1' AND details->>'code' = 'bad_signature'") >= 1);
    assert_true(rows("client_addr = '127.0.0.1' AND details->>'code' = 'malformed'") >= 1);
    /* Every window closed: the counts are in. */
    usleep((WINDOW_S + 3) * 1000 * 1000);
    long written = rows("true") - before;
    long bound = 2 * ((long)(elapsed_s / WINDOW_S) + 2);
    fprintf(stderr, "audit flood: %d refused tokens in %.1f s (%.0f/s) -> %ld audit rows\n", FLOOD,
            elapsed_s, FLOOD / elapsed_s, written);
    if (written > bound)
        fail_msg("%ld rows for %d refusals (at most %ld expected)", written, FLOOD, bound);
    assert_int_equal(counted("details->>'code' = 'bad_signature'"), FLOOD / 2);
    assert_int_equal(counted("details->>'code' = 'malformed'"), FLOOD / 2);
    assert_true(rows("details->>'code' = 'bad_signature' AND details->>'last_at' IS NOT NULL "
                     "AND details->>'path' = '/centres/' AND request_id IS NOT NULL") >= 1);
    /* /metrics counts every one. */
    assert_int_equal(metric("sluice_auth_token_refusals_total{reason=\"bad_signature\"} "),
                     FLOOD / 2);
    assert_int_equal(metric("sluice_auth_token_refusals_total{reason=\"malformed\"} "), FLOOD / 2);
}

/* One refused request from 127.0.2.<host>. 0 when answered 401. */
static int refused_from(int host) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in from = {.sin_family = AF_INET};
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.2.%d", host);
    inet_pton(AF_INET, addr, &from.sin_addr);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)sluice_port(proc))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    char req[2600];
    snprintf(req, sizeof req,
             "GET /centres/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             bad_signature);
    struct http_response r;
    int rc = raw_send_str(fd, req) == 0 && raw_read_response(fd, 10000, &r) == 0 ? 0 : -1;
    if (rc == 0) {
        rc = r.status == 401 ? 0 : -1;
        http_response_cleanup(&r);
    }
    close(fd);
    return rc;
}

static void many_addresses_share_a_row(void **state) {
    (void)state;
    long before = rows("true");
    for (int i = 0; i < PER_ADDRESS; i++)
        for (int h = 1; h <= ADDRESSES; h++) assert_int_equal(refused_from(h), 0);
    usleep((WINDOW_S + 3) * 1000 * 1000);
    long written = rows("true") - before;
    fprintf(stderr, "audit flood: %d addresses x %d refusals -> %ld audit rows\n", ADDRESSES,
            PER_ADDRESS, written);
    /* 8 groups with an address, the rest in one row without (per window). */
    assert_true(rows("client_addr LIKE '127.0.2.%'") <= 8 * 2);
    assert_true(rows("client_addr IS NULL AND details->>'other_addresses' = 'true'") >= 1);
    assert_true(written <= 2 * (8 + 1));
    assert_int_equal(counted("client_addr LIKE '127.0.2.%' OR (client_addr IS NULL AND "
                             "details->>'other_addresses' = 'true')"),
                     ADDRESSES * PER_ADDRESS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ten_thousand_refusals),
        cmocka_unit_test(many_addresses_share_a_row),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
