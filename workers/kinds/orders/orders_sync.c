/* orders_sync: the orders.sync job kind — reads the roller-shutter orders from the ERP
 * (MYSQL_URL, query ERP_ORDERS_QUERY_FILE) with a streamed result, cleans and checks
 * each row (erp_clean.h), drops the duplicates of consecutive rows of one order at
 * once, copies the rest — and the key of a rejected row whose key is valid — into a
 * staging table as they arrive, then replaces the ERP's
 * orders in one transaction (erp_store.h), recording the run in sync_runs.
 *
 * Memory stays flat whatever the number of rows: one raw row (libmariadb), the best row
 * of the current order, a scratch buffer as long as the longest value, and the COPY
 * buffer (flushed every DB_COPY_FLUSH_BYTES). Any fault (ERP unreachable, refused
 * login, query error, connection lost mid-stream, PostgreSQL failure) ends the run with
 * its error in the job and in sync_runs, leaves the orders as they were, and is retried
 * with backoff. The replacement is a fenced commit (job_fence): a worker that lost the
 * job's lease rolls it back. Everything allocated here is freed before run() returns. */
#include "kinds/kinds.h"
#include "kinds/orders/erp_clean.h"
#include "kinds/orders/erp_query.h"
#include "kinds/orders/erp_store.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_copy.h"
#include "db/mdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum stop { STOP_COLUMNS = 2, STOP_POSTGRES, STOP_CANCELLED, STOP_MEMORY };

struct sync {
    struct job_ctx *ctx;
    struct db *db;
    int col[ERP_COL_COUNT]; /* result column of each field; -1 before the first row */
    struct erp_order best, cur;
    bool have_best;
    struct erp_order kept; /* the last key staged alone (a rejected row's) */
    bool have_kept;
    struct db_copy_buf buf;
    char *scratch;
    size_t scratch_len;
    struct erp_counts k;
    double t_start, t_first_row, t_streamed; /* monotonic seconds, for the phases' log */
    char error[768];
};

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Maps the result's columns to the fields by alias, before any row (so that a result
 * without rows is checked too); stops the stream (error set) when one lacks. The ERP
 * has answered then: the end of the query's first phase. */
static int map_columns(void *arg, unsigned ncols, const char *const *names) {
    struct sync *s = arg;
    s->t_first_row = mono_s();
    for (int c = 0; c < ERP_COL_COUNT; c++) s->col[c] = -1;
    for (unsigned i = 0; i < ncols; i++) {
        int c = erp_col_find(names[i]);
        if (c >= 0 && s->col[c] < 0) s->col[c] = (int)i;
    }
    for (int c = 0; c < ERP_COL_COUNT; c++) {
        if (s->col[c] < 0) {
            snprintf(s->error, sizeof s->error,
                     "the ERP query's result has no column named %s (it needs numero_commande, "
                     "extension, status, date_modification, coffre, gestion_en_stock)",
                     erp_col_name((enum erp_col)c));
            return STOP_COLUMNS;
        }
    }
    return 0;
}

static int flush(struct sync *s, bool force) {
    if (s->buf.len == 0 || (!force && s->buf.len < DB_COPY_FLUSH_BYTES)) return 0;
    if (db_copy_put(s->db, &s->buf) != 0) {
        snprintf(s->error, sizeof s->error, "copying into PostgreSQL: %s", db_last_error(s->db));
        return -1;
    }
    return 0;
}

/* Stages the best row of the order that just ended. */
static int stage_best(struct sync *s) {
    if (!s->have_best) return 0;
    erp_store_stage_row(&s->buf, &s->best);
    s->k.staged++;
    s->have_best = false;
    return flush(s, false);
}

