/* job_store: the reading side of the queue and cancellation; see job_store.h. */
#include "job_store.h"

#include "core/json_out.h"
#include "core/log.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) JSON_SQL_UTC(col) /* core/json_out.h: RFC 3339 UTC to the second */

/* The members of a job object; m.elapsed and m.rate come from JOB_FROM's lateral. */
/* clang-format off */
#define JOB_FIELDS \
    "'id', j.id, 'kind', j.kind, 'queue', j.queue, 'args', j.args, 'status', j.status," \
    " 'priority', j.priority," \
    " 'run_at', " TS("j.run_at") "," \
    " 'attempt', j.attempt, 'max_attempts', j.max_attempts," \
    " 'progress', json_build_object(" \
    "     'done', j.progress_done," \
    "     'total', j.progress_total," \
    "     'unit', j.progress_unit," \
    "     'percentage', CASE WHEN j.progress_total > 0" \
    "                        THEN round(100.0 * j.progress_done / j.progress_total, 1) END)," \
    " 'rate', m.rate," \
    " 'eta_seconds', CASE WHEN j.status = 'running' AND m.rate > 0" \
    "                      AND j.progress_total IS NOT NULL" \
    "                     THEN round(greatest(j.progress_total - j.progress_done, 0) / m.rate)" \
    "                END," \
    " 'counters', json_build_object(" \
    "     'ok', j.count_ok, 'ignored', j.count_ignored, 'errors', j.count_errors)," \
    " 'result', j.result, 'last_error', j.last_error, 'dedupe_key', j.dedupe_key," \
    " 'origin', j.origin, 'schedule', j.schedule_name, 'created_by', j.created_by," \
    " 'cancel_requested', j.cancel_requested," \
    " 'lease', CASE WHEN j.status = 'running'" \
    "               THEN json_build_object('owner', j.lease_owner," \
    "                                      'expires_at', " TS("j.lease_expires_at") ")" \
    "          END," \
    " 'created_at', " TS("j.created_at") "," \
    " 'started_at', " TS("j.started_at") "," \
    " 'finished_at', " TS("j.finished_at") "," \
    " 'duration_seconds', round(m.elapsed, 3)"

#define JOB_FROM \
    " FROM jobs j" \
    " CROSS JOIN LATERAL (" \
    "     SELECT e.elapsed," \
    "            CASE WHEN e.elapsed > 0 THEN round(j.progress_done / e.elapsed, 3) END AS rate" \
    "     FROM (SELECT extract(epoch FROM coalesce(j.finished_at, now()) - j.started_at)" \
    "                  AS elapsed) e" \
    " ) m"

#define EVENT_JSON \
    "json_build_object('seq', e.seq, 'at', " TS("e.at") ", 'level', e.level," \
    "                  'message', e.message)"

static struct db_stmt q_get = DB_STMT(
    "SELECT json_build_object(" JOB_FIELDS ","
    "           'events', CASE WHEN $2::int > 0 THEN coalesce("
    "               (SELECT json_agg(x.ev ORDER BY x.seq)"
    "                FROM (SELECT e.seq, " EVENT_JSON " AS ev"
    "                      FROM job_events e"
    "                      WHERE e.job_id = j.id"
    "                      ORDER BY e.seq DESC LIMIT $2::int) x),"
    "               '[]'::json) END)::text"
    JOB_FROM
    " WHERE j.id = $1::bigint");
/* clang-format on */

int job_store_get(struct db *db, int64_t id, int nevents, char **json) {
    char sid[24], n[16];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    snprintf(n, sizeof n, "%d", nevents);
    const char *v[] = {sid, n};
    *json = NULL;
    PGresult *r = db_exec(db, &q_get, 2, v);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        /* Without events asked for, drop the null member. */
        json_t *doc = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        if (doc && nevents <= 0) json_object_del(doc, "events");
        size_t len;
        *json = doc ? json_out_dump(doc, &len) : NULL;
        json_decref(doc);
        if (!*json) {
            PQclear(r);
            db_set_error(db, "out of memory");
            return -1;
        }
    }
    PQclear(r);
    return 0;
}

