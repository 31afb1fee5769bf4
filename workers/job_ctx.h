/* job_ctx: the state behind the struct job_ctx that run() sees (job.h), for those who
 * run jobs — the worker pool (workers/pool.c) and the foreground runner of the CLI.
 *
 * Threads: run() writes progress, counters and events from the job's thread; observers
 * (the pool's lease keeper, the CLI's progress display) read them with
 * job_ctx_snapshot / job_ctx_take_events from theirs; the flags are atomics set by
 * anyone. Memory: a ctx is owned by its runner (init/cleanup); it owns its result and
 * pending events; db, config and kind are borrowed. */
#ifndef SLUICE_JOB_CTX_H
#define SLUICE_JOB_CTX_H

#include "job.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#define JOB_CTX_MAX_EVENTS 64
#define JOB_EVENT_MAX 512

struct job_snapshot {
    int64_t done, total; /* total < 0: unknown */
    char unit[32];
    int64_t ok, ignored, errors;
    unsigned long version; /* changes whenever the numbers above do */
};

struct job_pending_event {
    int level;
    char message[JOB_EVENT_MAX];
};

struct job_ctx {
    /* Fixed for the run. */
    struct db *db;
    const struct config *config;
    const struct job_kind *kind;
    int64_t id;
    int attempt;
    const char *lease_owner; /* the worker holding the lease (NULL in the foreground) */
    /* When set, events go there at once (in the job's thread) instead of the buffer. */
    void (*on_event)(struct job_ctx *ctx, int level, const char *message);
    void *owner; /* the runner's data */

    pthread_mutex_t mu; /* guards snap, staged, in_txn, pending, npending, dropped, cancel */
    struct job_snapshot snap;
    /* Inside job_transaction: progress and counters go to staged, and become snap only
     * when the transaction commits (job_fence.c). */
    struct job_snapshot staged;
    bool in_txn;
    /* Interrupts the statement running on the job's connection, or NULL. */
    struct db_interrupt *cancel;
    struct job_pending_event pending[JOB_CTX_MAX_EVENTS];
    size_t npending;
    unsigned long dropped; /* events lost because the buffer was full */

    atomic_bool cancel_requested; /* by a user (API, CLI, Ctrl-C) */
    atomic_bool stopping;         /* shutdown grace over: stop and be released */
    atomic_bool lease_lost;       /* another worker may own the job now */

    /* Written by the job's thread only. */
    json_t *result;
    char error[1024];
};

void job_ctx_init(struct job_ctx *ctx, const struct job_kind *kind, struct db *db,
                  const struct config *config, int64_t id, int attempt);
void job_ctx_cleanup(struct job_ctx *ctx);

void job_ctx_snapshot(struct job_ctx *ctx, struct job_snapshot *out);

/* Before run(): the job's statements on db can be interrupted from now on (a handle on
 * its connection is kept: db_interrupt_new). After run(): job_ctx_cleanup drops it. */
void job_ctx_arm_interrupt(struct job_ctx *ctx, struct db *db);
/* From any thread, after setting a stop flag: interrupts the statement the job is
 * running, if any (db_interrupt_send; the statement fails with SQLSTATE 57014). */
void job_ctx_interrupt(struct job_ctx *ctx);

/* Moves up to max buffered events to out (oldest first); *dropped gets (and resets)
 * the count of events lost since the last call. Returns how many were moved. */
size_t job_ctx_take_events(struct job_ctx *ctx, struct job_pending_event *out, size_t max,
                           unsigned long *dropped);

/* Name of a log level for job events: "debug", "info", "warn", "error". */
const char *job_level_name(int level);

#endif
