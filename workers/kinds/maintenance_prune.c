/* maintenance_prune: the maintenance.prune kind — deletes finished jobs (and their
 * events) older than JOB_RETENTION_DAYS, audit_log entries older than
 * AUDIT_RETENTION_DAYS and login_failures rows older than LOGIN_WINDOW_SECONDS (they no
 * longer count) and uploads past their expires_at (UPLOAD_RETENTION_HOURS; row, then
 * file), then the orphan files of UPLOAD_DIR (upload_store_sweep), in batches of batch_size rows
 * (one short transaction each), reporting progress (rows) and counts, stopping between batches when
 * cancelled. The cut-offs are fixed once at the start so that the total stays true while it runs.
 * Scheduled daily by default (SCHEDULES: maintenance.prune=0 3 * * *). The audit and login batches
 * are auth/audit.h audit_purge and auth/login_limit.h login_limit_purge. No memory outlives a run;
 * the result object is handed to the ctx. */
#include "kinds/kinds.h"

#include "auth/audit.h"
#include "auth/login_limit.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "uploads/upload_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct job_arg prune_args[] = {
    {"batch_size", JOB_ARG_INT, false, 10, 100000, "rows deleted per transaction (default 5000)"},
    {"dry_run", JOB_ARG_BOOL, false, 0, 0, "count what would be deleted, delete nothing"},
    {NULL, 0, false, 0, 0, NULL},
};

static struct db_stmt q_cutoffs =
    DB_STMT("SELECT (now() - make_interval(days => $1::int))::text,"
            "       (now() - make_interval(days => $2::int))::text,"
            "       (clock_timestamp() - make_interval(secs => $3::int))::text, now()::text");

static struct db_stmt q_count =
    DB_STMT("SELECT (SELECT count(*) FROM jobs WHERE finished_at < $1::timestamptz),"
            "       (SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id"
            "         WHERE j.finished_at < $1::timestamptz),"
            "       (SELECT count(*) FROM audit_log WHERE at < $2::timestamptz),"
            "       (SELECT count(*) FROM login_failures WHERE at < $3::timestamptz),"
            "       (SELECT count(*) FROM uploads WHERE expires_at < $4::timestamptz)");

/* One batch of jobs: (rows deleted, events deleted with them). */
static struct db_stmt q_jobs =
    DB_STMT("WITH old AS (SELECT id FROM jobs WHERE finished_at < $1::timestamptz"
            "             ORDER BY finished_at LIMIT $2::int FOR UPDATE SKIP LOCKED),"
            " ev AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM old) RETURNING 1),"
            " gone AS (DELETE FROM jobs WHERE id IN (SELECT id FROM old) RETURNING 1)"
            " SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM ev)");

/* A batch deleter: at most batch rows older than before; *rows gets how many, *extra
 * how many dependent rows went with them. 0, or -1 on a database error. */
typedef int purge_batch_fn(struct db *db, const char *before, long batch, long *rows, long *extra);

