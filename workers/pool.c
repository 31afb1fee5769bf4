/* pool: worker, listener and keeper threads; see pool.h.
 *
 * Locking: p->mu guards the wake-up tokens, each worker's ctx pointer and exit flag.
 * A worker's ctx_mu is held by the keeper while it renews or flushes that worker's job
 * and by the worker when it takes its ctx back, so a ctx never disappears under the
 * keeper. Workers settle a job in the same statement as the next claim. */
#include "pool.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "job_ctx.h"
#include "job_metrics.h"
#include "queue.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
    struct job_pool *pool;
    pthread_t thread;
    bool started;
    char owner[128];
    pthread_mutex_t ctx_mu;
    struct job_ctx *ctx; /* the running job, under pool->mu (and ctx_mu to clear) */
    double renewed;      /* monotonic time of the last successful renewal (keeper) */
    bool exited;         /* under pool->mu */
};

struct job_pool {
    char *url;
    const struct config *config;
    int lease;
    double poll;
    char kinds[2048]; /* text[] literal of the kinds this binary runs */
    pthread_mutex_t mu;
    pthread_cond_t wake;   /* idle workers wait here */
    pthread_cond_t exited; /* a worker exited */
    pthread_cond_t tick;   /* keeper and listener sleep here (halt wakes them) */
    unsigned tokens;       /* pending wake-ups, at most nworkers */
    atomic_bool stopping;  /* no more claims */
    atomic_bool halt;      /* listener and keeper stop */
    struct worker *workers;
    int nworkers;
    pthread_t listener, keeper;
    bool listener_started, keeper_started;
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec deadline_in(double seconds) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (seconds < 0) seconds = 0;
    long long ns =
        (long long)ts.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
    ts.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* Adds n wake-up tokens (capped) and wakes as many idle workers. Caller holds mu. */
static void add_tokens(struct job_pool *p, unsigned n) {
    unsigned cap = (unsigned)p->nworkers;
    p->tokens = p->tokens + n > cap ? cap : p->tokens + n;
    if (n >= cap)
        pthread_cond_broadcast(&p->wake);
    else
        for (unsigned i = 0; i < n; i++) pthread_cond_signal(&p->wake);
}

static void wake_workers(struct job_pool *p, unsigned n) {
    pthread_mutex_lock(&p->mu);
    add_tokens(p, n);
    pthread_mutex_unlock(&p->mu);
}

/* Sleeps up to seconds, or until a token arrives or the pool stops. */
static void wait_for_work(struct job_pool *p, double seconds) {
    struct timespec until = deadline_in(seconds);
    pthread_mutex_lock(&p->mu);
    while (p->tokens == 0 && !atomic_load(&p->stopping)) {
        if (pthread_cond_timedwait(&p->wake, &p->mu, &until) == ETIMEDOUT) break;
    }
    if (p->tokens > 0) p->tokens--;
    pthread_mutex_unlock(&p->mu);
}

/* Sleeps up to seconds or until the pool halts (keeper, listener). */
static void nap(struct job_pool *p, double seconds) {
    struct timespec until = deadline_in(seconds);
    pthread_mutex_lock(&p->mu);
    while (!atomic_load(&p->halt))
        if (pthread_cond_timedwait(&p->tick, &p->mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&p->mu);
}

/* ---- one job -------------------------------------------------------------------------- */

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
    w->renewed = mono();
    pthread_mutex_unlock(&w->pool->mu);
    pthread_mutex_unlock(&w->ctx_mu);
}

static void flush_events(struct db *db, struct job_ctx *ctx, const char *owner) {
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
    if (job->cancel_requested) atomic_store(&ctx.cancel_requested, true);
    publish_ctx(w, &ctx);
    job_metrics_busy(1);
    double t0 = mono();
    enum job_outcome o = kind->run(&ctx, args);
    pd->ran = mono() - t0;
    job_metrics_busy(-1);
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
    flush_events(db, &ctx, w->owner);
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

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct job_pool *p = w->pool;
    struct db *db = db_new(p->url);
    struct pending pd = {0};
    int failures = 0;
    for (;;) {
        bool claim = !atomic_load(&p->stopping);
        if (!claim && !pd.active) break;
        struct queue_job job;
        struct queue_settled st;
        bool got = false;
        if (queue_settle_claim(db, w->owner, p->lease, p->kinds, pd.active ? &pd.s : NULL, &st,
                               claim, &job, &got) != 0) {
            if (failures++ % 30 == 0)
                log_event(LOG_WARN, "job worker: database error", "worker", w->owner, "error",
                          db_last_error(db), (char *)NULL);
            if (!claim && failures > 5) break; /* stopping: the lease will expire */
            wait_for_work(p, 1.0);
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
            if (queue_next_due(db, p->kinds, &due, &none) == 0 && !none)
                secs = due < 0.02 ? 0.02 : (due < secs ? due : secs);
            wait_for_work(p, secs);
            continue;
        }
        wake_workers(p, 1); /* there may be more: let an idle worker look */
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

/* ---- listener ----------------------------------------------------------------------- */

static void cancel_running(struct job_pool *p, int64_t id) {
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].ctx && p->workers[i].ctx->id == id)
            atomic_store(&p->workers[i].ctx->cancel_requested, true);
    pthread_mutex_unlock(&p->mu);
}

static void *listener_main(void *arg) {
    struct job_pool *p = arg;
    struct db *db = db_new(p->url);
    PGconn *listening = NULL;
    while (!atomic_load(&p->halt)) {
        PGconn *c = db_conn(db);
        if (!c) {
            listening = NULL;
            nap(p, 1.0);
            continue;
        }
        if (c != listening) {
            PGresult *r = db_exec_sql(db, "LISTEN sluice_jobs", 0, NULL);
            PGresult *r2 = r ? db_exec_sql(db, "LISTEN sluice_cancel", 0, NULL) : NULL;
            PQclear(r);
            PQclear(r2);
            if (!r2) {
                nap(p, 1.0);
                continue;
            }
            listening = c;
            wake_workers(p, (unsigned)p->nworkers); /* notifications may have been missed */
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int n = poll(&pfd, 1, 250);
        if (n < 0 && errno != EINTR) break;
        if (n <= 0) continue;
        if (!PQconsumeInput(c)) {
            listening = NULL; /* broken: db_conn reconnects */
            db_disconnect(db);
            continue;
        }
        unsigned jobs = 0;
        PGnotify *note;
        while ((note = PQnotifies(c)) != NULL) {
            if (strcmp(note->relname, "sluice_jobs") == 0)
                jobs++;
            else if (strcmp(note->relname, "sluice_cancel") == 0)
                cancel_running(p, strtoll(note->extra, NULL, 10));
            PQfreemem(note);
        }
        if (jobs) wake_workers(p, jobs);
    }
    db_free(db);
    return NULL;
}

/* ---- keeper ------------------------------------------------------------------------- */

static void keep_one(struct job_pool *p, struct worker *w, struct db *db, double now) {
    pthread_mutex_lock(&w->ctx_mu);
    pthread_mutex_lock(&p->mu);
    struct job_ctx *ctx = w->ctx;
    pthread_mutex_unlock(&p->mu);
    if (ctx && !atomic_load(&ctx->lease_lost)) {
        struct job_snapshot snap;
        job_ctx_snapshot(ctx, &snap);
        bool held = false, cancel = false;
        if (queue_renew(db, ctx->id, w->owner, ctx->attempt, p->lease, &snap, &held, &cancel) ==
            0) {
            w->renewed = now;
            if (!held) {
                atomic_store(&ctx->lease_lost, true);
                char id[24];
                snprintf(id, sizeof id, "%lld", (long long)ctx->id);
                log_event(LOG_WARN, "job lease lost: asking the job to stop", "job", id, "owner",
                          w->owner, (char *)NULL);
            } else {
                if (cancel) atomic_store(&ctx->cancel_requested, true);
                flush_events(db, ctx, w->owner);
            }
        } else if (now - w->renewed > p->lease * 0.8) {
            /* Unrenewed, the lease is about to expire: another worker may take the job. */
            atomic_store(&ctx->lease_lost, true);
            log_event(LOG_WARN, "job lease could not be renewed: asking the job to stop", "owner",
                      w->owner, "error", db_last_error(db), (char *)NULL);
        }
    }
    pthread_mutex_unlock(&w->ctx_mu);
}

static void *keeper_main(void *arg) {
    struct job_pool *p = arg;
    struct db *db = db_new(p->url);
    double tick = p->lease / 3.0 < 1.0 ? p->lease / 3.0 : 1.0;
    double reap_every = p->lease / 2.0 < 2.0 ? p->lease / 2.0 : 2.0, next_reap = 0;
    while (!atomic_load(&p->halt)) {
        double now = mono();
        for (int i = 0; i < p->nworkers; i++) keep_one(p, &p->workers[i], db, now);
        if (now >= next_reap && !atomic_load(&p->stopping)) {
            bool analyzed;
            if (queue_analyze_if_stale(db, &analyzed) == 0 && analyzed)
                log_event(LOG_DEBUG, "jobs table analyzed (it grew since its statistics)",
                          (char *)NULL);
            int reaped = 0;
            if (queue_reap(db, 100, &reaped) == 0 && reaped > 0)
                next_reap = now; /* more may be waiting */
            else
                next_reap = now + reap_every;
        }
        nap(p, tick);
    }
    db_free(db);
    return NULL;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void build_kinds(struct job_pool *p) {
    size_t used = 0;
    p->kinds[used++] = '{';
    for (size_t i = 0; i < job_kind_count(); i++) {
        const char *name = job_kind_at(i)->name;
        if (used + strlen(name) + 3 >= sizeof p->kinds) break;
        if (i) p->kinds[used++] = ',';
        memcpy(p->kinds + used, name, strlen(name));
        used += strlen(name);
    }
    p->kinds[used++] = '}';
    p->kinds[used] = '\0';
}

struct job_pool *job_pool_start(const struct job_pool_options *opts, char *err, size_t errlen) {
    if (opts->threads < 1 || opts->lease_seconds < 2) {
        snprintf(err, errlen, "job pool: needs at least 1 thread and a 2 s lease");
        return NULL;
    }
    struct job_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "job pool: out of memory");
        return NULL;
    }
    p->url = strdup(opts->database_url ? opts->database_url : "");
    p->config = opts->config;
    p->lease = opts->lease_seconds;
    p->poll = opts->poll_seconds > 0 ? opts->poll_seconds : 10.0;
    build_kinds(p);
    pthread_mutex_init(&p->mu, NULL);
    cond_init_monotonic(&p->wake);
    cond_init_monotonic(&p->exited);
    cond_init_monotonic(&p->tick);
    atomic_init(&p->stopping, false);
    atomic_init(&p->halt, false);
    p->nworkers = opts->threads;
    p->workers = calloc((size_t)p->nworkers, sizeof *p->workers);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (int i = 0; p->workers && i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        pthread_mutex_init(&w->ctx_mu, NULL);
        snprintf(w->owner, sizeof w->owner, "%s/%d/w%d", host, (int)getpid(), i + 1);
    }
    if (!p->workers || !p->url) {
        snprintf(err, errlen, "job pool: out of memory");
        job_pool_stop(p, 0);
        return NULL;
    }
    bool ok = pthread_create(&p->keeper, NULL, keeper_main, p) == 0;
    p->keeper_started = ok;
    ok = ok && pthread_create(&p->listener, NULL, listener_main, p) == 0;
    p->listener_started = ok;
    for (int i = 0; ok && i < p->nworkers; i++) {
        ok = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) == 0;
        p->workers[i].started = ok;
        if (!ok) {
            pthread_mutex_lock(&p->mu);
            p->workers[i].exited = true;
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (!ok) {
        snprintf(err, errlen, "job pool: cannot start threads");
        job_pool_stop(p, 0);
        return NULL;
    }
    return p;
}

void job_pool_begin_stop(struct job_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

size_t job_pool_running(struct job_pool *p) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) n += p->workers[i].ctx != NULL;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Waits until every worker exited or the deadline passed; returns how many still run. */
static int wait_workers(struct job_pool *p, double until) {
    pthread_mutex_lock(&p->mu);
    int alive;
    for (;;) {
        alive = 0;
        for (int i = 0; i < p->nworkers; i++)
            alive += p->workers[i].started && !p->workers[i].exited;
        if (alive == 0 || mono() >= until) break;
        struct timespec ts = deadline_in(until - mono());
        pthread_cond_timedwait(&p->exited, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return alive;
}

/* Releases the job of each worker still running it, from a connection of our own. */
static void release_stuck(struct job_pool *p) {
    struct db *db = db_new(p->url);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        pthread_mutex_lock(&p->mu);
        struct queue_settle s = {.outcome = "release", .snap = {.total = -1}};
        bool has = w->ctx != NULL && !w->exited;
        if (has) {
            s.id = w->ctx->id;
            s.attempt = w->ctx->attempt;
        }
        pthread_mutex_unlock(&p->mu);
        if (!has) continue;
        struct queue_settled st;
        bool got;
        if (queue_settle_claim(db, w->owner, p->lease, p->kinds, &s, &st, false, NULL, &got) == 0 &&
            st.applied) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)s.id);
            log_event(LOG_WARN, "job still running after the grace period: released", "job", id,
                      "owner", w->owner, (char *)NULL);
            queue_add_event(db, s.id, NULL, 0, LOG_WARN,
                            "still running when the shutdown grace period ended: released "
                            "for another worker (the attempt does not count)");
        }
    }
    db_free(db);
}

