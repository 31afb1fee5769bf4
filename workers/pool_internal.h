/* pool_internal: what the threads of the job pool share (workers/pool_*.c); not for
 * other modules. One file per thread: pool_worker.c (claim, run, settle), pool_keeper.c
 * (lease renewal, progress, events, the reaper), pool_listener.c (the subscriptions to
 * the process's LISTEN loop: wake-ups and cancellations); pool.c starts and stops them.
 *
 * Locking: p->mu guards the wake-up tokens of every queue, each worker's ctx pointer and
 * exit flag. A worker's ctx_mu is held by the keeper while it renews or flushes that
 * worker's job and by the worker when it takes its ctx back, so a ctx never disappears
 * under the keeper. Workers settle a job in the same statement as the next claim.
 * Lock order: the LISTEN loop's mutex (held while its callbacks run) before ctx_mu
 * before mu; so the pool never unsubscribes while holding ctx_mu or mu.
 * Memory: the pool owns its queues, workers and copies of the options; the LISTEN loop
 * is borrowed. */
#ifndef SLUICE_POOL_INTERNAL_H
#define SLUICE_POOL_INTERNAL_H

#include "job_ctx.h"
#include "job_queues.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* One queue of JOB_QUEUES with its workers. */
struct pool_queue {
    char name[JOB_QUEUE_NAME_MAX + 1];
    char kinds[2048]; /* text[] literal of the kinds of this queue this binary runs */
    int nworkers;
    unsigned tokens;     /* pending wake-ups, at most nworkers (under pool->mu) */
    pthread_cond_t wake; /* idle workers of this queue wait here */
};

struct worker {
    struct job_pool *pool;
    struct pool_queue *queue;
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
    long statement_timeout_ms;
    pthread_mutex_t mu;
    pthread_cond_t exited; /* a worker exited */
    pthread_cond_t tick;   /* the keeper sleeps here (halt wakes it) */
    atomic_bool stopping;  /* no more claims */
    atomic_bool halt;      /* the keeper stops */
    struct pool_queue queues[JOB_QUEUES_MAX];
    int nqueues;
    struct worker *workers;
    int nworkers;
    struct db_listen *listen; /* borrowed; NULL: no wake-ups (the poll finds jobs) */
    int sub_jobs, sub_cancel; /* its subscriptions (-1: none) */
    pthread_t keeper;
    bool keeper_started;
};

double pool_mono(void);
struct timespec pool_deadline_in(double seconds);
/* Adds n wake-up tokens to queue q (NULL: every queue), waking as many idle workers. */
void pool_wake(struct job_pool *p, struct pool_queue *q, unsigned n);
/* Sleeps up to seconds, or until a token of q arrives or the pool stops. */
void pool_wait_for_work(struct job_pool *p, struct pool_queue *q, double seconds);
/* Sleeps up to seconds or until the pool halts (keeper). */
void pool_nap(struct job_pool *p, double seconds);
/* Stores a job's buffered events (with the lease check of owner). */
void pool_flush_events(struct db *db, struct job_ctx *ctx, const char *owner);

void *pool_worker_main(void *arg);
/* Subscribes to sluice_jobs and sluice_cancel on p->listen (nothing when NULL); false
 * when the loop has no room. Unsubscribing is harmless when not subscribed. */
bool pool_listener_subscribe(struct job_pool *p);
void pool_listener_unsubscribe(struct job_pool *p);
void *pool_keeper_main(void *arg);

#endif
