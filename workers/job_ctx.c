/* job_ctx: the functions run() calls (job.h) and the observers' side (job_ctx.h). */
#include "job_ctx.h"

#include "core/log.h"
#include "db/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void job_ctx_init(struct job_ctx *ctx, const struct job_kind *kind, struct db *db,
                  const struct config *config, int64_t id, int attempt) {
    memset(ctx, 0, sizeof *ctx);
    ctx->kind = kind;
    ctx->db = db;
    ctx->config = config;
    ctx->id = id;
    ctx->attempt = attempt;
    ctx->snap.total = -1;
    pthread_mutex_init(&ctx->mu, NULL);
    atomic_init(&ctx->cancel_requested, false);
    atomic_init(&ctx->stopping, false);
    atomic_init(&ctx->lease_lost, false);
}

void job_ctx_cleanup(struct job_ctx *ctx) {
    json_decref(ctx->result);
    ctx->result = NULL;
    db_interrupt_free(ctx->cancel);
    ctx->cancel = NULL;
    pthread_mutex_destroy(&ctx->mu);
}

void job_ctx_snapshot(struct job_ctx *ctx, struct job_snapshot *out) {
    pthread_mutex_lock(&ctx->mu);
    *out = ctx->snap;
    pthread_mutex_unlock(&ctx->mu);
}

size_t job_ctx_take_events(struct job_ctx *ctx, struct job_pending_event *out, size_t max,
                           unsigned long *dropped) {
    pthread_mutex_lock(&ctx->mu);
    size_t n = ctx->npending < max ? ctx->npending : max;
    memcpy(out, ctx->pending, n * sizeof *out);
    memmove(ctx->pending, ctx->pending + n, (ctx->npending - n) * sizeof *out);
    ctx->npending -= n;
    *dropped = ctx->dropped;
    ctx->dropped = 0;
    pthread_mutex_unlock(&ctx->mu);
    return n;
}

const char *job_level_name(int level) {
    switch (level) {
    case LOG_DEBUG: return "debug";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    default: return "info";
    }
}

void job_ctx_arm_interrupt(struct job_ctx *ctx, struct db *db) {
    struct db_interrupt *c = db_interrupt_new(db);
    pthread_mutex_lock(&ctx->mu);
    db_interrupt_free(ctx->cancel);
    ctx->cancel = c;
    pthread_mutex_unlock(&ctx->mu);
}

void job_ctx_interrupt(struct job_ctx *ctx) {
    char why[256];
    pthread_mutex_lock(&ctx->mu);
    /* Safe from another thread; the mutex keeps the handle alive. */
    if (ctx->cancel && !db_interrupt_send(ctx->cancel, why, sizeof why)) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)ctx->id);
        log_event(LOG_WARN, "could not interrupt a job's statement", "job", id, "error", why,
                  (char *)NULL);
    }
    pthread_mutex_unlock(&ctx->mu);
}

/* The numbers run() changes now: staged inside job_transaction, else the published
 * ones. Caller holds mu. */
static struct job_snapshot *numbers(struct job_ctx *ctx) {
    return ctx->in_txn ? &ctx->staged : &ctx->snap;
}

void job_progress(struct job_ctx *ctx, int64_t done, int64_t total, const char *unit) {
    pthread_mutex_lock(&ctx->mu);
    struct job_snapshot *s = numbers(ctx);
    s->done = done < 0 ? 0 : done;
    s->total = total < 0 ? -1 : total;
    if (unit) snprintf(s->unit, sizeof s->unit, "%s", unit);
    s->version++;
    pthread_mutex_unlock(&ctx->mu);
}

void job_count(struct job_ctx *ctx, int64_t ok, int64_t ignored, int64_t errors) {
    pthread_mutex_lock(&ctx->mu);
    struct job_snapshot *s = numbers(ctx);
    s->ok += ok;
    s->ignored += ignored;
    s->errors += errors;
    s->version++;
    pthread_mutex_unlock(&ctx->mu);
}

void job_event(struct job_ctx *ctx, int level, const char *fmt, ...) {
    if (level < LOG_DEBUG || level > LOG_ERROR) level = LOG_INFO;
    char msg[JOB_EVENT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (level >= LOG_WARN && !ctx->on_event) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)ctx->id);
        log_event(level, msg, "job", id, "kind", ctx->kind ? ctx->kind->name : "", (char *)NULL);
    }
    if (ctx->on_event) {
        ctx->on_event(ctx, level, msg);
        return;
    }
    pthread_mutex_lock(&ctx->mu);
    if (ctx->npending == JOB_CTX_MAX_EVENTS) {
        ctx->dropped++;
    } else {
        ctx->pending[ctx->npending].level = level;
        memcpy(ctx->pending[ctx->npending].message, msg, sizeof msg);
        ctx->npending++;
    }
    pthread_mutex_unlock(&ctx->mu);
}

bool job_cancelled(struct job_ctx *ctx) {
    return atomic_load(&ctx->cancel_requested) || atomic_load(&ctx->stopping) ||
           atomic_load(&ctx->lease_lost);
}

struct db *job_db(struct job_ctx *ctx) {
    return ctx->db;
}

const struct config *job_config(struct job_ctx *ctx) { return ctx->config; }

void job_set_result(struct job_ctx *ctx, json_t *result) {
    json_decref(ctx->result);
    ctx->result = result;
}

void job_set_error(struct job_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
}

int64_t job_id(const struct job_ctx *ctx) { return ctx->id; }

int job_attempt(const struct job_ctx *ctx) { return ctx->attempt; }
