/* version: `sluice version`. */
#include "cli/commands.h"

#include <jansson.h>
#include <microhttpd.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>

int cmd_version(int argc, char **argv) {
    if (argc > 0 && cli_wants_help(argc, argv)) {
        puts("usage: sluice version\n\nPrints the version of sluice and of its libraries.");
        return 0;
    }
    printf("sluice %s\n", SLUICE_VERSION);
    printf("libmicrohttpd %s, libpq %d, jansson %s, libsodium %s\n", MHD_get_version(),
           PQlibVersion(), JANSSON_VERSION, sodium_version_string());
    return 0;
}
