/* db: one PostgreSQL connection owned by one thread, re-opened on next use after it
 * broke, with statements prepared lazily once per connection (and again after a
 * reconnect). Every parameter is bound: no SQL text is ever built from input.
 * struct db is opaque outside server/db/ (its fields are in db_internal.h): a handle made
 * by db_new owns its PGconn and url; PGresults returned are owned by the caller. */
#ifndef SLUICE_DB_H
#define SLUICE_DB_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_MAX_STATEMENTS 512
#define DB_PIPELINE_MAX 32          /* statements sent ahead before db_send drains */
#define DB_PIPELINE_MAX_BYTES 65536 /* parameter bytes sent ahead (see db_send) */

/* A statement of some module, declared static in the file that owns its SQL:
 *   static struct db_stmt q_centre_get = DB_STMT("SELECT ... WHERE code = $1");
 * Its id is assigned on first use. */
struct db_stmt {
    const char *sql;
    atomic_int id; /* 0: not yet assigned */
};
/* (clang-format 14 would split this braced initializer over two lines) */
/* clang-format off */
#define DB_STMT(text) {.sql = (text), .id = 0}
/* clang-format on */

struct db;
/* Called by db_drain with a statement's result (borrowed: cleared after the call), or NULL
 * when it failed (db_last_error, db_sqlstate and db_is_down then describe that failure). */
typedef void (*db_result_fn)(struct db *db, PGresult *res, void *arg);

/* A new handle on url (copied); does not connect yet. Aborts when out of memory (a few
 * hundred bytes, at a thread's start). Free it with db_free (NULL is fine). */
struct db *db_new(const char *url);
void db_free(struct db *db);

/* Closes the connection (reopened on next use), e.g. after a LISTEN socket broke. Statements
 * still pending in the pipeline are failed first. */
void db_disconnect(struct db *db);

/* Statements sent with db_send whose results db_drain has not read yet. */
size_t db_pending(const struct db *db);

/* Every statement of this db's connections (the current one and any reopened) is
 * cancelled after ms milliseconds (PostgreSQL's statement_timeout, SQLSTATE 57014);
 * 0: no limit. */
void db_set_statement_timeout(struct db *db, long ms);

/* A live connection, (re)connecting if needed; NULL when the server is unreachable.
 * Statements still in the pipeline (db_send) are drained first, so the caller may use the
 * connection synchronously. */
PGconn *db_conn(struct db *db);

/* Runs a prepared statement with text parameters (NULL = SQL NULL). Returns the result
 * when its status is COMMAND_OK or TUPLES_OK; otherwise NULL with db_last_error set
 * (and db_is_down when the connection was lost). db_sqlstate gives the error code. */
PGresult *db_exec(struct db *db, struct db_stmt *stmt, int nparams, const char *const *values);

/* Pipelining: sends stmt at once in libpq's pipeline mode, each statement followed by its
 * own Sync (so each runs in its own implicit transaction and a failure touches no other),
 * and returns without waiting; fn(db, result, arg) runs later, in this thread, from
 * db_drain, in the order of sending. Several requests' statements thus share round
 * trips, and PostgreSQL works on one while the caller prepares the next.
 * Returns false, without calling fn, when nothing could be sent (db_last_error says
 * why). Sends drain first when DB_PIPELINE_MAX statements or DB_PIPELINE_MAX_BYTES of
 * parameters are already in flight. For statements whose parameters are small (the
 * caller's output must not fill the socket while PostgreSQL's results wait unread). */
bool db_send(struct db *db, struct db_stmt *stmt, int nparams, const char *const *values,
             db_result_fn fn, void *arg);

/* Reads every pending result and calls its fn; leaves pipeline mode. A lost connection
 * fails every statement still pending (fn gets NULL, db_is_down is true). */
void db_drain(struct db *db);

/* Same for one-off SQL (migrations, admin commands): still bound parameters. */
PGresult *db_exec_sql(struct db *db, const char *sql, int nparams, const char *const *values);

/* A batched purge: runs stmt with $1 = before (a timestamptz) and $2 = batch, where stmt
 * deletes at most batch rows older than before and returns one row holding how many went;
 * stores that count in *deleted (NULL: not wanted). 0, or -1 on a database error. */
int db_purge_batch(struct db *db, struct db_stmt *stmt, const char *before, long batch,
                   long *deleted);

/* Runs fn inside BEGIN/COMMIT, retrying serialization failures and deadlocks
 * (40001/40P01) up to 5 times. fn returns 0 to commit, non-zero to roll back (that
 * value is returned). Returns -1 on a database error. */
int db_transaction(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);

/* After each request: a transaction left open is rolled back (and logged). Does
 * nothing while statements are pending in the pipeline (call it again after db_drain). */
void db_reset_after_use(struct db *db);

/* Records an error found by the caller about this db's work (printf-style), so that
 * db_last_error reports it; clears db_sqlstate. */
void db_set_error(struct db *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool db_is_down(const struct db *db);
const char *db_last_error(const struct db *db);
/* SQLSTATE of the last failed statement ("" when none). */
const char *db_sqlstate(const struct db *db);

/* Interrupting from another thread: a handle on the connection db holds now (NULL when
 * it holds none, or out of memory), owned by the caller (db_interrupt_free; NULL is
 * fine). db_interrupt_send may be called from any thread while db is in use: it asks
 * the server to cancel the statement running there (it fails with SQLSTATE 57014);
 * false, with why filled, when the request could not be sent. The handle keeps aiming
 * at that connection: take a new one after a reconnect. */
struct db_interrupt;
struct db_interrupt *db_interrupt_new(struct db *db);
bool db_interrupt_send(struct db_interrupt *h, char *why, size_t whylen);
void db_interrupt_free(struct db_interrupt *h);

/* Reconnection after the server failed, for every struct db of the process (see
 * db_backoff.h): the first failure marks the server down; then db_conn answers NULL at
 * once, and one attempt at a time is made, after min_ms, doubling up to max_ms.
 * Defaults: 100 ms, 5000 ms (DB_RECONNECT_MIN_MS, DB_RECONNECT_MAX_MS). */
void db_set_reconnect(long min_ms, long max_ms);

/* Since start-up: connection attempts made, how many failed, and how many times a
 * connection was wanted but not tried because the server was down (for /metrics). */
void db_connect_counts(long *attempts, long *failures, long *skipped);

/* Number of struct db currently up / down, for /metrics. */
void db_counts(long *up, long *down);

#endif
