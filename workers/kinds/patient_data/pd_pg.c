/* pd_pg: the PostgreSQL target of patient_data.insert; see pd_load.h. Bulk batches are
 * one transaction each: COPY of the rows, the load record (how far into the file, so a
 * resumed job continues after it), the error rows' job events, COMMIT. A paced cycle is
 * one statement: its rows from arrays (unnest) and the load record in a data-modifying
 * CTE, so one round trip and one implicit transaction. Every value is bound or sent as
 * COPY data; the statements are constants. */
#include "kinds/patient_data/pd_load.h"

#include "core/log.h"
#include "db/db.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char copy_sql[] = "COPY patient_data (id_patient, parameter_id, value, \"timestamp\","
                               " alert_flag, created_by, archived) FROM STDIN";

static struct db_stmt q_tz = DB_STMT("SELECT set_config('TimeZone', $1, false)");
static struct db_stmt q_partitions =
    DB_STMT("SELECT ensure_patient_data_partitions($1::timestamptz, $2::timestamptz)");
static struct db_stmt q_record =
    DB_STMT("SELECT encode(fingerprint, 'hex'), next_offset, next_line, cycles_done, finished,"
            " coalesce(job_id, 0) FROM patient_data_loads WHERE source = $1");
static struct db_stmt q_record_begin = DB_STMT(
    "INSERT INTO patient_data_loads AS l (source, fingerprint, job_id, next_offset, next_line,"
    " cycles_done, inserted, finished) VALUES ($1, decode($2, 'hex'), $3::bigint, 0, 1, 0, 0,"
    " false) ON CONFLICT (source) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " job_id = excluded.job_id, next_offset = 0, next_line = 1, cycles_done = 0, inserted = 0,"
    " finished = false, updated_at = now()");
static struct db_stmt q_record_move =
    DB_STMT("UPDATE patient_data_loads SET next_offset = $2::bigint, next_line = $3::bigint,"
            " cycles_done = $4::bigint, inserted = inserted + $5::bigint, finished = $6::boolean,"
            " job_id = $7::bigint, updated_at = now() WHERE source = $1");
static struct db_stmt q_cycle = DB_STMT(
    "WITH ins AS (INSERT INTO patient_data (id_patient, parameter_id, value, \"timestamp\","
    " alert_flag, created_by, archived)"
    " SELECT u.p, u.r, u.v, $1::timestamptz, u.a, u.c, u.ar FROM unnest($2::int[], $3::text[],"
    " $4::numeric[], $5::boolean[], $6::bigint[], $7::boolean[]) AS u(p, r, v, a, c, ar)"
    " RETURNING 1),"
    " rec AS (UPDATE patient_data_loads SET next_offset = $9::bigint, next_line = $10::bigint,"
    " cycles_done = $11::bigint, inserted = inserted + (SELECT count(*) FROM ins),"
    " finished = $12::boolean, job_id = $13::bigint, updated_at = now()"
    " WHERE source = $8::text RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM rec)");

static int fail(struct pd_load *L, const char *what) {
    snprintf(L->error, sizeof L->error, "%.300s: %.300s", what, db_last_error(L->db));
    return -1;
}

int pd_pg_session(struct pd_load *L) {
    const char *v[] = {L->tz};
    PGresult *r = db_exec(L->db, &q_tz, 1, v);
    if (!r) return fail(L, "setting the time zone");
    PQclear(r);
    return 0;
}

void pd_pg_session_end(struct pd_load *L) {
    PGresult *r = db_exec_sql(L->db, "RESET TimeZone", 0, NULL);
    if (r) PQclear(r);
}

int pd_pg_partitions(struct pd_load *L, const char *from, const char *to) {
    const char *v[] = {from, to};
    PGresult *r = db_exec(L->db, &q_partitions, 2, v);
    if (!r) return fail(L, "creating the monthly partitions");
    long made = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (made > 0)
        job_event(L->ctx, LOG_INFO,
                  "%ld monthly partition%s of patient_data created for %.30s .. %.30s", made,
                  made > 1 ? "s" : "", from, to);
    return 0;
}

int pd_pg_load_record(struct pd_load *L, bool *found, bool *finished) {
    *found = *finished = false;
    const char *v[] = {L->source};
    PGresult *r = db_exec(L->db, &q_record, 1, v);
    if (!r) return fail(L, "reading the load record");
    if (PQntuples(r) == 1) {
        *found = true;
        char hex[65];
        text_hex(L->fingerprint, sizeof L->fingerprint, hex);
        L->record_job = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
        if (strcmp(hex, PQgetvalue(r, 0, 0)) != 0) {
            /* Where the other version's load stopped: a retry of that same job must not
             * start over on top of the rows it committed (the caller decides). */
            L->start.offset = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            snprintf(L->error, sizeof L->error,
                     "cannot resume: %.300s changed since the load that resume=true would continue "
                     "(its content differs); load it without resume",
                     L->source);
            PQclear(r);
            return -2;
        }
        L->start.offset = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        L->start.line = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        L->cycles_before = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        *finished = PQgetvalue(r, 0, 4)[0] == 't';
    }
    PQclear(r);
    return 0;
}