static int on_row(void *arg, const struct mdb_row *row) {
    struct sync *s = arg;
    s->k.rows_read++;
    struct erp_raw raw;
    size_t longest = 0;
    for (int c = 0; c < ERP_COL_COUNT; c++) {
        raw.values[c] = row->values[s->col[c]];
        raw.lengths[c] = row->lengths[s->col[c]];
        if (raw.lengths[c] > longest) longest = raw.lengths[c];
    }
    if (longest + 1 > s->scratch_len) {
        char *bigger = realloc(s->scratch, longest + 1);
        if (!bigger) return STOP_MEMORY;
        s->scratch = bigger;
        s->scratch_len = longest + 1;
    }
    enum erp_reject why = erp_clean_row(&raw, &s->cur, s->scratch, s->scratch_len);
    if (why != ERP_OK) {
        s->k.rejected++;
        s->k.rejected_by[why]++;
        /* the key is valid (checked first): the order is still in the result */
        if (why != ERP_REJECT_NUMERO && why != ERP_REJECT_EXTENSION &&
            !(s->have_best && erp_same_order(&s->best, &s->cur)) &&
            !(s->have_kept && erp_same_order(&s->kept, &s->cur))) {
            erp_store_stage_key(&s->buf, &s->cur);
            s->kept = s->cur;
            s->have_kept = true;
            if (flush(s, false) != 0) return STOP_POSTGRES;
        }
    } else if (s->have_best && erp_same_order(&s->best, &s->cur)) {
        s->k.duplicates++;
        if (erp_order_better(&s->cur, &s->best)) s->best = s->cur;
    } else {
        if (stage_best(s) != 0) return STOP_POSTGRES;
        s->best = s->cur;
        s->have_best = true;
    }
    if ((s->k.rows_read & 4095) == 0) {
        job_progress(s->ctx, s->k.rows_read, -1, "rows");
        if (job_cancelled(s->ctx)) return STOP_CANCELLED;
    }
    return 0;
}

static struct mdb *connect_erp(struct job_ctx *ctx, struct mdb_error *err) {
    const struct config *c = job_config(ctx);
    struct mdb_opts o = {
        .connect_timeout = (unsigned)c->mysql_connect_timeout_seconds,
        .read_timeout = (unsigned)c->mysql_read_timeout_seconds,
        .ssl_mode = (enum mdb_ssl_mode)(c->mysql_ssl_mode + 1),
        .ssl_ca = c->mysql_ssl_ca,
    };
    return mdb_connect(c->mysql_url, &o, err);
}

/* Ends a run that changed nothing: the error in the job and in sync_runs. */
static enum job_outcome give_up(struct sync *s, int64_t run_id, enum job_outcome outcome,
                                const char *error) {
    const char *status = outcome == JOB_CANCELLED ? "cancelled" : "failed";
    if (error) {
        job_set_error(s->ctx, "%s", error);
        job_event(s->ctx, LOG_ERROR, "orders.sync: %s", error);
    }
    s->k.staged = 0;
    if (erp_store_run_end(s->db, run_id, status, &s->k, error) != 0)
        job_event(s->ctx, LOG_WARN, "orders.sync: recording run %" PRId64 ": %s", run_id,
                  db_last_error(s->db));
    return outcome;
}

static json_t *result_json(int64_t run_id, const struct erp_counts *k) {
    json_t *by = json_object();
    for (int c = 0; c < ERP_COL_COUNT; c++)
        if (k->rejected_by[c])
            json_object_set_new(by, erp_col_name((enum erp_col)c), json_integer(k->rejected_by[c]));
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "sync_run_id", (json_int_t)run_id,
                     "rows_read", (json_int_t)k->rows_read, "inserted", (json_int_t)k->inserted,
                     "updated", (json_int_t)k->updated, "deleted", (json_int_t)k->deleted,
                     "unchanged", (json_int_t)k->unchanged, "duplicates", (json_int_t)k->duplicates,
                     "rejected", (json_int_t)k->rejected, "rejected_by", by);
}

/* Inside the replacement transaction: stop when the job must (lease lost, cancel), and
 * last before COMMIT the fence — the orders are replaced only if this worker still holds
 * the job's lease (JOB_LEASE_LOST otherwise: another worker took the job, everything is
 * rolled back). */
static int still_ours(struct db *db, void *arg, bool before_commit) {
    (void)db;
    struct job_ctx *ctx = arg;
    if (job_cancelled(ctx)) return STOP_CANCELLED;
    return before_commit ? job_fence(ctx) : 0;
}

/* Streams the ERP's rows into the staging table. 0, or the outcome to give up with
 * (s->error says why). */
static int stream(struct sync *s, const char *sql, struct mdb *erp, bool *lost) {
    struct mdb_error merr = {0};
    if (erp_store_stage_begin(s->db) != 0) {
        snprintf(s->error, sizeof s->error, "preparing the staging table: %s",
                 db_last_error(s->db));
        return JOB_RETRY;
    }
    s->t_start = mono_s();
    int rc = mdb_stream_columns(erp, sql, map_columns, on_row, s, &merr);
    if (rc == 0 && (stage_best(s) != 0 || flush(s, true) != 0)) rc = STOP_POSTGRES;
    if (rc == 0) {
        if (db_copy_end(s->db, NULL) == 0) {
            s->t_streamed = mono_s();
            if (s->t_first_row == 0) s->t_first_row = s->t_streamed; /* no row */
            return 0;
        }
        snprintf(s->error, sizeof s->error, "copying into PostgreSQL: %s", db_last_error(s->db));
        return JOB_RETRY;
    }
    db_copy_abort(s->db, "orders.sync stopped");
    *lost = merr.lost;
    if (rc == -1) snprintf(s->error, sizeof s->error, "ERP: %s", merr.text);
    if (rc == STOP_MEMORY) snprintf(s->error, sizeof s->error, "out of memory reading a row");
    if (rc == STOP_CANCELLED) {
        snprintf(s->error, sizeof s->error, "cancelled after %" PRId64 " rows", s->k.rows_read);
        return JOB_CANCELLED;
    }
    return JOB_RETRY;
}

