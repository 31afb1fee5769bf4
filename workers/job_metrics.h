/* job_metrics: the /metrics lines of the job system. From the database (all sluice
 * copies): jobs by kind and status, queue depth (due queued jobs) and the age of the
 * oldest due one. From this process: jobs finished by kind and outcome, a histogram of
 * run durations by kind, busy workers, scheduler ticks and fires. Process-local
 * counters are lock-free atomics in static storage. */
#ifndef SLUICE_JOB_METRICS_H
#define SLUICE_JOB_METRICS_H

#include <stddef.h>

/* Adds the job lines to /metrics (http/metrics.h); once, at start-up. */
void job_metrics_register(void);

/* A job of this process ended: kind, the status it reached ("succeeded", "failed",
 * "cancelled", "queued" for a retry or a release), and how long run() took. */
void job_metrics_observe(const char *kind, const char *status, double seconds);

void job_metrics_busy(int delta);
void job_metrics_scheduler_tick(void);
void job_metrics_scheduler_fire(void);

#endif
