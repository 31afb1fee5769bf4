/* test_jobs_cluster: two `sluice serve` processes on one database (JOB_TEST_KINDS=true,
 * JOB_LEASE_SECONDS=2, SHUTDOWN_GRACE_SECONDS=1):
 *   - 1,000 jobs, each recording its execution: every one runs exactly once, none is
 *     lost, both processes take part;
 *   - kill -9 of the process running a job: the job is taken again once its lease
 *     expired and completes (attempt 2), with a "lease expired" event;
 *   - SIGTERM of the process running a long job: it exits 0 after the grace period and
 *     the job is released (the attempt does not count) to the other process;
 *   - a schedule missed by both processes enqueues exactly one job, and a schedule
 *     firing every minute gets one job per fire time;
 *   - a fire missed while every copy was down runs once at start-up.
 * The group owns the database and both processes. */
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
static struct sluice_proc *procs[2];

static const char *const env[] = {"JOB_TEST_KINDS=true",
                                  "JOB_LEASE_SECONDS=2",
                                  "SHUTDOWN_GRACE_SECONDS=1",
                                  "REQUEST_WORKERS=2",
                                  "SCHEDULES=yearly=0 0 1 1 * test.fail {\"times\": 0}; "
                                  "minutely=* * * * * test.sleep {\"ms\": 0}",
                                  NULL};

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&db) != 0) return -1;
    for (int i = 0; i < 2; i++)
        if (!(procs[i] = sluice_start(db.url, env))) return -1;
    char *ok = testdb_query(db.url, "CREATE TABLE sluice_test_runs (job_id bigint, attempt int,"
                                    " pid int, at timestamptz DEFAULT clock_timestamp())");
    free(ok);
    return ok ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        if (!procs[i]) continue;
        int st = sluice_stop(procs[i], SIGTERM);
        if (st != 0) {
            fprintf(stderr, "server %d exit status %d\n", i, st);
            rc = -1;
        }
    }
    testdb_drop(&db);
    return rc;
}

static void thousand_jobs(void **state) {
    (void)state;
    char *ok = testdb_query(db.url, "INSERT INTO jobs (kind, args) SELECT 'test.count',"
                                    " '{\"n\": 1, \"sleep_ms\": 2, \"record\": true}'"
                                    " FROM generate_series(1, 1000)");
    assert_non_null(ok);
    free(ok);
    assert_true(wait_count(db.url,
                           "SELECT count(*) FROM jobs WHERE kind = 'test.count' AND status IN"
                           " ('succeeded', 'failed', 'cancelled')",
                           1000, 180));
    /* None lost: all succeeded at their first attempt. None twice: one run each. */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE kind = 'test.count' AND"
                                     " status = 'succeeded' AND attempt = 1"),
                     1000);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM sluice_test_runs"), 1000);
    assert_int_equal(db_long(db.url, "SELECT count(DISTINCT job_id) FROM sluice_test_runs"), 1000);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM sluice_test_runs r JOIN jobs j ON"
                                     " j.id = r.job_id WHERE j.kind = 'test.count'"),
                     1000);
    char sql[256];
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sluice_test_runs WHERE pid = %d",
                 (int)sluice_pid(procs[i]));
        long n = db_long(db.url, sql);
        fprintf(stderr, "process %d ran %ld of the 1000 jobs\n", i, n);
        assert_true(n > 0);
    }
}

/* Index in procs of the process whose pid is in the job's lease owner (host/pid/wN). */
static int owner_index(long id) {
    char *owner = job_column(db.url, id, "lease_owner");
    int found = -1;
    for (int i = 0; owner && i < 2; i++) {
        if (!procs[i]) continue;
        char needle[32];
        snprintf(needle, sizeof needle, "/%d/", (int)sluice_pid(procs[i]));
        if (strstr(owner, needle)) found = i;
    }
    free(owner);
    return found;
}

static long enqueue_sql(const char *kind, const char *args) {
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO jobs (kind, args) VALUES ('%s', '%s') RETURNING id",
             kind, args);
    return db_long(db.url, sql);
}

static void kill9_job_taken_again(void **state) {
    (void)state;
    long id = enqueue_sql("test.sleep", "{\"ms\": 3000, \"steps\": 30}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "running", 30));
    int victim = owner_index(id);
    assert_true(victim >= 0);
    int dead_pid = (int)sluice_pid(procs[victim]);
    assert_int_equal(sluice_stop(procs[victim], SIGKILL), 128 + SIGKILL);
    procs[victim] = NULL;
    /* Its lease expires (2 s), the other process's reaper queues it again, it runs. */
    assert_true(job_wait_status(db.url, id, "succeeded", 60));
    char *v = job_column(db.url, id, "attempt::text");
    assert_string_equal(v, "2");
    free(v);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM job_events WHERE job_id = %ld AND message LIKE"
             " 'lease expired: worker %%/%d/%%queued again'",
             id, dead_pid);
    assert_int_equal(db_long(db.url, sql), 1);
    procs[victim] = sluice_start(db.url, env);
    assert_non_null(procs[victim]);
}

