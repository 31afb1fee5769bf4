/* jobs_cmd: `sluice jobs run|enqueue|list|show|cancel|kinds` — the job system from the
 * command line. `run` (jobs_run.c) runs a kind in the foreground; the others talk to
 * the database (DATABASE_URL) through workers/queue.c and workers/job_store.c, so they
 * work with or without a server running. Exit status: 0 ok, 1 failure (or nothing to
 * cancel), 2 usage. Everything allocated here is freed before returning. */
#include "api/query_params.h"
#include "app.h"
#include "cli/commands.h"
#include "cli/jobs_cli.h"
#include "db/db.h"
#include "job_store.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sluice jobs run KIND [--arg NAME=VALUE ...] [--args JSON] [--progress-interval S]\n"
    "       sluice jobs enqueue KIND [--arg NAME=VALUE ...] [--args JSON] [--run-at TIME]\n"
    "                               [--priority N] [--max-attempts N] [--dedupe-key KEY]\n"
    "       sluice jobs list [--status S[,S...]] [--kind KIND] [--limit N] [--json]\n"
    "       sluice jobs show ID [--json]\n"
    "       sluice jobs cancel ID\n"
    "       sluice jobs kinds\n\n"
    "run      runs KIND here, in the foreground, with a progress bar (no server needed)\n"
    "enqueue  queues a job for the workers of `sluice serve`; prints its id\n"
    "list     the newest jobs (default 20), optionally filtered\n"
    "show     one job: status, progress, counters, error, last events\n"
    "cancel   cancels a queued job, or asks a running one to stop\n"
    "kinds    the job kinds and their arguments\n\n"
    "Values of --arg are converted to the argument's type (integer, true/false, text).\n"
    "TIME is RFC 3339 with an offset, e.g. 2025-01-31T03:00:00Z. See docs/jobs.md.\n";

const struct job_kind *jobs_cli_kind(const char *name) {
    const struct job_kind *k = job_kind_find(name);
    if (!k) {
        fprintf(stderr, "sluice jobs: no job kind named \"%s\"; kinds:", name);
        for (size_t i = 0; i < job_kind_count(); i++) fprintf(stderr, " %s", job_kind_at(i)->name);
        fputc('\n', stderr);
    }
    return k;
}

int jobs_cli_arg_option(const struct job_kind *kind, int argc, char **argv, int *i, json_t *args) {
    const char *opt = argv[*i];
    if (strcmp(opt, "--arg") != 0 && strcmp(opt, "--args") != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "sluice jobs: %s needs a value\n", opt);
        return -1;
    }
    const char *value = argv[++*i];
    if (strcmp(opt, "--arg") == 0) {
        struct job_error err;
        if (job_args_set_text(kind, args, value, &err) != 0) {
            fprintf(stderr, "sluice jobs: --arg %s: %s %s\n", value, err.field, err.message);
            return -1;
        }
        return 1;
    }
    json_error_t je;
    json_t *obj = json_loads(value, 0, &je);
    if (!json_is_object(obj)) {
        fprintf(stderr, "sluice jobs: --args must be a JSON object (%s)\n",
                obj ? "not an object" : je.text);
        json_decref(obj);
        return -1;
    }
    json_object_update(args, obj);
    json_decref(obj);
    return 1;
}