static int purge_jobs(struct db *db, const char *before, long batch, long *rows, long *extra) {
    char b[24];
    snprintf(b, sizeof b, "%ld", batch);
    const char *v[] = {before, b};
    PGresult *r = db_exec(db, &q_jobs, 2, v);
    if (!r) return -1;
    *rows = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *extra = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

/* The audit log and login failures: their modules own the statements. */
static int purge_audit(struct db *db, const char *before, long batch, long *rows, long *extra) {
    *extra = 0;
    return audit_purge(db, before, batch, rows);
}

static int purge_logins(struct db *db, const char *before, long batch, long *rows, long *extra) {
    *extra = 0;
    return login_limit_purge(db, before, batch, rows);
}

static const struct config *prune_config; /* for purge_uploads; set by prune_run */

static int purge_uploads(struct db *db, const char *before, long batch, long *rows, long *extra) {
    *extra = 0;
    return upload_store_purge(db, prune_config, before, batch, rows);
}

struct prune_state {
    struct job_ctx *ctx;
    int64_t done, total;
};

/* Deletes in batches until a batch comes back short. -1 on a database error, 1 when
 * cancelled, 0 when done. *rows and *extra (events) get the counts. */
static int batches(struct prune_state *st, purge_batch_fn *purge, const char *cutoff,
                   long batch_size, const char *what, int64_t *rows, int64_t *extra) {
    *rows = *extra = 0;
    for (;;) {
        if (job_cancelled(st->ctx)) return 1;
        long n = 0, e = 0;
        if (purge(job_db(st->ctx), cutoff, batch_size, &n, &e) != 0) {
            job_set_error(st->ctx, "deleting %s: %s", what, db_last_error(job_db(st->ctx)));
            return -1;
        }
        *rows += n;
        *extra += e;
        st->done += n + e;
        if (st->done > st->total) st->total = st->done; /* rows that aged meanwhile */
        job_count(st->ctx, n + e, 0, 0);
        job_progress(st->ctx, st->done, st->total, NULL);
        if (n < batch_size) return 0;
    }
}

static enum job_outcome prune_run(struct job_ctx *ctx, const json_t *args) {
    const struct config *c = job_config(ctx);
    json_t *v = json_object_get(args, "batch_size");
    long batch_size = json_is_integer(v) ? (long)json_integer_value(v) : 5000;
    bool dry_run = json_is_true(json_object_get(args, "dry_run"));
    char jdays[16], adays[16], window[24];
    snprintf(jdays, sizeof jdays, "%ld", c->job_retention_days);
    snprintf(adays, sizeof adays, "%ld", c->audit_retention_days);
    snprintf(window, sizeof window, "%ld", /* failures count in the longer window */
             c->login_window_seconds > c->login_user_window_seconds ? c->login_window_seconds
                                                                    : c->login_user_window_seconds);
    struct db *db = job_db(ctx);

    const char *cv[] = {jdays, adays, window};
    PGresult *r = db_exec(db, &q_cutoffs, 3, cv);
    if (!r) {
        job_set_error(ctx, "cut-offs: %s", db_last_error(db));
        return JOB_RETRY;
    }
    char jobs_cut[64], audit_cut[64], login_cut[64], upload_cut[64];
    snprintf(jobs_cut, sizeof jobs_cut, "%s", PQgetvalue(r, 0, 0));
    snprintf(audit_cut, sizeof audit_cut, "%s", PQgetvalue(r, 0, 1));
    snprintf(login_cut, sizeof login_cut, "%s", PQgetvalue(r, 0, 2));
    snprintf(upload_cut, sizeof upload_cut, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);

    const char *kv[] = {jobs_cut, audit_cut, login_cut, upload_cut};
    r = db_exec(db, &q_count, 4, kv);
    if (!r) {
        job_set_error(ctx, "counting: %s", db_last_error(db));
        return JOB_RETRY;
    }
    int64_t counts[5];
    for (int i = 0; i < 5; i++) counts[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
    PQclear(r);
    struct prune_state st = {.ctx = ctx,
                             .total = counts[0] + counts[1] + counts[2] + counts[3] + counts[4]};
    job_progress(ctx, 0, st.total, "rows");
    job_event(ctx, LOG_INFO,
              "%s: %lld finished jobs (%lld events) before %s, %lld audit entries before %s, "
              "%lld login failures before %s, %lld expired uploads",
              dry_run ? "would delete" : "deleting", (long long)counts[0], (long long)counts[1],
              jobs_cut, (long long)counts[2], audit_cut, (long long)counts[3], login_cut,
              (long long)counts[4]);
    if (dry_run) {
        job_progress(ctx, st.total, st.total, "rows");
        job_count(ctx, 0, st.total, 0);
        job_set_result(ctx, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I}", "dry_run", 1, "jobs",
                                      (json_int_t)counts[0], "job_events", (json_int_t)counts[1],
                                      "audit_log", (json_int_t)counts[2], "login_failures",
                                      (json_int_t)counts[3], "uploads", (json_int_t)counts[4]));
        return JOB_SUCCEEDED;
    }

    int64_t jobs = 0, events = 0, audit = 0, logins = 0, uploads = 0, none = 0;
    prune_config = c;
    int rc = batches(&st, purge_jobs, jobs_cut, batch_size, "jobs", &jobs, &events);
    if (rc == 0)
        rc = batches(&st, purge_audit, audit_cut, batch_size, "audit entries", &audit, &none);
    if (rc == 0)
        rc = batches(&st, purge_logins, login_cut, batch_size, "login failures", &logins, &none);
    if (rc == 0)
        rc = batches(&st, purge_uploads, upload_cut, batch_size, "uploads", &uploads, &none);
    long orphans = 0; /* files of UPLOAD_DIR no upload owns (a crash, a failed unlink) */
    if (rc == 0 && upload_store_sweep(db, c, &orphans) != 0) {
        job_set_error(ctx, "orphan upload files: %s", db_last_error(db));
        rc = -1;
    }
    job_set_result(ctx,
                   json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "dry_run", 0, "jobs",
                             (json_int_t)jobs, "job_events", (json_int_t)events, "audit_log",
                             (json_int_t)audit, "login_failures", (json_int_t)logins, "uploads",
                             (json_int_t)uploads, "orphan_files", (json_int_t)orphans));
    if (rc < 0) return JOB_RETRY;
    job_event(ctx, rc ? LOG_WARN : LOG_INFO,
              "%s: %lld jobs, %lld events, %lld audit entries, %lld login failures, %lld uploads "
              "deleted, %ld orphan upload files removed",
              rc ? "cancelled" : "done", (long long)jobs, (long long)events, (long long)audit,
              (long long)logins, (long long)uploads, orphans);
    return rc ? JOB_CANCELLED : JOB_SUCCEEDED;
}

const struct job_kind job_kind_maintenance_prune = {
    .name = "maintenance.prune",
    .summary = "delete old finished jobs, audit entries, login failures and expired uploads",
    .args = prune_args,
    .run = prune_run,
    .max_attempts = 3,
    .backoff_base = 60,
    .backoff_max = 900,
};
