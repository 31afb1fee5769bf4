/* pool_worker: the job worker thread — claims a job of its queue, runs it, and settles
 * it in the same statement as the next claim; see pool_internal.h. The worker's struct
 * db is its own; the pending settlement owns its strings. */
#include "pool_internal.h"

#include "core/log.h"
#include "db/db.h"
#include "job_metrics.h"
#include "queue.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The settlement of a finished run, sent with the next claim; owns its strings. */
struct pending {
    bool active;
    struct queue_settle s;
    char *error, *result;
    char kind[72];
    int max_attempts;
    double ran; /* seconds run() took */
};

static void pending_clear(struct pending *pd) {
    free(pd->error);
    free(pd->result);
    memset(pd, 0, sizeof *pd);
}

static void publish_ctx(struct worker *w, struct job_ctx *ctx) {
    pthread_mutex_lock(&w->ctx_mu);
    pthread_mutex_lock(&w->pool->mu);
    w->ctx = ctx;
    w->renewed = pool_mono();
    pthread_mutex_unlock(&w->pool->mu);
    pthread_mutex_unlock(&w->ctx_mu);
}

void pool_flush_events(struct db *db, struct job_ctx *ctx, const char *owner) {
    struct job_pending_event ev[JOB_CTX_MAX_EVENTS];
    unsigned long dropped = 0;
    size_t n = job_ctx_take_events(ctx, ev, JOB_CTX_MAX_EVENTS, &dropped);
    if (dropped) {
        char msg[96];
        snprintf(msg, sizeof msg, "%lu events were dropped (more than %d a second)", dropped,
                 JOB_CTX_MAX_EVENTS);
        queue_add_event(db, ctx->id, owner, ctx->attempt, LOG_WARN, msg);
    }
    for (size_t i = 0; i < n; i++)
        if (queue_add_event(db, ctx->id, owner, ctx->attempt, ev[i].level, ev[i].message) != 0)
            break;
}

static void run_job(struct worker *w, struct db *db, struct queue_job *job, struct pending *pd) {
    struct job_pool *p = w->pool;
    memset(pd, 0, sizeof *pd);
    pd->active = true;
    pd->s.id = job->id;
    pd->s.attempt = job->attempt;
    pd->max_attempts = job->max_attempts;
    snprintf(pd->kind, sizeof pd->kind, "%s", job->kind);
    pd->s.snap.total = -1;

    const struct job_kind *kind = job_kind_find(job->kind);
    json_error_t jerr;
    json_t *args = json_loads(job->args_json, 0, &jerr);
    struct job_error aerr;
    if (!kind || !args || job_args_check(kind, args, &aerr) != 0) {
        char msg[512];
        if (!kind)
            snprintf(msg, sizeof msg, "unknown job kind %s", job->kind);
        else if (!args)
            snprintf(msg, sizeof msg, "arguments are not JSON: %s", jerr.text);
        else
            snprintf(msg, sizeof msg, "%s %s", aerr.field, aerr.message);
        pd->s.outcome = "failed";
        pd->error = strdup(msg);
        pd->s.error = pd->error;
        json_decref(args);
        return;
    }

    struct job_ctx ctx;
    job_ctx_init(&ctx, kind, db, p->config, job->id, job->attempt);
    ctx.lease_owner = w->owner;
    job_ctx_arm_interrupt(&ctx, db);
    if (job->cancel_requested) atomic_store(&ctx.cancel_requested, true);
    publish_ctx(w, &ctx);
    job_metrics_busy(w->queue->name, 1);
    double t0 = pool_mono();
    enum job_outcome o = kind->run(&ctx, args);
    pd->ran = pool_mono() - t0;
    job_metrics_busy(w->queue->name, -1);
    db_reset_after_use(db);
    publish_ctx(w, NULL); /* the keeper no longer sees it: the rest is ours */
    json_decref(args);

    bool user_cancel = atomic_load(&ctx.cancel_requested);
    bool stopping = atomic_load(&ctx.stopping);
    if (atomic_load(&ctx.lease_lost)) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)job->id);
        log_event(LOG_WARN, "job lease lost: its outcome is discarded", "job", id, "kind",
                  job->kind, "owner", w->owner, (char *)NULL);
        pending_clear(pd);
        job_ctx_cleanup(&ctx);
        return;
    }
    pool_flush_events(db, &ctx, w->owner);
    job_ctx_snapshot(&ctx, &pd->s.snap);
    switch (o) {
    case JOB_SUCCEEDED: pd->s.outcome = "succeeded"; break;
    case JOB_FAILED: pd->s.outcome = "failed"; break;
    case JOB_RETRY:
        pd->s.outcome = stopping && !user_cancel ? "release" : "retry";
        pd->s.retry_delay = job_backoff_seconds(kind->backoff_base, kind->backoff_max, job->attempt,
                                                (double)randombytes_uniform(1000000) / 1e6);
        break;
    case JOB_CANCELLED: pd->s.outcome = !user_cancel && stopping ? "release" : "cancelled"; break;
    }
    if (ctx.error[0]) {
        pd->error = strdup(ctx.error);
        pd->s.error = pd->error;
    } else if (o == JOB_FAILED || o == JOB_RETRY) {
        pd->error = strdup("the job failed without saying why");
        pd->s.error = pd->error;
    }
    if (ctx.result) {
        pd->result = json_dumps(ctx.result, JSON_COMPACT);
        pd->s.result_json = pd->result;
    }
    job_ctx_cleanup(&ctx);
}

