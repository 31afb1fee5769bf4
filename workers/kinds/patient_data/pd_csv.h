/* pd_csv: a streaming RFC 4180 reader for the DashMed patient-data CSV files. Bytes are
 * pushed in chunks of any size (pdcsv_feed); each complete record is handed to a
 * callback with its fields unquoted, its line number and the byte offsets where it
 * starts and where the next one starts (what a resumed load seeks to). Fields may be
 * quoted ("" inside quotes is one "), quoted fields may hold commas and line breaks;
 * records end with LF, CRLF or a lone CR. A UTF-8 byte-order mark at offset 0 is skipped.
 * Blank lines are skipped. A record longer than max_record bytes, a quote inside an
 * unquoted field, text after a closing quote or a quoted field still open at the end of
 * the input make that record an error (rec->error says which, fields unusable); reading
 * goes on at the next line.
 *
 * Pure: no I/O, memory bounded by max_record whatever the input (the reader owns one
 * buffer of at most max_record + PDCSV_MAX_FIELDS bytes; pdcsv_cleanup frees it).
 * Field pointers passed to the callback are borrowed for the call. */
#ifndef SLUICE_PD_CSV_H
#define SLUICE_PD_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PDCSV_MAX_FIELDS 16 /* fields kept per record; more are only counted */

struct pdcsv_record {
    const char *field[PDCSV_MAX_FIELDS]; /* NUL-terminated (a field may hold NUL bytes:
                                            len says how long it really is) */
    size_t len[PDCSV_MAX_FIELDS];
    size_t nfields;    /* fields in the record (may exceed PDCSV_MAX_FIELDS) */
    int64_t line;      /* line (1-based) where the record starts */
    int64_t offset;    /* byte offset of its first byte */
    int64_t end;       /* byte offset just after its line end (where reading resumes) */
    int64_t next_line; /* the line number at `end` (to resume with pdcsv_init) */
    const char *error; /* NULL, or why the record is unreadable (static text) */
};

/* Returns 0 to go on, anything else to stop (pdcsv_feed then returns that value). */
typedef int (*pdcsv_fn)(void *arg, const struct pdcsv_record *rec);

enum pdcsv_state { PDCSV_FIELD_START, PDCSV_UNQUOTED, PDCSV_QUOTED, PDCSV_QUOTE, PDCSV_SKIP };

struct pdcsv {
    size_t max_record;
    char *buf; /* the current record's fields, each NUL-terminated */
    size_t used, cap;
    size_t start[PDCSV_MAX_FIELDS];
    size_t nfields;
    bool in_record;   /* some byte of the current record was read */
    bool after_cr;    /* the last record ended with CR: a LF right after belongs to it */
    bool last_cr;     /* the last byte was CR (a LF after it ends no new line) */
    bool bom_checked; /* offset 0 was looked at for a byte-order mark */
    size_t bom_seen;  /* bytes of a byte-order mark seen so far */
    enum pdcsv_state state;
    const char *error;
    int64_t offset; /* absolute offset of the next byte */
    int64_t line;   /* line of the next byte */
    int64_t rec_offset, rec_line;
};

/* Starts reading at byte offset `offset`, which is on line `line` (0 and 1 for a whole
 * file; a record's end and line + its line count to resume). max_record >= 64. */
void pdcsv_init(struct pdcsv *r, size_t max_record, int64_t offset, int64_t line);
void pdcsv_cleanup(struct pdcsv *r);

/* Reads len bytes; calls fn for each record completed. 0, fn's non-zero value, or -1
 * when out of memory. */
int pdcsv_feed(struct pdcsv *r, const char *data, size_t len, pdcsv_fn fn, void *arg);

/* End of input: hands over the last record when it has no line end. Same returns. */
int pdcsv_finish(struct pdcsv *r, pdcsv_fn fn, void *arg);

#endif
