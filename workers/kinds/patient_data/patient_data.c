/* patient_data: the patient_data.insert kind — DashMed's insertion script as a job
 * (seeds/dashmed-patient-data-insertion.md; README "patient_data.insert").
 *
 * With a CSV (csv = an upload id or a file): a first pass checks the header (a wrong one
 * fails the job before anything is written), fingerprints the file, counts the cycles
 * (runs of rows with the same timestamp) and notes which parameters it holds; the
 * reference sets (patients, parameters, users) are fetched once; the second pass, from
 * the start or from where a resumed load stopped, writes every valid row, ignores (⊘)
 * rows whose patient, parameter or user does not exist, counts as errors (✗) rows that
 * cannot be read (each a job event naming its line), and with fill_values adds a
 * generated value, for every cycle and patient, of each parameter the file lacks.
 * Without a CSV it generates `cycles` cycles of every patient × parameter.
 * Paced (delay_seconds > 0): one cycle every delay_seconds, each in one statement.
 * Bulk (0): COPY in batches of PATIENT_DATA_BATCH_ROWS, each committed with the load's
 * position so resume=true (or a retry) continues after the last committed row.
 * Memory stays flat: one read buffer, one CSV record, one COPY buffer or one cycle.
 *
 * This file: the arguments, their checks, the setup of a run and the kind's
 * registration; the rest is in pd_*.c (pd_load.h). Memory: pd_run allocates struct
 * pd_load; pd_finish (pd_report.c) frees it with everything hanging off it. */
#include "kinds/kinds.h"
#include "kinds/patient_data/pd_load.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct job_arg args[] = {
    {"csv", JOB_ARG_STRING, false, 1, 4096,
     "the CSV: an upload id, or a file name under IMPORT_DIR (any path from `sluice jobs run`); "
     "absent: generate data"},
    {"fill_values", JOB_ARG_BOOL, false, 0, 0,
     "with a CSV, generate values of the parameters it lacks (default true)"},
    {"cycles", JOB_ARG_INT, false, 1, 100000000, "cycles to generate without a CSV (default 100)"},
    {"delay_seconds", JOB_ARG_NUMBER, false, 0, 86400,
     "seconds between cycles; 0 (default): bulk load through COPY"},
    {"timestamps", JOB_ARG_STRING, false, 3, 3,
     "now (stamp each cycle with the current time) or csv (keep the file's); default now when "
     "paced, csv in bulk"},
    {"seed", JOB_ARG_INT, false, 0, INT64_MAX / 2, "seed of the generated values"},
    {"time_zone", JOB_ARG_STRING, false, 1, 64,
     "time zone of the CSV's timestamps without offset (default SCHEDULE_TZ)"},
    {"resume", JOB_ARG_BOOL, false, 0, 0,
     "continue the last load of the same csv after its last committed row"},
    {"target", JOB_ARG_STRING, false, 5, 8,
     "postgres (default) or mysql (DashMed's own database at DASHMED_MYSQL_URL)"},
    {"created_by", JOB_ARG_INT, false, 1, INT64_MAX / 2,
     "user id of generated rows (default: the first enabled admin)"},
    {NULL, 0, false, 0, 0, NULL},
};

static const char *arg_str(const json_t *a, const char *name) {
    return json_string_value(json_object_get(a, name));
}