static enum job_outcome sync_run(struct job_ctx *ctx, const json_t *args) {
    (void)args;
    struct sync s = {.ctx = ctx, .db = job_db(ctx)};
    int64_t run_id = 0;
    if (erp_store_run_start(s.db, job_id(ctx), job_attempt(ctx), &run_id) != 0) {
        job_set_error(ctx, "recording the run: %s", db_last_error(s.db));
        return JOB_RETRY;
    }
    job_progress(ctx, 0, -1, "rows");
    char qerr[512];
    char *sql = erp_query_load(job_config(ctx)->erp_orders_query_file, qerr, sizeof qerr);
    if (!sql) return give_up(&s, run_id, JOB_RETRY, qerr);
    struct mdb_error merr;
    struct mdb *erp = connect_erp(ctx, &merr);
    if (!erp) {
        free(sql);
        char msg[800];
        snprintf(msg, sizeof msg, "ERP: %s", merr.text);
        return give_up(&s, run_id, JOB_RETRY, msg);
    }
    job_event(ctx, LOG_INFO, "orders.sync: reading %s (run %" PRId64 ")", mdb_where(erp), run_id);
    db_copy_buf_init(&s.buf);
    bool lost = false;
    int outcome = stream(&s, sql, erp, &lost);
    mdb_close(erp);
    free(sql);
    free(s.scratch);
    db_copy_buf_cleanup(&s.buf);
    job_progress(ctx, s.k.rows_read, outcome ? -1 : s.k.rows_read, "rows");
    if (outcome != 0) return give_up(&s, run_id, (enum job_outcome)outcome, s.error);

    int rc = erp_store_replace(s.db, run_id, &s.k, still_ours, ctx);
    if (rc == STOP_CANCELLED)
        return give_up(&s, run_id, JOB_CANCELLED, "cancelled before the replacement");
    if (rc == JOB_LEASE_LOST)
        return give_up(&s, run_id, JOB_CANCELLED,
                       "the job's lease was lost (another worker took the job): the"
                       " replacement was rolled back");
    if (rc != 0) {
        char msg[800];
        snprintf(msg, sizeof msg, "replacing the orders in PostgreSQL: %s", db_last_error(s.db));
        return give_up(&s, run_id, JOB_RETRY, msg);
    }
    double t_replaced = mono_s();
    job_event(ctx, LOG_INFO,
              "orders.sync: phases: %.1f s until the ERP's first row, %.1f s streaming and"
              " copying, %.1f s replacing",
              s.t_first_row - s.t_start, s.t_streamed - s.t_first_row, t_replaced - s.t_streamed);
    job_count(ctx, s.k.inserted + s.k.updated + s.k.unchanged, s.k.duplicates, s.k.rejected);
    job_set_result(ctx, result_json(run_id, &s.k));
    char rej[512];
    erp_store_rejected_json(&s.k, rej, sizeof rej);
    job_event(ctx, LOG_INFO,
              "orders.sync: %" PRId64 " rows read; %" PRId64 " inserted, %" PRId64
              " updated, %" PRId64 " deleted, %" PRId64 " unchanged, %" PRId64
              " duplicates, %" PRId64 " rejected %s",
              s.k.rows_read, s.k.inserted, s.k.updated, s.k.deleted, s.k.unchanged, s.k.duplicates,
              s.k.rejected, rej);
    return JOB_SUCCEEDED;
}

static const struct job_arg sync_args[] = {
    {NULL, 0, false, 0, 0, NULL},
};

const struct job_kind job_kind_orders_sync = {
    .name = "orders.sync",
    .queue = "ingest",
    .summary = "replace the ERP's roller-shutter orders by the ERP query's result (MYSQL_URL)",
    .args = sync_args,
    .run = sync_run,
    .max_attempts = 5,
    .backoff_base = 30,
    .backoff_max = 900,
};
