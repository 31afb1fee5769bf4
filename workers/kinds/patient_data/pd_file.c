/* pd_file: patient_data.insert with a CSV; see pd_load.h. The first pass (scan_record)
 * checks the header, fingerprints the file, counts its cycles and notes the parameters it
 * holds and the range of its timestamps; the load record then says where to start (the
 * start, or after the last committed row of a resumed load) and partitions are made; the
 * second pass (load_record) writes every valid row, ignores rows whose patient, parameter
 * or user does not exist and notes unreadable ones as errors. Memory: the two passes'
 * states are on the stack; the rest hangs off struct pd_load (freed by pd_finish). */
#include "kinds/patient_data/pd_csv.h"
#include "kinds/patient_data/pd_load.h"
#include "kinds/patient_data/pd_row.h"

#include "core/log.h"
#include "db/db.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- the file: scan, then load --------------------------------------------------------- */

struct scan {
    struct pd_load *L;
    bool header_seen, sorted;
    int64_t last_key, runs, rows, unsorted_line;
    int64_t min_local, max_local, min_utc, max_utc; /* keys: without / with an offset */
    bool any_local, any_utc;
};

static int scan_record(void *arg, const struct pdcsv_record *rec) {
    struct scan *s = arg;
    char why[512];
    if (!s->header_seen) {
        s->header_seen = true;
        if (!pdrow_header_ok(rec, why, sizeof why)) {
            snprintf(s->L->error, sizeof s->L->error, "%s", why);
            return 1;
        }
        return 0;
    }
    struct pdrow row;
    if (!pdrow_parse(rec, &row, why, sizeof why)) return 0;
    s->rows++;
    if (s->runs == 0 || row.ts_key != s->last_key) {
        if (s->runs && row.ts_key < s->last_key && s->sorted) {
            s->sorted = false;
            s->unsorted_line = rec->line;
        }
        s->runs++;
        s->last_key = row.ts_key;
    }
    if (row.has_offset) {
        if (!s->any_utc || row.ts_key < s->min_utc) s->min_utc = row.ts_key;
        if (!s->any_utc || row.ts_key > s->max_utc) s->max_utc = row.ts_key;
        s->any_utc = true;
    } else {
        if (!s->any_local || row.ts_key < s->min_local) s->min_local = row.ts_key;
        if (!s->any_local || row.ts_key > s->max_local) s->max_local = row.ts_key;
        s->any_local = true;
    }
    long p = pd_refs_parameter(&s->L->refs, row.parameter_id);
    if (p >= 0) s->L->param_in_csv[p] = true;
    return 0;
}

struct loader {
    struct pd_load *L;
    bool skip_header; /* reading from offset 0: the first record is the header */
    int64_t seen, end, next_line;
    int rc; /* -1 failed, 1 cancelled */
};

static int load_record(void *arg, const struct pdcsv_record *rec) {
    struct loader *ld = arg;
    struct pd_load *L = ld->L;
    ld->end = rec->end;
    ld->next_line = rec->next_line;
    if (ld->skip_header) {
        ld->skip_header = false;
        return 0;
    }
    if ((++ld->seen & 4095) == 0 && job_cancelled(L->ctx)) {
        ld->rc = 1;
        return 1;
    }
    char why[512];
    struct pdrow row;
    if (!pdrow_parse(rec, &row, why, sizeof why)) {
        pd_note_error(L, rec->line, why);
        return 0;
    }
    if (L->cycle_open && row.ts_key != L->cycle_key) {
        struct pd_pos next = {.offset = rec->offset, .line = rec->line};
        int rc = pd_cycle_end(L, &next, false);
        if (rc) {
            ld->rc = rc;
            return 1;
        }
    }
    if (!L->cycle_open && pd_cycle_start(L, row.ts_key, row.timestamp, row.has_offset) != 0) {
        ld->rc = -1;
        return 1;
    }
    if (!pd_refs_has_patient(&L->refs, row.id_patient)) {
        L->batch.ign_patient++;
        return 0;
    }
    if (pd_refs_parameter(&L->refs, row.parameter_id) < 0) {
        L->batch.ign_parameter++;
        return 0;
    }
    if (!pd_refs_has_user(&L->refs, row.created_by)) {
        L->batch.ign_user++;
        return 0;
    }
    struct pd_out out = {.patient = row.id_patient,
                         .parameter = row.parameter_id,
                         .value = row.value,
                         .ts = L->ts_now ? L->cycle_ts : row.timestamp,
                         .ts_key = row.ts_key,
                         .ts_has_offset = row.has_offset,
                         .alert = row.alert_flag,
                         .archived = row.archived,
                         .created_by = row.created_by};
    if (pd_add(L, &out) != 0 ||
        (pd_need_fill(L) && pd_cycle_note_patient(L, row.id_patient, row.created_by))) {
        ld->rc = -1;
        return 1;
    }
    return 0;
}

