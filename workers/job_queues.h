/* job_queues: the JOB_QUEUES setting — which job queues this process works on and with
 * how many worker threads each: "default:2,ingest:2". A kind names its queue
 * (struct job_kind.queue, "default" when NULL); each queue has its own threads, so long
 * jobs of one queue never hold up the jobs of another. Pure (no I/O), fuzzed.
 *
 * Grammar: entries separated by ",", each `name:threads` with optional blanks around the
 * parts; name [a-z][a-z0-9_-]{0,31}, unique; threads 0..256 (0: this process runs none
 * of that queue's jobs), at most JOB_QUEUES_MAX_THREADS in all. An empty or blank value
 * means no queue at all: the process runs no jobs (it still schedules).
 * Memory: the result is a plain struct, no heap. */
#ifndef SLUICE_JOB_QUEUES_H
#define SLUICE_JOB_QUEUES_H

#include <stdbool.h>
#include <stddef.h>

#define JOB_QUEUES_MAX 16
#define JOB_QUEUE_NAME_MAX 32 /* characters of a name */
#define JOB_QUEUES_MAX_THREADS 256
#define JOB_QUEUE_DEFAULT "default"

struct job_queue_spec {
    char name[JOB_QUEUE_NAME_MAX + 1];
    int threads;
};

struct job_queues {
    struct job_queue_spec items[JOB_QUEUES_MAX];
    size_t n;
    int threads; /* sum of the items' threads */
};

/* 0, or -1 with err ("JOB_QUEUES entry 2 (\"x\"): ...") and *out empty. */
int job_queues_parse(const char *text, struct job_queues *out, char *err, size_t errlen);

/* Whether name is a valid queue name. */
bool job_queue_name_valid(const char *name);

#endif
