/* job: what a job kind is and what a running job sees.
 *
 * A kind is a struct job_kind — a name, declared arguments (checked at enqueue, so bad
 * arguments are a 400, never a failed job later), an optional extra validator and
 * run(ctx, args) — listed in the one table of workers/registry.c. The same kinds run
 * on the worker pool (queued through the API, a schedule or `sluice jobs enqueue`) and
 * in the foreground (`sluice jobs run`).
 *
 * run() reports through ctx: progress, counters, events; it checks job_cancelled()
 * between batches and then returns JOB_CANCELLED; it uses job_db() for its SQL (the
 * worker's own connection; no transaction is open when run starts, and none may be
 * left open when it returns).
 *
 * Fenced commits. A kind that commits data together with its bookkeeping (rows loaded,
 * the file offset reached) does it with job_transaction(ctx, fn, arg): fn writes in one
 * transaction, and the transaction commits only if, at its end, this worker still holds
 * the job's lease for this attempt (job_fence: the job row's lease_owner and attempt,
 * read under FOR KEY SHARE). If another worker took the job meanwhile (this worker's
 * lease expired and the reaper queued it again), everything fn wrote is rolled back and
 * job_transaction returns JOB_LEASE_LOST; run() then returns at once (its outcome is
 * discarded). A kind that opens its own transaction calls job_fence(ctx) as its last
 * statement before COMMIT instead. The fence's lock is the weakest there is: the lease
 * keeper's renewal (its own connection, an UPDATE of non-key columns) never waits for
 * it, and the reaper cannot take the job between the fence and the commit.
 * Progress and counters set inside fn (job_progress, job_count) are staged: they
 * become the job's numbers only when the transaction commits, and are dropped when it
 * rolls back — so they never describe data that was not committed. Events are not
 * transactional. Kinds keep their own bookkeeping (offsets) in their own tables,
 * written by fn: never in the jobs row, whose lock would make the renewal wait.
 *
 * Statements and cancellation. The worker's connection has TCP keepalives and
 * statement_timeout = JOB_STATEMENT_TIMEOUT_MS (0: none). When the job is cancelled (by
 * a user, the shutdown grace, or a lost lease) the statement it is running is
 * interrupted (PQcancel): it fails with SQLSTATE 57014 and job_cancelled() is true, so
 * run() returns JOB_CANCELLED. Any transaction it had open is rolled back.
 *
 * Memory: kinds and their argument tables are static. args passed to run() are
 * borrowed for the call. The ctx is owned by whoever runs the job. */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct config;
struct job_ctx;

enum job_outcome {
    JOB_SUCCEEDED,
    JOB_RETRY,     /* failed this time: tried again after a backoff, up to max_attempts */
    JOB_FAILED,    /* failed for good: no retry (the error says why) */
    JOB_CANCELLED, /* stopped early because job_cancelled() said so */
};

enum job_arg_type { JOB_ARG_STRING, JOB_ARG_INT, JOB_ARG_BOOL, JOB_ARG_NUMBER };

/* One declared argument: args is a JSON object whose members are all declared. */
struct job_arg {
    const char *name; /* NULL ends the table */
    enum job_arg_type type;
    bool required;
    long long min, max; /* JOB_ARG_INT, JOB_ARG_NUMBER: value bounds; JOB_ARG_STRING: length */
    const char *help;
};

/* A refused argument: field names it ("kind", "args", "args.days"). */
struct job_error {
    char field[80];
    char message[256];
};

struct job_kind {
    const char *name; /* lower case, dots: "maintenance.prune" */
    const char *summary;
    const struct job_arg *args;
    /* Optional rules across arguments, after the declared checks; 0 or -1 with err. */
    int (*validate)(const json_t *args, struct job_error *err);
    enum job_outcome (*run)(struct job_ctx *ctx, const json_t *args);
    /* The queue its jobs wait in (job_queues.h), recorded with each job at enqueue:
     * only the workers of that queue (JOB_QUEUES) claim them. NULL: "default". */
    const char *queue;
    int max_attempts;    /* when the enqueuer gives none */
    double backoff_base; /* seconds before the first retry; doubled at each attempt */
    double backoff_max;  /* cap of one delay */
};

