/* queue: the job queue's statements; see queue.h. */
#include "queue.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_stmt q_insert = DB_STMT(
    "INSERT INTO jobs (kind, args, run_at, priority, max_attempts, dedupe_key, origin, "
    "schedule_name, created_by) "
    "VALUES ($1, $2::jsonb, coalesce($3::timestamptz, now()), $4::smallint, $5::int, $6, $7, "
    "$8, $9::bigint) "
    "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running') "
    "DO NOTHING RETURNING id");

static struct db_stmt q_by_dedupe =
    DB_STMT("SELECT id FROM jobs WHERE dedupe_key = $1 AND status IN ('queued', 'running')");

static int64_t first_id(PGresult *r) {
    return PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
}

int queue_enqueue(struct db *db, const struct queue_new *j, int64_t *id, bool *existing) {
    char prio[16], attempts[16], by[24];
    snprintf(prio, sizeof prio, "%d", j->priority);
    snprintf(attempts, sizeof attempts, "%d", j->max_attempts);
    snprintf(by, sizeof by, "%lld", (long long)j->created_by);
    const char *v[] = {j->kind,
                       j->args_json ? j->args_json : "{}",
                       j->run_at,
                       prio,
                       attempts,
                       j->dedupe_key,
                       j->origin,
                       j->schedule,
                       j->created_by > 0 ? by : NULL};
    *existing = false;
    /* The unfinished holder of the key may finish between the insert and the look-up:
     * then insert again. */
    for (int round = 0; round < 5; round++) {
        PGresult *r = db_exec(db, &q_insert, 9, v);
        if (!r) return -1;
        *id = first_id(r);
        PQclear(r);
        if (*id) return 0;
        const char *k[] = {j->dedupe_key};
        r = db_exec(db, &q_by_dedupe, 1, k);
        if (!r) return -1;
        *id = first_id(r);
        PQclear(r);
        if (*id) {
            *existing = true;
            return 0;
        }
    }
    db_set_error(db, "dedupe key %s: the holder kept changing", j->dedupe_key);
    return -1;
}

void queue_job_cleanup(struct queue_job *j) {
    free(j->args_json);
    j->args_json = NULL;
}

/* Settle the held job ($5..$16) and claim the next one ($1..$4) in one statement, so a
 * busy worker pays one round trip and one commit per job.
 *
 * The claim is correct under every plan: the ids to claim are chosen once, in a
 * MATERIALIZED CTE (at most QUEUE_CLAIM_MAX rows, locked FOR UPDATE SKIP LOCKED), and the
 * UPDATE joins against that fixed set. A plain subquery in the UPDATE's FROM could be
 * planned as the inner side of a nested loop and run again for each row of jobs — each
 * run locking and returning the next queued job — so that one statement set a whole
 * burst to `running` and handed one of them to the worker (issue 14). */
static struct db_stmt q_settle_claim = DB_STMT(
    "WITH settled AS ("
    " UPDATE jobs SET"
    "  status = sluice_job_next_status($7, cancel_requested, attempt, max_attempts),"
    "  attempt = CASE WHEN $7 = 'release' THEN attempt - 1 ELSE attempt END,"
    "  run_at = CASE $7 WHEN 'retry' THEN now() + make_interval(secs => $8::float8)"
    "                   WHEN 'release' THEN now() ELSE run_at END,"
    "  finished_at = CASE WHEN sluice_job_next_status($7, cancel_requested, attempt,"
    "                     max_attempts) = 'queued' THEN NULL ELSE now() END,"
    "  lease_owner = NULL, lease_expires_at = NULL,"
    "  last_error = coalesce($9, last_error), result = $10::jsonb,"
    "  progress_done = $11::bigint, progress_total = $12::bigint, progress_unit = $13,"
    "  count_ok = $14::bigint, count_ignored = $15::bigint, count_errors = $16::bigint,"
    "  updated_at = now()"
    " WHERE id = $5::bigint AND lease_owner = $1 AND attempt = $6::int AND status = 'running'"
    " RETURNING status),"
    " next AS MATERIALIZED ("
    " SELECT id FROM jobs WHERE $4::bool AND status = 'queued' AND run_at <= now()"
    "  AND kind = ANY ($3::text[]) ORDER BY priority DESC, run_at, id LIMIT 1"
    "  FOR UPDATE SKIP LOCKED),"
    " claimed AS ("
    " UPDATE jobs j SET status = 'running', attempt = j.attempt + 1, lease_owner = $1,"
    "  lease_expires_at = now() + make_interval(secs => $2::int), started_at = now(),"
    "  updated_at = now(), progress_done = 0, progress_total = NULL, progress_unit = NULL,"
    "  count_ok = 0, count_ignored = 0, count_errors = 0, result = NULL"
    " WHERE j.id IN (SELECT id FROM next) AND j.status = 'queued'"
    " RETURNING j.id, j.kind, j.args::text, j.attempt, j.max_attempts, j.cancel_requested)"
    " SELECT s.status, c.id, c.kind, c.args, c.attempt, c.max_attempts, c.cancel_requested"
    " FROM (SELECT 1) one LEFT JOIN settled s ON true LEFT JOIN claimed c ON true");

