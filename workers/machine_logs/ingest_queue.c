/* ingest_queue: queues one machine_logs.ingest per centre (see ingest_queue.h). */
#include "machine_logs/ingest_queue.h"

#include "db/db.h"
#include "queue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Whether the job that holds the key is still queued (reusable). One that already runs
 * gives the key up (as the kind does when it starts); one that ended meanwhile is not
 * reusable either. */
static struct db_stmt q_reusable =
    DB_STMT("WITH rel AS (UPDATE jobs SET dedupe_key = NULL WHERE id = $1::bigint"
            "  AND dedupe_key = $2 AND status = 'running' RETURNING id)"
            " SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1::bigint AND status = 'queued')"
            "  AND NOT EXISTS (SELECT 1 FROM rel)");

void ml_ingest_dedupe_key(const char *code, char *out, size_t outlen) {
    snprintf(out, outlen, "machine_logs.ingest:%s", code);
}

int ml_enqueue_ingest(struct db *db, const struct ml_enqueue *e, int64_t *id, bool *existing) {
    char key[128], run_at[64] = "";
    ml_ingest_dedupe_key(e->code, key, sizeof key);
    if (e->delay_seconds > 0) {
        time_t at = time(NULL) + e->delay_seconds;
        struct tm tm;
        gmtime_r(&at, &tm);
        strftime(run_at, sizeof run_at, "%Y-%m-%d %H:%M:%S+00", &tm);
    }
    json_t *args = json_pack("{s:s}", "centre", e->code);
    char *args_json = args ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    if (!args_json) {
        db_set_error(db, "out of memory");
        return -1;
    }
    struct queue_new j = {.kind = "machine_logs.ingest",
                          .args_json = args_json,
                          .run_at = run_at[0] ? run_at : NULL,
                          .max_attempts = 5,
                          .dedupe_key = key,
                          .origin = e->origin,
                          .schedule = e->schedule,
                          .created_by = e->created_by};
    int rc = -1;
    bool settled = false;
    for (int attempt = 0; attempt < 3 && !settled; attempt++) {
        settled = true;
        if (queue_enqueue(db, &j, id, existing) != 0) break;
        if (!*existing) {
            rc = 0;
            break;
        }
        char sid[24];
        snprintf(sid, sizeof sid, "%lld", (long long)*id);
        const char *v[] = {sid, key};
        PGresult *r = db_exec(db, &q_reusable, 2, v);
        if (!r) break;
        bool queued = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (queued) /* it has not listed the folder yet: it will read the new file */
            rc = 0;
        else
            settled = false; /* started or ended meanwhile: queue another */
    }
    if (!settled) db_set_error(db, "%s: the queued ingest kept changing", key);
    free(args_json);
    return rc;
}