int pd_pg_load_begin(struct pd_load *L) {
    char hex[65], id[24];
    text_hex(L->fingerprint, sizeof L->fingerprint, hex);
    snprintf(id, sizeof id, "%lld", (long long)job_id(L->ctx));
    const char *v[] = {L->source, hex, id};
    PGresult *r = db_exec(L->db, &q_record_begin, 3, v);
    if (!r) return fail(L, "writing the load record");
    PQclear(r);
    return 0;
}

/* ---- bulk ------------------------------------------------------------------------- */

static int open_batch(struct pd_load *L) {
    if (!L->in_tx) {
        PGresult *r = db_exec_sql(L->db, "BEGIN", 0, NULL);
        if (!r) return fail(L, "starting a batch");
        PQclear(r);
        L->in_tx = true;
    }
    if (db_copy_begin(L->db, copy_sql) != 0) return fail(L, "starting COPY");
    L->copy_open = true;
    return 0;
}

static void arr_put(struct textbuf *b, const char *s, size_t n, bool quote, bool first) {
    if (b->len + n + 4 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 4) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return; /* textbuf_printf below reports nothing either: checked at send */
        b->data = p;
        b->cap = cap;
    }
    b->data[b->len++] = first ? '{' : ',';
    if (quote) b->data[b->len++] = '"';
    memcpy(b->data + b->len, s, n);
    b->len += n;
    if (quote) b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

int pd_pg_add(struct pd_load *L, const struct pd_out *row) {
    if (L->paced) {
        bool first = L->cycle_rows == 0;
        char num[24];
        int n = snprintf(num, sizeof num, "%d", (int)row->patient);
        arr_put(&L->a_pat, num, (size_t)n, false, first);
        arr_put(&L->a_par, row->parameter, strlen(row->parameter), true, first);
        arr_put(&L->a_val, row->value, strlen(row->value), false, first);
        arr_put(&L->a_alert, row->alert ? "t" : "f", 1, false, first);
        n = snprintf(num, sizeof num, "%lld", (long long)row->created_by);
        arr_put(&L->a_by, num, (size_t)n, false, first);
        arr_put(&L->a_arch, row->archived ? "t" : "f", 1, false, first);
        L->cycle_rows++;
        return 0;
    }
    if (!L->copy_open && open_batch(L) != 0) return -1;
    struct db_copy_buf *b = &L->copy;
    db_copy_int(b, row->patient);
    db_copy_cstr(b, row->parameter);
    db_copy_cstr(b, row->value);
    db_copy_cstr(b, row->ts);
    db_copy_cstr(b, row->alert ? "t" : "f");
    db_copy_int(b, row->created_by);
    db_copy_cstr(b, row->archived ? "t" : "f");
    db_copy_end_row(b);
    if (b->len >= DB_COPY_FLUSH_BYTES && db_copy_put(L->db, b) != 0)
        return fail(L, "sending rows (COPY)");
    return 0;
}

/* Inside the batch's transaction, last before COMMIT: this worker must still hold the
 * job's lease (job_fence), else the batch is rolled back by the caller. */
static int fence(struct pd_load *L) {
    int rc = job_fence(L->ctx);
    if (rc == 0) return 0;
    if (rc == JOB_LEASE_LOST)
        snprintf(L->error, sizeof L->error,
                 "the job's lease was lost (another worker runs it now): batch rolled back");
    else
        fail(L, "checking the job's lease");
    return -1;
}

/* The pending error rows as events of a queued job, on the connection (inside the batch's
 * transaction when one is open). The foreground runner gets them after the commit. */
int pd_pg_error_events(struct pd_load *L) {
    if (job_id(L->ctx) == 0) return 0;
    for (size_t i = 0; i < L->npending_errors; i++) {
        char msg[300];
        snprintf(msg, sizeof msg, "line %lld: %s", (long long)L->pending_errors[i].line,
                 L->pending_errors[i].why);
        if (queue_add_event(L->db, job_id(L->ctx), NULL, job_attempt(L->ctx), LOG_WARN, msg) != 0)
            return fail(L, "recording error rows as job events");
    }
    return 0;
}

