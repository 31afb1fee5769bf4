/* jobs_util: helpers shared by the job system's integration tests (test_jobs_*.c):
 * waiting for a job to reach a status, reading one column of a job, counting rows.
 * Strings returned are malloc'd; responses are the caller's to clean up. */
#ifndef SLUICE_TEST_JOBS_UTIL_H
#define SLUICE_TEST_JOBS_UTIL_H

#include "auth_util.h"

#include <stdbool.h>

/* Polls the database until job id has status (one of a comma-separated list), for up to
 * timeout_s seconds. Returns true when it did. */
bool job_wait_status(const char *url, long id, const char *statuses, double timeout_s);

/* Polls until `SELECT count(*) ...` (sql) returns at least n, for up to timeout_s. */
bool wait_count(const char *url, const char *sql, long n, double timeout_s);

/* Column expression expr of job id (e.g. "status", "attempt::text"), malloc'd, or NULL. */
char *job_column(const char *url, long id, const char *expr);

/* POST /jobs with the JSON body as token; the new id (202 or 200), or -1 (printed). */
long job_post(struct sluice_proc *p, const char *token, const char *json);

/* The value of a metric line "name{labels} value" (exact name with labels) in GET
 * /metrics, or -1 when absent. */
double metric_value(struct sluice_proc *p, const char *name_with_labels);

/* Sleeps ms milliseconds. */
void pause_ms(int ms);

#endif
