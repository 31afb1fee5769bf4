/* setup: configuration loading and logging set-up shared by the subcommands. */
#include "app.h"
#include "cli/commands.h"
#include "core/log.h"
#include "db/db.h"
#include "http/request.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int cli_setup(void) {
    struct app *a = app_get();
    char err[512];
    if (sodium_init() < 0) {
        fprintf(stderr, "sluice: libsodium failed to initialise\n");
        return -1;
    }
    if (config_load_env(&a->config, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "sluice: configuration error: %s\n", err);
        config_cleanup(&a->config);
        return -1;
    }
    log_setup((int)a->config.log_level, (int)a->config.log_format);
    db_set_reconnect(a->config.db_reconnect_min_ms, a->config.db_reconnect_max_ms);
    a->started = request_clock();
    return 0;
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}
