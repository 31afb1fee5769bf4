/* schedule_store: how the API reads and edits schedules — every schedule as JSON with
 * its next fire time (computed with cron_next in the process time zone) and last job,
 * and the admin's changes (enabled, cron, args). Changing the cron or enabling a
 * schedule restarts its clock at now, so that no fire counts as missed.
 * Memory: returned json_t are new references for the caller; inputs are borrowed. */
#ifndef SLUICE_SCHEDULE_STORE_H
#define SLUICE_SCHEDULE_STORE_H

#include "db/db.h"

#include <jansson.h>
#include <stdbool.h>

/* Every schedule (name order) as a JSON array, or one (name not NULL) as an object —
 * NULL and *found false when there is no such schedule. NULL with *found true on a
 * database error. time_zone is reported as is. */
json_t *schedule_store_get(struct db *db, const char *name, const char *time_zone, bool *found);

/* The kind of schedule name into kind (72 bytes). 1 found, 0 not found, -1 error. */
int schedule_store_kind(struct db *db, const char *name, char kind[72]);

/* Applies the given changes (enabled: -1 unchanged, 0, 1; cron, args_json: NULL
 * unchanged), already validated. 1 updated, 0 not found, -1 error. */
int schedule_store_update(struct db *db, const char *name, int enabled, const char *cron,
                          const char *args_json);

#endif