/* ---- the registry (workers/registry.c) ------------------------------------------ */

/* Chooses whether the test-only kinds (test.*) exist; call once at start-up, before
 * any thread starts (JOB_TEST_KINDS). */
void job_registry_init(bool with_test_kinds);
/* Borrowed, or NULL when no such kind is registered. */
const struct job_kind *job_kind_find(const char *name);
size_t job_kind_count(void);
/* The kind's queue: its .queue, or "default". */
const char *job_kind_queue(const struct job_kind *kind);
const struct job_kind *job_kind_at(size_t i);

/* Checks args (an object, or NULL for {}) against the kind's declaration and validator.
 * 0, or -1 with err naming the field ("args" or "args.<name>") and the rule it broke. */
int job_args_check(const struct job_kind *kind, const json_t *args, struct job_error *err);

/* The same check with api/body_fields.h (a kind declares at most JOB_MAX_ARGS
 * arguments): adds every failure to errs (for a 422 listing them); true when valid. */
#define JOB_MAX_ARGS 32
struct field_errors;
bool job_args_collect(const struct job_kind *kind, json_t *args, struct field_errors *errs);

/* Sets one argument from "name=value" text (the CLI's --arg), converting the value to
 * the declared type. 0, or -1 with err. */
int job_args_set_text(const struct job_kind *kind, json_t *args, const char *assignment,
                      struct job_error *err);

/* The delay before retry number `attempt` (1 = the first retry): base * 2^(attempt-1)
 * capped at max, then "equal jitter": half fixed, half random (unit in [0, 1)). */
double job_backoff_seconds(double base, double max, int attempt, double unit);

/* ---- for run() (workers/job_ctx.c) ------------------------------------------------ */

/* Items done out of total (total < 0: unknown), in unit (e.g. "lines"; NULL keeps the
 * last one). Cheap: kept in memory, written to the database about once a second. */
void job_progress(struct job_ctx *ctx, int64_t done, int64_t total, const char *unit);
/* Adds to the counters of items that succeeded, were ignored, failed. */
void job_count(struct job_ctx *ctx, int64_t ok, int64_t ignored, int64_t errors);
/* An event of the job's log (level: LOG_DEBUG..LOG_ERROR of core/log.h). */
void job_event(struct job_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True once the job should stop: cancelled by a user, shutdown grace over, or lease
 * lost. Check it between batches and return JOB_CANCELLED. */
bool job_cancelled(struct job_ctx *ctx);
/* Returned by job_fence and job_transaction when another worker holds the job now. */
#define JOB_LEASE_LOST (-2)

/* Inside a transaction on job_db(ctx): checks that this worker still holds the job's
 * lease (owner and attempt) and keeps it from being taken until the transaction ends.
 * 0 held; JOB_LEASE_LOST (job_cancelled() turns true: roll back and return); -1 database
 * error. Always 0 in the foreground (`sluice jobs run`: no lease). */
int job_fence(struct job_ctx *ctx);

/* Runs fn(ctx, arg) inside BEGIN/COMMIT on job_db(ctx) with job_fence at its end,
 * retrying serialization failures and deadlocks (fn may run again: it must start from
 * scratch). fn returns 0 to commit, non-zero to roll back. Returns 0 when committed,
 * JOB_LEASE_LOST or fn's non-zero value when rolled back, -1 on a database error
 * (rolled back; should COMMIT itself fail on a broken connection, whether it applied is
 * unknown — the fenced bookkeeping written with the data tells on the next attempt).
 * Progress and counters set by fn take effect only once committed. */
int job_transaction(struct job_ctx *ctx, int (*fn)(struct job_ctx *ctx, void *arg), void *arg);

/* The connection to use (borrowed). */
struct db *job_db(struct job_ctx *ctx);
/* The configuration (borrowed, read-only). */
const struct config *job_config(struct job_ctx *ctx);
/* The job's result, stored as JSON with the job (stolen). */
void job_set_result(struct job_ctx *ctx, json_t *result);
/* Why the job failed (kept as last_error). */
void job_set_error(struct job_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The job's id (0 when run in the foreground by the CLI) and attempt (1, 2, ...). */
int64_t job_id(const struct job_ctx *ctx);
int job_attempt(const struct job_ctx *ctx);

#endif
