/* test_jobs_claim: the claim never marks more jobs `running` than it hands to its worker,
 * whatever plan PostgreSQL picks (issue 14 point 1). The test database gets
 * enable_hashjoin and enable_mergejoin off (ALTER DATABASE, so every connection of the
 * server has them) and an empty, analyzed jobs table: the shape in which the old
 * settle-and-claim statement ran its "next job" subquery once per row of jobs and set a
 * whole burst to `running` for one worker. Then, in rounds — the first on the server's
 * fresh connections, the next ones each after a PostgreSQL restart (SLUICE_TEST_PG_CTL)
 * — 300 jobs with max_attempts 1 are posted from 8 threads: every job must run exactly
 * once (sluice_test_runs), succeed at attempt 1, and none may fail with "lease expired";
 * a sampler checks that no more jobs are `running` at once than there are workers.
 * Prints each round's time and failures (the figures of the closing note).
 * Registered RUN_SERIAL: it restarts the shared test PostgreSQL; exits 77 (skipped)
 * without SLUICE_TEST_PG_CTL. The group owns the database and the process. */
#include "jobs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_PER_ROUND 300
#define POSTERS 8
#define ROUNDS 3
#define WORKERS 4

static struct test_db db;
static struct sluice_proc *proc;
static char *admin;
static bool pg_stopped;

static bool run_sql(const char *sql) {
    char *ok = testdb_query(db.url, sql);
    free(ok);
    return ok != NULL;
}

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"JOB_TEST_KINDS=true", "JOB_LEASE_SECONDS=2",
                                      "WORKER_THREADS=4" /* WORKERS */, "REQUEST_WORKERS=2", NULL};
    if (testdb_create(&db) != 0) return -1;
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET enable_hashjoin = off", db.name);
    if (!run_sql(sql)) return -1;
    snprintf(sql, sizeof sql, "ALTER DATABASE %s SET enable_mergejoin = off", db.name);
    if (!run_sql(sql)) return -1;
    if (!(proc = sluice_start(db.url, env))) return -1;
    if (!run_sql("CREATE TABLE sluice_test_runs (job_id bigint, attempt int, pid int,"
                 " at timestamptz DEFAULT clock_timestamp())"))
        return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return admin ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    if (pg_stopped && testdb_pg_ctl("start") == 0) pg_stopped = false;
    int rc = proc ? sluice_stop(proc, SIGTERM) : 0;
    if (rc != 0) fprintf(stderr, "server exit status %d\n", rc);
    free(admin);
    testdb_drop(&db);
    return rc == 0 && !pg_stopped ? 0 : -1;
}

struct poster {
    pthread_t thread;
    long to_post, posted;
};

static void *poster(void *arg) {
    struct poster *me = arg;
    for (long i = 0; i < me->to_post; i++) {
        struct http_response r;
        int rc = bearer_do(proc, "POST", "/jobs", admin,
                           "{\"kind\": \"test.count\", \"max_attempts\": 1,"
                           " \"args\": {\"n\": 1, \"sleep_ms\": 10, \"record\": true}}",
                           &r);
        if (rc == 0 && r.status == 202)
            me->posted++;
        else
            fprintf(stderr, "POST /jobs: %s %ld %.300s\n", rc ? "transport error" : "status",
                    r.status, r.body ? r.body : "");
        http_response_cleanup(&r);
    }
    return NULL;
}

/* Samples how many jobs are `running` while a burst runs: never more than the workers. */
struct sampler {
    pthread_t thread;
    atomic_bool stop;
    long max_running;
};

static void *sample(void *arg) {
    struct sampler *me = arg;
    while (!atomic_load(&me->stop)) {
        long n = db_long(db.url, "SELECT count(*) FROM jobs WHERE status = 'running'");
        if (n > me->max_running) me->max_running = n;
        pause_ms(20);
    }
    return NULL;
}

