/* integration_orders_sync_readers: readers during a synchronisation of 100,000 ERP
 * orders (`sluice generate erp-orders`). After a first sync, every log-book date moves by
 * a day, so the second sync rewrites every order; meanwhile a reader thread polls
 * GET /commandes-volets/?limit=1000 and checks that every answer is a full page (never
 * empty, never short) whose orders all come from one synchronisation (one
 * date_synchronisation): the whole previous set or the whole new one, never a mix. It
 * must also have been answered while the sync ran (readers are not blocked) and have
 * seen both sets. */
#include "auth_util.h"
#include "harness.h"
#include "harness_mdb.h"
#include "jobs_util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct reader {
    struct sluice_proc *proc;
    const char *token;
    atomic_bool stop;
    long answers, bad;
    char first_ts[64], last_ts[64];
    long changes; /* times the page's synchronisation time changed */
    char why[512];
};

static void *read_loop(void *arg) {
    struct reader *r = arg;
    while (!atomic_load(&r->stop)) {
        struct http_response resp = {0};
        if (bearer_do(r->proc, "GET", "/commandes-volets/?limit=1000", r->token, NULL, &resp) !=
                0 ||
            resp.status != 200) {
            r->bad++;
            snprintf(r->why, sizeof r->why, "status %ld: %.200s", resp.status,
                     resp.body ? resp.body : "");
            http_response_cleanup(&resp);
            continue;
        }
        json_t *items = json_object_get(resp.json, "items");
        size_t n = json_array_size(items);
        const char *ts =
            n ? json_string_value(json_object_get(json_array_get(items, 0), "date_synchronisation"))
              : NULL;
        bool ok = n == 1000 && ts;
        for (size_t i = 1; ok && i < n; i++) {
            const char *t = json_string_value(
                json_object_get(json_array_get(items, i), "date_synchronisation"));
            if (!t || strcmp(t, ts) != 0) {
                ok = false;
                snprintf(r->why, sizeof r->why, "item %zu synchronised at %s, item 0 at %s", i,
                         t ? t : "?", ts);
            }
        }
        if (!ok) {
            r->bad++;
            if (n != 1000) snprintf(r->why, sizeof r->why, "a page of %zu orders", n);
        } else {
            if (!r->first_ts[0]) snprintf(r->first_ts, sizeof r->first_ts, "%s", ts);
            if (r->last_ts[0] && strcmp(r->last_ts, ts) != 0) r->changes++;
            snprintf(r->last_ts, sizeof r->last_ts, "%s", ts);
        }
        r->answers++;
        http_response_cleanup(&resp);
    }
    return NULL;
}

static long sync_job(struct sluice_proc *p, const char *token, const char *url) {
    long id = job_post(p, token, "{\"kind\": \"orders.sync\"}");
    assert_true(id > 0);
    if (!job_wait_status(url, id, "succeeded,failed,cancelled", 500)) fail_msg("sync timed out");
    char *status = job_column(url, id, "status");
    if (strcmp(status, "succeeded") != 0) {
        char *err = job_column(url, id, "coalesce(last_error, '')");
        fail_msg("sync %s: %s", status, err);
    }
    free(status);
    return id;
}

static void readers_see_whole_sets(void **state) {
    (void)state;
    struct test_mdb erp;
    assert_int_equal(testmdb_create(&erp), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/docker/mariadb/init.sql", getenv("SLUICE_SOURCE_DIR"));
    assert_int_equal(testmdb_exec_file(erp.url, path), 0);
    const char *gen[] = {"generate", "erp-orders", "--mysql-url", erp.url, "--orders",
                         "100000",   "--seed",     "3",           NULL};
    char *out = NULL;
    int rc = run_sluice_cli(NULL, gen, NULL, &out);
    if (rc != 0) fail_msg("generate: %s", out ? out : "");
    free(out);

    struct test_db pg;
    struct sluice_proc *p = NULL;
    char menv[600];
    snprintf(menv, sizeof menv, "MYSQL_URL=%s", erp.reader_url);
    const char *env[] = {menv, "SCHEDULES=", NULL};
    assert_int_equal(test_server_start(&pg, env, &p), 0);
    char *token = test_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    assert_non_null(token);
    sync_job(p, token, pg.url);
    long orders = db_long(pg.url, "SELECT count(*) FROM commandes_volets_roulants");
    assert_true(orders > 50000);

    assert_int_equal(testmdb_exec(erp.url, "UPDATE A_Logbuch SET Datum = Datum + INTERVAL 1 DAY"
                                           " WHERE Datum > '2000-01-01'"),
                     0);
    struct reader r = {.proc = p, .token = token};
    pthread_t t;
    http_recording(false); /* thousands of identical pages: one recorded below is enough */
    assert_int_equal(pthread_create(&t, NULL, read_loop, &r), 0);
    sync_job(p, token, pg.url);
    pause_ms(300);
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    http_recording(true);
    if (r.bad) fail_msg("%ld of %ld answers were wrong; last: %s", r.bad, r.answers, r.why);
    assert_true(r.answers >= 3);
    assert_true(r.changes == 1); /* the old set, then the new one, exactly once */
    assert_string_not_equal(r.first_ts, r.last_ts);
    assert_int_equal(db_long(pg.url, "SELECT count(*) FROM commandes_volets_roulants"), orders);
    assert_int_equal(db_long(pg.url, "SELECT updated FROM sync_runs ORDER BY id DESC LIMIT 1"),
                     orders);
    struct http_response resp = {0};
    assert_int_equal(bearer_do(p, "GET", "/commandes-volets/?limit=5", token, NULL, &resp), 0);
    assert_int_equal(resp.status, 200);
    http_response_cleanup(&resp);
    free(token);
    assert_int_equal(test_server_stop(&pg, &p), 0);
    testmdb_drop(&erp);
}

int main(void) {
    if (!testmdb_admin_url()) {
        fprintf(stderr, "SLUICE_TEST_MYSQL_ADMIN_URL is not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(readers_see_whole_sets)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
