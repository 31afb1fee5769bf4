/* generate_patients: `sluice generate patients --count N [--seed S]` (dispatched by
 * generate_cmd.c) — creates N patients with generated names, birth dates and sexes
 * (personal data sealed with PII_KEY), ids following the highest one. Everything is
 * freed here. */
#include "app.h"
#include "auth/pii.h"
#include "cli/commands.h"
#include "patients/patient_demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: sluice generate patients --count N [--seed S]\n\n"
    "Creates N patients (1 to 1000000) in DATABASE_URL with generated names, birth dates\n"
    "and sexes, ids after the highest existing one. Their personal data is encrypted\n"
    "with PII_KEY, which must be set. --seed makes the names reproducible.\n";

int cli_generate_patients(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    long count = -1;
    unsigned long long seed = (unsigned long long)time(NULL);
    if (argc < 2 || strcmp(argv[1], "patients") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], &end, 10);
            if (*end || count < 1 || count > 1000000) count = -2;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], &end, 10);
            if (*end) count = -2;
        } else {
            count = -2;
        }
        if (count == -2) {
            fprintf(stderr, "sluice generate: bad option \"%s\"\n\n%s", argv[i], usage);
            return 2;
        }
    }
    if (count < 0) {
        fprintf(stderr, "sluice generate: --count is required\n\n%s", usage);
        return 2;
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    int rc = 1;
    if (!pii_key_valid(a->config.pii_key) || pii_setup(a->config.pii_key) != 0) {
        fputs("sluice generate: PII_KEY must be set to 64 hex digits (patients' personal data "
              "is encrypted)\n",
              stderr);
        config_cleanup(&a->config);
        return 2;
    }
    struct db *db = db_new(a->config.database_url);
    long made = 0;
    char err[512];
    if (!db || !db_conn(db)) {
        fprintf(stderr, "sluice generate: database unreachable: %s\n", db_last_error(db));
    } else if (patient_generate(db, count, seed, &made, err, sizeof err) != 0) {
        fprintf(stderr, "sluice generate: %s (%ld created)\n", err, made);
    } else {
        printf("%ld patients created\n", made);
        rc = 0;
    }
    db_free(db);
    config_cleanup(&a->config);
    return rc;
}
