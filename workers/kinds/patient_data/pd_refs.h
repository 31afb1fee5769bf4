/* pd_refs: the reference sets a patient-data load checks rows against, fetched once
 * before anything is inserted (as the seed does): patient ids, parameters with their
 * display range, user ids. Lookups are binary searches over sorted arrays. The sets are
 * filled from PostgreSQL (pd_refs_load_pg) or from DashMed's MariaDB (pd_mysql.h).
 * Memory: a pd_refs owns its arrays (pd_refs_cleanup). */
#ifndef SLUICE_PD_REFS_H
#define SLUICE_PD_REFS_H

#include "kinds/patient_data/pd_row.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct pd_parameter {
    char id[PDROW_PARAMETER_MAX + 1];
    int64_t min_cents, max_cents; /* display range in hundredths */
};

struct pd_refs {
    int32_t *patients; /* sorted */
    size_t npatients;
    struct pd_parameter *parameters; /* sorted by id (strcmp) */
    size_t nparameters;
    int64_t *users; /* sorted */
    size_t nusers;
};

void pd_refs_cleanup(struct pd_refs *r);

/* Adders used by the loaders (any order; pd_refs_sort afterwards). -1 when out of
 * memory. */
int pd_refs_add_patient(struct pd_refs *r, int32_t id);
int pd_refs_add_parameter(struct pd_refs *r, const char *id, const char *min, const char *max);
int pd_refs_add_user(struct pd_refs *r, int64_t id);
void pd_refs_sort(struct pd_refs *r);

bool pd_refs_has_patient(const struct pd_refs *r, int32_t id);
bool pd_refs_has_user(const struct pd_refs *r, int64_t id);
/* Index of the parameter in r->parameters, or -1. */
long pd_refs_parameter(const struct pd_refs *r, const char *id);

/* Reads the three sets from sluice's PostgreSQL. 0, or -1 (db_last_error). */
int pd_refs_load_pg(struct db *db, struct pd_refs *r);

/* "3 patients: [1, 2, 3]" style descriptions for the job's events (the seed's discovery
 * output); at most 20 items listed. */
void pd_refs_describe(const struct pd_refs *r, char *patients, char *parameters, char *users,
                      size_t len);

#endif