static bool parse_long(const char *s, long min, long max, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

static int64_t parse_id(const char *s) {
    long v;
    return parse_long(s, 1, 999999999999999999L, &v) ? (int64_t)v : 0;
}

/* ---- enqueue ------------------------------------------------------------------------ */

static int do_enqueue(struct db *db, int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const struct job_kind *kind = jobs_cli_kind(argv[1]);
    if (!kind) return 2;
    json_t *args = json_object();
    long priority = 0, attempts = kind->max_attempts > 0 ? kind->max_attempts : 3;
    const char *dedupe = NULL;
    struct query_time run_at = {0};
    int rc = 2;
    for (int i = 2; i < argc; i++) {
        int used = jobs_cli_arg_option(kind, argc, argv, &i, args);
        if (used < 0) goto out;
        if (used) continue;
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) {
            fprintf(stderr, "sluice jobs enqueue: unknown option or missing value: %s\n", opt);
            goto out;
        }
        i++;
        if (strcmp(opt, "--priority") == 0 && parse_long(value, -100, 100, &priority)) continue;
        if (strcmp(opt, "--max-attempts") == 0 && parse_long(value, 1, 100, &attempts)) continue;
        if (strcmp(opt, "--run-at") == 0 && parse_instant(value, &run_at)) continue;
        if (strcmp(opt, "--dedupe-key") == 0 && strlen(value) >= 1 && strlen(value) <= 200) {
            dedupe = value;
            continue;
        }
        fprintf(stderr, "sluice jobs enqueue: bad option %s %s (see --help)\n", opt, value);
        goto out;
    }
    struct job_error je;
    if (job_args_check(kind, args, &je) != 0) {
        fprintf(stderr, "sluice jobs enqueue: %s %s\n", je.field, je.message);
        goto out;
    }
    char *text = json_dumps(args, JSON_COMPACT);
    struct queue_new j = {
        .kind = kind->name,
        .args_json = text,
        .run_at = run_at.kind == QUERY_TIME_INSTANT ? run_at.text : NULL,
        .priority = (int)priority,
        .max_attempts = (int)attempts,
        .dedupe_key = dedupe,
        .origin = "cli",
    };
    int64_t id = 0;
    bool existing = false;
    if (queue_enqueue(db, &j, &id, &existing) != 0) {
        fprintf(stderr, "sluice jobs enqueue: %s\n", db_last_error(db));
        rc = 1;
    } else {
        if (existing) fprintf(stderr, "an unfinished job already holds this dedupe key\n");
        printf("%lld\n", (long long)id);
        rc = 0;
    }
    free(text);
out:
    json_decref(args);
    return rc;
}

/* ---- list, show --------------------------------------------------------------------- */

static void print_job_line(json_t *job) {
    json_t *p = json_object_get(job, "progress");
    char progress[64] = "-";
    json_t *total = json_object_get(p, "total");
    if (json_is_integer(total))
        snprintf(progress, sizeof progress, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(p, "done")),
                 (long long)json_integer_value(total));
    else if (json_integer_value(json_object_get(p, "done")) > 0)
        snprintf(progress, sizeof progress, "%lld",
                 (long long)json_integer_value(json_object_get(p, "done")));
    printf("%-8lld %-10s %-24s %3lld/%-3lld %-16s %s\n",
           (long long)json_integer_value(json_object_get(job, "id")),
           json_string_value(json_object_get(job, "status")),
           json_string_value(json_object_get(job, "kind")),
           (long long)json_integer_value(json_object_get(job, "attempt")),
           (long long)json_integer_value(json_object_get(job, "max_attempts")), progress,
           json_string_value(json_object_get(job, "created_at")));
}

/* A comma-separated list of job statuses. */
static bool statuses_valid(const char *list) {
    static const char *const known[] = {"queued", "running", "succeeded", "failed", "cancelled"};
    for (const char *p = list;;) {
        size_t n = strcspn(p, ","), k = 0;
        while (k < 5 && !(strlen(known[k]) == n && strncmp(known[k], p, n) == 0)) k++;
        if (k == 5) return false;
        if (!p[n]) return true;
        p += n + 1;
    }
}

