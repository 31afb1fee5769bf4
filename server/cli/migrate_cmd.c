/* migrate_cmd: `sluice migrate [--status]`. */
#include "app.h"
#include "cli/commands.h"
#include "db/migrate.h"

#include <stdio.h>
#include <string.h>

int cmd_migrate(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: sluice migrate [--status]\n\n"
             "Applies the pending migrations of MIGRATIONS_DIR to DATABASE_URL, each in its\n"
             "own transaction, under an advisory lock. --status lists applied and pending\n"
             "migrations instead (exit 0; 3 when some are pending).");
        return 0;
    }
    int status_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--status") == 0) {
            status_only = 1;
        } else {
            fprintf(stderr, "sluice migrate: unknown option \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    char err[1024];
    int rc = 0;
    if (migrate_scan(a->config.migrations_dir, &a->migrations, err, sizeof err) != 0) {
        fprintf(stderr, "sluice migrate: %s\n", err);
        config_cleanup(&a->config);
        return 1;
    }
    struct db *db = db_new(a->config.database_url);
    if (!db_conn(db)) {
        fprintf(stderr, "sluice migrate: database unreachable: %s\n", db_last_error(db));
        rc = 1;
    } else if (status_only) {
        int pending = migrate_status(db, &a->migrations, stdout, err, sizeof err);
        if (pending < 0) {
            fprintf(stderr, "sluice migrate: %s\n", err);
            rc = 1;
        } else {
            printf("%d pending\n", pending);
            rc = pending > 0 ? 3 : 0;
        }
    } else if (migrate_apply(db, &a->migrations, err, sizeof err) != 0) {
        fprintf(stderr, "sluice migrate: %s\n", err);
        rc = 1;
    } else {
        printf("migrations up to date (%zu)\n", a->migrations.n);
    }
    db_free(db);
    migrate_set_cleanup(&a->migrations);
    config_cleanup(&a->config);
    return rc;
}