/* After the settlement reached the database: an event on the paths a person will want
 * to read about, and the metrics. */
static void after_settle(struct worker *w, struct db *db, struct pending *pd,
                         const struct queue_settled *st) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)pd->s.id);
    if (!st->applied) {
        log_event(LOG_WARN, "job lease lost before its end was stored: outcome discarded", "job",
                  id, "outcome", pd->s.outcome, "owner", w->owner, (char *)NULL);
        return;
    }
    job_metrics_observe(pd->kind, st->status, pd->ran);
    const char *o = pd->s.outcome, *status = st->status;
    char msg[1400];
    int level = LOG_INFO;
    if (strcmp(o, "succeeded") == 0) return;
    if (strcmp(o, "retry") == 0 && strcmp(status, "queued") == 0) {
        level = LOG_WARN;
        snprintf(msg, sizeof msg, "attempt %d of %d failed: %s; retry in %.3f s", pd->s.attempt,
                 pd->max_attempts, pd->s.error ? pd->s.error : "?", pd->s.retry_delay);
    } else if (strcmp(o, "release") == 0 && strcmp(status, "queued") == 0) {
        snprintf(msg, sizeof msg,
                 "released at shutdown by %s: queued again (the attempt "
                 "does not count)",
                 w->owner);
    } else if (strcmp(status, "failed") == 0) {
        level = LOG_ERROR;
        snprintf(msg, sizeof msg, "attempt %d of %d failed: %s; %s", pd->s.attempt,
                 pd->max_attempts, pd->s.error ? pd->s.error : "?",
                 strcmp(o, "failed") == 0 ? "not retried" : "no attempt left");
    } else if (strcmp(status, "cancelled") == 0) {
        snprintf(msg, sizeof msg, "cancelled during attempt %d after %lld item%s", pd->s.attempt,
                 (long long)pd->s.snap.done, pd->s.snap.done == 1 ? "" : "s");
    } else {
        return;
    }
    log_event(level, msg, "job", id, "kind", pd->kind, (char *)NULL);
    queue_add_event(db, pd->s.id, NULL, 0, level, msg);
}

void *pool_worker_main(void *arg) {
    struct worker *w = arg;
    struct job_pool *p = w->pool;
    struct pool_queue *q = w->queue;
    struct db *db = db_new(p->url);
    if (!db) return NULL;
    if (p->statement_timeout_ms > 0) db_set_statement_timeout(db, p->statement_timeout_ms);
    struct pending pd = {0};
    int failures = 0;
    for (;;) {
        bool claim = !atomic_load(&p->stopping);
        if (!claim && !pd.active) break;
        struct queue_job job;
        struct queue_settled st;
        bool got = false;
        if (queue_settle_claim(db, w->owner, p->lease, q->name, q->kinds, pd.active ? &pd.s : NULL,
                               &st, claim, &job, &got) != 0) {
            if (failures++ % 30 == 0)
                log_event(LOG_WARN, "job worker: database error", "worker", w->owner, "error",
                          db_last_error(db), (char *)NULL);
            if (!claim && failures > 5) break; /* stopping: the lease will expire */
            pool_wait_for_work(p, q, 1.0);
            continue;
        }
        failures = 0;
        if (pd.active) {
            after_settle(w, db, &pd, &st);
            pending_clear(&pd);
        }
        if (!got) {
            if (!claim) break;
            double secs = p->poll;
            bool none = true;
            double due = 0;
            if (queue_next_due(db, q->name, q->kinds, &due, &none) == 0 && !none)
                secs = due < 0.02 ? 0.02 : (due < secs ? due : secs);
            pool_wait_for_work(p, q, secs);
            continue;
        }
        pool_wake(p, q, 1); /* there may be more: let an idle worker look */
        run_job(w, db, &job, &pd);
        queue_job_cleanup(&job);
    }
    db_free(db);
    pthread_mutex_lock(&p->mu);
    w->exited = true;
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}
