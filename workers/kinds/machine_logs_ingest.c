/* machine_logs_ingest: the machine_logs.ingest kind — reads what is new in
 * LOG_ROOT/<log_folder>/ of each active centre (or one centre, or one file of it) through
 * workers/machine_logs/ingest.c. Folders under LOG_ROOT that match no centre are reported
 * in the job's events, never guessed. Progress in bytes; the counters (files, bytes,
 * lines, sessions touched, job profiles, pieces, waits, stops, non-event lines, unknown
 * events, rejected lines, files read again) go to the job's result; job_count gets event
 * lines as ok, non-event lines as ignored and rejected lines as errors. Files read whole
 * whose day is over are kept, archived or deleted as LOG_AFTER_INGEST says. Each chunk's
 * transaction ends with job_fence: a worker that lost the job's lease rolls back and stops.
 * Memory: the centre list and the run's buffers are freed before run() returns. */
#include "kinds/kinds.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "machine_logs/ingest.h"
#include "machine_logs/logparse.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct job_arg ingest_args[] = {
    {"centre", JOB_ARG_STRING, false, 1, 32, "centre code (default: every active centre)"},
    {"file", JOB_ARG_STRING, false, 1, 255, "one LOG file name of that centre (needs centre)"},
    {NULL, 0, false, 0, 0, NULL},
};

static int ingest_validate(const json_t *args, struct job_error *err) {
    const char *file = json_string_value(json_object_get(args, "file"));
    if (file && !json_object_get(args, "centre")) {
        snprintf(err->field, sizeof err->field, "args.file");
        snprintf(err->message, sizeof err->message, "file needs centre");
        return -1;
    }
    if (file && !logparse_wanted_name(file)) {
        snprintf(err->field, sizeof err->field, "args.file");
        snprintf(err->message, sizeof err->message,
                 "not a LOG file name (a plain name ending in .log, not starting with '.')");
        return -1;
    }
    return 0;
}

/* A running ingest gives up its dedupe key (LOG_WATCH, uploads), so that files arriving
 * while it runs queue the next one instead of being folded into this run. */
static struct db_stmt q_drop_key =
    DB_STMT("UPDATE jobs SET dedupe_key = NULL WHERE id = $1 AND status = 'running'"
            " AND dedupe_key LIKE 'machine\\_logs.ingest:%'");

static struct db_stmt q_centres =
    DB_STMT("SELECT id, code, log_folder, time_zone, actif FROM centre_usinage ORDER BY code");

struct state {
    struct job_ctx *ctx;
    int64_t done, total;
    long after;
};

static void on_progress(void *arg, int64_t bytes, const struct ml_counts *c) {
    struct state *s = arg;
    s->done += bytes;
    if (s->done > s->total) s->total = s->done;
    job_progress(s->ctx, s->done, s->total, "bytes");
    job_count(s->ctx, c->lines - c->non_event_lines - c->rejected_lines, c->non_event_lines,
              c->rejected_lines);
}

static bool on_cancelled(void *arg) { return job_cancelled(((struct state *)arg)->ctx); }

/* Each chunk commits only while this worker holds the job's lease. */
static int on_fence(void *arg) {
    int rc = job_fence(((struct state *)arg)->ctx);
    return rc == JOB_LEASE_LOST ? 1 : rc;
}

static void on_event(void *arg, int level, const char *message) {
    job_event(((struct state *)arg)->ctx, level, "%s", message);
}

/* LOG_AFTER_INGEST for a file read whole: only once its day is over (in the centre's
 * time zone); files whose name carries no date are always kept. */
static void on_done(void *arg, const struct ml_centre *c, const char *dir, const char *name,
                    bool has_day, int64_t day) {
    struct state *s = arg;
    if (s->after == LOG_AFTER_KEEP || !has_day || !ml_day_over(c, day)) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (s->after == LOG_AFTER_DELETE) {
        if (unlink(path) == 0)
            job_event(s->ctx, LOG_INFO, "%s/%s read whole: deleted", c->folder, name);
        else
            job_event(s->ctx, LOG_WARN, "%s: cannot delete: %s", path, strerror(errno));
        return;
    }
    char date[16], sub[4200], to[4400];
    logparse_format_date(day, date);
    snprintf(sub, sizeof sub, "%s/archive", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/archive/%.7s", dir, date);
    mkdir(sub, 0755);
    snprintf(to, sizeof to, "%s/%s", sub, name);
    if (rename(path, to) == 0)
        job_event(s->ctx, LOG_INFO, "%s/%s read whole: archived to archive/%.7s/", c->folder, name,
                  date);
    else
        job_event(s->ctx, LOG_WARN, "%s: cannot archive: %s", path, strerror(errno));
}

/* Reports the folders of root that match no centre's log folder. */
static void unknown_folders(struct job_ctx *ctx, const char *root, PGresult *centres) {
    DIR *d = opendir(root);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        bool known = false;
        for (int i = 0; i < PQntuples(centres) && !known; i++)
            known = strcmp(PQgetvalue(centres, i, 2), e->d_name) == 0;
        if (!known)
            job_event(ctx, LOG_WARN,
                      "folder \"%s\" under LOG_ROOT matches no centre's log_folder: not ingested",
                      e->d_name);
    }
    closedir(d);
}

static json_t *counts_json(const struct ml_counts *c) {
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "files", (json_int_t)c->files, "bytes",
        (json_int_t)c->bytes, "lines", (json_int_t)c->lines, "sessions", (json_int_t)c->sessions,
        "job_profiles", (json_int_t)c->job_profiles, "pieces", (json_int_t)c->pieces, "waits",
        (json_int_t)c->waits, "stops", (json_int_t)c->stops, "non_event_lines",
        (json_int_t)c->non_event_lines, "unknown_events", (json_int_t)c->unknown_events,
        "rejected_lines", (json_int_t)c->rejected_lines, "rereads", (json_int_t)c->rereads);
}