void job_pool_stop(struct job_pool *p, double grace_seconds) {
    if (!p) return;
    job_pool_begin_stop(p);
    double start = mono();
    int alive = wait_workers(p, start + grace_seconds);
    if (alive > 0) {
        /* Grace over: running jobs are asked to stop; they are released, not failed. */
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].ctx) atomic_store(&p->workers[i].ctx->stopping, true);
        pthread_mutex_unlock(&p->mu);
        alive = wait_workers(p, mono() + 3.0);
    }
    if (alive > 0) release_stuck(p);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->halt, true);
    pthread_cond_broadcast(&p->tick);
    pthread_mutex_unlock(&p->mu);
    if (p->keeper_started) pthread_join(p->keeper, NULL);
    if (p->listener_started) pthread_join(p->listener, NULL);
    for (int i = 0; p->workers && i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        if (!w->started) continue;
        pthread_mutex_lock(&p->mu);
        bool done = w->exited;
        pthread_mutex_unlock(&p->mu);
        if (done)
            pthread_join(w->thread, NULL);
        else
            pthread_detach(w->thread);
    }
    if (alive > 0)
        return; /* a job ignores cancellation: its thread still uses the pool,
                   which the exiting process leaves allocated */
    for (int i = 0; p->workers && i < p->nworkers; i++)
        pthread_mutex_destroy(&p->workers[i].ctx_mu);
    free(p->workers);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->exited);
    pthread_cond_destroy(&p->tick);
    pthread_mutex_destroy(&p->mu);
    free(p->url);
    free(p);
}
