/* test_jobs_queues: job queues (issue 9 point 5). One server with
 * JOB_QUEUES=default:1,ingest:2 and the test kinds (test.ingest lives in the `ingest`
 * queue, the others in `default`):
 *   - three long ingest jobs: two run (the ingest queue's two threads), the third waits;
 *   - meanwhile default jobs still run at once on the default queue's thread, and its
 *     worker never takes the waiting ingest job;
 *   - GET /jobs?queue= filters, every job shows its queue; /metrics shows the workers,
 *     busy workers, depth and jobs by queue.
 * The group owns the database and the process. */
#include "jobs_util.h"

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
static char *admin;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"JOB_TEST_KINDS=true", "JOB_QUEUES=default:1,ingest:2",
                                      "SHUTDOWN_GRACE_SECONDS=1", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return admin ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    return test_server_stop(&db, &proc);
}

static void expect_metric(const char *name, double expected) {
    double v = metric_value(proc, name);
    if (v != expected) fail_msg("%s: %g, expected %g", name, v, expected);
}

static void long_ingests_leave_default_jobs_running(void **state) {
    (void)state;
    long ingest[3];
    for (int i = 0; i < 3; i++) {
        ingest[i] =
            job_post(proc, admin,
                     "{\"kind\": \"test.ingest\", \"args\": {\"ms\": 120000, \"steps\": 1200}}");
        assert_true(ingest[i] > 0);
    }
    assert_true(wait_count(
        db.url, "SELECT count(*) FROM jobs WHERE kind = 'test.ingest' AND status = 'running'", 2,
        30));
    /* Default jobs run at once while both ingest threads are busy. */
    long small[5];
    for (int i = 0; i < 5; i++) {
        small[i] = job_post(proc, admin, "{\"kind\": \"test.count\", \"args\": {\"n\": 3}}");
        assert_true(small[i] > 0);
    }
    for (int i = 0; i < 5; i++) assert_true(job_wait_status(db.url, small[i], "succeeded", 30));
    /* The ingest jobs: still two running and one queued (the default worker never took it). */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE kind = 'test.ingest'"
                                     " AND status = 'running' AND lease_owner LIKE '%/ingest-w%'"),
                     2);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE kind = 'test.ingest'"
                                     " AND status = 'queued' AND attempt = 0"),
                     1);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE kind = 'test.count'"
                                     " AND lease_owner IS NULL AND status = 'succeeded'"
                                     " AND queue = 'default'"),
                     5);

    /* The API shows the queue and filters on it. */
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/jobs?queue=ingest", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "queue")),
                            "ingest");
    http_response_cleanup(&r);
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld", small[0]);
    assert_int_equal(bearer_do(proc, "GET", path, admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "queue")), "default");
    http_response_cleanup(&r);
    assert_int_equal(
        bearer_do(proc, "GET", "/jobs?queue=default&status=succeeded", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 5);
    http_response_cleanup(&r);

    /* /metrics by queue. */
    expect_metric("sluice_job_workers{queue=\"default\"}", 1);
    expect_metric("sluice_job_workers{queue=\"ingest\"}", 2);
    expect_metric("sluice_job_workers_busy{queue=\"ingest\"}", 2);
    expect_metric("sluice_job_workers_busy{queue=\"default\"}", 0);
    expect_metric("sluice_jobs_queue_depth{queue=\"ingest\"}", 1);
    expect_metric("sluice_jobs_queue_depth{queue=\"default\"}", 0);
    expect_metric("sluice_jobs{queue=\"ingest\",kind=\"test.ingest\",status=\"running\"}", 2);
    expect_metric("sluice_jobs{queue=\"default\",kind=\"test.count\",status=\"succeeded\"}", 5);

    /* Cancelling a running ingest job lets the waiting one start. */
    snprintf(path, sizeof path, "/jobs/%ld/cancel", ingest[0]);
    assert_int_equal(bearer_do(proc, "POST", path, admin, NULL, &r), 0);
    http_response_cleanup(&r);
    snprintf(path, sizeof path, "/jobs/%ld/cancel", ingest[1]);
    assert_int_equal(bearer_do(proc, "POST", path, admin, NULL, &r), 0);
    http_response_cleanup(&r);
    assert_true(job_wait_status(db.url, ingest[2], "running", 30));
    snprintf(path, sizeof path, "/jobs/%ld/cancel", ingest[2]);
    assert_int_equal(bearer_do(proc, "POST", path, admin, NULL, &r), 0);
    http_response_cleanup(&r);
    for (int i = 0; i < 3; i++) assert_true(job_wait_status(db.url, ingest[i], "cancelled", 30));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_ingests_leave_default_jobs_running),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
