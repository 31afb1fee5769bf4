/* queue: the SQL of the job queue as seen by workers — enqueue, claim (FOR UPDATE SKIP
 * LOCKED), settle (finish, fail, retry with backoff, cancel, release), lease renewal,
 * the reaper of expired leases and the bounded event log. Every statement that a
 * worker runs on a job it holds checks lease_owner AND attempt: a worker that lost its
 * lease changes nothing. The SQL lives here and nowhere else (see migrations/0003).
 *
 * Memory: inputs are borrowed; a claimed struct queue_job owns args_json
 * (queue_job_cleanup). */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include "db/db.h"
#include "job_ctx.h"

#include <stdbool.h>
#include <stdint.h>

#define QUEUE_EVENTS_PER_JOB 100

struct queue_new {
    const char *kind;
    const char *args_json;  /* a JSON object; NULL: {} */
    const char *run_at;     /* timestamptz text; NULL: now */
    int priority;           /* -100..100, higher first */
    int max_attempts;       /* 1..100 */
    const char *dedupe_key; /* NULL: none */
    const char *origin;     /* "api", "cli" or "schedule" */
    const char *schedule;   /* schedule name, or NULL */
    int64_t created_by;     /* user id, 0: none */
};

/* Inserts a job in the queue of its kind (job_kind_queue). With a dedupe key already held by an
 * unfinished job, inserts nothing: *id is that job's and *existing true. 0, or -1 on a database
 * error. */
int queue_enqueue(struct db *db, const struct queue_new *j, int64_t *id, bool *existing);

struct queue_job {
    int64_t id;
    char kind[72];
    char *args_json; /* owned */
    int attempt, max_attempts;
    bool cancel_requested;
};
void queue_job_cleanup(struct queue_job *j);

/* What to do with the job a worker holds. */
struct queue_settle {
    int64_t id;
    int attempt;
    const char *outcome;     /* "succeeded", "failed", "cancelled", "retry", "release" */
    double retry_delay;      /* seconds, for "retry" */
    const char *error;       /* kept as last_error; NULL keeps the previous one */
    const char *result_json; /* NULL: none */
    struct job_snapshot snap;
};

struct queue_settled {
    bool applied;    /* false: the lease was lost, nothing changed */
    char status[16]; /* the job's status afterwards */
};

/* In one statement: settles s (when not NULL) and, when claim is true, claims the best
 * due queued job of `queue` and one of `kinds` (a text[] literal such as "{a.b,c.d}")
 * for owner with a lease of lease_seconds. It never marks more than the one job it
 * returns `running`, whatever the plan. *got tells whether out holds a job. 0, or -1 on a database
 * error (nothing changed). */
int queue_settle_claim(struct db *db, const char *owner, int lease_seconds, const char *queue,
                       const char *kinds, const struct queue_settle *s,
                       struct queue_settled *settled, bool claim, struct queue_job *out, bool *got);

/* Renews the lease of a job held by owner and stores its progress. *held false: the
 * lease is lost. *cancel: a cancellation was requested. 0 or -1. */
int queue_renew(struct db *db, int64_t id, const char *owner, int attempt, int lease_seconds,
                const struct job_snapshot *snap, bool *held, bool *cancel);

/* Queues again (or fails, past max_attempts) up to limit running jobs whose lease
 * expired, with an event each. *reaped gets how many. 0 or -1. */
int queue_reap(struct db *db, int limit, int *reaped);

/* Seconds until the next queued job of queue and kinds is due (<= 0: one is due now); *none when
 * there is no queued job. 0 or -1. */
int queue_next_due(struct db *db, const char *queue, const char *kinds, double *seconds,
                   bool *none);

/* Runs ANALYZE on jobs when it was never analyzed or has grown a lot since (more than
 * twice the rows plus 1,000): with statistics that miss a bulk enqueue, the planner
 * claims with a bitmap scan and a sort of every queued job instead of walking the
 * claim index, until autovacuum's next analyze. *analyzed tells. 0 or -1. */
int queue_analyze_if_stale(struct db *db, bool *analyzed);

/* Appends an event to a job's log, keeping its last QUEUE_EVENTS_PER_JOB. With owner
 * not NULL, only while owner holds the lease for attempt. level: enum log_level.
 * 0 (also when nothing was written because the lease is gone) or -1. */
int queue_add_event(struct db *db, int64_t id, const char *owner, int attempt, int level,
                    const char *message);

#endif