/* clang-format off */
#define LIST_FILTERS \
    " WHERE ($1::text IS NULL OR j.kind = $1)" \
    "   AND ($2::text[] IS NULL OR j.status = ANY ($2))" \
    "   AND ($3::timestamptz IS NULL OR j.created_at >= $3)" \
    "   AND ($4::timestamptz IS NULL OR j.created_at < $4)" \
    "   AND ($5::text IS NULL OR j.schedule_name = $5)" \
    "   AND ($8::text IS NULL OR j.queue = $8)"

static struct db_stmt q_list_desc = DB_STMT(
    "SELECT j.id, json_build_object(" JOB_FIELDS ")::text"
    JOB_FROM
    LIST_FILTERS
    "   AND j.id < coalesce($6::bigint, 9223372036854775807)"
    " ORDER BY j.id DESC LIMIT $7::int");

static struct db_stmt q_list_asc = DB_STMT(
    "SELECT j.id, json_build_object(" JOB_FIELDS ")::text"
    JOB_FROM
    LIST_FILTERS
    "   AND j.id > coalesce($6::bigint, 0)"
    " ORDER BY j.id LIMIT $7::int");
/* clang-format on */

PGresult *job_store_list(struct db *db, const struct job_filter *f, bool ascending,
                         const char *after, const char *limit) {
    const char *v[] = {f->kind,     f->statuses, f->created_from, f->created_before,
                       f->schedule, after,       limit,           f->queue};
    return db_exec(db, ascending ? &q_list_asc : &q_list_desc, 8, v);
}

/* clang-format off */
static struct db_stmt q_events = DB_STMT(
    "SELECT e.seq, " EVENT_JSON "::text"
    " FROM job_events e"
    " WHERE e.job_id = $1::bigint AND e.seq > coalesce($2::int, 0)"
    " ORDER BY e.seq LIMIT $3::int");
/* clang-format on */

PGresult *job_store_events(struct db *db, int64_t id, const char *after, const char *limit) {
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *v[] = {sid, after, limit};
    return db_exec(db, &q_events, 3, v);
}

static struct db_stmt q_exists = DB_STMT("SELECT 1 FROM jobs WHERE id = $1::bigint");

int job_store_exists(struct db *db, int64_t id) {
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *v[] = {sid};
    PGresult *r = db_exec(db, &q_exists, 1, v);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    PQclear(r);
    return found;
}

/* A queued job is cancelled at once; a running one is flagged (a trigger notifies its
 * worker). RETURNING gives the status before (old) and after. */
/* clang-format off */
static struct db_stmt q_cancel = DB_STMT(
    "UPDATE jobs"
    "   SET cancel_requested = true,"
    "       status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,"
    "       finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,"
    "       updated_at = now()"
    " WHERE id = $1::bigint AND status IN ('queued', 'running')"
    " RETURNING status");
/* clang-format on */
static struct db_stmt q_status = DB_STMT("SELECT status FROM jobs WHERE id = $1::bigint");

int job_store_cancel(struct db *db, int64_t id, const char *who, enum job_cancel_result *result,
                     char status[16]) {
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *v[] = {sid};
    PGresult *r = db_exec(db, &q_cancel, 1, v);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        bool running = strcmp(status, "running") == 0;
        *result = running ? JOB_CANCEL_REQUESTED : JOB_CANCEL_DONE;
        char msg[256];
        snprintf(msg, sizeof msg, "%s by %s",
                 running ? "cancellation requested" : "cancelled before it started", who);
        return queue_add_event(db, id, NULL, 0, LOG_INFO, msg);
    }
    PQclear(r);
    r = db_exec(db, &q_status, 1, v);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
        *result = JOB_CANCEL_FINISHED;
    } else {
        status[0] = '\0';
        *result = JOB_CANCEL_NOT_FOUND;
    }
    PQclear(r);
    return 0;
}