enum job_outcome pd_run_file(struct pd_load *L, double t0) {
    struct scan s = {.L = L, .sorted = true};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof L->fingerprint);
    int rc = pd_read_file(L, 0, 1, scan_record, &s, &st, false);
    crypto_generichash_final(&st, L->fingerprint, sizeof L->fingerprint);
    if (rc < 0) return pd_finish(L, JOB_FAILED, t0);
    if (rc > 0 || !s.header_seen) {
        if (!s.header_seen)
            snprintf(L->error, sizeof L->error, "the file is empty: the header must be %.300s",
                     PDROW_HEADER);
        return pd_finish(L, JOB_FAILED, t0); /* a wrong header: nothing written */
    }
    if (L->paced && !s.sorted) {
        snprintf(L->error, sizeof L->error,
                 "line %lld: timestamps go back in time; paced mode replays a file in time order "
                 "(sort it by timestamp, or load it in bulk with delay_seconds=0)",
                 (long long)s.unsorted_line);
        return pd_finish(L, JOB_FAILED, t0);
    }
    L->total_cycles = s.runs;
    L->start = (struct pd_pos){.offset = 0, .line = 1};
    if (L->fill) {
        char missing[600] = "";
        size_t n = 0, count = 0;
        for (size_t i = 0; i < L->refs.nparameters; i++)
            if (!L->param_in_csv[i]) {
                count++;
                if (n < sizeof missing - 60)
                    n += (size_t)snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "",
                                          L->refs.parameters[i].id);
            }
        if (count)
            job_event(L->ctx, LOG_INFO,
                      "fill_values: generating values for %zu parameters missing from the CSV: %s",
                      count, missing);
    }
    if (!L->mysql) {
        bool found = false, finished = false;
        if (L->resume || job_attempt(L->ctx) > 1) {
            int r = pd_pg_load_record(L, &found, &finished);
            if (r == -2 && !L->resume && L->record_job == job_id(L->ctx) && L->start.offset > 0) {
                /* This job committed rows of the file, which has changed since: starting
                 * over would load them twice. */
                snprintf(L->error, sizeof L->error,
                         "%.300s changed between attempts of this job, which had already "
                         "loaded part of it: nothing more is loaded (no row twice); load the "
                         "new file with a new job",
                         L->path);
                return pd_finish(L, JOB_FAILED, t0);
            } else if (r == -2 && !L->resume) { /* a retry of a load of another file version */
                found = false;
                L->error[0] = '\0';
            } else if (r != 0) {
                return pd_finish(L, r == -2 ? JOB_FAILED : JOB_RETRY, t0);
            }
            /* A retry continues only its own load, never one of another job. */
            if (found && !L->resume && L->record_job != job_id(L->ctx)) {
                found = finished = false;
                L->start = (struct pd_pos){.offset = 0, .line = 1};
                L->cycles_before = 0;
            }
            if (found && finished) {
                job_event(L->ctx, LOG_INFO, "%s was loaded completely already: nothing to do",
                          L->path);
                job_progress(L->ctx, L->cycles_before, L->total_cycles, "cycles");
                return pd_finish(L, JOB_SUCCEEDED, t0);
            }
            if (found && L->start.offset > 0)
                job_event(L->ctx, LOG_INFO,
                          "resuming at line %lld (byte %lld): %lld cycles were loaded before",
                          (long long)L->start.line, (long long)L->start.offset,
                          (long long)L->cycles_before);
        }
        if (!found || L->start.offset == 0) {
            L->start = (struct pd_pos){.offset = 0, .line = 1};
            L->cycles_before = 0;
            if (pd_pg_load_begin(L) != 0) return pd_finish(L, JOB_RETRY, t0);
        }
        if (!L->ts_now) {
            char from[64], to[64];
            if (s.any_local) {
                pd_gen_time_text(s.min_local, 0, from);
                pd_gen_time_text(s.max_local, 0, to);
                if (pd_pg_partitions(L, from, to) != 0) return pd_finish(L, JOB_RETRY, t0);
            }
            if (s.any_utc) {
                pd_gen_time_text(s.min_utc, 1, from);
                pd_gen_time_text(s.max_utc, 1, to);
                if (pd_pg_partitions(L, from, to) != 0) return pd_finish(L, JOB_RETRY, t0);
            }
        }
    }
    job_event(L->ctx, LOG_INFO, "%lld cycles, %lld rows in the file; %s", (long long)s.runs,
              (long long)s.rows,
              L->paced   ? "paced"
              : L->mysql ? "bulk load (multi-row INSERT)"
                         : "bulk load (COPY)");
    if (L->paced)
        job_event(L->ctx, LOG_INFO, "delay between cycles: %.3gs; estimated time: %.0fs", L->delay,
                  (double)(s.runs - L->cycles_before) * L->delay);
    job_progress(L->ctx, L->cycles_before, L->total_cycles, "cycles");
    L->t_start = pd_mono();

    struct loader ld = {.L = L,
                        .skip_header = L->start.offset == 0,
                        .end = L->start.offset,
                        .next_line = L->start.line};
    rc = pd_read_file(L, L->start.offset, L->start.line, load_record, &ld, NULL, true);
    if (rc == 0) {
        struct pd_pos next = {.offset = ld.end, .line = ld.next_line};
        if (L->cycle_open) {
            rc = pd_cycle_end(L, &next, true);
        } else {
            next.cycles_done = L->cycles_before + L->done.cycles;
            rc = pd_commit(L, &next, true, L->cycle_ts);
        }
        if (rc > 0) return pd_finish(L, JOB_CANCELLED, t0);
    } else if (rc > 0) {
        rc = ld.rc;
        if (rc > 0) return pd_finish(L, JOB_CANCELLED, t0);
    }
    if (rc < 0) {
        /* A database failure may be passing: retrying resumes after the last commit. */
        bool db_failure = !L->mysql && (db_is_down(L->db) || strstr(L->error, "COPY") ||
                                        strstr(L->error, "batch") || strstr(L->error, "cycle"));
        return pd_finish(L, db_failure ? JOB_RETRY : JOB_FAILED, t0);
    }
    return pd_finish(L, JOB_SUCCEEDED, t0);
}
