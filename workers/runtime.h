/* runtime: the job system inside `sluice serve` in two calls — jobs_runtime_prepare
 * (before any thread: kinds registry with JOB_TEST_KINDS, TZ=SCHEDULE_TZ, the /metrics
 * lines, SCHEDULES checked) and jobs_runtime_start (the worker pool when JOB_QUEUES
 * gives threads, and the scheduler; the pool subscribes to the process's LISTEN loop). Stopping
 * mirrors the HTTP server: begin_stop stops claiming at once, stop lets running jobs finish within
 * the grace period, then releases them. The runtime owns the pool and the scheduler; the config is
 * borrowed for its life. */
#ifndef SLUICE_RUNTIME_H
#define SLUICE_RUNTIME_H

#include <stddef.h>

struct config;
struct db_listen;
struct jobs_runtime;

/* 0, or -1 with a configuration error in err. Call once, before threads start. */
int jobs_runtime_prepare(const struct config *c, char *err, size_t errlen);

/* loop: the process's LISTEN loop (borrowed; it must outlive the runtime). */
struct jobs_runtime *jobs_runtime_start(const struct config *c, struct db_listen *loop, char *err,
                                        size_t errlen);
void jobs_runtime_begin_stop(struct jobs_runtime *rt);
/* Waits up to grace_seconds for running jobs, then stops everything and frees rt. */
void jobs_runtime_stop(struct jobs_runtime *rt, double grace_seconds);

#endif
