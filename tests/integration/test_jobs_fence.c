/* test_jobs_fence: fenced job commits, statement timeout and cancellation (issue 9
 * point 4), against the real PostgreSQL.
 * Directly on workers/job_fence.c (a job row written by the test, a struct job_ctx of
 * our own):
 *   - job_transaction commits while the lease is held, and its counters then count;
 *   - the lease taken by another worker inside the transaction: it rolls back, returns
 *     JOB_LEASE_LOST, the staged counters are dropped and job_cancelled() turns true;
 *   - while a fenced transaction is open, the keeper's renewal (queue_renew, another
 *     connection with lock_timeout) does not wait, and the reaper (queue_reap) cannot
 *     take the job even with its lease expired (nor can the server's keeper) — it does
 *     once the transaction ended;
 *   - job_ctx_interrupt from another thread interrupts a pg_sleep (SQLSTATE 57014).
 * Through the server (JOB_TEST_KINDS, JOB_STATEMENT_TIMEOUT_MS=3000):
 *   - cancelling a running test.sql_sleep (60 s) interrupts its statement: cancelled;
 *   - a test.sql_sleep past the statement timeout fails with SQLSTATE 57014;
 *   - test.fenced commits its rows and counters.
 * The group owns the database, the server and both struct db. */
#include "db/db.h"
#include "job_ctx.h"
#include "jobs_util.h"
#include "queue.h"

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

static struct test_db tdb;
static struct sluice_proc *proc;
static char *admin;
static struct db *db, *keeper;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"JOB_TEST_KINDS=true", "JOB_STATEMENT_TIMEOUT_MS=3000", NULL};
    if (test_server_start(&tdb, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    db = db_new(tdb.url);
    keeper = db_new(tdb.url);
    char *ok = testdb_query(tdb.url, "CREATE TABLE sluice_test_fenced (job_id bigint, attempt int,"
                                     " n int)");
    free(ok);
    return admin && ok ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    db_free(db);
    db_free(keeper);
    free(admin);
    return test_server_stop(&tdb, &proc);
}

/* A running job held by "fence-test/1/w1" at attempt 1, of a kind no worker runs. */
static long held_job(void) {
    return db_long(tdb.url,
                   "INSERT INTO jobs (kind, status, attempt, lease_owner, lease_expires_at,"
                   " started_at, queue) VALUES ('fence.test', 'running', 1, 'fence-test/1/w1',"
                   " now() + interval '1 hour', now(), 'nobody') RETURNING id");
}

static long rows_of(long id) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sluice_test_fenced WHERE job_id = %ld", id);
    return db_long(tdb.url, sql);
}

struct step {
    long id;
    void (*during)(long id); /* run inside the transaction, after the insert */
};

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO sluice_test_fenced (job_id, attempt, n) SELECT $1::bigint, 1, g"
            " FROM generate_series(1, 3) g");

static int write_rows(struct job_ctx *ctx, void *arg) {
    struct step *s = arg;
    char id[24];
    snprintf(id, sizeof id, "%ld", s->id);
    const char *v[] = {id};
    PGresult *r = db_exec(job_db(ctx), &q_insert, 1, v);
    if (!r) return -1;
    PQclear(r);
    job_count(ctx, 3, 0, 0);
    job_progress(ctx, 3, 3, "rows");
    if (s->during) s->during(s->id);
    return 0;
}

static void ctx_for(struct job_ctx *ctx, long id) {
    job_ctx_init(ctx, NULL, db, NULL, id, 1);
    ctx->lease_owner = "fence-test/1/w1";
}

static void commits_while_held(void **state) {
    (void)state;
    long id = held_job();
    struct job_ctx ctx;
    ctx_for(&ctx, id);
    struct step s = {id, NULL};
    assert_int_equal(job_transaction(&ctx, write_rows, &s), 0);
    assert_int_equal(rows_of(id), 3);
    struct job_snapshot snap;
    job_ctx_snapshot(&ctx, &snap);
    assert_int_equal(snap.ok, 3);
    assert_int_equal(snap.done, 3);
    assert_false(job_cancelled(&ctx));
    job_ctx_cleanup(&ctx);
}

static void steal(long id) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET lease_owner = 'thief/2/w1', attempt = 2 WHERE id = %ld", id);
    free(testdb_query(tdb.url, sql));
}

static void rolls_back_when_taken(void **state) {
    (void)state;
    long id = held_job();
    struct job_ctx ctx;
    ctx_for(&ctx, id);
    struct step s = {id, steal};
    assert_int_equal(job_transaction(&ctx, write_rows, &s), JOB_LEASE_LOST);
    assert_int_equal(rows_of(id), 0);
    struct job_snapshot snap;
    job_ctx_snapshot(&ctx, &snap);
    assert_int_equal(snap.ok, 0);
    assert_int_equal(snap.done, 0);
    assert_true(job_cancelled(&ctx));
    /* The connection is usable again (no transaction left open). */
    assert_int_equal(PQtransactionStatus(db_conn(db)), PQTRANS_IDLE);
    job_ctx_cleanup(&ctx);
}

/* Inside the fenced transaction (after the fence): the renewal goes through at once, the
 * reaper cannot take the expired job. */
