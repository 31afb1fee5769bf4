/* app: the process-wide state that handlers read — configuration and the migration
 * set — written once at start-up by main.c before any thread starts, read-only after. */
#ifndef SLUICE_APP_H
#define SLUICE_APP_H

#include "core/config.h"
#include "db/migrate.h"

struct app {
    struct config config;
    struct migration_set migrations;
    double started; /* monotonic seconds at start-up */
};

/* Borrowed; the one instance of the process. */
struct app *app_get(void);

#endif
