/* demo: the demo data set, generated in SQL; see demo.h. The statements below run in
 * order in one transaction under an advisory lock (two servers starting together seed
 * once). Pseudo-random values come from a hash of a key, so the orders are always the
 * same. The production days are not made here: they come from generated LOG files read
 * by machine-log ingestion (server/cli/demo_logs.c). */
#include "db/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_LOCK_KEY "7303390104"

/* A deterministic number in [0, 1) drawn from a text key (PostgreSQL's own text hash). */
#define RND(key) "((hashtext(" key ")::bigint + 2147483648) / 4294967296.0)"

static const char *const sql_centres =
    "INSERT INTO centre_usinage (code, nom, type_cu, description, log_folder, time_zone)"
    " VALUES"
    " ('DEM12', 'Centre d''usinage DEM12', 'PVC',"
    "  'Débit et usinage de profilés PVC, deux équipes (données de démonstration)',"
    "  'DEM12 (PVC)', 'Europe/Paris'),"
    " ('DEMALU', 'Centre d''usinage DEMALU', 'ALU',"
    "  'Usinage de profilés aluminium, une équipe (données de démonstration)',"
    "  'DEMALU (ALU)', 'Europe/Paris'),"
    " ('SU12', 'Centre d''usinage SU12', 'HYBRIDE',"
    "  'Profilés hybrides PVC/aluminium (données de démonstration)',"
    "  'SU12 (HYBRIDE)', 'Europe/Paris')"
    " ON CONFLICT DO NOTHING";

/* clang-format on */

struct step {
    const char *sql;
    long *count; /* rows affected go here, or NULL */
};

struct seed_run {
    struct demo_counts *counts;
    char *err;
    size_t errlen;
};

static int run_steps(struct db *db, void *arg) {
    struct seed_run *run = arg;
    struct demo_counts *c = run->counts;
    memset(c, 0, sizeof *c);
    const struct step steps[] = {
        {"SELECT pg_advisory_xact_lock(" DEMO_LOCK_KEY ")", NULL},
        {sql_centres, &c->centres},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *r = db_exec_sql(db, steps[i].sql, 0, NULL);
        if (!r) {
            snprintf(run->err, run->errlen, "demo data, step %zu: %s", i + 1, db_last_error(db));
            return -1;
        }
        if (steps[i].count) *steps[i].count = strtol(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return 0;
}

int demo_seed(struct db *db, struct demo_counts *counts, char *err, size_t errlen) {
    struct seed_run run = {counts, err, errlen};
    err[0] = '\0';
    int rc = db_transaction(db, run_steps, &run);
    if (rc != 0 && !err[0]) snprintf(err, errlen, "demo data: %s", db_last_error(db));
    return rc == 0 ? 0 : -1;
}