static int validate(const json_t *a, struct job_error *err) {
    const char *ts = arg_str(a, "timestamps"), *target = arg_str(a, "target");
    const char *field = NULL, *msg = NULL;
    if (ts && strcmp(ts, "now") != 0 && strcmp(ts, "csv") != 0) {
        field = "args.timestamps";
        msg = "must be now or csv";
    } else if (target && strcmp(target, "postgres") != 0 && strcmp(target, "mysql") != 0) {
        field = "args.target";
        msg = "must be postgres or mysql";
    } else if (!json_object_get(a, "csv") && ts && strcmp(ts, "csv") == 0) {
        field = "args.timestamps";
        msg = "csv needs a csv file (generated data is stamped now)";
    } else if (json_object_get(a, "csv") && json_object_get(a, "cycles")) {
        field = "args.cycles";
        msg = "applies only without csv (the file's timestamps make the cycles)";
    } else if (!json_object_get(a, "csv") && json_is_true(json_object_get(a, "resume"))) {
        field = "args.resume";
        msg = "needs csv (only a file load can be resumed)";
    } else if (target && strcmp(target, "mysql") == 0 &&
               json_is_true(json_object_get(a, "resume"))) {
        field = "args.resume";
        msg = "is only available with target postgres (the load record lives there)";
    }
    if (!field) return 0;
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* ---- run ----------------------------------------------------------------------------- */

static struct db_stmt q_default_user =
    DB_STMT("SELECT id FROM users WHERE role = 'admin' AND enabled ORDER BY id LIMIT 1");

static int load_refs(struct pd_load *L) {
    int rc = L->mysql ? pd_mysql_refs(L, &L->refs) : pd_refs_load_pg(L->db, &L->refs);
    if (rc != 0) {
        if (!L->error[0])
            snprintf(L->error, sizeof L->error, "reading patients, parameters and users: %.300s",
                     db_last_error(L->db));
        return -1;
    }
    char p[1024], q[1024], u[1024];
    pd_refs_describe(&L->refs, p, q, u, sizeof p);
    job_event(L->ctx, LOG_INFO, "%s", p);
    job_event(L->ctx, LOG_INFO, "%s", q);
    job_event(L->ctx, LOG_INFO, "%s", u);
    L->param_in_csv = calloc(L->refs.nparameters + 1, sizeof *L->param_in_csv);
    return L->param_in_csv ? 0 : -1;
}

static enum job_outcome pd_run(struct job_ctx *ctx, const json_t *a) {
    double t0 = pd_mono();
    const struct config *c = job_config(ctx);
    struct pd_load *L = calloc(1, sizeof *L);
    if (!L) {
        job_set_error(ctx, "out of memory");
        return JOB_RETRY;
    }
    L->ctx = ctx;
    L->db = job_db(ctx);
    db_copy_buf_init(&L->copy);
    L->error_rows = json_array();
    L->pending_errors = calloc(PD_ERROR_EVENTS_PER_BATCH, sizeof *L->pending_errors);
    json_t *v = json_object_get(a, "delay_seconds");
    L->delay = v ? json_number_value(v) : 0;
    L->paced = L->delay > 0;
    const char *ts = arg_str(a, "timestamps");
    L->ts_now = ts ? strcmp(ts, "now") == 0 : (L->paced || !json_object_get(a, "csv"));
    v = json_object_get(a, "fill_values");
    L->fill = v ? json_is_true(v) : true;
    v = json_object_get(a, "cycles");
    L->cycles_arg = v ? json_integer_value(v) : 100;
    v = json_object_get(a, "seed");
    L->seed = v ? (uint64_t)json_integer_value(v) : (uint64_t)pd_now_us();
    pd_rng_seed(&L->rng, L->seed);
    L->resume = json_is_true(json_object_get(a, "resume"));
    const char *target = arg_str(a, "target");
    L->mysql = target && strcmp(target, "mysql") == 0;
    const char *tz = arg_str(a, "time_zone");
    snprintf(L->tz, sizeof L->tz, "%s", tz ? tz : (c->schedule_tz ? c->schedule_tz : "UTC"));
    L->batch_rows = c->patient_data_batch_rows > 0 ? c->patient_data_batch_rows : 200000;
    L->max_record = c->csv_max_record_bytes > 0 ? (size_t)c->csv_max_record_bytes : 65536;
    v = json_object_get(a, "created_by");
    L->created_by = v ? json_integer_value(v) : 0;
    if (!L->error_rows || !L->pending_errors) {
        snprintf(L->error, sizeof L->error, "out of memory");
        return pd_finish(L, JOB_RETRY, t0);
    }

    if (!L->mysql && pd_pg_session(L) != 0) {
        if (strcmp(db_sqlstate(L->db), "22023") == 0) {
            snprintf(L->error, sizeof L->error, "time_zone: unknown time zone \"%.300s\"", L->tz);
            return pd_finish(L, JOB_FAILED, t0);
        }
        return pd_finish(L, JOB_RETRY, t0);
    }
    if (L->mysql) {
        if (!c->dashmed_mysql_url || !*c->dashmed_mysql_url) {
            snprintf(L->error, sizeof L->error,
                     "target mysql: DASHMED_MYSQL_URL is not set (DashMed's MariaDB/MySQL URL)");
            return pd_finish(L, JOB_FAILED, t0);
        }
        if (pd_mysql_open(L, c->dashmed_mysql_url) != 0) return pd_finish(L, JOB_RETRY, t0);
    }
    const char *csv = arg_str(a, "csv");
    int csv_rc = csv ? pd_resolve_csv(L, csv) : 0;
    if (csv_rc != 0) return pd_finish(L, csv_rc == -2 ? JOB_RETRY : JOB_FAILED, t0);
    if (load_refs(L) != 0) return pd_finish(L, JOB_RETRY, t0);
    if (!L->created_by && !L->have_csv) {
        if (L->mysql) { /* DashMed's own users */
            L->created_by = L->refs.nusers ? L->refs.users[0] : 0;
        } else {
            PGresult *r = db_exec(L->db, &q_default_user, 0, NULL);
            if (!r) return pd_finish(L, JOB_RETRY, t0);
            if (PQntuples(r) == 1) L->created_by = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    if (!L->have_csv && !pd_refs_has_user(&L->refs, L->created_by)) {
        snprintf(L->error, sizeof L->error,
                 "created_by: no user %lld to record generated rows under (give created_by)",
                 (long long)L->created_by);
        return pd_finish(L, JOB_FAILED, t0);
    }
    return L->have_csv ? pd_run_file(L, t0) : pd_run_generate(L, t0);
}

const struct job_kind job_kind_patient_data_insert = {
    .name = "patient_data.insert",
    .queue = "ingest",
    .summary = "insert DashMed patient measurements from a CSV (or generated), paced or bulk",
    .args = args,
    .validate = validate,
    .run = pd_run,
    .max_attempts = 3,
    .backoff_base = 10,
    .backoff_max = 300,
};
