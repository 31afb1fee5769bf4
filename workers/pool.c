/* pool: start and stop of the job pool's threads (one file per thread: pool_worker.c,
 * pool_keeper.c; pool_listener.c holds the LISTEN subscriptions) and the waits they share; see
 * pool.h and pool_internal.h. */
#include "pool_internal.h"

#include "core/log.h"
#include "db/db.h"
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double pool_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec pool_deadline_in(double seconds) {
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

/* Adds n wake-up tokens to q (capped) and wakes as many idle workers. Caller holds mu. */
static void add_tokens(struct pool_queue *q, unsigned n) {
    unsigned cap = (unsigned)q->nworkers;
    q->tokens = q->tokens + n > cap ? cap : q->tokens + n;
    if (n >= cap)
        pthread_cond_broadcast(&q->wake);
    else
        for (unsigned i = 0; i < n; i++) pthread_cond_signal(&q->wake);
}

void pool_wake(struct job_pool *p, struct pool_queue *q, unsigned n) {
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nqueues; i++)
        if (!q || q == &p->queues[i]) add_tokens(&p->queues[i], n);
    pthread_mutex_unlock(&p->mu);
}

void pool_wait_for_work(struct job_pool *p, struct pool_queue *q, double seconds) {
    struct timespec until = pool_deadline_in(seconds);
    pthread_mutex_lock(&p->mu);
    while (q->tokens == 0 && !atomic_load(&p->stopping)) {
        if (pthread_cond_timedwait(&q->wake, &p->mu, &until) == ETIMEDOUT) break;
    }
    if (q->tokens > 0) q->tokens--;
    pthread_mutex_unlock(&p->mu);
}

void pool_nap(struct job_pool *p, double seconds) {
    struct timespec until = pool_deadline_in(seconds);
    pthread_mutex_lock(&p->mu);
    while (!atomic_load(&p->halt))
        if (pthread_cond_timedwait(&p->tick, &p->mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&p->mu);
}

/* ---- life cycle ---------------------------------------------------------------------- */

/* The text[] literal of the kinds of queue q. */
static void build_kinds(struct pool_queue *q) {
    size_t used = 0, n = 0;
    q->kinds[used++] = '{';
    for (size_t i = 0; i < job_kind_count(); i++) {
        const struct job_kind *k = job_kind_at(i);
        if (strcmp(job_kind_queue(k), q->name) != 0) continue;
        if (used + strlen(k->name) + 3 >= sizeof q->kinds) break;
        if (n++) q->kinds[used++] = ',';
        memcpy(q->kinds + used, k->name, strlen(k->name));
        used += strlen(k->name);
    }
    q->kinds[used++] = '}';
    q->kinds[used] = '\0';
}

struct job_pool *job_pool_start(const struct job_pool_options *opts, char *err, size_t errlen) {
    const struct job_queues *qs = opts->queues;
    if (!qs || qs->threads < 1 || opts->lease_seconds < 2) {
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
    p->statement_timeout_ms = opts->statement_timeout_ms;
    p->listen = opts->listen;
    p->sub_jobs = p->sub_cancel = -1;
    pthread_mutex_init(&p->mu, NULL);
    for (size_t i = 0; i < qs->n; i++) {
        struct pool_queue *q = &p->queues[p->nqueues++];
        snprintf(q->name, sizeof q->name, "%s", qs->items[i].name);
        q->nworkers = qs->items[i].threads;
        build_kinds(q);
        cond_init_monotonic(&q->wake);
    }
    cond_init_monotonic(&p->exited);
    cond_init_monotonic(&p->tick);
    atomic_init(&p->stopping, false);
    atomic_init(&p->halt, false);
    p->nworkers = qs->threads;
    p->workers = calloc((size_t)p->nworkers, sizeof *p->workers);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (int qi = 0, i = 0; p->workers && qi < p->nqueues; qi++) {
        for (int k = 0; k < p->queues[qi].nworkers; k++, i++) {
            struct worker *w = &p->workers[i];
            w->pool = p;
            w->queue = &p->queues[qi];
            pthread_mutex_init(&w->ctx_mu, NULL);
            snprintf(w->owner, sizeof w->owner, "%s/%d/%s-w%d", host, (int)getpid(),
                     p->queues[qi].name, k + 1);
        }
    }
    if (!p->workers || !p->url) {
        snprintf(err, errlen, "job pool: out of memory");
        job_pool_stop(p, 0);
        return NULL;
    }
    bool ok = pthread_create(&p->keeper, NULL, pool_keeper_main, p) == 0;
    p->keeper_started = ok;
    for (int i = 0; ok && i < p->nworkers; i++) {
        ok = pthread_create(&p->workers[i].thread, NULL, pool_worker_main, &p->workers[i]) == 0;
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
    if (!pool_listener_subscribe(p)) {
        snprintf(err, errlen, "job pool: the LISTEN loop has no room for its channels");
        job_pool_stop(p, 0);
        return NULL;
    }
    return p;
}

void job_pool_begin_stop(struct job_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, true);
    for (int i = 0; i < p->nqueues; i++) pthread_cond_broadcast(&p->queues[i].wake);
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
        if (alive == 0 || pool_mono() >= until) break;
        struct timespec ts = pool_deadline_in(until - pool_mono());
        pthread_cond_timedwait(&p->exited, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return alive;
}

/* Releases the job of each worker still running it, from a connection of our own. */
static void release_stuck(struct job_pool *p) {
    struct db *db = db_new(p->url);
    if (!db) return;
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
        if (queue_settle_claim(db, w->owner, p->lease, w->queue->name, w->queue->kinds, &s, &st,
                               false, NULL, &got) == 0 &&
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
    double start = pool_mono();
    int alive = wait_workers(p, start + grace_seconds);
    if (alive > 0) {
        /* Grace over: running jobs are asked to stop; they are released, not failed. */
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].ctx) {
                atomic_store(&p->workers[i].ctx->stopping, true);
                job_ctx_interrupt(p->workers[i].ctx);
            }
        pthread_mutex_unlock(&p->mu);
        alive = wait_workers(p, pool_mono() + 3.0);
    }
    if (alive > 0) release_stuck(p);
    pool_listener_unsubscribe(p); /* no callback uses p once this returns */
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->halt, true);
    pthread_cond_broadcast(&p->tick);
    pthread_mutex_unlock(&p->mu);
    if (p->keeper_started) pthread_join(p->keeper, NULL);
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
    for (int i = 0; i < p->nqueues; i++) pthread_cond_destroy(&p->queues[i].wake);
    pthread_cond_destroy(&p->exited);
    pthread_cond_destroy(&p->tick);
    pthread_mutex_destroy(&p->mu);
    free(p->url);
    free(p);
}
