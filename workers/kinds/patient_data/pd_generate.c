/* pd_generate: patient_data.insert without a CSV — `cycles` cycles of a generated value
 * of every patient × parameter, paced (stamped as each is written) or bulk (one cycle a
 * second, the last one now); see pd_load.h. Allocates nothing: the cycles are
 * pd_cycle.c's, and pd_finish (pd_report.c) ends the run. */
#include "kinds/patient_data/pd_load.h"

#include "core/log.h"

enum job_outcome pd_run_generate(struct pd_load *L, double t0) {
    L->total_cycles = L->cycles_arg;
    int64_t rows = L->cycles_arg * (int64_t)L->refs.npatients * (int64_t)L->refs.nparameters;
    job_event(L->ctx, LOG_INFO,
              "no CSV: generating %lld cycles × %zu patients × %zu parameters = %lld rows",
              (long long)L->cycles_arg, L->refs.npatients, L->refs.nparameters, (long long)rows);
    job_progress(L->ctx, 0, L->total_cycles, "cycles");
    int64_t start_us = pd_now_us();
    if (!L->paced && !L->mysql) { /* bulk: one cycle a second, the last one now */
        char from[64], to[64];
        pd_gen_time_text(start_us - (L->cycles_arg - 1) * 1000000, 1, from);
        pd_gen_time_text(start_us, 1, to);
        if (pd_pg_partitions(L, from, to) != 0) return pd_finish(L, JOB_RETRY, t0);
    }
    for (int64_t k = 0; k < L->cycles_arg; k++) {
        if (job_cancelled(L->ctx)) return pd_finish(L, JOB_CANCELLED, t0);
        if (L->paced || L->ts_now) {
            if (L->paced) {
                if (pd_cycle_start(L, k, NULL, false) != 0) return pd_finish(L, JOB_FAILED, t0);
            } else {
                L->cycle_open = true;
                pd_gen_time_text(start_us - (L->cycles_arg - 1 - k) * 1000000, 1, L->cycle_ts);
            }
        }
        for (size_t i = 0; i < L->refs.npatients; i++)
            if (pd_generate_rows(L, L->refs.patients[i], L->created_by, NULL) != 0)
                return pd_finish(L, JOB_FAILED, t0);
        struct pd_pos next = {0};
        int rc = pd_cycle_end(L, &next, k == L->cycles_arg - 1);
        if (rc) return pd_finish(L, rc > 0 ? JOB_CANCELLED : JOB_FAILED, t0);
    }
    return pd_finish(L, JOB_SUCCEEDED, t0);
}
