/* config_cmd: `sluice config --help | example | keys | check | markdown | env`. */
#include "app.h"
#include "cli/commands.h"
#include "core/config_deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes s single-quoted for a POSIX shell ('it'\''s'). */
static void shell_quote(FILE *out, const char *s) {
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

/* One `export KEY='value'` line, unless KEY is already in the environment (it wins, as
 * in config_load_env) or was set by an earlier line (the last assignment wins: each is
 * printed, the shell keeps the last). */
static int print_export(const char *key, const char *value, void *ud) {
    (void)ud;
    if (getenv(key)) return 0;
    printf("export %s=", key);
    shell_quote(stdout, value);
    putchar('\n');
    return 0;
}

/* `sluice config env [FILE]`: the .env file as sluice reads it, as shell code for the
 * scripts (scripts/lib/common.sh load_dotenv), so that they never read it differently. */
static int config_env(const char *path) {
    char err[512];
    if (config_read_dotenv(path ? path : ".env", path != NULL, print_export, NULL, err,
                           sizeof err) != 0) {
        fprintf(stderr, "sluice config env: %s\n", err);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

int cmd_config(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        puts("usage: sluice config [example|keys|check|markdown|env [FILE]]\n\n"
             "  example   print .env.example (every key, its comment and default)\n"
             "  keys      print every key of .env.example and who reads it (sluice|compose)\n"
             "  check     load the configuration and report the first bad value\n"
             "  markdown  print the keys as a Markdown table (README)\n"
             "  env       print the assignments of FILE (default .env) that the environment\n"
             "            does not set, as shell code: export KEY='value'\n");
        config_write_help(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "example") == 0) {
        config_write_example(stdout);
        return 0;
    }
    if (strcmp(argv[1], "keys") == 0) {
        size_t n;
        const struct config_key *keys = config_keys(&n);
        for (size_t i = 0; i < n; i++) printf("%s\tsluice\n", keys[i].name);
        const struct config_deploy_key *dk = config_deploy_keys(&n);
        for (size_t i = 0; i < n; i++) printf("%s\tcompose\n", dk[i].name);
        return 0;
    }
    if (strcmp(argv[1], "markdown") == 0) {
        config_write_markdown(stdout);
        return 0;
    }
    if (strcmp(argv[1], "env") == 0) return config_env(argc > 2 ? argv[2] : NULL);
    if (strcmp(argv[1], "check") == 0) {
        if (cli_setup() != 0) return 2;
        puts("configuration ok");
        config_cleanup(&app_get()->config);
        return 0;
    }
    fprintf(stderr, "sluice config: unknown action \"%s\"\n", argv[1]);
    return 2;
}
