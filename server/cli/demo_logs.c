/* demo_logs: the demo's production days come through the real path — for each demo
 * centre (DEM12, DEMALU, SU12) that has no session yet, a month of LOG files (the 30 days
 * before today, centre time) is generated into LOG_ROOT/<log_folder>/ when that folder
 * holds no LOG file, and a machine_logs.ingest job is queued for the centre
 * (ml_enqueue_ingest, as LOG_WATCH and uploads do, so it is queued once); `serve`'s workers then
 * read the files. Called by `sluice seed demo` and by `serve` with SEED_DEMO=true, after the
 * centres. Nothing is kept after the call. */
#include "cli/commands.h"

#include "core/log.h"
#include "db/db.h"
#include "machine_logs/ingest_queue.h"
#include "machine_logs/logparse.h"
#include "machine_logs/loggen.h"
#include "machine_logs/tz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static bool has_log_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) found = logparse_wanted_name(e->d_name);
    closedir(d);
    return found;
}

/* The 30 days before today (in the zone) into dir. 0 or -1 with err. */
static int generate(const char *code, const struct tz_zone *zone, const char *dir, char *err,
                    size_t errlen) {
    int64_t now = (int64_t)time(NULL), local = now + tz_offset_at(zone, now);
    int64_t today = local / 86400;
    struct loggen_opts o = {code, 1, 1, zone};
    for (int64_t day = today - 30; day < today; day++) {
        char date[16], tmp[4400], path[4400];
        logparse_format_date(day, date);
        snprintf(tmp, sizeof tmp, "%.4000s/.%.4s%.2s%.2s.LOG.tmp", dir, date, date + 5, date + 8);
        snprintf(path, sizeof path, "%.4000s/%.4s%.2s%.2s.LOG", dir, date, date + 5, date + 8);
        FILE *f = fopen(tmp, "wb");
        if (!f) {
            snprintf(err, errlen, "%.300s: %s", tmp, strerror(errno));
            return -1;
        }
        long n = loggen_day(&o, day, f);
        if (fclose(f) != 0 || (n >= 0 && rename(tmp, path) != 0)) {
            snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
            remove(tmp);
            return -1;
        }
        if (n < 0) remove(tmp);
    }
    return 0;
}

static const char *const demo_codes[] = {"DEM12", "DEMALU", "SU12"};

int cli_demo_logs(struct db *db, const struct config *c, long *queued, char *err, size_t errlen) {
    *queued = 0;
    mkdir(c->log_root, 0755);
    for (size_t i = 0; i < sizeof demo_codes / sizeof demo_codes[0]; i++) {
        const char *v[] = {demo_codes[i]};
        PGresult *r = db_exec_sql(db,
                                  "SELECT log_folder, time_zone, EXISTS (SELECT 1 FROM"
                                  " session_production s WHERE s.centre_usinage_id = c.id)"
                                  " FROM centre_usinage c WHERE code = $1",
                                  1, v);
        if (!r) {
            snprintf(err, errlen, "demo centres: %s", db_last_error(db));
            return -1;
        }
        if (PQntuples(r) != 1 || PQgetvalue(r, 0, 2)[0] == 't') {
            PQclear(r);
            continue; /* gone, or its days are already there */
        }
        char dir[4400], zone_name[80];
        snprintf(dir, sizeof dir, "%s/%s", c->log_root, PQgetvalue(r, 0, 0));
        snprintf(zone_name, sizeof zone_name, "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "%.300s: %s", dir, strerror(errno));
            return -1;
        }
        if (!has_log_files(dir)) {
            struct tz_zone zone;
            if (tz_load(&zone, zone_name, err, errlen) != 0) return -1;
            int rc = generate(demo_codes[i], &zone, dir, err, errlen);
            tz_cleanup(&zone);
            if (rc != 0) return -1;
            log_info("demo: a month of LOG files generated in %s", dir);
        }
        struct ml_enqueue how = {.code = demo_codes[i], .origin = "cli"};
        int64_t id = 0;
        bool existing = false;
        if (ml_enqueue_ingest(db, &how, &id, &existing) != 0) {
            snprintf(err, errlen, "queueing the demo ingest: %s", db_last_error(db));
            return -1;
        }
        log_info("demo: %s's LOG files are read by job %lld (machine_logs.ingest)", demo_codes[i],
                 (long long)id);
        (*queued)++;
    }
    return 0;
}
