/* main: the `sluice` command and its subcommands. Each subcommand is a function
 * taking argc/argv after its name; the table below is the list `sluice --help` shows. */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cmd_serve, "run the HTTP API and the job workers"},
    {"migrate", cmd_migrate, "apply pending database migrations (--status: list them)"},
    {"config", cmd_config, "show configuration keys (--help) or print .env.example (example)"},
    {"user", cmd_user, "manage users: create, passwd, list"},
    {"seed", cmd_seed, "load the demo data set (seed demo)"},
    {"jobs", cmd_jobs, "jobs: run KIND in the foreground, enqueue, list, show, cancel, kinds"},
    {"generate", cmd_generate, "write realistic test data: generate machine-logs (LOG files)"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out) {
    fputs("usage: sluice COMMAND [OPTIONS]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n`sluice COMMAND --help` describes a command. Configuration comes from the "
          "environment\nand an optional .env file: see `sluice config --help`.\n",
          out);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
