/* pool: the job workers of `sluice serve` — for each queue of JOB_QUEUES its own worker
 * threads, each with its own PostgreSQL connection, claiming only that queue's jobs of
 * the kinds this binary knows (so the long jobs of one queue never starve another); two
 * subscriptions to the process's LISTEN loop (db/db_listen.h: sluice_jobs / sluice_cancel)
 * that wake the idle workers of the queue named by a notification and forward
 * cancellations; one keeper
 * thread (its own connection) that renews the leases of running jobs every min(1 s, lease/3),
 * stores their progress and events, and queues again the jobs of dead workers (expired leases). An
 * idle worker sleeps until a notification, the next due run_at, or the safety-net poll — never a
 * busy loop.
 *
 * Stopping: job_pool_begin_stop stops claiming at once; job_pool_stop lets running jobs
 * finish until the deadline, then asks them to stop (job_cancelled() turns true) and
 * releases their jobs back to the queue for another worker, without counting the
 * attempt. The pool owns its threads, connections and copies of the options. */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include <stddef.h>

struct config;
struct db_listen;
struct job_queues;
struct job_pool;

struct job_pool_options {
    const char *database_url;
    const struct config *config;     /* borrowed for the pool's life: handed to jobs */
    const struct job_queues *queues; /* copied; at least 1 thread in all */
    long statement_timeout_ms;       /* of the workers' connections; 0: none */
    int lease_seconds;               /* >= 2 */
    double poll_seconds;             /* safety-net poll of an idle worker; <= 0: 10 s */
    struct db_listen *listen;        /* borrowed, outlives the pool; NULL: no wake-ups */
};

struct job_pool *job_pool_start(const struct job_pool_options *opts, char *err, size_t errlen);

/* Stops claiming new jobs (idempotent; NULL accepted). */
void job_pool_begin_stop(struct job_pool *p);

/* Waits up to grace_seconds for running jobs, then stops and releases what still runs,
 * joins the threads and frees the pool. NULL accepted. */
void job_pool_stop(struct job_pool *p, double grace_seconds);

/* Jobs running now in this pool. */
size_t job_pool_running(struct job_pool *p);

#endif
