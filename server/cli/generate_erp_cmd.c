/* generate_erp_cmd: `sluice generate erp-orders --mysql-url URL --orders N [--seed S]` —
 * fills the ERP tables of docker/mariadb/init.sql at URL with N generated dirty orders
 * (workers/kinds/orders/erp_generate.h), showing progress on a terminal. Writes only to
 * the URL given on the command line (never MYSQL_URL from the configuration). Reached
 * through cmd_generate (generate_cmd.c). */
#include "cli/commands.h"
#include "db/mdb.h"
#include "kinds/orders/erp_generate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: sluice generate erp-orders --mysql-url URL --orders N [--seed S]\n\n"
    "Appends N generated roller-shutter orders (1..10000000) to the ERP tables at URL\n"
    "(create them first with docker/mariadb/init.sql): several log-book lines,\n"
    "accessories, articles and processes per order, with the dirt of legacy data —\n"
    "accents, other cases and double-encoded statuses, box codes in and out of the query's\n"
    "patterns, trailing spaces, NUL bytes, empty and NULL extensions, zero dates and\n"
    "over-long values. The same seed (default 1) gives the same orders.\n";

static bool parse_count(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

static void show(void *arg, long done, long total) {
    (void)arg;
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "\rgenerating: %ld/%ld orders (%.0f%%)", done, total,
            total ? 100.0 * (double)done / (double)total : 100.0);
    if (done == total) fputc('\n', stderr);
}

int cli_generate_erp_orders(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *url = NULL;
    long orders = -1, seed = 1;
    if (argc < 2 || strcmp(argv[1], "erp-orders") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 2; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = val != NULL;
        if (ok && strcmp(opt, "--mysql-url") == 0)
            url = val;
        else if (ok && strcmp(opt, "--orders") == 0)
            ok = parse_count(val, 1, 10000000, &orders);
        else if (ok && strcmp(opt, "--seed") == 0)
            ok = parse_count(val, 0, 2147483647, &seed);
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "sluice generate: bad or incomplete option %s\n\n%s", opt, usage);
            return 2;
        }
    }
    if (!url || orders < 0) {
        fprintf(stderr, "sluice generate: --mysql-url and --orders are required\n\n%s", usage);
        return 2;
    }
    struct mdb_error merr;
    struct mdb *c = mdb_connect(url, NULL, &merr);
    if (!c) {
        fprintf(stderr, "sluice generate: %s\n", merr.text);
        return 1;
    }
    struct erp_gen_counts n;
    char err[1024];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = erp_generate(c, orders, (uint64_t)seed, show, NULL, &n, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    mdb_close(c);
    if (rc != 0) {
        fprintf(stderr, "sluice generate: %s\n", err);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("generated %ld orders (%ld free fields, %ld log-book lines, %ld accessories, %ld "
           "articles, %ld processes) in %.1f s\n",
           n.orders, n.free_fields, n.logbook, n.accessories, n.articles, n.processes, secs);
    return 0;
}
