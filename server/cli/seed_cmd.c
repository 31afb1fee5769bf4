/* seed_cmd: `sluice seed demo` — loads the demo data set (db/demo.h) into DATABASE_URL,
 * generates the demo centres' LOG files and queues their ingest (cli/demo_logs.c), and
 * cli_seed_demo, which `serve` calls at start-up when SEED_DEMO=true. Running it again
 * changes nothing. The demo's orders come from the ERP: when no synchronisation has run
 * yet, one orders.sync job is queued (once: a dedupe key), which the job workers run
 * against MYSQL_URL (./scripts/run fills its local MariaDB with generated orders). */
#include "app.h"
#include "cli/commands.h"
#include "core/log.h"
#include "db/demo.h"
#include "queue.h"
#include "auth/pii.h"
#include "patients/patient_demo.h"

#include <stdio.h>
#include <string.h>

static struct db_stmt q_never_synced =
    DB_STMT("SELECT NOT EXISTS (SELECT 1 FROM sync_runs)"
            " AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'orders.sync')");

/* Queues the first orders.sync when none ever ran or was queued: 1 queued, 0 not
 * needed, -1 on a database error. */
static int queue_first_sync(struct db *db) {
    PGresult *r = db_exec(db, &q_never_synced, 0, NULL);
    if (!r) return -1;
    bool never = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!never) return 0;
    struct queue_new j = {.kind = "orders.sync",
                          .max_attempts = 5,
                          .dedupe_key = "demo: first orders.sync",
                          .origin = "cli"};
    int64_t id;
    bool existing;
    return queue_enqueue(db, &j, &id, &existing) == 0 ? 1 : -1;
}

static const char *sync_note(int queued) {
    return queued > 0    ? "orders: an orders.sync job was queued (they come from the ERP)"
           : queued == 0 ? "orders: from the ERP (orders.sync ran or is queued)"
                         : "orders: could not queue orders.sync";
}

int cli_seed_demo(const char *database_url) {
    struct db *db = db_new(database_url);
    struct demo_counts n;
    char err[1024];
    int rc = -1;
    if (!db_conn(db)) {
        snprintf(err, sizeof err, "database unreachable: %s", db_last_error(db));
    } else {
        rc = demo_seed(db, &n, err, sizeof err);
        long parameters = 0, patients = 0;
        if (rc == 0) rc = patient_demo_seed(db, &parameters, &patients, err, sizeof err);
    }
    long queued = 0;
    if (rc == 0) rc = cli_demo_logs(db, &app_get()->config, &queued, err, sizeof err);
    int synced = rc == 0 ? queue_first_sync(db) : 0;
    db_free(db);
    if (rc != 0) {
        log_event(LOG_ERROR, "demo data not loaded", "error", err, (char *)NULL);
        return -1;
    }
    char centres[24], ingests[24];
    snprintf(centres, sizeof centres, "%ld", n.centres);
    snprintf(ingests, sizeof ingests, "%ld", queued);
    log_event(LOG_INFO, "demo data loaded", "centres", centres, "log_ingests_queued", ingests,
              "orders", sync_note(synced), (char *)NULL);
    return 0;
}

int cmd_seed(int argc, char **argv) {
    if (cli_wants_help(argc, argv) || argc != 2 || strcmp(argv[1], "demo") != 0) {
        FILE *out = cli_wants_help(argc, argv) ? stdout : stderr;
        fputs("usage: sluice seed demo\n\n"
              "Loads the demo data set into DATABASE_URL (migrations must be applied):\n"
              "centres DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE). The centres' production\n"
              "days come through the real path: for a demo centre without sessions, a month of\n"
              "LOG files (the 30 days before today) is generated into LOG_ROOT/<log_folder>/\n"
              "when that folder has none, and a machine_logs.ingest job is queued for it. The\n"
              "orders come from the ERP: when no synchronisation ever ran, one orders.sync job\n"
              "is queued. `serve` runs the jobs. Idempotent: existing centres are kept.\n"
              "`serve` does the same at start-up when SEED_DEMO=true.\n",
              out);
        return cli_wants_help(argc, argv) ? 0 : 2;
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    struct db *db = db_new(a->config.database_url);
    struct demo_counts n;
    char err[1024];
    int rc = 1;
    long parameters = 0, patients = 0;
    if (pii_key_valid(a->config.pii_key)) (void)pii_setup(a->config.pii_key);
    if (!db_conn(db)) {
        fprintf(stderr, "sluice seed: database unreachable: %s\n", db_last_error(db));
    } else if (demo_seed(db, &n, err, sizeof err) != 0 ||
               patient_demo_seed(db, &parameters, &patients, err, sizeof err) != 0) {
        fprintf(stderr, "sluice seed: %s\n", err);
        if (strstr(err, "does not exist")) fputs("(run `sluice migrate` first)\n", stderr);
    } else {
        long queued = 0;
        if (cli_demo_logs(db, &a->config, &queued, err, sizeof err) != 0) {
            fprintf(stderr, "sluice seed: %s\n", err);
        } else {
            printf("demo data: %ld centres inserted; %ld machine_logs.ingest job(s)"
                   " queued for the demo centres' LOG files (in LOG_ROOT=%s); %s\n",
                   n.centres, queued, a->config.log_root, sync_note(queue_first_sync(db)));
            if (patients < 0)
                printf("patient data: %ld parameters inserted; no patients (PII_KEY is not set)\n",
                       parameters);
            else
                printf("patient data: %ld parameters, %ld patients inserted\n", parameters,
                       patients);
            rc = 0;
        }
    }
    db_free(db);
    config_cleanup(&a->config);
    return rc;
}
