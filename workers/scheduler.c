/* scheduler: the scheduling thread and its SQL; see scheduler.h. */
#include "scheduler.h"

#include "core/log.h"
#include "job.h"
#include "job_metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scheduler {
    char *url;
    double max_sleep;
    struct schedule_specs specs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop; /* under mu */
};

static struct db_stmt q_upsert =
    DB_STMT("INSERT INTO schedules (name, cron, kind, args, config_spec, last_fire_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, now())"
            " ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, kind = EXCLUDED.kind,"
            "  args = EXCLUDED.args, config_spec = EXCLUDED.config_spec, last_fire_at = now()"
            " WHERE schedules.config_spec IS DISTINCT FROM EXCLUDED.config_spec");
static struct db_stmt q_delete_others =
    DB_STMT("DELETE FROM schedules WHERE NOT (name = ANY ($1::text[])) RETURNING name");

int scheduler_sync_config(struct db *db, const struct schedule_specs *specs) {
    size_t cap = 3;
    for (size_t i = 0; i < specs->n; i++) cap += strlen(specs->items[i].name) + 1;
    char *names = malloc(cap);
    if (!names) return -1;
    size_t used = 0;
    names[used++] = '{';
    for (size_t i = 0; i < specs->n; i++) {
        const struct schedule_spec *sp = &specs->items[i];
        /* Names are [A-Za-z0-9_.-]: safe inside an array literal without quotes. */
        used += (size_t)snprintf(names + used, cap - used, "%s%s", i ? "," : "", sp->name);
        const char *v[] = {sp->name, sp->cron, sp->kind, sp->args_json, sp->entry};
        PGresult *r = db_exec(db, &q_upsert, 5, v);
        if (!r) {
            free(names);
            return -1;
        }
        if (strcmp(PQcmdTuples(r), "1") == 0)
            log_event(LOG_INFO, "schedule configured", "schedule", sp->name, "cron", sp->cron,
                      "kind", sp->kind, (char *)NULL);
        PQclear(r);
    }
    names[used++] = '}';
    names[used] = '\0';
    const char *v[] = {names};
    PGresult *r = db_exec(db, &q_delete_others, 1, v);
    free(names);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        log_event(LOG_INFO, "schedule removed (no longer in SCHEDULES)", "schedule",
                  PQgetvalue(r, i, 0), (char *)NULL);
    PQclear(r);
    return 0;
}

static struct db_stmt q_enabled =
    DB_STMT("SELECT name, cron, kind, extract(epoch FROM last_fire_at)::float8 FROM schedules"
            " WHERE enabled ORDER BY name");
static struct db_stmt q_start =
    DB_STMT("UPDATE schedules SET last_fire_at = now() WHERE name = $1 AND last_fire_at IS NULL");
/* Moves last_fire_at to this fire time unless another copy already did, and enqueues
 * in the same statement. */
static struct db_stmt q_fire = DB_STMT(
    "WITH s AS (UPDATE schedules SET last_fire_at = to_timestamp($2::float8)"
    "           WHERE name = $1 AND enabled"
    "           AND (last_fire_at IS NULL OR last_fire_at < to_timestamp($2::float8))"
    "           RETURNING name, kind, args)"
    " INSERT INTO jobs (kind, args, dedupe_key, origin, schedule_name, max_attempts)"
    " SELECT s.kind, s.args, 'schedule:' || s.name || '@' || $3, 'schedule', s.name, $4::int"
    " FROM s ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL"
    " AND status IN ('queued', 'running') DO NOTHING RETURNING id");

static void iso_utc(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int fire(struct db *db, const char *name, const struct job_kind *kind, time_t at) {
    char epoch[32], iso[32], attempts[16];
    snprintf(epoch, sizeof epoch, "%lld", (long long)at);
    iso_utc(at, iso);
    snprintf(attempts, sizeof attempts, "%d", kind->max_attempts > 0 ? kind->max_attempts : 3);
    const char *v[] = {name, epoch, iso, attempts};
    PGresult *r = db_exec(db, &q_fire, 4, v);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        job_metrics_scheduler_fire();
        log_event(LOG_INFO, "schedule fired", "schedule", name, "fire_time", iso, "job",
                  PQgetvalue(r, 0, 0), (char *)NULL);
    }
    PQclear(r);
    return 0;
}

time_t scheduler_pass(struct db *db, time_t now) {
    PGresult *r = db_exec(db, &q_enabled, 0, NULL);
    if (!r) return -1;
    time_t next_wake = now + 3600;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0), *expr = PQgetvalue(r, i, 1);
        const struct job_kind *kind = job_kind_find(PQgetvalue(r, i, 2));
        struct cron c;
        if (!kind || cron_parse(expr, &c, NULL, 0) != 0) continue; /* not ours to run */
        if (PQgetisnull(r, i, 3)) {
            const char *v[] = {name};
            PGresult *s = db_exec(db, &q_start, 1, v);
            PQclear(s);
            continue;
        }
        time_t last = (time_t)strtod(PQgetvalue(r, i, 3), NULL);
        time_t due = cron_next(&c, last);
        if (due == (time_t)-1) continue;
        if (due <= now) {
            /* The latest passed fire time: missed fires collapse into one run. */
            time_t t;
            for (int k = 0; k < 1000000 && (t = cron_next(&c, due)) != (time_t)-1 && t <= now; k++)
                due = t;
            if (fire(db, name, kind, due) != 0) {
                PQclear(r);
                return -1;
            }
            due = cron_next(&c, due > now ? due : now);
            if (due == (time_t)-1) continue;
        }
        if (due < next_wake) next_wake = due;
    }
    PQclear(r);
    job_metrics_scheduler_tick();
    return next_wake;
}

static void *scheduler_main(void *arg) {
    struct scheduler *s = arg;
    struct db *db = db_new(s->url);
    bool synced = false;
    int failures = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        double pause = s->max_sleep;
        if (!synced) synced = scheduler_sync_config(db, &s->specs) == 0;
        time_t now = time(NULL);
        time_t next = synced ? scheduler_pass(db, now) : -1;
        if (next == (time_t)-1) {
            if (failures++ % 20 == 0)
                log_event(LOG_WARN, "scheduler: database error", "error", db_last_error(db),
                          (char *)NULL);
        } else {
            failures = 0;
            struct timespec real;
            clock_gettime(CLOCK_REALTIME, &real);
            double until = (double)next - ((double)real.tv_sec + real.tv_nsec / 1e9) + 0.01;
            if (until < pause) pause = until < 0.01 ? 0.01 : until;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long ns = ts.tv_nsec + (long long)((pause - (double)(long long)pause) * 1e9);
        ts.tv_sec += (time_t)pause + (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_mutex_lock(&s->mu);
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    db_free(db);
    return NULL;
}

struct scheduler *scheduler_start(const struct scheduler_options *opts, char *err, size_t errlen) {
    struct scheduler *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "scheduler: out of memory");
        return NULL;
    }
    if (schedule_specs_parse(opts->schedules, &s->specs, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    s->url = strdup(opts->database_url ? opts->database_url : "");
    s->max_sleep = opts->max_sleep > 0 ? opts->max_sleep : 5.0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &a);
    pthread_condattr_destroy(&a);
    if (!s->url || pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        snprintf(err, errlen, "scheduler: cannot start its thread");
        schedule_specs_cleanup(&s->specs);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->url);
        free(s);
        return NULL;
    }
    return s;
}

void scheduler_stop(struct scheduler *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    schedule_specs_cleanup(&s->specs);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s);
}
