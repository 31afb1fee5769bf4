/* rows: what machine-log rows need on top of db/db_copy.h's encoder — instants
 * (microseconds since 1970 UTC) and durations (microseconds as decimal seconds) as COPY
 * fields, and sending a whole buffer with one COPY statement.
 * Memory: the caller's struct db_copy_buf, grown by the encoder. */
#ifndef SLUICE_ML_ROWS_H
#define SLUICE_ML_ROWS_H

#include "db/db_copy.h"

#include <stdint.h>

struct db;

/* A timestamptz field. */
void rows_time(struct db_copy_buf *b, int64_t us);
/* A number of seconds ("12.5") from microseconds. */
void rows_seconds(struct db_copy_buf *b, int64_t us);

/* COPY copy_sql FROM STDIN with the buffer's rows (nothing when it holds none). 0, or -1
 * with db_last_error set. The buffer is emptied. */
int rows_copy(struct db *db, const char *copy_sql, struct db_copy_buf *b);

#endif
