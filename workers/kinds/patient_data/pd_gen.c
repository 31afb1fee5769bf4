/* pd_gen: generated values and time texts; see pd_gen.h. */
#include "kinds/patient_data/pd_gen.h"

#include <stdio.h>

void pd_rng_seed(struct pd_rng *g, uint64_t seed) { g->state = seed; }

uint64_t pd_rng_next(struct pd_rng *g) {
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

size_t pd_gen_value(struct pd_rng *g, int64_t min_cents, int64_t max_cents, char out[24]) {
    uint64_t span = (uint64_t)(max_cents - min_cents) + 1;
    int64_t v = min_cents + (int64_t)(pd_rng_next(g) % span);
    int64_t a = v < 0 ? -v : v;
    int n = snprintf(out, 24, "%s%lld.%02lld", v < 0 ? "-" : "", (long long)(a / 100),
                     (long long)(a % 100));
    return n < 0 ? 0 : (size_t)n;
}

/* Civil date of days since 1970-01-01 (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void pd_gen_time_text(int64_t micros, int utc, char out[64]) {
    int64_t secs = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
    int64_t us = micros - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d.%06d%s", y % 10000, m % 13, d % 32,
             (int)(rem / 3600) % 24, (int)(rem / 60 % 60), (int)(rem % 60), (int)(us % 1000000),
             utc ? "+00" : "");
}
