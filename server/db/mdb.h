/* mdb: the MariaDB/MySQL client side of sluice (libmariadb): connect to a MYSQL_URL with
 * timeouts, the utf8mb4 connection character set and TLS options, and stream a query's
 * rows to a callback with mysql_use_result, so memory does not grow with the number of
 * rows (one row is held at a time, in libmariadb's buffer).
 *
 * Error texts say what failed, where (the URL without its password) and the server's
 * or library's message; they never contain the password.
 *
 * Memory: a struct mdb (from mdb_connect) owns its MYSQL handle and is freed by
 * mdb_close. The values a row callback sees are borrowed for that call only. */
#ifndef SLUICE_MDB_H
#define SLUICE_MDB_H

#include "db/mdb_url.h"

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mdb;

/* Connection settings; the URL's own parameters win over these (a zero or
 * MDB_SSL_UNSET field means "not set here"). */
struct mdb_opts {
    unsigned connect_timeout;   /* seconds; 0: 10 */
    unsigned read_timeout;      /* seconds one read may wait (a slow query's first row); 0: 600 */
    unsigned write_timeout;     /* seconds; 0: 60 */
    enum mdb_ssl_mode ssl_mode; /* MDB_SSL_UNSET: preferred */
    const char *ssl_ca;         /* CA file (NULL: none), borrowed */
};

struct mdb_error {
    unsigned code; /* MariaDB error number (e.g. 1045 access denied, 2013 lost); 0: ours */
    bool lost;     /* the connection is gone (unreachable, lost, timed out) */
    char text[640];
};

/* Parses url and connects. NULL on failure, with err filled. */
struct mdb *mdb_connect(const char *url, const struct mdb_opts *opts, struct mdb_error *err);
/* Closes and frees; NULL is fine. */
void mdb_close(struct mdb *c);

/* One row of a streamed result; every pointer is borrowed for the callback's call. */
struct mdb_row {
    unsigned ncols;
    const char *const *names;     /* column names (aliases) */
    const char *const *values;    /* NULL for SQL NULL; not NUL-terminated when binary */
    const unsigned long *lengths; /* byte length of each value */
    uint64_t index;               /* 0, 1, 2, ... */
};
/* Returns 0 to go on, anything else to stop the stream (that value is then returned by
 * mdb_stream). */
typedef int (*mdb_row_fn)(void *arg, const struct mdb_row *row);

/* Runs sql (one statement) and calls row_fn for each row as it arrives. Returns 0 once
 * every row was seen, -1 on an error (err filled: the query failed, or the connection
 * was lost or timed out mid-stream), or the callback's non-zero value when it stopped
 * the stream. After -1 with err->lost, or after the callback stopped it, the connection
 * is closed (mdb_close still frees it); other errors leave it usable. */
int mdb_stream(struct mdb *c, const char *sql, mdb_row_fn row_fn, void *arg, struct mdb_error *err);

/* Called once with the result's column names (aliases) before any row, even when the
 * result has none; returns 0 to go on, anything else to stop as row_fn does. */
typedef int (*mdb_columns_fn)(void *arg, unsigned ncols, const char *const *names);

/* mdb_stream, calling columns_fn (when not NULL) before the rows. */
int mdb_stream_columns(struct mdb *c, const char *sql, mdb_columns_fn columns_fn, mdb_row_fn row_fn,
                       void *arg, struct mdb_error *err);

/* Runs one statement that returns no rows we need (DDL, INSERT); 0 or -1 with err. */
int mdb_exec(struct mdb *c, const char *sql, struct mdb_error *err);

/* The handle, for prepared statements (borrowed; valid until mdb_close). */
MYSQL *mdb_handle(struct mdb *c);
/* The server's id of this connection (what KILL takes). */
unsigned long mdb_thread_id(struct mdb *c);
/* The URL without password, for messages (borrowed). */
const char *mdb_where(const struct mdb *c);

/* Fills err from the handle's last error, prefixed with what (printf-like). */
void mdb_error_set(struct mdb_error *err, MYSQL *m, const char *where, const char *what);

#endif
