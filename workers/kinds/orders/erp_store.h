/* erp_store: the PostgreSQL side of orders.sync — the sync_runs history, the staging
 * table the streamed rows are copied into, and the one transaction that replaces the
 * ERP's orders by the staged ones.
 *
 * The staging table (sluice_erp_stage) is a temporary table of the job's connection:
 * no other session sees it and nothing is WAL-logged. The replacement runs in one
 * transaction: the staged rows reduced to one per order (the spec's rule, DISTINCT ON),
 * then set-based statements that update only the rows whose values changed (ERP rows,
 * and API rows the ERP takes over), insert the new orders and delete the ERP orders that
 * left the result (an order whose rows were all rejected is still in it: its key is
 * staged alone, erp_store_stage_key, and its previous row stays), and the run's counts;
 * readers keep seeing the previous set until the commit (MVCC: no lock they wait for)
 * and the whole new one after.
 *
 * Memory: nothing is kept between calls; strings passed in are borrowed. */
#ifndef SLUICE_ERP_STORE_H
#define SLUICE_ERP_STORE_H

#include "kinds/orders/erp_clean.h"

#include <stdbool.h>
#include <stdint.h>

struct db;
struct db_copy_buf;

/* The counts of one run (sync_runs columns). */
struct erp_counts {
    int64_t rows_read, inserted, updated, deleted, unchanged, duplicates, rejected;
    int64_t rejected_by[ERP_COL_COUNT];
    int64_t staged; /* rows copied into the staging table */
};

/* Records the start of a run (status running) for job_id (0: none) and attempt; a run of
 * the same job still marked running (its process died) is marked failed first. 0 with
 * *run_id, or -1 (db_last_error). */
int erp_store_run_start(struct db *db, int64_t job_id, int attempt, int64_t *run_id);
/* Ends a run that did not replace anything: status failed or cancelled, the counts so
 * far and the error (NULL: none). 0 or -1. */
int erp_store_run_end(struct db *db, int64_t run_id, const char *status, const struct erp_counts *k,
                      const char *error);

/* Creates (or empties) the staging table and starts COPY into it. 0 or -1. */
int erp_store_stage_begin(struct db *db);
/* Appends one cleaned order to the COPY buffer (sent by the caller with db_copy_put). */
void erp_store_stage_row(struct db_copy_buf *b, const struct erp_order *o);
/* Appends only the key of o, an order whose row was rejected but whose key is valid: an
 * order still in the query's result, whose previous row the replacement keeps when none
 * of its rows is valid. */
void erp_store_stage_key(struct db_copy_buf *b, const struct erp_order *o);

/* Is called inside the replacement transaction twice: before anything is written
 * (before_commit false), and as its last statement before COMMIT (true: where a job
 * calls job_fence); returns 0 to go on, non-zero to roll back (e.g. the job was
 * cancelled or its lease was lost). May be NULL. */
typedef int (*erp_store_guard_fn)(struct db *db, void *arg, bool before_commit);

/* The replacement transaction (see above), with the run's row in sync_runs marked
 * succeeded and its counts in the same transaction. k->duplicates comes in with the
 * duplicates already dropped while streaming and leaves with the total; inserted,
 * updated, deleted and unchanged are filled. 0, -1 on a database error (everything
 * rolled back), or the guard's first non-zero value (everything rolled back). */
int erp_store_replace(struct db *db, int64_t run_id, struct erp_counts *k, erp_store_guard_fn guard,
                      void *guard_arg);

/* The rejected counts by field as a JSON object text ({"coffre": 2, ...}), into buf. */
void erp_store_rejected_json(const struct erp_counts *k, char *buf, size_t len);

#endif
