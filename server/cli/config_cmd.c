/* config_cmd: `sluice config --help | example | keys | check | markdown`. */
#include "app.h"
#include "cli/commands.h"
#include "core/config_deploy.h"

#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        puts("usage: sluice config [example|keys|check|markdown]\n\n"
             "  example   print .env.example (every key, its comment and default)\n"
             "  keys      print every key of .env.example and who reads it (sluice|compose)\n"
             "  check     load the configuration and report the first bad value\n"
             "  markdown  print the keys as a Markdown table (README)\n");
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
    if (strcmp(argv[1], "check") == 0) {
        if (cli_setup() != 0) return 2;
        puts("configuration ok");
        config_cleanup(&app_get()->config);
        return 0;
    }
    fprintf(stderr, "sluice config: unknown action \"%s\"\n", argv[1]);
    return 2;
}
