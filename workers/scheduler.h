/* scheduler: the thread of `sluice serve` that turns cron schedules into jobs.
 *
 * At start it checks SCHEDULES (schedule_spec.h) and makes the schedules table match
 * it: entries are inserted, entries whose text changed overwrite cron/kind/args (an
 * API edit survives restarts until then), schedules no longer configured are deleted.
 * Then, at each fire time (and at least every few seconds, to see API edits), for each
 * enabled schedule whose next fire after last_fire_at has passed, it enqueues ONE job
 * for the latest passed fire time — so a fire missed while every copy was down runs
 * once at start-up — in a single statement that also moves last_fire_at forward only
 * if no other copy did (dedupe key "schedule:<name>@<fire time>" as a second guard).
 * Several sluice copies therefore enqueue each fire once.
 *
 * Times are computed in the process time zone (cron_use_timezone(SCHEDULE_TZ) at
 * start-up). The scheduler owns its thread, connection and parsed schedules. */
#ifndef SLUICE_SCHEDULER_H
#define SLUICE_SCHEDULER_H

#include "db/db.h"
#include "schedule_spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct scheduler;

struct scheduler_options {
    const char *database_url;
    const char *schedules; /* the SCHEDULES value */
    double max_sleep;      /* longest pause between passes; <= 0: 5 s */
};

/* Parses SCHEDULES (NULL with err on a bad entry) and starts the thread. */
struct scheduler *scheduler_start(const struct scheduler_options *opts, char *err, size_t errlen);
/* Stops and joins the thread, frees everything. NULL accepted. */
void scheduler_stop(struct scheduler *s);

/* One pass on db at time now: fires what is due. Returns the time of the next fire
 * (or now + a long time when none), -1 on a database error. For the thread and tests. */
time_t scheduler_pass(struct db *db, time_t now);

/* Makes the schedules table match specs (see above). 0 or -1. */
int scheduler_sync_config(struct db *db, const struct schedule_specs *specs);

#endif
