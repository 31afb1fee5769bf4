/* kinds: every job kind of sluice, one file each in workers/kinds/ (or a folder for the
 * bigger ones). Add a kind: declare it here, define it in its file, and list it in the
 * table of workers/registry.c. The objects are static and read-only. */
#ifndef SLUICE_KINDS_H
#define SLUICE_KINDS_H

#include "job.h"

/* maintenance.prune: old finished jobs, audit entries and login failures. */
extern const struct job_kind job_kind_maintenance_prune;

/* machine_logs.ingest: the centres' LOG files into sessions (workers/machine_logs/). */
extern const struct job_kind job_kind_machine_logs_ingest;

/* Test-only kinds (JOB_TEST_KINDS=true): workers/kinds/test_kinds.c. */
extern const struct job_kind job_kind_test_sleep;
extern const struct job_kind job_kind_test_fail;
extern const struct job_kind job_kind_test_count;

#endif
