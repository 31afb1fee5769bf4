/* job_metrics: see job_metrics.h. */
#include "job_metrics.h"

#include "db/db.h"
#include "http/metrics.h"
#include "job.h"
#include "job_queues.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 64
static const char *const statuses[] = {"succeeded", "failed", "cancelled", "queued"};
#define NSTATUS (sizeof statuses / sizeof statuses[0])
static const double bounds[] = {0.001, 0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14400};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

struct kind_stats {
    atomic_ulong finished[NSTATUS];
    atomic_ulong buckets[NBOUNDS + 1];
    atomic_ulong sum_ms;
};

static struct kind_stats stats[MAX_KINDS];
/* The queues of JOB_QUEUES: written once at start-up (job_metrics_register). */
static struct job_queues queues;
static atomic_long busy[JOB_QUEUES_MAX];
static atomic_ulong ticks, fires;

static int kind_index(const char *kind) {
    for (size_t i = 0; i < job_kind_count() && i < MAX_KINDS; i++)
        if (strcmp(job_kind_at(i)->name, kind) == 0) return (int)i;
    return -1;
}

void job_metrics_observe(const char *kind, const char *status, double seconds) {
    int k = kind_index(kind);
    if (k < 0) return;
    for (size_t s = 0; s < NSTATUS; s++)
        if (strcmp(statuses[s], status) == 0) atomic_fetch_add(&stats[k].finished[s], 1);
    size_t b = 0;
    while (b < NBOUNDS && seconds > bounds[b]) b++;
    atomic_fetch_add(&stats[k].buckets[b], 1);
    atomic_fetch_add(&stats[k].sum_ms, (unsigned long)(seconds * 1000));
}

void job_metrics_busy(const char *queue, int delta) {
    for (size_t i = 0; i < queues.n; i++)
        if (strcmp(queues.items[i].name, queue) == 0) atomic_fetch_add(&busy[i], delta);
}
void job_metrics_scheduler_tick(void) { atomic_fetch_add(&ticks, 1); }
void job_metrics_scheduler_fire(void) { atomic_fetch_add(&fires, 1); }

static struct db_stmt q_by_status = DB_STMT(
    "SELECT queue, kind, status, count(*) FROM jobs GROUP BY queue, kind, status ORDER BY 1, 2, 3");
/* Every queue of this process's JOB_QUEUES ($1) and every queue holding due jobs. */
static struct db_stmt q_queue =
    DB_STMT("SELECT q.queue, count(j.id), coalesce(extract(epoch FROM now() - min(j.run_at)),"
            " 0)::float8 FROM (SELECT unnest($1::text[]) AS queue UNION SELECT DISTINCT queue"
            " FROM jobs WHERE status = 'queued' AND run_at <= now()) q"
            " LEFT JOIN jobs j ON j.queue = q.queue AND j.status = 'queued' AND j.run_at <= now()"
            " GROUP BY q.queue ORDER BY 1");

static void render_database(struct textbuf *out, struct db *db) {
    PGresult *r = db_exec(db, &q_by_status, 0, NULL);
    if (!r) return;
    textbuf_printf(out, "# HELP sluice_jobs Jobs in the database by queue, kind and status.\n"
                        "# TYPE sluice_jobs gauge\n");
    for (int i = 0; i < PQntuples(r); i++)
        textbuf_printf(out, "sluice_jobs{queue=\"%s\",kind=\"%s\",status=\"%s\"} %s\n",
                       PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3));
    PQclear(r);
    char names[JOB_QUEUES_MAX * (JOB_QUEUE_NAME_MAX + 1) + 3] = "{";
    for (size_t i = 0; i < queues.n; i++) {
        if (i) strcat(names, ",");
        strcat(names, queues.items[i].name);
    }
    strcat(names, "}");
    const char *v[] = {names};
    r = db_exec(db, &q_queue, 1, v);
    if (!r) return;
    textbuf_printf(out, "# HELP sluice_jobs_queue_depth Queued jobs that are due (run_at passed)"
                        " by queue.\n# TYPE sluice_jobs_queue_depth gauge\n");
    for (int i = 0; i < PQntuples(r); i++)
        textbuf_printf(out, "sluice_jobs_queue_depth{queue=\"%s\"} %s\n", PQgetvalue(r, i, 0),
                       PQgetvalue(r, i, 1));
    textbuf_printf(out, "# HELP sluice_jobs_oldest_queued_age_seconds How long the oldest due "
                        "queued job of the queue has waited.\n"
                        "# TYPE sluice_jobs_oldest_queued_age_seconds gauge\n");
    for (int i = 0; i < PQntuples(r); i++)
        textbuf_printf(out, "sluice_jobs_oldest_queued_age_seconds{queue=\"%s\"} %.3f\n",
                       PQgetvalue(r, i, 0), strtod(PQgetvalue(r, i, 2), NULL));
    PQclear(r);
}

