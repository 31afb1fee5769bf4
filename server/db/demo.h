/* demo: the demo data set — centres DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE) —
 * inserted in one transaction. Idempotent: a centre that exists is left alone. Everything
 * else comes through the real ingestion paths: the centres' production days from
 * machine-log ingestion of generated LOG files (server/cli/demo_logs.c), the orders from a
 * synchronisation of the ERP (orders.sync, queued by cli_seed_demo). */
#ifndef SLUICE_DEMO_H
#define SLUICE_DEMO_H

#include "db/db.h"

#include <stddef.h>

struct demo_counts {
    long centres; /* rows inserted */
};

/* Loads what is missing. 0 on success (counts filled), -1 with a message in err. */
int demo_seed(struct db *db, struct demo_counts *counts, char *err, size_t errlen);

#endif
