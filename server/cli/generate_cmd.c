/* generate_cmd: `sluice generate machine-logs --centre CODE --days N --out DIR [--seed S]
 * [--start YYYY-MM-DD] [--tz ZONE] [--density F]` — writes one YYYYMMDD.LOG per worked day
 * into DIR (created if missing) through workers/machine_logs/loggen.c. Each file is written
 * under a ".tmp" name and renamed into place, as an SFTP upload would. Needs no database
 * and no configuration. */
#include "cli/commands.h"

#include "machine_logs/logparse.h"
#include "machine_logs/loggen.h"
#include "machine_logs/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] =
    "usage: sluice generate machine-logs --centre CODE --days N --out DIR [--seed S]\n"
    "                                    [--start YYYY-MM-DD] [--tz ZONE] [--density F]\n\n"
    "Writes realistic LOG files of centre CODE (DEM12, DEMALU and SU12 have their own\n"
    "profile), one YYYYMMDD.LOG per worked day of the N days from --start (default: the N\n"
    "days before today), into DIR, in the real format with the dirt real controllers leave\n"
    "(Latin-1, CRLF, NUL runs, stray bytes, unknown events, non-event and bad lines, stops\n"
    "open overnight, a night run through DST changes). --tz is the centre's time zone\n"
    "(default Europe/Paris); --density multiplies the pieces per day (default 1); --seed\n"
    "(default 1) makes the files reproducible.\n";

static int bad(const char *what) {
    fprintf(stderr, "sluice generate: %s\n\n%s", what, usage);
    return 2;
}

int cmd_generate(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "machine-logs") != 0) return bad("unknown or missing kind");
    const char *centre = NULL, *out = NULL, *start = NULL, *zone_name = "Europe/Paris";
    long days = -1;
    double density = 1;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!v) return bad("an option lacks its value");
        if (strcmp(a, "--centre") == 0)
            centre = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--start") == 0)
            start = v;
        else if (strcmp(a, "--tz") == 0)
            zone_name = v;
        else if (strcmp(a, "--days") == 0) {
            days = strtol(v, &end, 10);
            if (*end || days < 1 || days > 100000) return bad("--days: 1 to 100000");
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, &end, 10);
            if (*end || !*v) return bad("--seed: a number");
        } else if (strcmp(a, "--density") == 0) {
            density = strtod(v, &end);
            if (*end || density < 0.01 || density > 1000) return bad("--density: 0.01 to 1000");
        } else {
            return bad("unknown option");
        }
    }
    if (!centre || !out || days < 0) return bad("--centre, --days and --out are required");
    struct tz_zone zone;
    char err[256];
    if (tz_load(&zone, zone_name, err, sizeof err) != 0) return bad(err);
    int64_t first;
    if (start) {
        int y, m, d;
        char name[16];
        if (sscanf(start, "%4d-%2d-%2d", &y, &m, &d) != 3) {
            tz_cleanup(&zone);
            return bad("--start: YYYY-MM-DD");
        }
        snprintf(name, sizeof name, "%04d%02d%02d", y, m, d);
        if (!logparse_file_day(name, &first)) {
            tz_cleanup(&zone);
            return bad("--start: not a real date");
        }
    } else {
        int64_t now = (int64_t)time(NULL);
        int64_t local = now + tz_offset_at(&zone, now);
        first = local / 86400 - days;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sluice generate: %s: %s\n", out, strerror(errno));
        tz_cleanup(&zone);
        return 1;
    }
    struct loggen_opts o = {centre, seed, density, &zone};
    long files = 0, lines = 0;
    int rc = 0;
    for (int64_t day = first; day < first + days && rc == 0; day++) {
        char date[16], name[16], tmp[4200], path[4200];
        logparse_format_date(day, date);
        snprintf(name, sizeof name, "%.4s%.2s%.2s.LOG", date, date + 5, date + 8);
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp", out, name);
        snprintf(path, sizeof path, "%s/%s", out, name);
        FILE *f = fopen(tmp, "wb");
        if (!f) {
            fprintf(stderr, "sluice generate: %s: %s\n", tmp, strerror(errno));
            rc = 1;
            break;
        }
        long n = loggen_day(&o, day, f);
        if (fclose(f) != 0) rc = 1;
        if (n < 0) {
            remove(tmp);
            continue;
        }
        if (rc == 0 && rename(tmp, path) != 0) rc = 1;
        if (rc) fprintf(stderr, "sluice generate: %s: %s\n", path, strerror(errno));
        files++;
        lines += n;
    }
    tz_cleanup(&zone);
    if (rc == 0) printf("%ld files, %ld lines written to %s\n", files, lines, out);
    return rc;
}
