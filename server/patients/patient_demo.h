/* patient_demo: the DashMed demo data — the seed's 12 parameters (FC, SpO2, FR, ...) with
 * realistic units and display ranges, and patients 1, 2 and 3 — and the generator of
 * more patients (`sluice generate patients`). Patients' personal data is sealed, so both
 * need pii_global(). Idempotent: existing rows are left alone. */
#ifndef SLUICE_PATIENT_DEMO_H
#define SLUICE_PATIENT_DEMO_H

#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

/* Inserts the missing demo parameters and patients (patients only when pii_global() is
 * set: *patients = -1 otherwise). 0, or -1 with err. */
int patient_demo_seed(struct db *db, long *parameters, long *patients, char *err, size_t errlen);

/* Creates count patients with generated names, birth dates and sexes (ids max + 1...),
 * reproducible for a given seed; *made gets how many. 0, or -1 with err. */
int patient_generate(struct db *db, long count, uint64_t seed, long *made, char *err,
                     size_t errlen);

#endif
