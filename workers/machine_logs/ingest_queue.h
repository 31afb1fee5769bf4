/* ingest_queue: the one way sluice queues machine_logs.ingest for a centre — used by the
 * LOG_WATCH watcher, PUT /centres/{code}/log-files/{name} and the demo seed. The job gets
 * args {"centre": code} and the dedupe key "machine_logs.ingest:<code>", so a burst of
 * files (or several sluice copies on one shared LOG_ROOT) gives one queued job per centre.
 * A queued job holding the key is reused; a running one is not (it may have listed its
 * folder already): its key is taken from it and a new job is queued. The kind drops the
 * key itself when it starts (workers/kinds/machine_logs_ingest.c).
 *
 * Memory: everything passed in is borrowed; nothing is kept. */
#ifndef SLUICE_ML_INGEST_QUEUE_H
#define SLUICE_ML_INGEST_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct ml_enqueue {
    const char *code;     /* the centre's code */
    long delay_seconds;   /* run at now + delay (0: now) */
    const char *origin;   /* "api", "cli" or "schedule" */
    const char *schedule; /* e.g. "LOG_WATCH", or NULL */
    int64_t created_by;   /* user id, 0: none */
};

/* The dedupe key of a centre's queued ingest (out: at least 64 bytes). */
void ml_ingest_dedupe_key(const char *code, char *out, size_t outlen);

/* Queues (or finds, still queued) the centre's ingest. *id gets the job, *existing
 * whether it was already queued. 0, or -1 on a database error (db_last_error). */
int ml_enqueue_ingest(struct db *db, const struct ml_enqueue *e, int64_t *id, bool *existing);

#endif