static enum job_outcome ingest_run(struct job_ctx *ctx, const json_t *args) {
    const struct config *cfg = job_config(ctx);
    const char *only_centre = json_string_value(json_object_get(args, "centre"));
    const char *only_file = json_string_value(json_object_get(args, "file"));
    const char *root = cfg->log_root;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        job_set_error(ctx, "LOG_ROOT \"%s\" is not a folder: %s", root,
                      errno ? strerror(errno) : "not a directory");
        return JOB_FAILED;
    }
    struct db *db = job_db(ctx);
    if (job_id(ctx) > 0) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)job_id(ctx));
        const char *v[] = {id};
        PGresult *k = db_exec(db, &q_drop_key, 1, v);
        if (!k) {
            job_set_error(ctx, "jobs: %s", db_last_error(db));
            return JOB_RETRY;
        }
        PQclear(k);
    }
    PGresult *cr = db_exec(db, &q_centres, 0, NULL);
    if (!cr) {
        job_set_error(ctx, "centres: %s", db_last_error(db));
        return JOB_RETRY;
    }
    unknown_folders(ctx, root, cr);
    int n = PQntuples(cr);
    struct ml_centre *centres = calloc((size_t)n + 1, sizeof *centres);
    bool *use = calloc((size_t)n + 1, sizeof *use);
    if (!centres || !use) {
        free(centres);
        free(use);
        PQclear(cr);
        job_set_error(ctx, "out of memory");
        return JOB_RETRY;
    }
    struct state s = {.ctx = ctx, .after = cfg->log_after_ingest};
    struct ml_run run;
    ml_run_init(&run, db, cfg->log_chunk_bytes, cfg->log_max_line_bytes);
    run.quiet_seconds = cfg->log_watch_delay_seconds;
    run.progress = on_progress;
    run.cancelled = on_cancelled;
    run.fence = on_fence;
    run.event = on_event;
    run.arg = &s;
    bool found = false;
    for (int i = 0; i < n; i++) {
        struct ml_centre *c = &centres[i];
        c->id = strtoll(PQgetvalue(cr, i, 0), NULL, 10);
        snprintf(c->code, sizeof c->code, "%s", PQgetvalue(cr, i, 1));
        snprintf(c->folder, sizeof c->folder, "%s", PQgetvalue(cr, i, 2));
        snprintf(c->time_zone, sizeof c->time_zone, "%s", PQgetvalue(cr, i, 3));
        if (only_centre && strcmp(only_centre, c->code) != 0) continue;
        found = true;
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", root, c->folder);
        if (PQgetvalue(cr, i, 4)[0] != 't') {
            job_event(ctx, LOG_INFO, "%s: centre inactive, folder not read", c->code);
            continue;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            job_event(ctx, LOG_INFO, "%s: no folder \"%s\" under LOG_ROOT", c->code, c->folder);
            continue;
        }
        char err[300];
        if (ml_centre_zone(c, err, sizeof err) != 0) {
            job_event(ctx, LOG_ERROR, "%s: time zone: %s", c->code, err);
            continue;
        }
        use[i] = true;
        s.total += ml_pending_bytes(&run, c, dir, only_file);
    }
    PQclear(cr);
    enum job_outcome out = JOB_SUCCEEDED;
    if (only_centre && !found) {
        job_set_error(ctx, "no centre with code \"%s\"", only_centre);
        out = JOB_FAILED;
    }
    job_progress(ctx, 0, s.total, "bytes");
    for (int i = 0; i < n && out == JOB_SUCCEEDED; i++) {
        if (!use[i]) continue;
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", root, centres[i].folder);
        int rc = ml_ingest_centre(&run, &centres[i], dir, only_file, on_done, &s);
        if (rc == 1) {
            out = JOB_CANCELLED;
        } else if (rc < 0) {
            job_set_error(ctx, "%s: %s", centres[i].code, run.error);
            out = JOB_RETRY;
        }
    }
    for (int i = 0; i < n; i++) ml_centre_cleanup(&centres[i]);
    free(centres);
    free(use);
    const struct ml_counts *t = &run.total;
    job_event(ctx, out == JOB_SUCCEEDED ? LOG_INFO : LOG_WARN,
              "%s: %lld files, %lld bytes, %lld lines (%lld pieces, %lld job profiles, %lld "
              "waits, %lld stops, %lld non-event lines, %lld unknown events, %lld rejected), "
              "%lld sessions touched",
              out == JOB_SUCCEEDED ? "done" : "stopped", (long long)t->files, (long long)t->bytes,
              (long long)t->lines, (long long)t->pieces, (long long)t->job_profiles,
              (long long)t->waits, (long long)t->stops, (long long)t->non_event_lines,
              (long long)t->unknown_events, (long long)t->rejected_lines, (long long)t->sessions);
    job_set_result(ctx, counts_json(t));
    ml_run_cleanup(&run);
    return out;
}

const struct job_kind job_kind_machine_logs_ingest = {
    .name = "machine_logs.ingest",
    .queue = "ingest",
    .summary = "read what is new in the centres' LOG files (LOG_ROOT) into sessions",
    .args = ingest_args,
    .validate = ingest_validate,
    .run = ingest_run,
    .max_attempts = 5,
    .backoff_base = 10,
    .backoff_max = 600,
};
