/* commands: the subcommands of `sluice`, one file each in server/cli/. Each returns the
 * process exit status (0 ok, 1 failure, 2 usage or configuration error). */
#ifndef SLUICE_COMMANDS_H
#define SLUICE_COMMANDS_H

#include "core/config.h"

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_seed(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_generate(int argc, char **argv);

/* Loads the demo data set (seed_cmd.c), logging the outcome; 0 or -1. */
int cli_seed_demo(const char *database_url);

/* Shared start-up: loads configuration into app_get()->config, sets up logging and
 * libsodium. Prints the error and returns -1 on a bad configuration. */
int cli_setup(void);

/* True when argv holds --help or -h. */
int cli_wants_help(int argc, char **argv);

#endif
