/* test_kinds: kinds that exist only with JOB_TEST_KINDS=true, for the integration tests
 * and bench/jobs.
 *   test.sleep  sleeps ms milliseconds in `steps` steps, reporting progress and
 *               stopping between steps when cancelled.
 *   test.ingest the same as test.sleep, in the `ingest` queue (a long ingestion).
 *   test.fail   fails (retry) its first `times` attempts, then succeeds; `permanent`
 *               fails for good at once.
 *   test.count  counts n items (every ignore_every-th ignored, every error_every-th an
 *               error), sleeping sleep_ms per item; with record=true it inserts one row
 *               per run into sluice_test_runs(job_id, attempt, pid), a table the test
 *               creates, so that a test can see every execution.
 *   test.fenced inserts `rows` rows into sluice_test_fenced(job_id, attempt, n), a table
 *               the test creates, counting each (job_count), in one job_transaction;
 *               with wait_ms it sleeps that long inside the transaction before the
 *               fence (time for a test to take the lease away), with hold_ms after the
 *               fence before the commit (the lease must still be renewed meanwhile).
 *   test.sql_sleep runs SELECT pg_sleep(seconds) on the job's connection: a long
 *               statement for the statement timeout and for cancellation.
 * No memory outlives a run. */
#include "kinds/kinds.h"

