/* pd_report: what a patient_data.insert load reports; see pd_load.h. Error rows (the
 * first ones in the result, a bounded number a batch as job events), counts and progress
 * after each commit, and at the end the summary event, the job's error and its result.
 * pd_finish also ends the run: it rolls back an open batch, resets the session or closes
 * MariaDB, and frees struct pd_load with everything hanging off it (load_cleanup). */
#include "kinds/patient_data/pd_load.h"

#include "core/log.h"
#include "db/db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load_cleanup(struct pd_load *L) {
    pd_refs_cleanup(&L->refs);
    free(L->param_in_csv);
    free(L->cycle_patients);
    free(L->cycle_creators);
    free(L->pending_errors);
    json_decref(L->error_rows);
    db_copy_buf_cleanup(&L->copy);
    free(L->a_pat.data);
    free(L->a_par.data);
    free(L->a_val.data);
    free(L->a_alert.data);
    free(L->a_by.data);
    free(L->a_arch.data);
}

void pd_note_error(struct pd_load *L, int64_t line, const char *why) {
    L->batch.errors++;
    if (json_array_size(L->error_rows) < PD_ERROR_ROWS_IN_RESULT)
        json_array_append_new(L->error_rows,
                              json_pack("{s:I,s:s}", "line", (json_int_t)line, "reason", why));
    if (L->npending_errors >= PD_ERROR_EVENTS_PER_BATCH) {
        L->errors_unlisted++;
        return;
    }
    struct pd_error_row *e = &L->pending_errors[L->npending_errors++];
    e->line = line;
    snprintf(e->why, sizeof e->why, "%.230s", why);
}

void pd_batch_committed(struct pd_load *L, int64_t rows_in) {
    struct pd_counts *b = &L->batch, *d = &L->done;
    int64_t ignored = b->ign_patient + b->ign_parameter + b->ign_user;
    d->rows += rows_in;
    d->filled += b->filled;
    d->ign_patient += b->ign_patient;
    d->ign_parameter += b->ign_parameter;
    d->ign_user += b->ign_user;
    d->errors += b->errors;
    d->cycles += b->cycles;
    job_count(L->ctx, rows_in, ignored, b->errors);
    job_progress(L->ctx, L->cycles_before + d->cycles, L->total_cycles, "cycles");
    if (job_id(L->ctx) == 0) /* foreground: queued jobs stored them with the batch */
        for (size_t i = 0; i < L->npending_errors; i++)
            job_event(L->ctx, LOG_WARN, "line %lld: %s", (long long)L->pending_errors[i].line,
                      L->pending_errors[i].why);
    L->npending_errors = 0;
    memset(b, 0, sizeof *b);
}

static json_t *result_json(struct pd_load *L, double elapsed) {
    struct pd_counts *d = &L->done;
    json_t *res = json_pack(
        "{s:I,s:I,s:I,s:{s:I,s:I,s:I},s:I,s:f,s:f,s:s,s:s,s:s,s:I}", "cycles",
        (json_int_t)d->cycles, "inserted", (json_int_t)d->rows, "filled", (json_int_t)d->filled,
        "ignored", "patient", (json_int_t)d->ign_patient, "parameter", (json_int_t)d->ign_parameter,
        "user", (json_int_t)d->ign_user, "errors", (json_int_t)d->errors, "duration_seconds",
        round(elapsed * 1000) / 1000, "rows_per_second",
        elapsed > 0 ? round((double)d->rows / elapsed * 10) / 10 : 0.0, "mode",
        L->paced ? "paced" : "bulk", "target", L->mysql ? "mysql" : "postgres", "timestamps",
        L->ts_now ? "now" : "csv", "cycles_total", (json_int_t)L->total_cycles);
    if (L->have_csv) {
        json_object_set_new(res, "csv", json_string(L->path));
        json_object_set_new(res, "started_at_line", json_integer(L->start.line));
        json_object_set_new(res, "error_rows", json_incref(L->error_rows));
    }
    return res;
}

enum job_outcome pd_finish(struct pd_load *L, enum job_outcome outcome, double t0) {
    if (outcome != JOB_SUCCEEDED) {
        if (L->mysql)
            pd_mysql_abort(L);
        else
            pd_pg_abort(L);
    }
    double elapsed = pd_mono() - t0;
    if (L->errors_unlisted)
        job_event(L->ctx, LOG_WARN, "%lld more error rows were not listed as events",
                  (long long)L->errors_unlisted);
    struct pd_counts *d = &L->done;
    job_event(L->ctx, outcome == JOB_SUCCEEDED ? LOG_INFO : LOG_WARN,
              "cycles: %lld, inserted: %lld (%lld filled), ignored: %lld (patient %lld, "
              "parameter %lld, user %lld), errors: %lld, duration: %.2fs, rate: %.1f insert/s",
              (long long)d->cycles, (long long)d->rows, (long long)d->filled,
              (long long)(d->ign_patient + d->ign_parameter + d->ign_user),
              (long long)d->ign_patient, (long long)d->ign_parameter, (long long)d->ign_user,
              (long long)d->errors, elapsed, elapsed > 0 ? (double)d->rows / elapsed : 0);
    if (outcome != JOB_SUCCEEDED && outcome != JOB_CANCELLED && L->error[0])
        job_set_error(L->ctx, "%s (%lld rows are in%s)", L->error, (long long)d->rows,
                      L->have_csv && !L->mysql ? "; resume=true continues after them" : "");
    job_set_result(L->ctx, result_json(L, elapsed));
    if (!L->mysql) pd_pg_session_end(L);
    if (L->mysql) pd_mysql_close(L);
    load_cleanup(L);
    free(L);
    return outcome;
}
