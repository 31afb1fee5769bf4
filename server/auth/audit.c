/* audit: writing and purging the audit log; see audit.h. */
#include "auth/audit.h"

#include "http/request.h"

#include <stdio.h>
#include <stdlib.h>

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO audit_log (actor_id, action, target, client_addr, request_id, details) "
            "VALUES ($1::bigint, $2, $3, $4, $5, $6::jsonb)");
/* One batch, oldest first; returns how many rows went. */
static struct db_stmt q_purge =
    DB_STMT("WITH gone AS (DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log"
            "              WHERE at < $1::timestamptz ORDER BY at LIMIT $2::int) RETURNING 1)"
            " SELECT count(*) FROM gone");

int audit_write(struct db *db, struct audit_entry *e) {
    char actor[24];
    snprintf(actor, sizeof actor, "%lld", (long long)e->actor_id);
    char *details = e->details ? json_dumps(e->details, JSON_COMPACT) : NULL;
    json_decref(e->details);
    e->details = NULL;
    const char *params[] = {
        e->actor_id > 0 ? actor : NULL, e->action, e->target, e->client_addr, e->request_id,
        details ? details : "{}"};
    PGresult *r = db_exec(db, &q_insert, 6, params);
    free(details);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int audit_request(struct request *req, const char *action, const char *target, json_t *details) {
    struct audit_entry e = {
        .actor_id = req->auth.authenticated ? req->auth.user_id : 0,
        .action = action,
        .target = target,
        .client_addr = req->client_addr,
        .request_id = req->request_id,
        .details = details,
    };
    return audit_write(req->db, &e);
}

int audit_purge(struct db *db, const char *before, long batch, long *deleted) {
    return db_purge_batch(db, &q_purge, before, batch, deleted);
}
