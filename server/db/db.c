/* db: connection ownership, lazy prepares and error classification; see db.h. */
#include "db/db.h"

#include "db/db_backoff.h"
#include "db/db_internal.h"

#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int next_stmt_id = 1;
static atomic_long conns_up, conns_down;
static atomic_long connect_attempts, connect_failures, connect_skipped;

/* The process-wide view of the server, shared by every struct db (db_backoff.h): while it
 * is down, db_conn answers NULL at once and only one thread at a time tries again. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static struct db_backoff gate;
static bool gate_ready;
static char gate_error[512]; /* what the last failed attempt said */

#define DB_RECONNECT_MIN_MS_DEFAULT 100
#define DB_RECONNECT_MAX_MS_DEFAULT 5000

static double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Under gate_mu. */
static void gate_setup(long min_ms, long max_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    db_backoff_init(&gate, min_ms, max_ms, (uint32_t)ts.tv_nsec ^ (uint32_t)getpid());
    gate_ready = true;
}

void db_set_reconnect(long min_ms, long max_ms) {
    pthread_mutex_lock(&gate_mu);
    gate_setup(min_ms, max_ms);
    pthread_mutex_unlock(&gate_mu);
}

/* May this thread connect now? DB_TRY_WAIT: no (db's error then says why). */
static enum db_try gate_enter(struct db *db) {
    pthread_mutex_lock(&gate_mu);
    if (!gate_ready) gate_setup(DB_RECONNECT_MIN_MS_DEFAULT, DB_RECONNECT_MAX_MS_DEFAULT);
    long wait_ms = 0;
    enum db_try how = db_backoff_enter(&gate, mono_ms(), &wait_ms);
    if (how == DB_TRY_WAIT) {
        if (wait_ms > 0)
            snprintf(db->error, sizeof db->error,
                     "the database is unreachable (next attempt in %ld ms): %.400s", wait_ms,
                     gate_error);
        else
            snprintf(db->error, sizeof db->error,
                     "the database is unreachable (an attempt is under way): %.400s", gate_error);
    }
    pthread_mutex_unlock(&gate_mu);
    return how;
}

static void gate_leave(enum db_try how, bool ok, const char *error) {
    pthread_mutex_lock(&gate_mu);
    db_backoff_leave(&gate, how, ok, mono_ms());
    if (!ok) snprintf(gate_error, sizeof gate_error, "%s", error);
    pthread_mutex_unlock(&gate_mu);
}

void db_connect_counts(long *attempts, long *failures, long *skipped) {
    *attempts = atomic_load(&connect_attempts);
    *failures = atomic_load(&connect_failures);
    *skipped = atomic_load(&connect_skipped);
}

static void set_state(struct db *db, bool down) {
    bool was = atomic_exchange(&db->down, down);
    if (was != down) {
        if (down) {
            atomic_fetch_add(&conns_down, 1);
            atomic_fetch_sub(&conns_up, 1);
        } else {
            atomic_fetch_add(&conns_up, 1);
            atomic_fetch_sub(&conns_down, 1);
        }
    }
}

struct db *db_new(const char *url) {
    struct db *db = calloc(1, sizeof *db);
    if (db) db->url = strdup(url ? url : "");
    if (!db || !db->url) {
        log_event(LOG_ERROR, "out of memory for a database handle", (char *)NULL);
        abort();
    }
    atomic_store(&db->down, false);
    atomic_fetch_add(&conns_up, 1); /* counted optimistic until the first failure */
    return db;
}

void db_free(struct db *db) {
    if (!db) return;
    if (db->conn) PQfinish(db->conn);
    db->conn = NULL;
    if (atomic_load(&db->down))
        atomic_fetch_sub(&conns_down, 1);
    else
        atomic_fetch_sub(&conns_up, 1);
    free(db->url);
    free(db);
}

size_t db_pending(const struct db *db) { return db->npending; }

void db_counts(long *up, long *down) {
    *up = atomic_load(&conns_up);
    *down = atomic_load(&conns_down);
}

static void copy_error(struct db *db, const char *msg) {
    snprintf(db->error, sizeof db->error, "%s", msg ? msg : "unknown error");
    size_t n = strlen(db->error);
    while (n && (db->error[n - 1] == '\n' || db->error[n - 1] == ' ')) db->error[--n] = '\0';
}

