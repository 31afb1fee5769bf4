/* config_cmd: `sluice config --help | example | check`. */
#include "app.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        puts("usage: sluice config [example|check]\n\n"
             "  example   print .env.example (every key, its comment and default)\n"
             "  check     load the configuration and report the first bad value\n"
             "  markdown  print the keys as a Markdown table (README)\n");
        config_write_help(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "example") == 0) {
        config_write_example(stdout);
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
