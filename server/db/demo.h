/* demo: the demo data set — centres DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE), a
 * month of production days for each (sessions, job profiles, pieces, waits, stops and
 * the figures derived from them) and a few hundred roller-shutter orders — generated
 * by PostgreSQL itself (generate_series, deterministic pseudo-random values) in one
 * transaction. Idempotent: a centre that exists is left alone, sessions are generated
 * only for a demo centre that has none, orders only into an empty table. */
#ifndef SLUICE_DEMO_H
#define SLUICE_DEMO_H

#include "db/db.h"

#include <stddef.h>

struct demo_counts {
    long centres, sessions, job_profiles, pieces, waits, stops, orders; /* rows inserted */
};

/* Loads what is missing. 0 on success (counts filled), -1 with a message in err. */
int demo_seed(struct db *db, struct demo_counts *counts, char *err, size_t errlen);

#endif
