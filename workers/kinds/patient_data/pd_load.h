/* pd_load: the state of one patient_data.insert run, shared by its flow
 * (patient_data.c: arguments; pd_source.c: which file; pd_read.c and pd_file.c: the
 * scan and load passes; pd_cycle.c: cycles, fill; pd_generate.c: generation;
 * pd_report.c: progress, result) and its targets: PostgreSQL (pd_pg.c: partitions, COPY
 * batches committed with the load's position, paced cycles in one statement) and
 * DashMed's MariaDB (pd_mysql.c). Internal to the kind. Memory: everything hangs off
 * struct pd_load and is freed by pd_finish (pd_report.c); the ctx and db are borrowed. */
#ifndef SLUICE_PD_LOAD_H
#define SLUICE_PD_LOAD_H

#include "core/text.h"
#include "db/db_copy.h"
#include "job.h"
#include "kinds/patient_data/pd_csv.h"
#include "kinds/patient_data/pd_gen.h"
#include "kinds/patient_data/pd_refs.h"

#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#define PD_ERROR_EVENTS_PER_BATCH 200 /* error rows listed as events per batch/cycle */
#define PD_ERROR_ROWS_IN_RESULT 100   /* error rows listed in the result */

/* One row to write. Strings borrowed for the call. */
struct pd_out {
    int32_t patient;
    const char *parameter;
    const char *value;
    const char *ts; /* bulk: the row's timestamp text; paced: unused (one per cycle) */
    int64_t ts_key; /* the CSV timestamp as pdrow's ts_key, when ts_has_offset */
    bool ts_has_offset;
    bool alert, archived;
    int64_t created_by;
};

/* Where the load stands after what was just written: the next record's offset and line
 * (file loads), cycles done in total. */
struct pd_pos {
    int64_t offset, line, cycles_done;
};

struct pd_error_row {
    int64_t line;
    char why[240];
};

struct pd_counts {
    int64_t rows, filled, ign_patient, ign_parameter, ign_user, errors, cycles;
};

struct pd_load {
    struct job_ctx *ctx;
    struct db *db;
    /* options */
    bool paced, ts_now, fill, resume, mysql, have_csv;
    double delay;
    int64_t cycles_arg, created_by, batch_rows;
    size_t max_record;
    uint64_t seed;
    char tz[80];
    char path[PATH_MAX];
    char source[PATH_MAX + 32];
    /* reference sets */
    struct pd_refs refs;
    bool *param_in_csv; /* per refs.parameters index */
    struct pd_rng rng;
    /* scan */
    int64_t total_cycles, file_size;
    unsigned char fingerprint[32];
    /* progress of the load */
    struct pd_pos start;    /* where this run started (resume) */
    struct pd_counts done;  /* committed by this run */
    struct pd_counts batch; /* written since the last commit (not yet counted) */
    int64_t cycles_before;  /* cycles done by earlier runs (resume) */
    int64_t record_job;     /* the job that last wrote the load record */
    /* the current cycle */
    bool cycle_open;
    int64_t cycle_key;
    bool cycle_has_offset;
    char cycle_ts[64]; /* its timestamp text (CSV's, or the generated/now one) */
    int32_t *cycle_patients;
    int64_t *cycle_creators;
    size_t ncycle_patients, cap_cycle_patients;
    /* error rows not yet turned into events */
    struct pd_error_row *pending_errors;
    size_t npending_errors;
    int64_t errors_unlisted;
    json_t *error_rows; /* the first PD_ERROR_ROWS_IN_RESULT, for the result */
    /* PostgreSQL target */
    struct db_copy_buf copy;
    bool in_tx, copy_open;
    struct textbuf a_pat, a_par, a_val, a_alert, a_by, a_arch; /* paced cycle arrays */
    size_t cycle_rows;
    /* MariaDB target (pd_mysql.c) */
    void *my;
    /* times */
    double t_start;
    int64_t ensured_until_us; /* partitions exist up to here (timestamps=now) */
    char error[2048];
};

double pd_mono(void);
int64_t pd_now_us(void);

/* ---- pd_pg.c ------------------------------------------------------------------------ */
/* Sets the session's TimeZone to L->tz (CSV timestamps without offset are read in it). */
int pd_pg_session(struct pd_load *L);
/* Resets it (the worker's connection is shared by later jobs). */
void pd_pg_session_end(struct pd_load *L);
/* Creates the monthly partitions for [from, to] (timestamptz texts, read in L->tz). */
int pd_pg_partitions(struct pd_load *L, const char *from, const char *to);
/* Reads the load record of L->source: *found, and L->start / L->cycles_before when it
 * matches L->fingerprint (*finished when that load completed). -1 on a database error,
 * -2 when the record belongs to another file (L->error says so). */