/* Posts a burst on an empty, analyzed jobs table and checks that every job ran once. */
static void burst(int round) {
    assert_true(run_sql("DELETE FROM sluice_test_runs"));
    assert_true(run_sql("DELETE FROM jobs"));
    assert_true(run_sql("ANALYZE jobs"));
    struct poster t[POSTERS] = {0};
    struct sampler sampler = {.max_running = 0};
    atomic_init(&sampler.stop, false);
    assert_int_equal(pthread_create(&sampler.thread, NULL, sample, &sampler), 0);
    double t0 = now_ms();
    for (int i = 0; i < POSTERS; i++) {
        t[i].to_post = JOBS_PER_ROUND / POSTERS + (i < JOBS_PER_ROUND % POSTERS);
        assert_int_equal(pthread_create(&t[i].thread, NULL, poster, &t[i]), 0);
    }
    long total = 0;
    for (int i = 0; i < POSTERS; i++) {
        pthread_join(t[i].thread, NULL);
        total += t[i].posted;
    }
    assert_int_equal(total, JOBS_PER_ROUND);
    bool done = wait_count(db.url,
                           "SELECT count(*) FROM jobs WHERE status IN"
                           " ('succeeded', 'failed', 'cancelled')",
                           JOBS_PER_ROUND, 120);
    double secs = (now_ms() - t0) / 1000.0;
    atomic_store(&sampler.stop, true);
    pthread_join(sampler.thread, NULL);
    long failed = db_long(db.url, "SELECT count(*) FROM jobs WHERE status = 'failed'");
    long expired = db_long(db.url, "SELECT count(*) FROM jobs WHERE last_error LIKE"
                                   " 'lease expired%'");
    long runs = db_long(db.url, "SELECT count(*) FROM sluice_test_runs");
    fprintf(stderr,
            "round %d: %d jobs in %.2f s, %ld failed (%ld lease expired), %ld runs,"
            " at most %ld running at once\n",
            round, JOBS_PER_ROUND, secs, failed, expired, runs, sampler.max_running);
    assert_true(done);
    assert_true(sampler.max_running <= WORKERS);
    assert_int_equal(expired, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs WHERE status = 'succeeded'"
                                     " AND attempt = 1"),
                     JOBS_PER_ROUND);
    assert_int_equal(runs, JOBS_PER_ROUND);
    assert_int_equal(db_long(db.url, "SELECT count(DISTINCT job_id) FROM sluice_test_runs"),
                     JOBS_PER_ROUND);
}

/* Waits until the server answers database routes again after a restart. */
static void wait_db_back(void) {
    for (int i = 0; i < 300; i++) {
        struct http_response r;
        if (http_get(proc, "/readyz", &r) == 0 && r.status == 200) {
            http_response_cleanup(&r);
            return;
        }
        http_response_cleanup(&r);
        pause_ms(100);
    }
    fail_msg("the server did not get its database back");
}

static void burst_under_nested_loop_plans(void **state) {
    (void)state;
    /* The server's connections have the planner settings of the database. */
    assert_int_equal(db_long(db.url, "SELECT (current_setting('enable_hashjoin') = 'off'"
                                     " AND current_setting('enable_mergejoin') = 'off')::int"),
                     1);
    burst(1);
}

static void burst_after_each_restart(void **state) {
    (void)state;
    for (int round = 2; round <= ROUNDS + 1; round++) {
        assert_int_equal(testdb_pg_ctl("stop -m fast"), 0);
        pg_stopped = true;
        pause_ms(300);
        assert_int_equal(testdb_pg_ctl("start"), 0);
        pg_stopped = false;
        wait_db_back();
        burst(round);
    }
}

int main(void) {
    if (!getenv("SLUICE_TEST_PG_CTL") || !*getenv("SLUICE_TEST_PG_CTL")) {
        fprintf(stderr, "SKIPPED: SLUICE_TEST_PG_CTL is not set (scripts/test sets it)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_under_nested_loop_plans),
        cmocka_unit_test(burst_after_each_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
