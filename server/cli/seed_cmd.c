/* seed_cmd: `sluice seed demo` — loads the demo data set (db/demo.h) into DATABASE_URL,
 * generates the demo centres' LOG files and queues their ingest (cli/demo_logs.c), and
 * cli_seed_demo, which `serve` calls at start-up when SEED_DEMO=true. Running it again
 * changes nothing. */
#include "app.h"
#include "cli/commands.h"
#include "core/log.h"
#include "db/demo.h"

#include <stdio.h>
#include <string.h>

int cli_seed_demo(const char *database_url) {
    struct db *db = db_new(database_url);
    struct demo_counts n;
    char err[1024];
    int rc = -1;
    if (!db_conn(db)) {
        snprintf(err, sizeof err, "database unreachable: %s", db_last_error(db));
    } else {
        rc = demo_seed(db, &n, err, sizeof err);
    }
    long queued = 0;
    if (rc == 0) rc = cli_demo_logs(db, &app_get()->config, &queued, err, sizeof err);
    db_free(db);
    if (rc != 0) {
        log_event(LOG_ERROR, "demo data not loaded", "error", err, (char *)NULL);
        return -1;
    }
    char centres[24], ingests[24], orders[24];
    snprintf(centres, sizeof centres, "%ld", n.centres);
    snprintf(ingests, sizeof ingests, "%ld", queued);
    snprintf(orders, sizeof orders, "%ld", n.orders);
    log_event(LOG_INFO, "demo data loaded", "centres", centres, "log_ingests_queued", ingests,
              "orders", orders, (char *)NULL);
    return 0;
}

int cmd_seed(int argc, char **argv) {
    if (cli_wants_help(argc, argv) || argc != 2 || strcmp(argv[1], "demo") != 0) {
        FILE *out = cli_wants_help(argc, argv) ? stdout : stderr;
        fputs("usage: sluice seed demo\n\n"
              "Loads the demo data set into DATABASE_URL (migrations must be applied):\n"
              "centres DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE) and a few hundred\n"
              "roller-shutter orders. The centres' production days come through the real\n"
              "path: for a demo centre without sessions, a month of LOG files (the 30 days\n"
              "before today) is generated into LOG_ROOT/<log_folder>/ when that folder has\n"
              "none, and a machine_logs.ingest job is queued for it (`serve` runs it).\n"
              "Idempotent: existing centres are kept, orders go only into an empty table.\n"
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
    if (!db_conn(db)) {
        fprintf(stderr, "sluice seed: database unreachable: %s\n", db_last_error(db));
    } else if (demo_seed(db, &n, err, sizeof err) != 0) {
        fprintf(stderr, "sluice seed: %s\n", err);
        if (strstr(err, "does not exist")) fputs("(run `sluice migrate` first)\n", stderr);
    } else {
        long queued = 0;
        if (cli_demo_logs(db, &a->config, &queued, err, sizeof err) != 0) {
            fprintf(stderr, "sluice seed: %s\n", err);
        } else {
            printf("demo data: %ld centres, %ld orders inserted; %ld machine_logs.ingest job(s)"
                   " queued for the demo centres' LOG files (in LOG_ROOT=%s): `sluice serve`"
                   " runs them, or `sluice jobs run machine_logs.ingest` now\n",
                   n.centres, n.orders, queued, a->config.log_root);
            rc = 0;
        }
    }
    db_free(db);
    config_cleanup(&a->config);
    return rc;
}
