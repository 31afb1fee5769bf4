/* runtime: start and stop of the job system in `sluice serve`; see runtime.h. */
#include "runtime.h"

#include "core/config.h"
#include "core/log.h"
#include "cron.h"
#include "job.h"
#include "job_metrics.h"
#include "pool.h"
#include "schedule_spec.h"
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>

struct jobs_runtime {
    struct job_pool *pool;
    struct scheduler *scheduler;
};

int jobs_runtime_prepare(const struct config *c, char *err, size_t errlen) {
    job_registry_init(c->job_test_kinds);
    if (cron_use_timezone(c->schedule_tz, err, errlen) != 0) return -1;
    struct schedule_specs specs;
    if (schedule_specs_parse(c->schedules, &specs, err, errlen) != 0) return -1;
    schedule_specs_cleanup(&specs);
    job_metrics_register();
    return 0;
}

struct jobs_runtime *jobs_runtime_start(const struct config *c, char *err, size_t errlen) {
    struct jobs_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->worker_threads > 0) {
        struct job_pool_options po = {
            .database_url = c->database_url,
            .config = c,
            .threads = (int)c->worker_threads,
            .lease_seconds = (int)c->job_lease_seconds,
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
    char threads[16];
    snprintf(threads, sizeof threads, "%ld", c->worker_threads);
    log_event(LOG_INFO, "job workers started", "threads", threads, "time_zone", c->schedule_tz,
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
