/* jobs_cli: the pieces of `sluice jobs` shared by its files — jobs_cmd.c (dispatch,
 * enqueue, list, show, cancel, kinds) and jobs_run.c (the foreground runner). */
#ifndef SLUICE_JOBS_CLI_H
#define SLUICE_JOBS_CLI_H

#include "job.h"

#include <jansson.h>

/* `sluice jobs run KIND [...]`: argv[0] is "run". Returns the exit status. */
int jobs_cli_run(int argc, char **argv);

/* Reads a kind's arguments from --arg NAME=VALUE (repeatable) and --args JSON at
 * argv[*i] (advancing *i past its value). Returns 1 when argv[*i] was one of them
 * (args updated), 0 when it is another option, -1 after printing an error. */
int jobs_cli_arg_option(const struct job_kind *kind, int argc, char **argv, int *i, json_t *args);

/* Looks the kind up, printing the known kinds when there is none. */
const struct job_kind *jobs_cli_kind(const char *name);

#endif
