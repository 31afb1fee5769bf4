/* pool_listener: the job pool's subscriptions to the process's LISTEN loop
 * (db/db_listen.h) — sluice_jobs (a job became due; the payload names its queue) wakes
 * the idle workers of that queue, sluice_cancel (payload: a job id) forwards the
 * cancellation to the worker running that job; see pool_internal.h. The callbacks run on
 * the loop's thread. */
#include "pool_internal.h"

#include "db/db_listen.h"

#include <stdlib.h>
#include <string.h>

/* Like the keeper, holds each worker's ctx_mu while it looks at its job, so the ctx
 * stays alive during the interrupt (which talks to the server). */
static void cancel_running(struct job_pool *p, int64_t id) {
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        pthread_mutex_lock(&w->ctx_mu);
        pthread_mutex_lock(&p->mu);
        struct job_ctx *ctx = w->ctx;
        pthread_mutex_unlock(&p->mu);
        if (ctx && ctx->id == id && !atomic_exchange(&ctx->cancel_requested, true))
            job_ctx_interrupt(ctx);
        pthread_mutex_unlock(&w->ctx_mu);
    }
}

/* A job became due in queue `name` (the payload; empty: unknown, wake every queue). */
static void on_job_due(const char *channel, const char *name, void *arg) {
    (void)channel;
    struct job_pool *p = arg;
    for (int i = 0; i < p->nqueues; i++)
        if (!*name || strcmp(p->queues[i].name, name) == 0) pool_wake(p, &p->queues[i], 1);
}

/* LISTEN holds again: notifications may have been missed, every worker looks. */
static void on_jobs_state(bool listening, void *arg) {
    struct job_pool *p = arg;
    if (listening) pool_wake(p, NULL, (unsigned)p->nworkers);
}

static void on_cancel(const char *channel, const char *payload, void *arg) {
    (void)channel;
    cancel_running(arg, strtoll(payload, NULL, 10));
}

bool pool_listener_subscribe(struct job_pool *p) {
    if (!p->listen) return true; /* no loop: the workers' safety-net poll finds the jobs */
    p->sub_jobs = db_listen_subscribe(p->listen, "sluice_jobs", on_job_due, on_jobs_state, p);
    p->sub_cancel = db_listen_subscribe(p->listen, "sluice_cancel", on_cancel, NULL, p);
    return p->sub_jobs >= 0 && p->sub_cancel >= 0;
}

void pool_listener_unsubscribe(struct job_pool *p) {
    db_listen_unsubscribe(p->listen, p->sub_jobs);
    db_listen_unsubscribe(p->listen, p->sub_cancel);
    p->sub_jobs = p->sub_cancel = -1;
}
