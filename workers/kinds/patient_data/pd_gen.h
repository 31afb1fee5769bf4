/* pd_gen: generated measurements — a small reproducible random generator (splitmix64)
 * and values drawn uniformly in a parameter's [display_min, display_max], in hundredths
 * so that the value stored in numeric(10,2) is exactly the one drawn. Pure. */
#ifndef SLUICE_PD_GEN_H
#define SLUICE_PD_GEN_H

#include <stddef.h>
#include <stdint.h>

struct pd_rng {
    uint64_t state;
};

void pd_rng_seed(struct pd_rng *g, uint64_t seed);
uint64_t pd_rng_next(struct pd_rng *g);

/* A value in [min_cents, max_cents] as decimal text ("-12.05"); returns its length.
 * out must hold 24 bytes. */
size_t pd_gen_value(struct pd_rng *g, int64_t min_cents, int64_t max_cents, char out[24]);

/* Formats microseconds since 1970 (UTC) as "YYYY-MM-DD HH:MM:SS.ffffff+00"; out holds
 * 64 bytes. With utc false, the "+00" is left out (a wall-clock time). */
void pd_gen_time_text(int64_t micros, int utc, char out[64]);

#endif
