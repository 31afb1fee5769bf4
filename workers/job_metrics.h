/* job_metrics: the /metrics lines of the job system. From the database (all sluice
 * copies): jobs by queue, kind and status, each queue's depth (due queued jobs) and the
 * age of its oldest due job. From this process: jobs finished by kind and outcome, a
 * histogram of run durations by kind, worker threads and busy workers by queue, scheduler ticks and
 * fires. Process-local counters are lock-free atomics in static storage. */
#ifndef SLUICE_JOB_METRICS_H
#define SLUICE_JOB_METRICS_H

#include <stddef.h>

struct job_queues;

/* Adds the job lines to /metrics (http/metrics.h); once, at start-up. */
void job_metrics_register(const struct job_queues *queues);

/* A job of this process ended: kind, the status it reached ("succeeded", "failed",
 * "cancelled", "queued" for a retry or a release), and how long run() took. */
void job_metrics_observe(const char *kind, const char *status, double seconds);

/* A worker of queue started (+1) or ended (-1) a job. */
void job_metrics_busy(const char *queue, int delta);
void job_metrics_scheduler_tick(void);
void job_metrics_scheduler_fire(void);

#endif