static void renew_and_reap(long id) {
    struct job_ctx probe;
    ctx_for(&probe, id);
    probe.db = db;
    assert_int_equal(job_fence(&probe), 0);
    job_ctx_cleanup(&probe);
    free(testdb_query(tdb.url, "SELECT 1")); /* another connection */
    struct job_snapshot snap = {.total = -1};
    bool held = false, cancel = false;
    if (queue_renew(keeper, id, "fence-test/1/w1", 1, 30, &snap, &held, &cancel) != 0)
        fail_msg("the renewal waited behind the fence: %s", db_last_error(keeper));
    assert_true(held);
    /* Expire the lease (from the keeper's connection: not blocked either) and reap. */
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET lease_expires_at = now() - interval '1 minute' WHERE id = %ld", id);
    PGresult *r = db_exec_sql(keeper, sql, 0, NULL);
    if (!r) fail_msg("expiring the lease waited behind the fence: %s", db_last_error(keeper));
    PQclear(r);
    int reaped = -1;
    assert_int_equal(queue_reap(keeper, 100, &reaped), 0);
    assert_int_equal(reaped, 0);
}

static void renewal_never_waits_for_the_fence(void **state) {
    (void)state;
    PGresult *r = db_exec_sql(keeper, "SET lock_timeout = '2s'", 0, NULL);
    assert_non_null(r);
    PQclear(r);
    long id = held_job();
    struct job_ctx ctx;
    ctx_for(&ctx, id);
    struct step s = {id, renew_and_reap};
    assert_int_equal(job_transaction(&ctx, write_rows, &s), 0);
    assert_int_equal(rows_of(id), 3);
    /* Once committed, the reaper (ours, or the server's keeper first) takes the expired
     * job. */
    int reaped = -1;
    assert_int_equal(queue_reap(keeper, 100, &reaped), 0);
    char *after = job_column(tdb.url, id, "status || ' ' || (last_error LIKE 'lease expired%')");
    assert_string_equal(after, "queued true");
    free(after);
    job_ctx_cleanup(&ctx);
}

struct interrupter {
    struct job_ctx *ctx;
    atomic_bool done;
};

static void *interrupt_loop(void *arg) {
    struct interrupter *it = arg;
    while (!atomic_load(&it->done)) {
        pause_ms(200);
        if (!atomic_load(&it->done)) job_ctx_interrupt(it->ctx);
    }
    return NULL;
}

static void interrupt_stops_a_statement(void **state) {
    (void)state;
    struct job_ctx ctx;
    ctx_for(&ctx, 0);
    job_ctx_arm_interrupt(&ctx, db);
    struct interrupter it = {.ctx = &ctx};
    atomic_init(&it.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_loop, &it), 0);
    PGresult *r = db_exec_sql(db, "SELECT pg_sleep(60)", 0, NULL);
    atomic_store(&it.done, true);
    pthread_join(t, NULL);
    assert_null(r);
    assert_string_equal(db_sqlstate(db), "57014");
    job_ctx_cleanup(&ctx);
    r = db_exec_sql(db, "SELECT 1", 0, NULL); /* still usable */
    assert_non_null(r);
    PQclear(r);
}

static void cancel_interrupts_a_running_statement(void **state) {
    (void)state;
    long id = job_post(proc, admin, "{\"kind\": \"test.sql_sleep\", \"args\": {\"seconds\": 2}}");
    assert_true(id > 0); /* warm-up: both workers' connections and statements exist */
    assert_true(job_wait_status(tdb.url, id, "succeeded", 30));
    id = job_post(proc, admin, "{\"kind\": \"test.sql_sleep\", \"args\": {\"seconds\": 60}}");
    assert_true(id > 0);
    assert_true(wait_count(tdb.url,
                           "SELECT count(*) FROM pg_stat_activity WHERE query LIKE"
                           " '%pg_sleep($1::float8)%' AND state = 'active'",
                           1, 30));
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/cancel", id);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "POST", path, admin, NULL, &r), 0);
    assert_int_equal(r.status, 202);
    http_response_cleanup(&r);
    /* Well before the 60 s statement (or the 3 s timeout would fail it instead). */
    assert_true(job_wait_status(tdb.url, id, "cancelled", 2.5));
    char *error = job_column(tdb.url, id, "coalesce(last_error, '')");
    assert_string_equal(error, "");
    free(error);
}

static void statement_timeout_fails_a_long_statement(void **state) {
    (void)state;
    long id = job_post(proc, admin, "{\"kind\": \"test.sql_sleep\", \"args\": {\"seconds\": 60}}");
    assert_true(id > 0);
    assert_true(job_wait_status(tdb.url, id, "failed", 30));
    char *error = job_column(tdb.url, id, "last_error");
    assert_non_null(strstr(error, "57014"));
    assert_non_null(strstr(error, "statement timeout"));
    free(error);
}

static void fenced_kind_commits(void **state) {
    (void)state;
    long id = job_post(proc, admin, "{\"kind\": \"test.fenced\", \"args\": {\"rows\": 5}}");
    assert_true(id > 0);
    assert_true(job_wait_status(tdb.url, id, "succeeded", 30));
    assert_int_equal(rows_of(id), 5);
    char *counts = job_column(tdb.url, id, "count_ok || '/' || progress_done");
    assert_string_equal(counts, "5/5");
    free(counts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commits_while_held),
        cmocka_unit_test(rolls_back_when_taken),
        cmocka_unit_test(renewal_never_waits_for_the_fence),
        cmocka_unit_test(interrupt_stops_a_statement),
        cmocka_unit_test(cancel_interrupts_a_running_statement),
        cmocka_unit_test(statement_timeout_fails_a_long_statement),
        cmocka_unit_test(fenced_kind_commits),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