static int commit_bulk(struct pd_load *L, const struct pd_pos *next, bool finished) {
    int64_t rows = 0;
    if (L->copy_open) {
        if (db_copy_put(L->db, &L->copy) != 0) return fail(L, "sending rows (COPY)");
        L->copy_open = false;
        if (db_copy_end(L->db, &rows) != 0) return fail(L, "ending COPY");
    }
    bool need_tx = L->in_tx || (L->source[0] && next) || L->npending_errors;
    if (!need_tx) {
        pd_batch_committed(L, rows);
        return 0;
    }
    if (!L->in_tx) {
        PGresult *r = db_exec_sql(L->db, "BEGIN", 0, NULL);
        if (!r) return fail(L, "starting a batch");
        PQclear(r);
        L->in_tx = true;
    }
    if (L->source[0] && next) {
        char off[24], line[24], cyc[24], ins[24], id[24];
        snprintf(off, sizeof off, "%lld", (long long)next->offset);
        snprintf(line, sizeof line, "%lld", (long long)next->line);
        snprintf(cyc, sizeof cyc, "%lld", (long long)next->cycles_done);
        snprintf(ins, sizeof ins, "%lld", (long long)rows);
        snprintf(id, sizeof id, "%lld", (long long)job_id(L->ctx));
        const char *v[] = {L->source, off, line, cyc, ins, finished ? "true" : "false", id};
        PGresult *r = db_exec(L->db, &q_record_move, 7, v);
        if (!r) return fail(L, "recording the load's position");
        PQclear(r);
    }
    if (pd_pg_error_events(L) != 0) return -1;
    if (fence(L) != 0) return -1;
    PGresult *r = db_exec_sql(L->db, "COMMIT", 0, NULL);
    L->in_tx = false;
    if (!r) return fail(L, "committing a batch");
    PQclear(r);
    pd_batch_committed(L, rows);
    return 0;
}

static int commit_cycle(struct pd_load *L, const struct pd_pos *next, bool finished,
                        const char *ts) {
    struct textbuf *arrays[] = {&L->a_pat, &L->a_par, &L->a_val, &L->a_alert, &L->a_by, &L->a_arch};
    for (size_t i = 0; i < 6; i++) {
        if (L->cycle_rows == 0) {
            free(arrays[i]->data);
            arrays[i]->data = strdup("{}");
            arrays[i]->len = 2;
            arrays[i]->cap = 3;
            continue;
        }
        if (!arrays[i]->data || arrays[i]->len + 2 > arrays[i]->cap) {
            snprintf(L->error, sizeof L->error, "out of memory building a cycle");
            return -1;
        }
        arrays[i]->data[arrays[i]->len++] = '}';
        arrays[i]->data[arrays[i]->len] = '\0';
    }
    char off[24], line[24], cyc[24], id[24];
    snprintf(off, sizeof off, "%lld", (long long)(next ? next->offset : 0));
    snprintf(line, sizeof line, "%lld", (long long)(next ? next->line : 0));
    snprintf(cyc, sizeof cyc, "%lld", (long long)(next ? next->cycles_done : 0));
    snprintf(id, sizeof id, "%lld", (long long)job_id(L->ctx));
    const char *v[] = {ts,
                       L->a_pat.data,
                       L->a_par.data,
                       L->a_val.data,
                       L->a_alert.data,
                       L->a_by.data,
                       L->a_arch.data,
                       L->source[0] && next ? L->source : NULL,
                       off,
                       line,
                       cyc,
                       finished ? "true" : "false",
                       id};
    /* Queued jobs fence the cycle's transaction; in the foreground it is one statement. */
    bool fenced = job_id(L->ctx) != 0;
    if (fenced) {
        PGresult *b = db_exec_sql(L->db, "BEGIN", 0, NULL);
        if (!b) return fail(L, "starting a cycle");
        PQclear(b);
        L->in_tx = true;
    }
    PGresult *r = db_exec(L->db, &q_cycle, 13, v);
    for (size_t i = 0; i < 6; i++) arrays[i]->len = 0;
    L->cycle_rows = 0;
    if (!r) return fail(L, "inserting a cycle");
    int64_t rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (pd_pg_error_events(L) != 0) return -1;
    if (fenced) {
        if (fence(L) != 0) return -1;
        PGresult *c = db_exec_sql(L->db, "COMMIT", 0, NULL);
        L->in_tx = false;
        if (!c) return fail(L, "committing a cycle");
        PQclear(c);
    }
    pd_batch_committed(L, rows);
    return 0;
}

int pd_pg_commit(struct pd_load *L, const struct pd_pos *next, bool finished, const char *ts) {
    return L->paced ? commit_cycle(L, next, finished, ts) : commit_bulk(L, next, finished);
}

void pd_pg_abort(struct pd_load *L) {
    if (L->copy_open) {
        (void)db_copy_abort(L->db, "patient_data.insert stopped");
        L->copy_open = false;
    }
    if (L->in_tx) {
        PGresult *r = db_exec_sql(L->db, "ROLLBACK", 0, NULL);
        if (r) PQclear(r);
        L->in_tx = false;
    }
    db_copy_buf_reset(&L->copy);
    L->cycle_rows = 0;
    L->a_pat.len = L->a_par.len = L->a_val.len = L->a_alert.len = L->a_by.len = L->a_arch.len = 0;
}
