/* ingest: reads one centre's LOG files into PostgreSQL (specs/machine-logs.md) — only what
 * is new and only complete lines, one chunk of lines per transaction, each chunk's rows
 * sent with COPY in the same transaction as the file's registry row (offset, line,
 * counts, hashes) and the figures of the days it touched. A file that was truncated or
 * replaced is read again from the start: its rows (and those of the centre's files read
 * after it, whose stops may depend on it) are withdrawn in the transaction of its first
 * chunk. Used by the machine_logs.ingest job kind (workers/kinds/machine_logs_ingest.c).
 *
 * Memory: struct ml_run owns its buffers (ml_run_cleanup frees them); struct ml_centre
 * owns its zone (ml_centre_cleanup). Names and paths passed in are borrowed. */
#ifndef SLUICE_ML_INGEST_H
#define SLUICE_ML_INGEST_H

#include "machine_logs/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* What a run did (also each chunk's share, given to the progress callback). */
struct ml_counts {
    int64_t files, bytes, lines, sessions, job_profiles, pieces, waits, stops;
    int64_t non_event_lines, unknown_events, rejected_lines, rereads;
};

struct ml_centre {
    int64_t id;
    char code[40];
    char folder[256]; /* its log_folder */
    char time_zone[80];
    struct tz_zone zone;
};

struct ml_run {
    struct db *db;
    long chunk_bytes, max_line;
    /* A file whose name carries no date is closed for writing once untouched this long
     * (LOG_WATCH_DELAY_SECONDS): then its last line counts even without its end. */
    long quiet_seconds;
    /* After each committed chunk: bytes consumed and the chunk's counts. */
    void (*progress)(void *arg, int64_t bytes, const struct ml_counts *chunk);
    /* True when the run should stop (checked between chunks). */
    bool (*cancelled)(void *arg);
    /* May be NULL. The last statement of each chunk's transaction (the job's job_fence):
     * 0 commits; 1 rolls it back and stops the run as cancelled (another worker holds
     * the job now); -1 is a database error. */
    int (*fence)(void *arg);
    /* A notable thing that happened (a re-read file, an unreadable file): level of
     * core/log.h and a message. */
    void (*event)(void *arg, int level, const char *message);
    void *arg;
    struct ml_counts total;
    char error[600];
    /* internal: the sessions touched (a set of ids), the read buffer */
    int64_t *seen;
    size_t seen_cap, seen_len;
    uint8_t *buf;
    size_t buf_cap;
};

void ml_run_init(struct ml_run *run, struct db *db, long chunk_bytes, long max_line);
void ml_run_cleanup(struct ml_run *run);

/* Loads the centre's time zone. 0, or -1 with err. */
int ml_centre_zone(struct ml_centre *c, char *err, size_t errlen);
void ml_centre_cleanup(struct ml_centre *c);

/* True when the production day `day` (days since 1970) is over in the centre's time zone:
 * its file is closed for writing. */
bool ml_day_over(const struct ml_centre *c, int64_t day);

/* Bytes still to read in the centre's folder `dir` (only: one file name, or NULL for
 * all), for the progress total. Never fails: unreadable files count 0. */
int64_t ml_pending_bytes(struct ml_run *run, const struct ml_centre *c, const char *dir,
                         const char *only);

/* Reads what is new in the centre's folder dir (only: one file name or NULL), files in
 * name order. Takes the centre's advisory lock for the whole run (waiting for another
 * ingest of the same centre). 0 when done, 1 when cancelled, -1 on an error (run->error
 * says which; what was committed stays). done_fn (may be NULL) is called for each file
 * read to its end with no partial line left. A last line without its end waits for it,
 * unless the file is closed for writing (its day is over, ml_day_over; or, name without a
 * date, untouched for quiet_seconds): then it is read as complete, and a "\n" or "\r\n"
 * appended later right after it is only its end (no line counted). */
int ml_ingest_centre(struct ml_run *run, struct ml_centre *c, const char *dir, const char *only,
                     void (*done_fn)(void *arg, const struct ml_centre *c, const char *dir,
                                     const char *name, bool has_day, int64_t day),
                     void *done_arg);

#endif
