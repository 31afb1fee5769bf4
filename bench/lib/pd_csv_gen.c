/* pd_csv_gen: writes bench/patient-data's CSV on stdout, in the DashMed seed's format —
 * `pd_csv_gen ROWS STEP_SECONDS`: cycles of 3 patients x the seed's 12 parameters (36
 * rows), one every STEP_SECONDS from 2025-12-01 00:00:00 (local time, no offset), values
 * varied but plausible, one row in 97 flagged as an alert, created_by 1. Formats every
 * line by hand into one output buffer (8.3 million lines take about a second), so the
 * bench measures the loads, not the generator; timestamps come from the kind's own
 * pd_gen_time_text (built with workers/kinds/patient_data/pd_gen.c). No heap memory. */
#include "kinds/patient_data/pd_gen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const parameters[12] = {"FC",           "SpO2", "FR",   "Temperature",
                                           "PAS",          "PAD",  "PAM",  "EtCO2",
                                           "Compliance_m", "Vt",   "PEEP", "FiO2"};

static char *digits(char *p, unsigned v, int width) {
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fputs("usage: pd_csv_gen ROWS STEP_SECONDS\n", stderr);
        return 2;
    }
    long long rows = strtoll(argv[1], NULL, 10);
    long long step = strtoll(argv[2], NULL, 10);
    if (rows < 0 || step < 1) {
        fputs("pd_csv_gen: ROWS >= 0 and STEP_SECONDS >= 1\n", stderr);
        return 2;
    }
    static char out[1 << 20];
    char *p = out;
    p = put(p, "\"id_patient\",\"parameter_id\",\"value\",\"timestamp\",\"alert_flag\","
               "\"created_by\",\"archived\"\n");
    const int64_t t0 = 20423LL * 86400; /* 2025-12-01 00:00:00 */
    char ts[64] = "";
    long long cycle = -1;
    for (long long i = 0; i < rows; i++) {
        if (i / 36 != cycle) {
            cycle = i / 36;
            pd_gen_time_text((t0 + cycle * step) * 1000000, 0, ts);
            ts[19] = '\0'; /* whole seconds */
        }
        int k = (int)(i % 36);
        *p++ = '"';
        p = digits(p, (unsigned)(1 + k / 12), 1);
        p = put(p, "\",\"");
        p = put(p, parameters[k % 12]);
        p = put(p, "\",\"");
        p = digits(p, (unsigned)(20 + (i * 7) % 80), 1);
        *p++ = '.';
        p = digits(p, (unsigned)((i * 13) % 100), 2);
        p = put(p, "\",\"");
        p = put(p, ts);
        p = put(p, i % 97 == 0 ? "\",\"1\",\"1\",\"0\"\n" : "\",\"0\",\"1\",\"0\"\n");
        if (p - out > (long)sizeof out - 256) {
            if (fwrite(out, 1, (size_t)(p - out), stdout) != (size_t)(p - out)) return 1;
            p = out;
        }
    }
    if (fwrite(out, 1, (size_t)(p - out), stdout) != (size_t)(p - out) || fflush(stdout) != 0) {
        perror("pd_csv_gen");
        return 1;
    }
    return 0;
}