static void render(struct textbuf *out, struct db *db) {
    render_database(out, db);
    size_t nk = job_kind_count() < MAX_KINDS ? job_kind_count() : MAX_KINDS;
    textbuf_printf(out, "# HELP sluice_jobs_finished_total Job runs of this process by kind "
                        "and resulting status (queued: retried or released).\n"
                        "# TYPE sluice_jobs_finished_total counter\n");
    for (size_t k = 0; k < nk; k++)
        for (size_t s = 0; s < NSTATUS; s++)
            textbuf_printf(out, "sluice_jobs_finished_total{kind=\"%s\",status=\"%s\"} %lu\n",
                           job_kind_at(k)->name, statuses[s], atomic_load(&stats[k].finished[s]));
    textbuf_printf(out, "# HELP sluice_job_duration_seconds Run time of jobs in this process.\n"
                        "# TYPE sluice_job_duration_seconds histogram\n");
    for (size_t k = 0; k < nk; k++) {
        const char *name = job_kind_at(k)->name;
        unsigned long acc = 0;
        for (size_t b = 0; b < NBOUNDS; b++) {
            acc += atomic_load(&stats[k].buckets[b]);
            textbuf_printf(out, "sluice_job_duration_seconds_bucket{kind=\"%s\",le=\"%g\"} %lu\n",
                           name, bounds[b], acc);
        }
        acc += atomic_load(&stats[k].buckets[NBOUNDS]);
        textbuf_printf(out,
                       "sluice_job_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} %lu\n"
                       "sluice_job_duration_seconds_sum{kind=\"%s\"} %.3f\n"
                       "sluice_job_duration_seconds_count{kind=\"%s\"} %lu\n",
                       name, acc, name, (double)atomic_load(&stats[k].sum_ms) / 1000, name, acc);
    }
    textbuf_printf(out, "# HELP sluice_job_workers Job worker threads of this process by queue"
                        " (JOB_QUEUES).\n# TYPE sluice_job_workers gauge\n");
    for (size_t i = 0; i < queues.n; i++)
        textbuf_printf(out, "sluice_job_workers{queue=\"%s\"} %d\n", queues.items[i].name,
                       queues.items[i].threads);
    textbuf_printf(out, "# HELP sluice_job_workers_busy Job workers of this process running a "
                        "job, by queue.\n# TYPE sluice_job_workers_busy gauge\n");
    for (size_t i = 0; i < queues.n; i++)
        textbuf_printf(out, "sluice_job_workers_busy{queue=\"%s\"} %ld\n", queues.items[i].name,
                       atomic_load(&busy[i]));
    textbuf_printf(
        out,
        "# HELP sluice_scheduler_ticks_total Passes of this process's scheduler.\n"
        "# TYPE sluice_scheduler_ticks_total counter\nsluice_scheduler_ticks_total %lu\n"
        "# HELP sluice_scheduler_fires_total Schedule fires this process enqueued.\n"
        "# TYPE sluice_scheduler_fires_total counter\nsluice_scheduler_fires_total %lu\n",
        atomic_load(&ticks), atomic_load(&fires));
}

void job_metrics_register(const struct job_queues *q) {
    queues = *q;
    metrics_add_source(render);
}