/* Gives back a job claimed by mistake (the claim returned more than one row: a bug of
 * the statement above), without counting the attempt. */
static void give_back(struct db *db, const char *owner, PGresult *r, int row) {
    struct queue_settle s = {.id = strtoll(PQgetvalue(r, row, 1), NULL, 10),
                             .attempt = atoi(PQgetvalue(r, row, 4)),
                             .outcome = "release",
                             .snap = {.total = -1}};
    struct queue_settled st;
    bool got;
    log_event(LOG_ERROR, "job claim returned more than one job: giving it back", "job",
              PQgetvalue(r, row, 1), "owner", owner, (char *)NULL);
    if (queue_settle_claim(db, owner, 2, "{}", &s, &st, false, NULL, &got) != 0)
        log_event(LOG_ERROR, "giving back a job failed: its lease will expire", "job",
                  PQgetvalue(r, row, 1), "error", db_last_error(db), (char *)NULL);
}

int queue_settle_claim(struct db *db, const char *owner, int lease_seconds, const char *kinds,
                       const struct queue_settle *s, struct queue_settled *settled, bool claim,
                       struct queue_job *out, bool *got) {
    char lease[16], id[24], attempt[16], delay[32], done[24], total[24], ok[24], ign[24], errs[24];
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    const char *v[16] = {owner, lease, kinds, claim ? "true" : "false"};
    if (s) {
        snprintf(id, sizeof id, "%lld", (long long)s->id);
        snprintf(attempt, sizeof attempt, "%d", s->attempt);
        snprintf(delay, sizeof delay, "%.3f", s->retry_delay);
        snprintf(done, sizeof done, "%lld", (long long)s->snap.done);
        snprintf(total, sizeof total, "%lld", (long long)s->snap.total);
        snprintf(ok, sizeof ok, "%lld", (long long)s->snap.ok);
        snprintf(ign, sizeof ign, "%lld", (long long)s->snap.ignored);
        snprintf(errs, sizeof errs, "%lld", (long long)s->snap.errors);
        v[4] = id;
        v[5] = attempt;
        v[6] = s->outcome;
        v[7] = delay;
        v[8] = s->error;
        v[9] = s->result_json;
        v[10] = done;
        v[11] = s->snap.total >= 0 ? total : NULL;
        v[12] = s->snap.unit[0] ? s->snap.unit : NULL;
        v[13] = ok;
        v[14] = ign;
        v[15] = errs;
    }
    *got = false;
    PGresult *r = db_exec(db, &q_settle_claim, 16, v);
    if (!r) return -1;
    if (PQntuples(r) < 1) {
        PQclear(r);
        snprintf(db->error, sizeof db->error, "settle and claim: no row");
        return -1;
    }
    /* One row, always, with the statement above. Should a claim ever return more, every
     * job but the first goes back to the queue at once instead of sitting in `running`
     * until its lease expires. */
    for (int i = 1; i < PQntuples(r); i++)
        if (!PQgetisnull(r, i, 1)) give_back(db, owner, r, i);
    if (settled) {
        settled->applied = !PQgetisnull(r, 0, 0);
        snprintf(settled->status, sizeof settled->status, "%s", PQgetvalue(r, 0, 0));
    }
    if (!PQgetisnull(r, 0, 1)) {
        memset(out, 0, sizeof *out);
        out->id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(r, 0, 2));
        out->args_json = strdup(PQgetvalue(r, 0, 3));
        out->attempt = atoi(PQgetvalue(r, 0, 4));
        out->max_attempts = atoi(PQgetvalue(r, 0, 5));
        out->cancel_requested = PQgetvalue(r, 0, 6)[0] == 't';
        *got = out->args_json != NULL;
    }
    PQclear(r);
    return 0;
}

static struct db_stmt q_renew = DB_STMT(
    "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $4::int),"
    " progress_done = $5::bigint, progress_total = $6::bigint, progress_unit = $7,"
    " count_ok = $8::bigint, count_ignored = $9::bigint, count_errors = $10::bigint,"
    " updated_at = now()"
    " WHERE id = $1::bigint AND lease_owner = $2 AND attempt = $3::int AND status = 'running'"
    " RETURNING cancel_requested");

int queue_renew(struct db *db, int64_t id, const char *owner, int attempt, int lease_seconds,
                const struct job_snapshot *snap, bool *held, bool *cancel) {
    char sid[24], sattempt[16], lease[16], done[24], total[24], ok[24], ign[24], errs[24];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    snprintf(sattempt, sizeof sattempt, "%d", attempt);
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    snprintf(done, sizeof done, "%lld", (long long)snap->done);
    snprintf(total, sizeof total, "%lld", (long long)snap->total);
    snprintf(ok, sizeof ok, "%lld", (long long)snap->ok);
    snprintf(ign, sizeof ign, "%lld", (long long)snap->ignored);
    snprintf(errs, sizeof errs, "%lld", (long long)snap->errors);
    const char *v[] = {sid,
                       owner,
                       sattempt,
                       lease,
                       done,
                       snap->total >= 0 ? total : NULL,
                       snap->unit[0] ? snap->unit : NULL,
                       ok,
                       ign,
                       errs};
    PGresult *r = db_exec(db, &q_renew, 10, v);
    if (!r) return -1;
    *held = PQntuples(r) == 1;
    *cancel = *held && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return 0;
}

