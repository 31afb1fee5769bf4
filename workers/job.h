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

enum job_arg_type { JOB_ARG_STRING, JOB_ARG_INT, JOB_ARG_BOOL };

/* One declared argument: args is a JSON object whose members are all declared. */
struct job_arg {
    const char *name; /* NULL ends the table */
    enum job_arg_type type;
    bool required;
    long long min, max; /* JOB_ARG_INT: value bounds; JOB_ARG_STRING: length bounds */
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
