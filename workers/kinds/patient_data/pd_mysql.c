/* pd_mysql: the MariaDB/MySQL target of patient_data.insert (target=mysql): DashMed's own
 * database at DASHMED_MYSQL_URL with the seed's schema — patients(id_patient),
 * parameter_reference(parameter_id, display_min, display_max), users(id_user),
 * patient_data(id AUTO_INCREMENT, id_patient, parameter_id, value DECIMAL(10,2),
 * timestamp DATETIME, alert_flag, created_by, archived). The reference sets are streamed
 * from it (db/mdb.h); rows go through a prepared multi-row INSERT of up to
 * PD_MYSQL_CHUNK rows with every value bound, inside one transaction per cycle (paced) or
 * per batch (bulk). DATETIME has no time zone: CSV timestamps are written as the file's
 * wall-clock text (an explicit offset is turned into UTC), timestamps=now as the server's
 * NOW(), as DashMed's script stamps with its host's clock. The load record and error
 * events stay in sluice's PostgreSQL (no resume for this target).
 * Memory: the connection, statements and the row arena are owned by struct pd_mysql,
 * freed by pd_mysql_close. */
#include "kinds/patient_data/pd_load.h"

#include "core/log.h"
#include "db/mdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_MYSQL_CHUNK 500
#define PD_MYSQL_COLS 7
#define PD_MYSQL_FIELD 64

struct pd_mysql_row {
    char f[PD_MYSQL_COLS][PD_MYSQL_FIELD];
    unsigned long len[PD_MYSQL_COLS];
    bool null_ts; /* timestamps=now: NOW() */
};

struct pd_mysql {
    struct mdb *c;
    MYSQL_STMT *full; /* PD_MYSQL_CHUNK rows */
    struct pd_mysql_row *rows;
    size_t nrows;
    bool in_tx;
    int64_t rows_in; /* inserted in the open transaction */
    MYSQL_BIND *bind;
    my_bool *is_null;
};

static const char insert_head[] = "INSERT INTO patient_data (id_patient, parameter_id, value,"
                                  " `timestamp`, alert_flag, created_by, archived) VALUES ";
static const char insert_row[] = "(?, ?, ?, COALESCE(?, NOW()), ?, ?, ?)";

static int fail_mdb(struct pd_load *L, struct mdb_error *e) {
    snprintf(L->error, sizeof L->error, "%.1500s", e->text);
    return -1;
}

static int fail_stmt(struct pd_load *L, MYSQL_STMT *st, const char *what) {
    snprintf(L->error, sizeof L->error, "%s (%.300s): %.900s [MariaDB error %u]", what,
             mdb_where(((struct pd_mysql *)L->my)->c), mysql_stmt_error(st), mysql_stmt_errno(st));
    return -1;
}

int pd_mysql_open(struct pd_load *L, const char *url) {
    struct pd_mysql *my = calloc(1, sizeof *my);
    if (!my) return -1;
    L->my = my;
    my->rows = calloc(PD_MYSQL_CHUNK, sizeof *my->rows);
    my->bind = calloc(PD_MYSQL_CHUNK * PD_MYSQL_COLS, sizeof *my->bind);
    my->is_null = calloc(PD_MYSQL_CHUNK * PD_MYSQL_COLS, sizeof *my->is_null);
    if (!my->rows || !my->bind || !my->is_null) {
        snprintf(L->error, sizeof L->error, "out of memory");
        return -1;
    }
    struct mdb_opts opts = {0};
    struct mdb_error e;
    my->c = mdb_connect(url, &opts, &e);
    if (!my->c) return fail_mdb(L, &e);
    return 0;
}

void pd_mysql_close(struct pd_load *L) {
    struct pd_mysql *my = L->my;
    if (!my) return;
    if (my->full) mysql_stmt_close(my->full);
    if (my->c && my->in_tx) {
        struct mdb_error e;
        (void)mdb_exec(my->c, "ROLLBACK", &e);
    }
    mdb_close(my->c);
    free(my->rows);
    free(my->bind);
    free(my->is_null);
    free(my);
    L->my = NULL;
}

/* ---- reference sets ------------------------------------------------------------------- */

static int take_patient(void *arg, const struct mdb_row *row) {
    if (!row->values[0]) return 0;
    return pd_refs_add_patient(arg, (int32_t)strtol(row->values[0], NULL, 10)) ? -2 : 0;
}

static int take_parameter(void *arg, const struct mdb_row *row) {
    if (!row->values[0]) return 0;
    char id[PDROW_PARAMETER_MAX + 2];
    snprintf(id, sizeof id, "%.*s", (int)(row->lengths[0] < sizeof id - 1 ? row->lengths[0] : 0),
             row->values[0]);
    return pd_refs_add_parameter(arg, id, row->values[1], row->values[2]) ? -2 : 0;
}

static int take_user(void *arg, const struct mdb_row *row) {
    if (!row->values[0]) return 0;
    return pd_refs_add_user(arg, strtoll(row->values[0], NULL, 10)) ? -2 : 0;
}

int pd_mysql_refs(struct pd_load *L, struct pd_refs *refs) {
    struct pd_mysql *my = L->my;
    memset(refs, 0, sizeof *refs);
    struct mdb_error e = {0};
    if (mdb_stream(my->c, "SELECT id_patient FROM patients", take_patient, refs, &e) != 0 ||
        mdb_stream(my->c,
                   "SELECT parameter_id, CAST(display_min AS CHAR), CAST(display_max AS CHAR)"
                   " FROM parameter_reference",
                   take_parameter, refs, &e) != 0 ||
        mdb_stream(my->c, "SELECT id_user FROM users", take_user, refs, &e) != 0) {
        if (!e.text[0]) snprintf(e.text, sizeof e.text, "out of memory");
        return fail_mdb(L, &e);
    }
    pd_refs_sort(refs);
    return 0;
}