static struct db_stmt q_reap = DB_STMT(
    "WITH expired AS (SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < now()"
    "                 ORDER BY lease_expires_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET"
    "  status = sluice_job_next_status('retry', j.cancel_requested, j.attempt, j.max_attempts),"
    "  finished_at = CASE WHEN sluice_job_next_status('retry', j.cancel_requested, j.attempt,"
    "                     j.max_attempts) = 'queued' THEN NULL ELSE now() END,"
    "  run_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),"
    "  last_error = 'lease expired: worker ' || j.lease_owner || ' stopped renewing it during"
    " attempt ' || j.attempt"
    " FROM expired WHERE j.id = expired.id"
    " RETURNING j.id, j.status, j.last_error, j.attempt, j.max_attempts");

int queue_reap(struct db *db, int limit, int *reaped) {
    char slimit[16];
    snprintf(slimit, sizeof slimit, "%d", limit);
    const char *v[] = {slimit};
    PGresult *r = db_exec(db, &q_reap, 1, v);
    if (!r) return -1;
    *reaped = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        const char *status = PQgetvalue(r, i, 1);
        char msg[600];
        snprintf(msg, sizeof msg, "%s; %s", PQgetvalue(r, i, 2),
                 strcmp(status, "queued") == 0      ? "queued again"
                 : strcmp(status, "cancelled") == 0 ? "cancelled (a cancellation was requested)"
                                                    : "failed: no attempt left");
        log_event(LOG_WARN, "job lease expired", "job", PQgetvalue(r, i, 0), "status", status,
                  (char *)NULL);
        if (queue_add_event(db, id, NULL, 0, LOG_WARN, msg) != 0) {
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    return 0;
}

static struct db_stmt q_next_due =
    DB_STMT("SELECT extract(epoch FROM min(run_at) - now())::float8 FROM jobs"
            " WHERE status = 'queued' AND kind = ANY ($1::text[])");

int queue_next_due(struct db *db, const char *kinds, double *seconds, bool *none) {
    const char *v[] = {kinds};
    PGresult *r = db_exec(db, &q_next_due, 1, v);
    if (!r) return -1;
    *none = PQgetisnull(r, 0, 0);
    *seconds = *none ? 0 : strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    return 0;
}

static struct db_stmt q_event =
    DB_STMT("WITH s AS (UPDATE jobs SET event_seq = event_seq + 1"
            "           WHERE id = $1::bigint AND ($4::text IS NULL OR (lease_owner = $4"
            "                 AND attempt = $5::int AND status = 'running'))"
            "           RETURNING id, event_seq),"
            " ins AS (INSERT INTO job_events (job_id, seq, level, message)"
            "         SELECT id, event_seq, $2, $3 FROM s RETURNING seq),"
            " trim AS (DELETE FROM job_events WHERE job_id = $1::bigint"
            "          AND seq <= (SELECT event_seq FROM s) - $6::int RETURNING 1)"
            " SELECT count(*) FROM ins");

int queue_add_event(struct db *db, int64_t id, const char *owner, int attempt, int level,
                    const char *message) {
    char sid[24], sattempt[16], keep[16], text[2001];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    snprintf(sattempt, sizeof sattempt, "%d", attempt);
    snprintf(keep, sizeof keep, "%d", QUEUE_EVENTS_PER_JOB);
    snprintf(text, sizeof text, "%s", message);
    /* Do not cut a UTF-8 sequence in two. */
    size_t n = strlen(text);
    if (n == sizeof text - 1 && ((unsigned char)text[n - 1] & 0x80)) {
        while (n && ((unsigned char)text[n - 1] & 0xc0) == 0x80) text[--n] = '\0';
        if (n) text[--n] = '\0'; /* the lead byte of the cut sequence */
    }
    const char *v[] = {sid, job_level_name(level), text, owner, sattempt, keep};
    PGresult *r = db_exec(db, &q_event, 6, v);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static struct db_stmt q_stale = DB_STMT(
    "SELECT c.reltuples < 0 OR coalesce(s.n_live_tup, 0) > 2 * greatest(c.reltuples, 0) + 1000"
    " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
    " WHERE c.oid = 'jobs'::regclass");

int queue_analyze_if_stale(struct db *db, bool *analyzed) {
    *analyzed = false;
    PGresult *r = db_exec(db, &q_stale, 0, NULL);
    if (!r) return -1;
    bool stale = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!stale) return 0;
    r = db_exec_sql(db, "ANALYZE jobs", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    *analyzed = true;
    return 0;
}