int pd_pg_load_record(struct pd_load *L, bool *found, bool *finished);
/* Writes the load record's start (offset 0) for a fresh load of L->source. */
int pd_pg_load_begin(struct pd_load *L);
/* Adds a row to the batch (bulk: COPY; paced: the cycle's arrays). */
int pd_pg_add(struct pd_load *L, const struct pd_out *row);
/* Bulk: commits the batch (COPY end, load record at next, error events, COMMIT).
 * Paced: writes the cycle in one statement stamped ts (with the record at next). */
int pd_pg_commit(struct pd_load *L, const struct pd_pos *next, bool finished, const char *ts);
/* Gives an open batch up (rolls back). */
void pd_pg_abort(struct pd_load *L);
/* Stores the pending error rows as events of a queued job (on L->db). */
int pd_pg_error_events(struct pd_load *L);

/* ---- pd_mysql.c ---------------------------------------------------------------------- */
/* Connects to DashMed's database; the reference sets from it; rows; the commit of a
 * cycle or batch (then pd_batch_committed); the rollback of an open one; close. */
int pd_mysql_open(struct pd_load *L, const char *url);
int pd_mysql_refs(struct pd_load *L, struct pd_refs *refs);
int pd_mysql_add(struct pd_load *L, const struct pd_out *row);
int pd_mysql_commit(struct pd_load *L);
void pd_mysql_abort(struct pd_load *L);
void pd_mysql_close(struct pd_load *L);

/* ---- pd_source.c --------------------------------------------------------------------- */
/* Resolves the csv argument into L->path and L->source (and L->have_csv).
 * 0, -1 when the csv cannot be used (L->error), -2 on a database error. */
int pd_resolve_csv(struct pd_load *L, const char *csv);

/* ---- pd_read.c ----------------------------------------------------------------------- */
/* Reads the file from offset through the CSV reader, fn for each record; the scan
 * (bounded false) hashes into st when not NULL and sets L->file_size, the load (bounded
 * true) reads exactly to it. 0, 1 when fn stopped, -1 on a read error (L->error). */
int pd_read_file(struct pd_load *L, int64_t offset, int64_t line, pdcsv_fn fn, void *arg,
                 crypto_generichash_state *st, bool bounded);

/* ---- pd_cycle.c ---------------------------------------------------------------------- */
/* A row to the target (counted in L->batch); a commit of the target (pd_pg_commit or
 * pd_mysql_commit). */
int pd_add(struct pd_load *L, const struct pd_out *row);
int pd_commit(struct pd_load *L, const struct pd_pos *next, bool finished, const char *ts);
/* Whether cycles get generated values of the parameters the CSV lacks (fill_values). */
bool pd_need_fill(const struct pd_load *L);
/* Opens a cycle: key, the CSV's timestamp text (or now with timestamps=now). */
int pd_cycle_start(struct pd_load *L, int64_t key, const char *csv_ts, bool has_offset);
/* Notes a patient of the open cycle (created_by of its generated rows), once. */
int pd_cycle_note_patient(struct pd_load *L, int32_t patient, int64_t created_by);
/* Generated rows of patient for each parameter that skip does not mark (a fill: counted
 * as filled); skip NULL: every parameter. */
int pd_generate_rows(struct pd_load *L, int32_t patient, int64_t created_by, const bool *skip);
/* Ends the open cycle (fill, then paced write or bulk commit). 0, 1 cancelled, -1 failed. */
int pd_cycle_end(struct pd_load *L, const struct pd_pos *next_in, bool last);

/* ---- pd_file.c, pd_generate.c: the two runs, each ending in pd_finish --------------- */
enum job_outcome pd_run_file(struct pd_load *L, double t0);
enum job_outcome pd_run_generate(struct pd_load *L, double t0);

/* ---- pd_report.c --------------------------------------------------------------------- */
/* A row that cannot be read: counted, listed in the result and as an event (bounded). */
void pd_note_error(struct pd_load *L, int64_t line, const char *why);
/* After a commit: moves L->batch into L->done, reports counts and progress, turns the
 * pending error rows into events (for queued jobs, already stored by the commit). */
void pd_batch_committed(struct pd_load *L, int64_t rows_in);
/* Ends the run with outcome (t0: its start, pd_mono): rolls back what is open, reports,
 * sets the job's error and result, frees L. Returns outcome. */
enum job_outcome pd_finish(struct pd_load *L, enum job_outcome outcome, double t0);

#endif
