/* pool_keeper: the lease keeper thread of the job pool — with its own connection, every
 * min(1 s, lease/3) it renews the lease of each running job and stores its progress and
 * events, flags lost leases and requested cancellations, re-analyzes a grown jobs table
 * and queues again the jobs of dead workers (expired leases); see pool_internal.h. */
#include "pool_internal.h"

#include "core/log.h"
#include "db/db.h"
#include "queue.h"

#include <stdio.h>

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
                job_ctx_interrupt(ctx);
                char id[24];
                snprintf(id, sizeof id, "%lld", (long long)ctx->id);
                log_event(LOG_WARN, "job lease lost: asking the job to stop", "job", id, "owner",
                          w->owner, (char *)NULL);
            } else {
                if (cancel && !atomic_exchange(&ctx->cancel_requested, true))
                    job_ctx_interrupt(ctx);
                pool_flush_events(db, ctx, w->owner);
            }
        } else if (now - w->renewed > p->lease * 0.8) {
            /* Unrenewed, the lease is about to expire: another worker may take the job. */
            atomic_store(&ctx->lease_lost, true);
            job_ctx_interrupt(ctx);
            log_event(LOG_WARN, "job lease could not be renewed: asking the job to stop", "owner",
                      w->owner, "error", db_last_error(db), (char *)NULL);
        }
    }
    pthread_mutex_unlock(&w->ctx_mu);
}

void *pool_keeper_main(void *arg) {
    struct job_pool *p = arg;
    struct db *db = db_new(p->url);
    if (!db) return NULL;
    double tick = p->lease / 3.0 < 1.0 ? p->lease / 3.0 : 1.0;
    double reap_every = p->lease / 2.0 < 2.0 ? p->lease / 2.0 : 2.0, next_reap = 0;
    while (!atomic_load(&p->halt)) {
        double now = pool_mono();
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
        pool_nap(p, tick);
    }
    db_free(db);
    return NULL;
}