static int do_list(struct db *db, int argc, char **argv) {
    struct job_filter f = {0};
    long limit = 20;
    bool as_json = false;
    char statuses[128] = "";
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--json") == 0) {
            as_json = true;
        } else if (strcmp(opt, "--kind") == 0 && value) {
            f.kind = value;
            i++;
        } else if (strcmp(opt, "--status") == 0 && value && strlen(value) < 100 &&
                   statuses_valid(value)) {
            snprintf(statuses, sizeof statuses, "{%s}", value);
            f.statuses = statuses;
            i++;
        } else if (strcmp(opt, "--limit") == 0 && value && parse_long(value, 1, 1000, &limit)) {
            i++;
        } else {
            fprintf(stderr, "sluice jobs list: bad option %s (see --help)\n", opt);
            return 2;
        }
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%ld", limit);
    PGresult *r = job_store_list(db, &f, false, NULL, lim);
    if (!r) {
        fprintf(stderr, "sluice jobs list: %s\n", db_last_error(db));
        return 1;
    }
    if (!as_json)
        printf("%-8s %-10s %-24s %-7s %-16s %s\n", "ID", "STATUS", "KIND", "ATTEMPT", "PROGRESS",
               "CREATED");
    for (int i = 0; i < PQntuples(r); i++) {
        if (as_json) {
            puts(PQgetvalue(r, i, 1));
            continue;
        }
        json_t *job = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        if (job) print_job_line(job);
        json_decref(job);
    }
    PQclear(r);
    return 0;
}

static const char *str_or(json_t *v, const char *fallback) {
    return json_is_string(v) ? json_string_value(v) : fallback;
}

static void print_job(json_t *job) {
    json_t *p = json_object_get(job, "progress"), *c = json_object_get(job, "counters");
    printf("job %lld: %s %s\n", (long long)json_integer_value(json_object_get(job, "id")),
           str_or(json_object_get(job, "kind"), "?"), str_or(json_object_get(job, "status"), "?"));
    char *args = json_dumps(json_object_get(job, "args"), JSON_COMPACT | JSON_SORT_KEYS);
    printf("args:       %s\n", args ? args : "{}");
    free(args);
    printf("attempt:    %lld of %lld\n",
           (long long)json_integer_value(json_object_get(job, "attempt")),
           (long long)json_integer_value(json_object_get(job, "max_attempts")));
    json_t *total = json_object_get(p, "total"), *pct = json_object_get(p, "percentage");
    printf("progress:   %lld", (long long)json_integer_value(json_object_get(p, "done")));
    if (json_is_integer(total)) printf("/%lld", (long long)json_integer_value(total));
    printf(" %s", str_or(json_object_get(p, "unit"), ""));
    if (json_is_number(pct)) printf(" (%.1f%%)", json_number_value(pct));
    if (json_is_number(json_object_get(job, "rate")))
        printf(", %.1f/s", json_number_value(json_object_get(job, "rate")));
    if (json_is_number(json_object_get(job, "eta_seconds")))
        printf(", ETA %.0f s", json_number_value(json_object_get(job, "eta_seconds")));
    printf("\ncounters:   ok %lld, ignored %lld, errors %lld\n",
           (long long)json_integer_value(json_object_get(c, "ok")),
           (long long)json_integer_value(json_object_get(c, "ignored")),
           (long long)json_integer_value(json_object_get(c, "errors")));
    printf("created:    %s (%s)\n", str_or(json_object_get(job, "created_at"), "-"),
           str_or(json_object_get(job, "origin"), "-"));
    printf("started:    %s\n", str_or(json_object_get(job, "started_at"), "-"));
    printf("finished:   %s\n", str_or(json_object_get(job, "finished_at"), "-"));
    json_t *lease = json_object_get(job, "lease");
    if (json_is_object(lease))
        printf("lease:      %s until %s\n", str_or(json_object_get(lease, "owner"), "?"),
               str_or(json_object_get(lease, "expires_at"), "?"));
    if (json_is_string(json_object_get(job, "last_error")))
        printf("last error: %s\n", json_string_value(json_object_get(job, "last_error")));
    json_t *result = json_object_get(job, "result");
    if (result && !json_is_null(result)) {
        char *text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        printf("result:     %s\n", text ? text : "?");
        free(text);
    }
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(job, "events"), i, ev) {
        if (i == 0) puts("events:");
        printf("  %s %-5s %s\n", str_or(json_object_get(ev, "at"), ""),
               str_or(json_object_get(ev, "level"), ""),
               str_or(json_object_get(ev, "message"), ""));
    }
}

