/* test_machine_logs_fence: machine_logs.ingest commits fenced (issue 10, job_fence of
 * workers/job.h): the kind's run() is called directly on a job row of our own, with a
 * small LOG_CHUNK_BYTES so the file takes several transactions.
 *   - while this worker holds the lease, every chunk commits: the whole day is there;
 *   - once another worker holds the job (lease owner and attempt changed), the first
 *     chunk's transaction rolls back at its fence: no row, no registry offset, and the run
 *     stops as cancelled with job_cancelled() true.
 * Each test has its own database and LOG_ROOT (logs_util.h); the struct db and job_ctx
 * are freed before it returns. */
#include "db/db.h"
#include "job_ctx.h"
#include "kinds/kinds.h"
#include "core/config.h"
#include "logs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER "fence-test/1/w1"

/* 40 pieces, each line 39 bytes: 1,560 bytes read in chunks of 256. */
static void write_day(struct logs_env *e) {
    char body[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "20250528 %02d:%02d:00|@StukUitgevoerd: p%02d\n", 6 + i / 60, i % 60,
                              i);
    assert_int_equal(logs_write(e, "20250528.LOG", body, n, false), 0);
}

/* A running job of this kind held by OWNER at attempt 1, in a queue no worker serves. */
static long long held_job(struct logs_env *e) {
    return logs_qi(e, "INSERT INTO jobs (kind, status, attempt, lease_owner, lease_expires_at,"
                      " started_at, queue) VALUES ('machine_logs.ingest', 'running', 1, '" OWNER
                      "', now() + interval '1 hour', now(), 'nobody') RETURNING id");
}

/* Runs the kind as the worker OWNER of job id; returns its outcome. */
static enum job_outcome run_kind(struct logs_env *e, long long id, bool *cancelled) {
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.log_root = e->root;
    cfg.log_chunk_bytes = 256;
    cfg.log_max_line_bytes = 1024;
    cfg.log_after_ingest = LOG_AFTER_KEEP;
    struct db *db = db_new(e->db.url);
    assert_non_null(db);
    struct job_ctx ctx;
    job_ctx_init(&ctx, &job_kind_machine_logs_ingest, db, &cfg, id, 1);
    ctx.lease_owner = OWNER;
    json_t *args = json_pack("{s:s}", "centre", e->code);
    enum job_outcome out = job_kind_machine_logs_ingest.run(&ctx, args);
    *cancelled = job_cancelled(&ctx);
    json_decref(args);
    job_ctx_cleanup(&ctx);
    db_free(db);
    return out;
}

static void commits_while_held(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "FEN1", NULL), 0);
    write_day(&e);
    long long id = held_job(&e);
    bool cancelled = true;
    assert_int_equal(run_kind(&e, id, &cancelled), JOB_SUCCEEDED);
    assert_false(cancelled);
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM piece_production"), 40);
    assert_int_equal(logs_qi(&e, "SELECT total_pieces FROM session_production"), 40);
    assert_int_equal(logs_qi(&e, "SELECT byte_offset FROM log_file"), 40 * 39);
    logs_env_stop(&e);
}

static void rolls_back_once_taken(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "FEN2", NULL), 0);
    write_day(&e);
    long long id = held_job(&e);
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET lease_owner = 'thief/2/w1', attempt = 2 WHERE id = %lld RETURNING 1",
             id);
    assert_int_equal(logs_qi(&e, sql), 1);
    bool cancelled = false;
    assert_int_equal(run_kind(&e, id, &cancelled), JOB_CANCELLED);
    assert_true(cancelled);
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM piece_production"), 0);
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM session_production"), 0);
    assert_int_equal(logs_qi(&e, "SELECT COALESCE(max(byte_offset), 0) FROM log_file"), 0);
    logs_env_stop(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commits_while_held),
        cmocka_unit_test(rolls_back_once_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