static void sigterm_releases_running_job(void **state) {
    (void)state;
    long id = enqueue_sql("test.sleep", "{\"ms\": 600000, \"steps\": 6000}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "running", 30));
    int victim = owner_index(id);
    assert_true(victim >= 0);
    /* SHUTDOWN_GRACE_SECONDS=1: the job does not finish in time; it is released. */
    assert_int_equal(sluice_stop(procs[victim], SIGTERM), 0);
    procs[victim] = NULL;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM job_events WHERE job_id = %ld AND message LIKE '%%released%%'",
             id);
    assert_int_equal(db_long(db.url, sql), 1);
    /* The other process takes it, as attempt 1 again. */
    int other = 1 - victim;
    double deadline = now_ms() + 30000;
    while (now_ms() < deadline && owner_index(id) != other) pause_ms(50);
    assert_int_equal(owner_index(id), other);
    char *v = job_column(db.url, id, "status || ' ' || attempt");
    assert_string_equal(v, "running 1");
    free(v);
    snprintf(sql, sizeof sql, "UPDATE jobs SET cancel_requested = true WHERE id = %ld", id);
    free(testdb_query(db.url, sql));
    assert_true(job_wait_status(db.url, id, "cancelled", 30));
    procs[victim] = sluice_start(db.url, env);
    assert_non_null(procs[victim]);
}

/* Waits until every running process made two more scheduler passes. */
static void two_scheduler_passes(void) {
    double start[2] = {-1, -1};
    for (int i = 0; i < 2; i++)
        if (procs[i]) start[i] = metric_value(procs[i], "sluice_scheduler_ticks_total");
    for (int i = 0; i < 2; i++) {
        if (!procs[i]) continue;
        double deadline = now_ms() + 30000;
        while (now_ms() < deadline &&
               metric_value(procs[i], "sluice_scheduler_ticks_total") < start[i] + 2)
            pause_ms(100);
        assert_true(metric_value(procs[i], "sluice_scheduler_ticks_total") >= start[i] + 2);
    }
}

static void missed_schedule_enqueues_once(void **state) {
    (void)state;
    /* Both processes see the yearly schedule overdue (two fires missed): one job, for the
     * latest fire time. */
    long before = db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'");
    free(testdb_query(db.url, "UPDATE schedules SET last_fire_at = now() - interval '2 years "
                              "1 day' WHERE name = 'yearly'"));
    assert_true(wait_count(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'",
                           before + 1, 30));
    two_scheduler_passes();
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'"),
                     before + 1);
    char *key = testdb_query(db.url, "SELECT dedupe_key FROM jobs WHERE schedule_name = "
                                     "'yearly' ORDER BY id DESC LIMIT 1");
    char *expect = testdb_query(db.url, "SELECT 'schedule:yearly@' || to_char(date_trunc("
                                        "'year', now() AT TIME ZONE 'Europe/Paris') AT TIME "
                                        "ZONE 'Europe/Paris' AT TIME ZONE 'UTC', "
                                        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    assert_string_equal(key, expect);
    free(key);
    free(expect);
}

static void minutely_fires_once_per_fire_time(void **state) {
    (void)state;
    /* The earlier tests took more than a minute; wait for two fires if not. */
    assert_true(
        wait_count(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'minutely'", 2, 150));
    two_scheduler_passes();
    long fires = db_long(db.url, "SELECT count(DISTINCT dedupe_key) FROM jobs WHERE "
                                 "schedule_name = 'minutely'");
    long jobs = db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'minutely'");
    fprintf(stderr, "minutely: %ld fire times, %ld jobs\n", fires, jobs);
    assert_true(fires >= 2);
    assert_int_equal(jobs, fires);
    /* Fire times are whole minutes, one minute apart at most missed by restarts. */
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = "
                                     "'minutely' AND dedupe_key NOT LIKE "
                                     "'schedule:minutely@____-__-__T__:__:00Z'"),
                     0);
}

static void missed_while_down_runs_once_at_start(void **state) {
    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sluice_stop(procs[i], SIGTERM), 0);
        procs[i] = NULL;
    }
    long before = db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'");
    free(testdb_query(db.url, "UPDATE schedules SET last_fire_at = now() - interval '3 years "
                              "1 day' WHERE name = 'yearly'"));
    procs[0] = sluice_start(db.url, env);
    assert_non_null(procs[0]);
    assert_true(wait_count(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'",
                           before + 1, 30));
    procs[1] = sluice_start(db.url, env);
    assert_non_null(procs[1]);
    two_scheduler_passes();
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly'"),
                     before + 1);
    assert_true(wait_count(db.url,
                           "SELECT count(*) FROM jobs WHERE schedule_name = 'yearly' AND"
                           " status = 'succeeded'",
                           before + 1, 30));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousand_jobs),
        cmocka_unit_test(kill9_job_taken_again),
        cmocka_unit_test(sigterm_releases_running_job),
        cmocka_unit_test(missed_schedule_enqueues_once),
        cmocka_unit_test(minutely_fires_once_per_fire_time),
        cmocka_unit_test(missed_while_down_runs_once_at_start),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