#include "core/log.h"
#include "db/db.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long long ms) {
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static long long arg_int(const json_t *args, const char *name, long long fallback) {
    json_t *v = json_object_get(args, name);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

/* ---- test.sleep -------------------------------------------------------------------- */

static const struct job_arg sleep_args[] = {
    {"ms", JOB_ARG_INT, true, 0, 3600000, "milliseconds to sleep"},
    {"steps", JOB_ARG_INT, false, 1, 100000, "progress steps (default 10)"},
    {NULL, 0, false, 0, 0, NULL},
};

static enum job_outcome sleep_run(struct job_ctx *ctx, const json_t *args) {
    long long ms = arg_int(args, "ms", 0), steps = arg_int(args, "steps", 10);
    job_progress(ctx, 0, steps, "steps");
    for (long long i = 0; i < steps; i++) {
        if (job_cancelled(ctx)) {
            job_event(ctx, LOG_INFO, "cancelled after %lld of %lld steps", i, steps);
            return JOB_CANCELLED;
        }
        sleep_ms(ms / steps + (i < ms % steps ? 1 : 0));
        job_count(ctx, 1, 0, 0);
        job_progress(ctx, i + 1, steps, NULL);
    }
    job_set_result(ctx, json_pack("{s:I}", "slept_ms", (json_int_t)ms));
    return JOB_SUCCEEDED;
}

const struct job_kind job_kind_test_sleep = {
    .name = "test.sleep",
    .summary = "sleep in steps (test only)",
    .args = sleep_args,
    .run = sleep_run,
    .max_attempts = 3,
    .backoff_base = 0.5,
    .backoff_max = 2,
};

const struct job_kind job_kind_test_ingest = {
    .name = "test.ingest",
    .summary = "sleep in steps in the ingest queue (test only)",
    .args = sleep_args,
    .run = sleep_run,
    .queue = "ingest",
    .max_attempts = 3,
    .backoff_base = 0.5,
    .backoff_max = 2,
};

/* ---- test.fail --------------------------------------------------------------------- */

static const struct job_arg fail_args[] = {
    {"times", JOB_ARG_INT, false, 0, 100, "attempts that fail before one succeeds (default 1)"},
    {"permanent", JOB_ARG_BOOL, false, 0, 0, "fail for good, without retry"},
    {"message", JOB_ARG_STRING, false, 1, 200, "the error message"},
    {NULL, 0, false, 0, 0, NULL},
};

static enum job_outcome fail_run(struct job_ctx *ctx, const json_t *args) {
    const char *message = json_string_value(json_object_get(args, "message"));
    if (!message) message = "test failure";
    if (json_is_true(json_object_get(args, "permanent"))) {
        job_set_error(ctx, "%s", message);
        return JOB_FAILED;
    }
    long long times = arg_int(args, "times", 1);
    if (job_attempt(ctx) <= times) {
        job_set_error(ctx, "%s (attempt %d)", message, job_attempt(ctx));
        return JOB_RETRY;
    }
    job_set_result(ctx, json_pack("{s:i}", "succeeded_at_attempt", job_attempt(ctx)));
    return JOB_SUCCEEDED;
}

const struct job_kind job_kind_test_fail = {
    .name = "test.fail",
    .summary = "fail a number of attempts, then succeed (test only)",
    .args = fail_args,
    .run = fail_run,
    .max_attempts = 3,
    .backoff_base = 0.5,
    .backoff_max = 2,
};

/* ---- test.count -------------------------------------------------------------------- */

static const struct job_arg count_args[] = {
    {"n", JOB_ARG_INT, false, 0, 1000000000, "items to count (default 0)"},
    {"ignore_every", JOB_ARG_INT, false, 0, 1000000, "every Nth item is ignored (0: none)"},
    {"error_every", JOB_ARG_INT, false, 0, 1000000, "every Nth item is an error (0: none)"},
    {"sleep_ms", JOB_ARG_INT, false, 0, 60000, "milliseconds per item"},
    {"record", JOB_ARG_BOOL, false, 0, 0, "insert a row into sluice_test_runs"},
    {NULL, 0, false, 0, 0, NULL},
};

static int count_validate(const json_t *args, struct job_error *err) {
    if (arg_int(args, "ignore_every", 0) == 1 && arg_int(args, "error_every", 0) == 1) {
        snprintf(err->field, sizeof err->field, "args.error_every");
        snprintf(err->message, sizeof err->message,
                 "cannot be 1 when ignore_every is 1 (an item is either ignored or an error)");
        return -1;
    }
    return 0;
}

static struct db_stmt q_record =
    DB_STMT("INSERT INTO sluice_test_runs (job_id, attempt, pid) VALUES ($1, $2, $3)");

static enum job_outcome count_run(struct job_ctx *ctx, const json_t *args) {
    long long n = arg_int(args, "n", 0), ignore_every = arg_int(args, "ignore_every", 0),
              error_every = arg_int(args, "error_every", 0), per = arg_int(args, "sleep_ms", 0);
    if (json_is_true(json_object_get(args, "record"))) {
        char id[24], attempt[16], pid[16];
        snprintf(id, sizeof id, "%lld", (long long)job_id(ctx));
        snprintf(attempt, sizeof attempt, "%d", job_attempt(ctx));
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        const char *v[] = {id, attempt, pid};
        PGresult *r = db_exec(job_db(ctx), &q_record, 3, v);
        if (!r) {
            job_set_error(ctx, "recording the run: %s", db_last_error(job_db(ctx)));
            return JOB_RETRY;
        }
        PQclear(r);
    }
    job_progress(ctx, 0, n, "items");
    for (long long i = 1; i <= n; i++) {
        if (job_cancelled(ctx)) return JOB_CANCELLED;
        if (per) sleep_ms(per);
        if (ignore_every && i % ignore_every == 0)
            job_count(ctx, 0, 1, 0);
        else if (error_every && i % error_every == 0)
            job_count(ctx, 0, 0, 1);
        else
            job_count(ctx, 1, 0, 0);
        job_progress(ctx, i, n, NULL);
    }
    job_set_result(ctx, json_pack("{s:I}", "counted", (json_int_t)n));
    return JOB_SUCCEEDED;
}

const struct job_kind job_kind_test_count = {
    .name = "test.count",
    .summary = "count items, optionally recording each run (test only)",
    .args = count_args,
    .validate = count_validate,
    .run = count_run,
    .max_attempts = 3,
    .backoff_base = 0.5,
    .backoff_max = 2,
};

/* ---- test.fenced ------------------------------------------------------------------- */

static const struct job_arg fenced_args[] = {
    {"rows", JOB_ARG_INT, false, 0, 100000, "rows to insert (default 1)"},
    {"wait_ms", JOB_ARG_INT, false, 0, 600000, "sleep inside the transaction, before the fence"},
    {"hold_ms", JOB_ARG_INT, false, 0, 600000, "sleep after the fence, before the commit"},
    {NULL, 0, false, 0, 0, NULL},
};

struct fenced_run {
    const json_t *args;
};

static struct db_stmt q_fenced_insert =
    DB_STMT("INSERT INTO sluice_test_fenced (job_id, attempt, n)"
            " SELECT $1::bigint, $2::int, g FROM generate_series(1, $3::int) g");

static int fenced_write(struct job_ctx *ctx, void *arg) {
    struct fenced_run *f = arg;
    char id[24], attempt[16], rows[24];
    long long n = arg_int(f->args, "rows", 1);
    snprintf(id, sizeof id, "%lld", (long long)job_id(ctx));
    snprintf(attempt, sizeof attempt, "%d", job_attempt(ctx));
    snprintf(rows, sizeof rows, "%lld", n);
    const char *v[] = {id, attempt, rows};
    PGresult *r = db_exec(job_db(ctx), &q_fenced_insert, 3, v);
    if (!r) return -1;
    PQclear(r);
    job_count(ctx, n, 0, 0);
    job_progress(ctx, n, n, "rows");
    sleep_ms(arg_int(f->args, "wait_ms", 0));
    int rc = job_fence(ctx);
    if (rc != 0) return rc;
    sleep_ms(arg_int(f->args, "hold_ms", 0));
    return 0;
}

static enum job_outcome fenced_run(struct job_ctx *ctx, const json_t *args) {
    struct fenced_run f = {args};
    int rc = job_transaction(ctx, fenced_write, &f);
    if (rc == JOB_LEASE_LOST) return JOB_CANCELLED;
    if (rc != 0) {
        job_set_error(ctx, "fenced insert: %s", db_last_error(job_db(ctx)));
        return JOB_RETRY;
    }
    job_set_result(ctx, json_pack("{s:I}", "rows", (json_int_t)arg_int(args, "rows", 1)));
    return JOB_SUCCEEDED;
}

const struct job_kind job_kind_test_fenced = {
    .name = "test.fenced",
    .summary = "insert rows in one fenced transaction (test only)",
    .args = fenced_args,
    .run = fenced_run,
    .max_attempts = 1,
    .backoff_base = 0.5,
    .backoff_max = 2,
};

/* ---- test.sql_sleep ---------------------------------------------------------------- */

static const struct job_arg sql_sleep_args[] = {
    {"seconds", JOB_ARG_INT, true, 0, 3600, "seconds PostgreSQL sleeps"},
    {NULL, 0, false, 0, 0, NULL},
};

static struct db_stmt q_sql_sleep = DB_STMT("SELECT pg_sleep($1::float8)");

static enum job_outcome sql_sleep_run(struct job_ctx *ctx, const json_t *args) {
    char secs[24];
    snprintf(secs, sizeof secs, "%lld", arg_int(args, "seconds", 0));
    const char *v[] = {secs};
    PGresult *r = db_exec(job_db(ctx), &q_sql_sleep, 1, v);
    if (r) {
        PQclear(r);
        return JOB_SUCCEEDED;
    }
    if (job_cancelled(ctx)) {
        job_event(ctx, LOG_INFO, "statement interrupted: %s", db_last_error(job_db(ctx)));
        return JOB_CANCELLED;
    }
    job_set_error(ctx, "pg_sleep: %s (SQLSTATE %s)", db_last_error(job_db(ctx)),
                  db_sqlstate(job_db(ctx)));
    return JOB_FAILED;
}

const struct job_kind job_kind_test_sql_sleep = {
    .name = "test.sql_sleep",
    .summary = "one long statement (test only)",
    .args = sql_sleep_args,
    .run = sql_sleep_run,
    .max_attempts = 1,
    .backoff_base = 0.5,
    .backoff_max = 2,
};
