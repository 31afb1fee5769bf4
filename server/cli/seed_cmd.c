/* seed_cmd: `sluice seed demo` — loads the demo data set (db/demo.h) into DATABASE_URL,
 * and cli_seed_demo, which `serve` calls at start-up when SEED_DEMO=true. Running it
 * again changes nothing. */
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
    db_free(db);
    if (rc != 0) {
        log_event(LOG_ERROR, "demo data not loaded", "error", err, (char *)NULL);
        return -1;
    }
    char centres[24], sessions[24], pieces[24], orders[24];
    snprintf(centres, sizeof centres, "%ld", n.centres);
    snprintf(sessions, sizeof sessions, "%ld", n.sessions);
    snprintf(pieces, sizeof pieces, "%ld", n.pieces);
    snprintf(orders, sizeof orders, "%ld", n.orders);
    log_event(LOG_INFO, "demo data loaded", "centres", centres, "sessions", sessions, "pieces",
              pieces, "orders", orders, (char *)NULL);
    return 0;
}

int cmd_seed(int argc, char **argv) {
    if (cli_wants_help(argc, argv) || argc != 2 || strcmp(argv[1], "demo") != 0) {
        FILE *out = cli_wants_help(argc, argv) ? stdout : stderr;
        fputs("usage: sluice seed demo\n\n"
              "Loads the demo data set into DATABASE_URL (migrations must be applied):\n"
              "centres DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE), the production days of\n"
              "the last 30 days for each (sessions, job profiles, pieces, waits, stops and\n"
              "their figures) and a few hundred roller-shutter orders. Idempotent: existing\n"
              "centres are kept, sessions are generated only for a demo centre that has\n"
              "none, orders only into an empty table. `serve` does the same at start-up\n"
              "when SEED_DEMO=true.\n",
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
        printf("demo data: %ld centres, %ld sessions, %ld job profiles, %ld pieces, %ld waits, "
               "%ld stops, %ld orders inserted\n",
               n.centres, n.sessions, n.job_profiles, n.pieces, n.waits, n.stops, n.orders);
        rc = 0;
    }
    db_free(db);
    config_cleanup(&a->config);
    return rc;
}
