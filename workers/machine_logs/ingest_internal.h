/* ingest_internal: what the parts of the ingest share (ingest.c: the file and centre loops;
 * ingest_lines.c: rows from lines; ingest_registry.c: the log_file registry; ingest_chunk.c:
 * a chunk's transaction) — the state of the file being read, of its chunk and of the
 * chunk's transaction, and the functions one part offers the others. Private to the
 * ingest; its public API is ingest.h.
 *
 * Memory: struct file borrows its run, centre, dir and name; it owns its fd (opened and
 * closed by ml_ingest_centre), withdraw_ids (malloc'd by ml_file_plan_withdrawal, freed
 * by ml_ingest_centre), its line buffer and its chunk. struct chunk owns its COPY buffers
 * and sessions (ml_chunk_init / ml_chunk_cleanup). struct txn borrows the file and the
 * region, and owns withdrawn_sessions (freed by ml_chunk_commit). */
#ifndef SLUICE_ML_INGEST_INTERNAL_H
#define SLUICE_ML_INGEST_INTERNAL_H

#include "db/db_copy.h"
#include "machine_logs/ingest.h"
#include "machine_logs/logparse.h"
#include "machine_logs/mlhash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define FP_BYTES 4096 /* fingerprint: first bytes; tail hash: bytes before offset */

/* What has been committed for the file (the registry row), and what a chunk builds on. */
struct committed {
    int64_t offset, line_no, lines, non_event, unknown, rejected;
    struct logparse_dst dst;
    struct mlhash prefix;
};

struct session_ref {
    int64_t day, id, next_no;
};

struct chunk {
    struct db_copy_buf pieces, jobs, waits, stops, events, rejects;
    struct session_ref *sess;
    size_t nsess, capsess;
    /* the centre's open stop: none, a stored row (db_id), or one opened in this chunk */
    int state;
    int64_t db_id, start_us;
    int64_t new_session, new_line;
    /* a stored stop this chunk closed */
    bool closed;
    int64_t close_id, close_end, close_dur, close_line;
    struct ml_counts counts;
};

enum { STOP_NONE, STOP_DB, STOP_NEW };

struct file {
    struct ml_run *run;
    struct ml_centre *c;
    const char *dir, *name;
    char path[4096];
    int fd;
    struct stat st;
    bool has_day;
    int64_t day;
    int64_t id;         /* registry id (0: none yet) */
    int64_t rereads;    /* registry value the plan was made from */
    int64_t reg_offset; /* byte_offset the plan was made from */
    int64_t reg_size;
    int64_t reg_dev, reg_ino;
    bool withdraw;         /* read again from the start: withdraw first */
    int64_t *withdraw_ids; /* this file and the later ones to withdraw */
    size_t nwithdraw;
    bool cascaded;         /* later files were withdrawn too */
    size_t swallow;        /* bytes at the offset that only end a line already read */
    struct committed done; /* committed state */
    struct logparse_buf lb;
    struct chunk ck;
};

/* What a transaction works on: the bytes of complete lines (or none), and a line too long
 * to keep whole (long_len > 0: its first max_line bytes in region, the rest skipped). */
struct txn {
    struct file *f;
    const uint8_t *region;
    size_t len;      /* bytes consumed, '\n' included */
    size_t long_len; /* > 0: region holds the start of one overlong line */
    struct committed next;
    char *withdrawn_sessions; /* a bigint[] literal */
    bool fenced_out;          /* the fence refused the commit: rolled back */
};

/* ---- ingest.c ------------------------------------------------------------------------ */

/* A notable thing that happened, given to run->event (when set). */
void ml_run_event(struct ml_run *run, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The decimal text of v into out (n bytes). */
static inline void ml_i64(char *out, size_t n, int64_t v) {
    snprintf(out, n, "%lld", (long long)v);
}

/* ---- ingest_lines.c: rows from lines ------------------------------------------------- */

void ml_chunk_init(struct chunk *ck);
/* Empties the chunk for another try of its transaction (buffers kept). */
void ml_chunk_reset(struct chunk *ck);
void ml_chunk_cleanup(struct chunk *ck);

/* A stop row into ck->stops (closed: with its end and the line that closed it). */
void ml_chunk_stop_row(struct chunk *ck, int64_t fid, int64_t session, int64_t start, int64_t line,
                       bool closed, int64_t end, int64_t close_line);

/* One line (its bytes without '\n'), number line_no. 0, or -1 on a database error. */
int ml_chunk_line(struct file *f, struct db *db, struct committed *st, const uint8_t *p, size_t n,
                  int64_t line_no);

/* ---- ingest_registry.c: the log_file registry ----------------------------------------- */

/* Reads the registry row into f (none: a new file). 0, or -1. */
int ml_file_plan(struct file *f);
/* The later files to withdraw with f (those still in the folder; self: f too). 0, or -1. */
int ml_file_plan_withdrawal(struct file *f, bool self);

/* In a chunk's transaction: creates the file's registry row if needed and locks it. 0, -1,
 * or 2 when another ingest read the file since it was planned. */
int ml_registry_lock(struct file *f, struct db *db);
/* In a chunk's transaction: withdraws the files f->withdraw_ids (their rows go, the stops
 * they closed open again, their registry rows are reset); t->withdrawn_sessions gets the
 * sessions they fed. 0, or -1. */
int ml_registry_withdraw(struct txn *t, struct db *db);

/* The bytes [from, from+n) of the file into out; false when they cannot be read. */
bool ml_read_at(int fd, uint8_t *out, size_t n, int64_t from);
/* The hash of the bytes [from, from+n) of the file (n <= FP_BYTES) as 16 hex digits. */
bool ml_window_hash(int fd, int64_t from, size_t n, char hex[17]);

/* ---- ingest_chunk.c: a chunk's transaction ------------------------------------------- */

/* A bigint[] literal of ids: "{1,2,3}" (malloc'd). */
char *ml_id_array(const int64_t *ids, size_t n);

/* Commits one transaction over region (may be empty: registry and withdrawal only).
 * 0, 1 when the fence refused it (rolled back), or -1 (run->error set). */
int ml_chunk_commit(struct file *f, const uint8_t *region, size_t len, size_t long_len);

#endif