/* ---- rows ---------------------------------------------------------------------------- */

/* A prepared INSERT of n rows (the statement text holds only placeholders). */
static MYSQL_STMT *prepare(struct pd_load *L, size_t n) {
    struct pd_mysql *my = L->my;
    size_t cap = sizeof insert_head + n * (sizeof insert_row + 2);
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = (size_t)snprintf(sql, cap, "%s", insert_head);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", i ? ", " : "", insert_row);
    MYSQL_STMT *st = mysql_stmt_init(mdb_handle(my->c));
    if (!st || mysql_stmt_prepare(st, sql, len) != 0) {
        if (st) {
            fail_stmt(L, st, "preparing the insert");
            mysql_stmt_close(st);
        } else {
            snprintf(L->error, sizeof L->error, "out of memory");
        }
        st = NULL;
    }
    free(sql);
    return st;
}

static int begin(struct pd_load *L) {
    struct pd_mysql *my = L->my;
    if (my->in_tx) return 0;
    struct mdb_error e;
    if (mdb_exec(my->c, "START TRANSACTION", &e) != 0) return fail_mdb(L, &e);
    my->in_tx = true;
    my->rows_in = 0;
    return 0;
}

/* Sends the buffered rows in one statement. */
static int flush(struct pd_load *L) {
    struct pd_mysql *my = L->my;
    size_t n = my->nrows;
    if (n == 0) return 0;
    if (begin(L) != 0) return -1;
    MYSQL_STMT *st = n == PD_MYSQL_CHUNK ? my->full : NULL;
    if (n == PD_MYSQL_CHUNK && !st && !(st = my->full = prepare(L, n))) return -1;
    if (!st && !(st = prepare(L, n))) return -1;
    memset(my->bind, 0, n * PD_MYSQL_COLS * sizeof *my->bind);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < PD_MYSQL_COLS; k++) {
            MYSQL_BIND *b = &my->bind[i * PD_MYSQL_COLS + k];
            my_bool *isnull = &my->is_null[i * PD_MYSQL_COLS + k];
            *isnull = k == 3 && my->rows[i].null_ts;
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = my->rows[i].f[k];
            b->buffer_length = my->rows[i].len[k];
            b->length = &my->rows[i].len[k];
            b->is_null = isnull;
        }
    int rc = 0;
    if (mysql_stmt_bind_param(st, my->bind) != 0 || mysql_stmt_execute(st) != 0)
        rc = fail_stmt(L, st, "inserting rows");
    else
        my->rows_in += (int64_t)mysql_stmt_affected_rows(st);
    if (st != my->full) mysql_stmt_close(st);
    my->nrows = 0;
    return rc;
}

int pd_mysql_add(struct pd_load *L, const struct pd_out *row) {
    struct pd_mysql *my = L->my;
    struct pd_mysql_row *r = &my->rows[my->nrows];
    int n[PD_MYSQL_COLS];
    n[0] = snprintf(r->f[0], PD_MYSQL_FIELD, "%d", (int)row->patient);
    n[1] = snprintf(r->f[1], PD_MYSQL_FIELD, "%s", row->parameter);
    n[2] = snprintf(r->f[2], PD_MYSQL_FIELD, "%s", row->value);
    r->null_ts = L->ts_now;
    if (L->ts_now) {
        n[3] = 0;
        r->f[3][0] = '\0';
    } else if (row->ts_has_offset) {
        char t[64];
        pd_gen_time_text(row->ts_key, 0, t); /* UTC wall-clock time */
        n[3] = snprintf(r->f[3], PD_MYSQL_FIELD, "%.26s", t);
    } else {
        n[3] = snprintf(r->f[3], PD_MYSQL_FIELD, "%.40s", row->ts);
        if (n[3] > 10 && r->f[3][10] == 'T') r->f[3][10] = ' ';
    }
    n[4] = snprintf(r->f[4], PD_MYSQL_FIELD, "%d", row->alert ? 1 : 0);
    n[5] = snprintf(r->f[5], PD_MYSQL_FIELD, "%lld", (long long)row->created_by);
    n[6] = snprintf(r->f[6], PD_MYSQL_FIELD, "%d", row->archived ? 1 : 0);
    for (int k = 0; k < PD_MYSQL_COLS; k++)
        r->len[k] = n[k] < 0                 ? 0
                    : n[k] >= PD_MYSQL_FIELD ? PD_MYSQL_FIELD - 1
                                             : (unsigned long)n[k];
    my->nrows++;
    return my->nrows == PD_MYSQL_CHUNK ? flush(L) : 0;
}

int pd_mysql_commit(struct pd_load *L) {
    struct pd_mysql *my = L->my;
    if (flush(L) != 0) return -1;
    int64_t rows = 0;
    if (my->in_tx) {
        struct mdb_error e;
        my->in_tx = false;
        if (mdb_exec(my->c, "COMMIT", &e) != 0) return fail_mdb(L, &e);
        rows = my->rows_in;
    }
    if (pd_pg_error_events(L) != 0) return -1;
    pd_batch_committed(L, rows);
    return 0;
}

void pd_mysql_abort(struct pd_load *L) {
    struct pd_mysql *my = L->my;
    if (!my) return;
    my->nrows = 0;
    if (my->in_tx) {
        struct mdb_error e;
        (void)mdb_exec(my->c, "ROLLBACK", &e);
        my->in_tx = false;
    }
}