static void quiet_notices(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static PGconn *live_conn(struct db *db);

/* statement_timeout for the session, as a bound parameter. */
static bool apply_statement_timeout(struct db *db) {
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", db->statement_timeout_ms > 0 ? db->statement_timeout_ms : 0);
    const char *v[] = {ms};
    PGresult *r = PQexecParams(db->conn, "SELECT set_config('statement_timeout', $1, false)", 1,
                               NULL, v, NULL, NULL, 0);
    bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

PGconn *db_conn(struct db *db) {
    if (db->npending > 0) db_drain(db);
    return live_conn(db);
}

/* The connection, opened again when needed (pending statements untouched); while the
 * server is known to be down, NULL at once unless this thread's turn to try has come. */
static PGconn *live_conn(struct db *db) {
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) return db->conn;
    if (db->conn) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    memset(db->prepared, 0, sizeof db->prepared);
    enum db_try how = gate_enter(db);
    if (how == DB_TRY_WAIT) {
        atomic_fetch_add(&connect_skipped, 1);
        db->sqlstate[0] = '\0';
        set_state(db, true);
        return NULL;
    }
    atomic_fetch_add(&connect_attempts, 1);
    /* connect_timeout keeps a dead server from stalling a worker for long. */
    /* TCP keepalives find a silently dropped connection (a job waiting on a long
     * statement, a listener waiting for notifications) within about a minute. Text is
     * UTF-8 on sluice's side whatever the database's encoding (PostgreSQL converts, or
     * refuses a character the database cannot hold): never its bytes taken as another
     * encoding's. */
    const char *keys[] = {"dbname",           "connect_timeout", "application_name",
                          "keepalives",       "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "client_encoding", NULL};
    const char *vals[] = {db->url, "5", "sluice", "1", "30", "10", "3", "UTF8", NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    bool ok = db->conn && PQstatus(db->conn) == CONNECTION_OK;
    if (ok) PQsetNoticeProcessor(db->conn, quiet_notices, NULL);
    if (ok && db->statement_timeout_ms > 0 && !apply_statement_timeout(db)) ok = false;
    if (!ok) {
        copy_error(db, db->conn ? PQerrorMessage(db->conn) : "out of memory");
        atomic_fetch_add(&connect_failures, 1);
        gate_leave(how, false, db->error);
        if (!atomic_load(&db->down))
            log_event(LOG_WARN, "database unreachable", "error", db->error, (char *)NULL);
        set_state(db, true);
        if (db->conn) PQfinish(db->conn);
        db->conn = NULL;
        return NULL;
    }
    gate_leave(how, true, NULL);
    db->generation++;
    if (atomic_load(&db->down)) log_event(LOG_INFO, "database reachable again", (char *)NULL);
    set_state(db, false);
    return db->conn;
}

void db_set_statement_timeout(struct db *db, long ms) {
    db->statement_timeout_ms = ms;
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK && db->npending == 0 &&
        !apply_statement_timeout(db)) {
        PQfinish(db->conn); /* reopened, with the setting, on next use */
        db->conn = NULL;
    }
}

/* Classifies a finished result: keeps it on success, records the error otherwise. */
static PGresult *check(struct db *db, PGresult *res) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
    copy_error(db, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    if (res) PQclear(res);
    if (PQstatus(db->conn) != CONNECTION_OK) set_state(db, true);
    return NULL;
}

const char *db_sqlstate(const struct db *db) { return db->sqlstate; }

/* The statement's id (assigned on first use), or 0 with the error set when there are
 * more than DB_MAX_STATEMENTS. */
static int stmt_id(struct db *db, struct db_stmt *stmt) {
    int id = atomic_load(&stmt->id);
    if (id == 0) {
        int fresh = atomic_fetch_add(&next_stmt_id, 1);
        int expected = 0;
        if (!atomic_compare_exchange_strong(&stmt->id, &expected, fresh)) fresh = expected;
        id = fresh;
    }
    if (id >= DB_MAX_STATEMENTS) {
        copy_error(db, "too many prepared statements");
        return 0;
    }
    return id;
}

static bool is_prepared(const struct db *db, int id) {
    return db->prepared[id / 64] & (1ull << (id % 64));
}

static void set_prepared(struct db *db, int id, bool on) {
    if (on)
        db->prepared[id / 64] |= 1ull << (id % 64);
    else
        db->prepared[id / 64] &= ~(1ull << (id % 64));
}

PGresult *db_exec(struct db *db, struct db_stmt *stmt, int nparams, const char *const *values) {
    int id = stmt_id(db, stmt);
    if (!id || !db_conn(db)) return NULL;
    char name[16];
    snprintf(name, sizeof name, "s%d", id);
    if (!is_prepared(db, id)) {
        PGresult *p = check(db, PQprepare(db->conn, name, stmt->sql, 0, NULL));
        if (!p) return NULL;
        PQclear(p);
        set_prepared(db, id, true);
    }
    return check(db, PQexecPrepared(db->conn, name, nparams, values, NULL, NULL, 0));
}

/* ---- pipelining ----------------------------------------------------------------- */

/* The connection broke or could not leave pipeline mode: drop it (reopened on next use). */
static void drop_conn(struct db *db) {
    if (db->conn) PQfinish(db->conn);
    db->conn = NULL;
    set_state(db, true);
}

void db_disconnect(struct db *db) {
    if (db->npending > 0) db_drain(db);
    if (db->conn) PQfinish(db->conn);
    db->conn = NULL;
}

bool db_send(struct db *db, struct db_stmt *stmt, int nparams, const char *const *values,
             db_result_fn fn, void *arg) {
    size_t bytes = 0;
    for (int i = 0; i < nparams; i++) bytes += values[i] ? strlen(values[i]) : 0;
    if (db->npending > 0 &&
        (db->npending == DB_PIPELINE_MAX || db->pending_bytes + bytes > DB_PIPELINE_MAX_BYTES))
        db_drain(db);
    /* A connection found broken under pending statements: fail them before reconnecting,
     * so that none of them can ever read the new connection's results. */
    if (db->npending > 0 && (!db->conn || PQstatus(db->conn) != CONNECTION_OK)) db_drain(db);
    int id = stmt_id(db, stmt);
    if (!id || !live_conn(db)) return false;
    if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(db->conn)) {
        copy_error(db, PQerrorMessage(db->conn));
        return false;
    }
    char name[16];
    snprintf(name, sizeof name, "s%d", id);
    /* Prepared once per connection: marked now, unmarked by db_drain if the PREPARE fails,
     * so a second use in the same pipeline does not prepare it again. */
    bool prepare = !is_prepared(db, id);
    if ((prepare && !PQsendPrepare(db->conn, name, stmt->sql, 0, NULL)) ||
        !PQsendQueryPrepared(db->conn, name, nparams, values, NULL, NULL, 0) ||
        !PQpipelineSync(db->conn)) {
        /* Nothing usable was queued, or the connection failed mid-way: the statements
         * already pending are failed by the drain, and the connection is dropped. */
        copy_error(db, PQerrorMessage(db->conn));
        char saved[sizeof db->error];
        memcpy(saved, db->error, sizeof saved);
        db_drain(db);
        drop_conn(db);
        memcpy(db->error, saved, sizeof saved);
        return false;
    }
    if (prepare) set_prepared(db, id, true);
    db->pending[db->npending++] =
        (struct db_pending){.fn = fn, .arg = arg, .id = id, .prepare_sent = prepare};
    db->pending_bytes += bytes;
    return true;
}

/* Reads one pending statement's results up to and including its Sync. Returns its
 * result (the last successful one: the statement's, after its PREPARE's) or NULL with
 * the error recorded; *broken when the connection can no longer be read. */
static PGresult *read_one(struct db *db, const struct db_pending *p, bool *broken) {
    PGresult *keep = NULL;
    bool failed = false;
    int seen = 0, nulls = 0;
    for (;;) {
        PGresult *r = PQgetResult(db->conn);
        if (!r) {
            /* NULL separates results; two in a row or a dead connection: nothing more. */
            if (PQstatus(db->conn) != CONNECTION_OK || ++nulls > 1) {
                *broken = true;
                break;
            }
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
        if (!ok && p->prepare_sent && seen == 0) set_prepared(db, p->id, false);
        seen++;
        if (ok && !failed) {
            PQclear(keep);
            keep = r;
            continue;
        }
        if (!failed && st != PGRES_PIPELINE_ABORTED) {
            copy_error(db, PQresultErrorMessage(r));
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
        }
        failed = true;
        PQclear(r);
    }
    if (*broken && !failed) {
        copy_error(db, PQerrorMessage(db->conn));
        failed = true;
    }
    if (failed) {
        PQclear(keep);
        return NULL;
    }
    return keep;
}

void db_drain(struct db *db) {
    size_t n = db->npending;
    db->npending = 0; /* callbacks may send again: they start a fresh pipeline */
    db->pending_bytes = 0;
    struct db_pending todo[DB_PIPELINE_MAX];
    memcpy(todo, db->pending, n * sizeof *todo);
    bool broken = db->conn == NULL;
    PGresult *results[DB_PIPELINE_MAX];
    /* What each statement's callback must see in db_last_error, db_sqlstate, db_is_down:
     * its own failure, not the last one (a callback may even reconnect meanwhile). */
    char errors[DB_PIPELINE_MAX][sizeof db->error];
    char states[DB_PIPELINE_MAX][sizeof db->sqlstate];
    bool lost[DB_PIPELINE_MAX];
    bool prepare_failed[DB_PIPELINE_MAX];
    /* Read everything first, so the connection is out of pipeline mode (and usable
     * synchronously) when the callbacks run. */
    for (size_t i = 0; i < n; i++) {
        db->sqlstate[0] = '\0';
        if (broken) {
            snprintf(db->error, sizeof db->error, "the connection to the database was lost");
            results[i] = NULL;
        } else {
            results[i] = read_one(db, &todo[i], &broken);
        }
        lost[i] = broken && !results[i];
        prepare_failed[i] = !results[i] && todo[i].prepare_sent && !is_prepared(db, todo[i].id);
        memcpy(errors[i], db->error, sizeof errors[i]);
        memcpy(states[i], db->sqlstate, sizeof states[i]);
        /* A later use of a statement whose PREPARE failed in this pipeline fails with
         * "does not exist": report the PREPARE's own error instead. */
        for (size_t j = 0; j < i && !results[i] && !lost[i] && !todo[i].prepare_sent; j++) {
            if (prepare_failed[j] && todo[j].id == todo[i].id) {
                memcpy(errors[i], errors[j], sizeof errors[i]);
                memcpy(states[i], states[j], sizeof states[i]);
                break;
            }
        }
    }
    if (db->conn && (broken || (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF &&
                                !PQexitPipelineMode(db->conn))))
        drop_conn(db);
    for (size_t i = 0; i < n; i++) {
        memcpy(db->error, errors[i], sizeof db->error);
        memcpy(db->sqlstate, states[i], sizeof db->sqlstate);
        set_state(db, lost[i]);
        todo[i].fn(db, results[i], todo[i].arg);
        PQclear(results[i]);
    }
    if (n > 0) set_state(db, !(db->conn && PQstatus(db->conn) == CONNECTION_OK));
}

PGresult *db_exec_sql(struct db *db, const char *sql, int nparams, const char *const *values) {
    if (!db_conn(db)) return NULL;
    return check(db, PQexecParams(db->conn, sql, nparams, NULL, values, NULL, NULL, 0));
}

int db_purge_batch(struct db *db, struct db_stmt *stmt, const char *before, long batch,
                   long *deleted) {
    char b[24];
    snprintf(b, sizeof b, "%ld", batch);
    const char *params[] = {before, b};
    PGresult *r = db_exec(db, stmt, 2, params);
    if (!r) return -1;
    if (deleted) *deleted = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static bool retryable(const char *state) {
    return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

int db_transaction(struct db *db, int (*fn)(struct db *db, void *arg), void *arg) {
    for (int attempt = 0; attempt < 5; attempt++) {
        PGresult *r = db_exec_sql(db, "BEGIN", 0, NULL);
        if (!r) return -1;
        PQclear(r);
        int rc = fn(db, arg);
        if (rc != 0) {
            bool retry = rc == -1 && retryable(db_sqlstate(db));
            char saved[sizeof db->error], saved_state[sizeof db->sqlstate];
            memcpy(saved, db->error, sizeof saved);
            memcpy(saved_state, db->sqlstate, sizeof saved_state);
            r = db_exec_sql(db, "ROLLBACK", 0, NULL);
            if (r) PQclear(r);
            memcpy(db->error, saved, sizeof saved);
            memcpy(db->sqlstate, saved_state, sizeof saved_state);
            if (retry) continue;
            return rc;
        }
        r = db_exec_sql(db, "COMMIT", 0, NULL);
        if (r) {
            PQclear(r);
            return 0;
        }
        if (!retryable(db_sqlstate(db))) return -1;
    }
    return -1;
}

void db_reset_after_use(struct db *db) {
    if (!db->conn || db->npending > 0) return;
    PGTransactionStatusType ts = PQtransactionStatus(db->conn);
    if (ts == PQTRANS_IDLE) return;
    if (ts == PQTRANS_UNKNOWN) return; /* broken: re-opened on next use */
    log_event(LOG_ERROR, "transaction left open after a request: rolled back", (char *)NULL);
    PGresult *r = PQexec(db->conn, "ROLLBACK");
    PQclear(r);
}

bool db_is_down(const struct db *db) { return atomic_load(&db->down); }
const char *db_last_error(const struct db *db) { return db->error; }

void db_set_error(struct db *db, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->error, sizeof db->error, fmt, ap);
    va_end(ap);
    db->sqlstate[0] = '\0';
}

struct db_interrupt {
    PGcancel *cancel;
};

struct db_interrupt *db_interrupt_new(struct db *db) {
    PGconn *c = db_conn(db);
    PGcancel *cancel = c ? PQgetCancel(c) : NULL;
    if (!cancel) return NULL;
    struct db_interrupt *h = malloc(sizeof *h);
    if (!h) {
        PQfreeCancel(cancel);
        return NULL;
    }
    h->cancel = cancel;
    return h;
}

bool db_interrupt_send(struct db_interrupt *h, char *why, size_t whylen) {
    if (!h) return true;
    /* PQcancel is safe from another thread (it opens a connection of its own). */
    return PQcancel(h->cancel, why, (int)whylen) == 1;
}

void db_interrupt_free(struct db_interrupt *h) {
    if (!h) return;
    PQfreeCancel(h->cancel);
    free(h);
}
