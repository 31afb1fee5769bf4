/* pool_listener: the listener thread of the job pool — its own connection LISTENs on
 * sluice_jobs (a job became due; the payload names its queue) and sluice_cancel (payload:
 * a job id), wakes idle workers of that queue and forwards cancellations to running
 * jobs; see pool_internal.h. */
#include "pool_internal.h"

#include "db/db.h"

#include <errno.h>
#include <poll.h>
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
static void wake_queue(struct job_pool *p, const char *name) {
    for (int i = 0; i < p->nqueues; i++)
        if (!name || !*name || strcmp(p->queues[i].name, name) == 0) pool_wake(p, &p->queues[i], 1);
}

void *pool_listener_main(void *arg) {
    struct job_pool *p = arg;
    struct db *db = db_new(p->url);
    if (!db) return NULL;
    PGconn *listening = NULL;
    while (!atomic_load(&p->halt)) {
        PGconn *c = db_conn(db);
        if (!c) {
            listening = NULL;
            pool_nap(p, 1.0);
            continue;
        }
        if (c != listening) {
            PGresult *r = db_exec_sql(db, "LISTEN sluice_jobs", 0, NULL);
            PGresult *r2 = r ? db_exec_sql(db, "LISTEN sluice_cancel", 0, NULL) : NULL;
            PQclear(r);
            PQclear(r2);
            if (!r2) {
                pool_nap(p, 1.0);
                continue;
            }
            listening = c;
            pool_wake(p, NULL, (unsigned)p->nworkers); /* notifications may have been missed */
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
        PGnotify *note;
        while ((note = PQnotifies(c)) != NULL) {
            if (strcmp(note->relname, "sluice_jobs") == 0)
                wake_queue(p, note->extra);
            else if (strcmp(note->relname, "sluice_cancel") == 0)
                cancel_running(p, strtoll(note->extra, NULL, 10));
            PQfreemem(note);
        }
    }
    db_free(db);
    return NULL;
}
