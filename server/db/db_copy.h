/* db_copy: bulk loading with COPY ... FROM STDIN on a struct db's connection, and the
 * text-format row encoder every ingestion kind shares.
 *
 * Use:
 *     struct db_copy_buf b;
 *     db_copy_buf_init(&b);
 *     if (db_copy_begin(db, "COPY t (a, b) FROM STDIN") != 0) ...;   (a fixed statement)
 *     for each row: db_copy_int(&b, 1); db_copy_cstr(&b, s); db_copy_end_row(&b);
 *                   if (b.len >= DB_COPY_FLUSH_BYTES && db_copy_put(db, &b) != 0) ...;
 *     db_copy_end(db, &rows)        (or db_copy_abort(db, "why") to give up)
 *     db_copy_buf_cleanup(&b);
 * Every function returns 0, or -1 with db_last_error(db) (and db_sqlstate) set; after any
 * failure the connection has left the COPY state and is usable again (a transaction it was
 * in is aborted: roll it back, as db_transaction does). The COPY statement text must be a
 * constant of the caller: rows travel as data, never as SQL.
 *
 * Memory: a db_copy_buf owns its bytes (init/cleanup); the encoders grow it. */
#ifndef SLUICE_DB_COPY_H
#define SLUICE_DB_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* A good size for one db_copy_put: large enough to amortise the call, small enough to
 * keep memory flat. */
#define DB_COPY_FLUSH_BYTES (256 * 1024)

/* Rows in PostgreSQL's COPY text format: fields separated by tabs, rows ended by '\n'. */
struct db_copy_buf {
    char *data;
    size_t len, cap;
    bool row_open; /* a field was written since the last end_row */
    bool oom;      /* an allocation failed: db_copy_put refuses the buffer */
    int64_t rows;  /* rows ended in this buffer since it was last sent */
};

void db_copy_buf_init(struct db_copy_buf *b);
void db_copy_buf_cleanup(struct db_copy_buf *b);
/* Forgets the rows written (keeps the memory). */
void db_copy_buf_reset(struct db_copy_buf *b);

/* One field each. Text is escaped (backslash, tab, newline, carriage return and the other
 * control characters COPY would misread); s == NULL writes SQL NULL. NUL bytes inside
 * s[0..len) cannot be stored by PostgreSQL: they are dropped (callers that must refuse them
 * check before). */
void db_copy_text(struct db_copy_buf *b, const char *s, size_t len);
void db_copy_cstr(struct db_copy_buf *b, const char *s);
void db_copy_int(struct db_copy_buf *b, long long v);
void db_copy_null(struct db_copy_buf *b);
void db_copy_end_row(struct db_copy_buf *b);

/* Starts COPY ... FROM STDIN (copy_sql is a constant statement of the caller). */
int db_copy_begin(struct db *db, const char *copy_sql);
/* Sends the buffer's complete rows and empties it. */
int db_copy_put(struct db *db, struct db_copy_buf *b);
/* Ends the COPY; *rows (may be NULL) gets how many rows PostgreSQL stored. */
int db_copy_end(struct db *db, int64_t *rows);
/* Gives the COPY up (the server discards every row of it); why goes into the server's
 * error. Always leaves the connection out of the COPY state; returns 0, or -1 when the
 * connection itself was lost. */
int db_copy_abort(struct db *db, const char *why);

#endif
