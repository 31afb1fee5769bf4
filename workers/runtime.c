/* runtime: start and stop of the job system in `sluice serve`; see runtime.h. */
#include "runtime.h"

#include "core/config.h"
#include "core/log.h"
#include "cron.h"
#include "job.h"
#include "job_metrics.h"
#include "job_queues.h"
#include "pool.h"
#include "schedule_spec.h"
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jobs_runtime {
    struct job_pool *pool;
    struct scheduler *scheduler;
};

int jobs_runtime_prepare(const struct config *c, char *err, size_t errlen) {
    job_registry_init(c->job_test_kinds);
    struct job_queues queues;
    if (job_queues_parse(c->job_queues, &queues, err, errlen) != 0) return -1;
    if (getenv("WORKER_THREADS"))
        log_event(LOG_WARN,
                  "WORKER_THREADS is no longer read: set JOB_QUEUES (e.g. "
                  "default:2,ingest:2)",
                  (char *)NULL);
    /* A kind whose queue has no thread here runs in the copies that list it. */
    for (size_t i = 0; i < job_kind_count(); i++) {
        const char *q = job_kind_queue(job_kind_at(i));
        bool served = false;
        for (size_t k = 0; k < queues.n; k++)
            served = served || (strcmp(queues.items[k].name, q) == 0 && queues.items[k].threads);
        if (!served)
            log_event(LOG_INFO,
                      "job kind not run by this process (its queue has no thread in "
                      "JOB_QUEUES)",
                      "kind", job_kind_at(i)->name, "queue", q, (char *)NULL);
    }
    if (cron_use_timezone(c->schedule_tz, err, errlen) != 0) return -1;
    struct schedule_specs specs;
    if (schedule_specs_parse(c->schedules, &specs, err, errlen) != 0) return -1;
    schedule_specs_cleanup(&specs);
    job_metrics_register(&queues);
    return 0;
}

struct jobs_runtime *jobs_runtime_start(const struct config *c, struct db_listen *loop, char *err,
                                        size_t errlen) {
    struct jobs_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct job_queues queues;
    if (job_queues_parse(c->job_queues, &queues, err, errlen) != 0) {
        free(rt);
        return NULL;
    }
    if (queues.threads > 0) {
        struct job_pool_options po = {
            .database_url = c->database_url,
            .config = c,
            .queues = &queues,
            .statement_timeout_ms = c->job_statement_timeout_ms,
            .lease_seconds = (int)c->job_lease_seconds,
            .listen = loop,
        };
        rt->pool = job_pool_start(&po, err, errlen);
        if (!rt->pool) {
            free(rt);
            return NULL;
        }
    }
    struct scheduler_options so = {.database_url = c->database_url, .schedules = c->schedules};
    rt->scheduler = scheduler_start(&so, err, errlen);
    if (!rt->scheduler) {
        job_pool_stop(rt->pool, 0);
        free(rt);
        return NULL;
    }
    log_event(LOG_INFO, "job workers started", "queues", c->job_queues, "time_zone", c->schedule_tz,
              (char *)NULL);
    return rt;
}

void jobs_runtime_begin_stop(struct jobs_runtime *rt) {
    if (rt) job_pool_begin_stop(rt->pool);
}

void jobs_runtime_stop(struct jobs_runtime *rt, double grace_seconds) {
    if (!rt) return;
    scheduler_stop(rt->scheduler);
    job_pool_stop(rt->pool, grace_seconds);
    free(rt);
}