static int do_show(struct db *db, int argc, char **argv) {
    int64_t id = argc >= 2 ? parse_id(argv[1]) : 0;
    bool as_json = argc >= 3 && strcmp(argv[2], "--json") == 0;
    if (!id || argc > 3 || (argc == 3 && !as_json)) {
        fputs(usage, stderr);
        return 2;
    }
    char *text = NULL;
    if (job_store_get(db, id, JOB_STORE_LAST_EVENTS, &text) != 0) {
        fprintf(stderr, "sluice jobs show: %s\n", db_last_error(db));
        return 1;
    }
    if (!text) {
        fprintf(stderr, "sluice jobs show: no job with id %lld\n", (long long)id);
        return 1;
    }
    if (as_json) {
        puts(text);
    } else {
        json_t *job = json_loads(text, 0, NULL);
        if (job) print_job(job);
        json_decref(job);
    }
    free(text);
    return 0;
}

static int do_cancel(struct db *db, int argc, char **argv) {
    int64_t id = argc == 2 ? parse_id(argv[1]) : 0;
    if (!id) {
        fputs(usage, stderr);
        return 2;
    }
    enum job_cancel_result result;
    char status[16];
    if (job_store_cancel(db, id, "the CLI", &result, status) != 0) {
        fprintf(stderr, "sluice jobs cancel: %s\n", db_last_error(db));
        return 1;
    }
    switch (result) {
    case JOB_CANCEL_DONE: printf("job %lld cancelled\n", (long long)id); return 0;
    case JOB_CANCEL_REQUESTED:
        printf("job %lld is running: asked to stop at its next check\n", (long long)id);
        return 0;
    case JOB_CANCEL_FINISHED:
        fprintf(stderr, "job %lld has already finished (%s)\n", (long long)id, status);
        return 1;
    case JOB_CANCEL_NOT_FOUND: break;
    }
    fprintf(stderr, "sluice jobs cancel: no job with id %lld\n", (long long)id);
    return 1;
}

static int do_kinds(void) {
    static const char *const types[] = {"text", "integer", "true/false"};
    for (size_t i = 0; i < job_kind_count(); i++) {
        const struct job_kind *k = job_kind_at(i);
        printf("%s — %s\n", k->name, k->summary ? k->summary : "");
        for (const struct job_arg *a = k->args; a && a->name; a++)
            printf("    %-14s %-10s %s%s\n", a->name, types[a->type],
                   a->required ? "(required) " : "", a->help ? a->help : "");
    }
    return 0;
}

int cmd_jobs(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    if (strcmp(action, "run") == 0) return jobs_cli_run(argc - 1, argv + 1);
    if (strcmp(action, "enqueue") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "show") != 0 && strcmp(action, "cancel") != 0 &&
        strcmp(action, "kinds") != 0) {
        fprintf(stderr, "sluice jobs: unknown action \"%s\"\n\n%s", action, usage);
        return 2;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        fputs(usage, stdout);
        return 0;
    }
    if (cli_setup() != 0) return 2;
    struct config *c = &app_get()->config;
    job_registry_init(c->job_test_kinds);
    if (strcmp(action, "kinds") == 0) {
        config_cleanup(c);
        return do_kinds();
    }
    struct db *db = db_new(c->database_url);
    int rc;
    if (!db_conn(db)) {
        fprintf(stderr, "sluice jobs: database unreachable: %s\n", db_last_error(db));
        rc = 1;
    } else if (strcmp(action, "enqueue") == 0) {
        rc = do_enqueue(db, argc - 1, argv + 1);
    } else if (strcmp(action, "list") == 0) {
        rc = do_list(db, argc - 1, argv + 1);
    } else if (strcmp(action, "show") == 0) {
        rc = do_show(db, argc - 1, argv + 1);
    } else {
        rc = do_cancel(db, argc - 1, argv + 1);
    }
    db_free(db);
    config_cleanup(c);
    return rc;
}
