/* pd_cycle: the cycles of a patient_data.insert load (runs of rows with one timestamp);
 * see pd_load.h. Opens a cycle (stamped with the CSV's timestamp, or now with partitions
 * made ahead), notes its patients, generates values of the parameters the file lacks
 * (fill_values) and ends it: paced, it waits for the cycle's turn and writes it; bulk,
 * it commits when the batch is full or the load is over. Rows and commits go to the
 * target, PostgreSQL or MariaDB, through pd_add and pd_commit; the clocks live here
 * too. Memory: the cycle's patient lists grow in struct pd_load (freed by pd_finish); a
 * row is borrowed by the target for the call. */
#include "kinds/patient_data/pd_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- small helpers ---------------------------------------------------------------- */

double pd_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t pd_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int pd_add(struct pd_load *L, const struct pd_out *row) {
    L->batch.rows++;
    return L->mysql ? pd_mysql_add(L, row) : pd_pg_add(L, row);
}

int pd_commit(struct pd_load *L, const struct pd_pos *next, bool finished, const char *ts) {
    return L->mysql ? pd_mysql_commit(L) : pd_pg_commit(L, next, finished, ts);
}

/* Sleeps until the monotonic time due, checking for cancellation; false if cancelled. */
static bool wait_until(struct pd_load *L, double due) {
    for (;;) {
        if (job_cancelled(L->ctx)) return false;
        double left = due - pd_mono();
        if (left <= 0) return true;
        if (left > 0.1) left = 0.1;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* timestamps=now: partitions up to a month ahead, renewed as time goes by. */
static int ensure_now_partitions(struct pd_load *L, int64_t now_us) {
    if (L->mysql || now_us < L->ensured_until_us) return 0;
    char from[64], to[64];
    pd_gen_time_text(now_us, 1, from);
    pd_gen_time_text(now_us + (int64_t)40 * 86400 * 1000000, 1, to);
    if (pd_pg_partitions(L, from, to) != 0) return -1;
    L->ensured_until_us = now_us + (int64_t)30 * 86400 * 1000000;
    return 0;
}

/* ---- cycles ---------------------------------------------------------------------------- */

bool pd_need_fill(const struct pd_load *L) {
    if (!L->fill || !L->have_csv) return false;
    for (size_t i = 0; i < L->refs.nparameters; i++)
        if (!L->param_in_csv[i]) return true;
    return false;
}

int pd_cycle_start(struct pd_load *L, int64_t key, const char *csv_ts, bool has_offset) {
    L->cycle_open = true;
    L->cycle_key = key;
    L->cycle_has_offset = has_offset;
    L->ncycle_patients = 0;
    if (L->ts_now) {
        int64_t now = pd_now_us();
        if (ensure_now_partitions(L, now) != 0) return -1;
        pd_gen_time_text(now, 1, L->cycle_ts);
    } else {
        snprintf(L->cycle_ts, sizeof L->cycle_ts, "%s", csv_ts);
    }
    return 0;
}

int pd_cycle_note_patient(struct pd_load *L, int32_t patient, int64_t created_by) {
    for (size_t i = 0; i < L->ncycle_patients; i++)
        if (L->cycle_patients[i] == patient) return 0;
    if (L->ncycle_patients == L->cap_cycle_patients) {
        size_t cap = L->cap_cycle_patients ? L->cap_cycle_patients * 2 : 16;
        int32_t *p = realloc(L->cycle_patients, cap * sizeof *p);
        if (!p) return -1;
        L->cycle_patients = p;
        int64_t *c = realloc(L->cycle_creators, cap * sizeof *c);
        if (!c) return -1;
        L->cycle_creators = c;
        L->cap_cycle_patients = cap;
    }
    L->cycle_patients[L->ncycle_patients] = patient;
    L->cycle_creators[L->ncycle_patients++] = created_by;
    return 0;
}

/* The generated rows of `patient` for every parameter that skip does not mark (a fill:
 * counted as filled); skip NULL: every parameter. */
int pd_generate_rows(struct pd_load *L, int32_t patient, int64_t created_by, const bool *skip) {
    for (size_t p = 0; p < L->refs.nparameters; p++) {
        if (skip && skip[p]) continue;
        const struct pd_parameter *par = &L->refs.parameters[p];
        char value[24];
        pd_gen_value(&L->rng, par->min_cents, par->max_cents, value);
        struct pd_out row = {.patient = patient,
                             .parameter = par->id,
                             .value = value,
                             .ts = L->cycle_ts,
                             .ts_key = L->cycle_key,
                             .ts_has_offset = L->cycle_has_offset,
                             .created_by = created_by};
        if (pd_add(L, &row) != 0) return -1;
        if (skip) L->batch.filled++;
    }
    return 0;
}

/* Ends the current cycle: fill, then (paced) wait for its turn and write it, or (bulk)
 * commit when the batch is full or this is the last. next: where the load stands after
 * it. */
int pd_cycle_end(struct pd_load *L, const struct pd_pos *next_in, bool last) {
    if (pd_need_fill(L))
        for (size_t i = 0; i < L->ncycle_patients; i++)
            if (pd_generate_rows(L, L->cycle_patients[i], L->cycle_creators[i], L->param_in_csv) !=
                0)
                return -1;
    L->batch.cycles++;
    L->cycle_open = false;
    struct pd_pos next = *next_in;
    next.cycles_done = L->cycles_before + L->done.cycles + L->batch.cycles;
    if (L->paced) {
        int64_t k = L->done.cycles;         /* cycles written by this run before this one */
        if (k == 0) L->t_start = pd_mono(); /* the schedule starts with the first write */
        if (k > 0 && !wait_until(L, L->t_start + (double)k * L->delay)) return 1;
        char ts[64];
        if (L->ts_now) {
            int64_t now = pd_now_us();
            if (ensure_now_partitions(L, now) != 0) return -1;
            pd_gen_time_text(now, 1, ts);
        } else {
            snprintf(ts, sizeof ts, "%s", L->cycle_ts);
        }
        return pd_commit(L, &next, last, ts);
    }
    if (last || L->batch.rows >= L->batch_rows) return pd_commit(L, &next, last, NULL);
    return 0;
}
