/* job_store: how the API and the CLI read and change jobs — one job as JSON (with
 * progress percentage, rate, ETA and its last events), lists with filters and keyset
 * pagination, a job's events, and cancellation. The JSON is built by PostgreSQL; the
 * SQL lives here (the workers' side is workers/queue.c).
 *
 * Memory: strings returned as char * are malloc'd for the caller; PGresults returned
 * are the caller's to PQclear; inputs are borrowed. */
#ifndef SLUICE_JOB_STORE_H
#define SLUICE_JOB_STORE_H

#include "db/db.h"

#include <stdbool.h>
#include <stdint.h>

#define JOB_STORE_LAST_EVENTS 10

/* One job as JSON text, with its last nevents events (newest last) when nevents > 0.
 * *json NULL when there is no such job. 0, or -1 on a database error. */
int job_store_get(struct db *db, int64_t id, int nevents, char **json);

/* Filters of a list; NULL (or 0) fields filter nothing. */
struct job_filter {
    const char *kind;
    const char *statuses;       /* text[] literal, e.g. "{queued,running}" */
    const char *created_from;   /* timestamptz text, inclusive */
    const char *created_before; /* timestamptz text, exclusive */
    const char *schedule;
    const char *queue;
};

/* Jobs matching f in id order (newest first unless ascending), after the keyset id
 * `after` (NULL: from the start), at most limit rows: column 0 the id, column 1 the
 * job's JSON text. NULL on a database error. */
PGresult *job_store_list(struct db *db, const struct job_filter *f, bool ascending,
                         const char *after, const char *limit);

/* Events of a job with seq > after, oldest first, at most limit: column 0 seq, column 1
 * the event's JSON text. NULL on a database error. */
PGresult *job_store_events(struct db *db, int64_t id, const char *after, const char *limit);

/* Whether the job exists: 1 yes, 0 no, -1 database error. */
int job_store_exists(struct db *db, int64_t id);

enum job_cancel_result {
    JOB_CANCEL_DONE,      /* it was queued: now cancelled */
    JOB_CANCEL_REQUESTED, /* it is running: its worker is told, it stops between batches */
    JOB_CANCEL_FINISHED,  /* it had already finished: nothing changed */
    JOB_CANCEL_NOT_FOUND,
};

/* Cancels job id on behalf of `who` (for the event: "user admin", "the CLI").
 * *status gets the status afterwards. 0, or -1 on a database error. */
int job_store_cancel(struct db *db, int64_t id, const char *who, enum job_cancel_result *result,
                     char status[16]);

#endif
