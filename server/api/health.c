/* health: GET /healthz (the process answers; no database) and GET /readyz (the
 * database answers and every migration is applied). */
#include "api/handlers.h"
#include "app.h"
#include "db/db.h"
#include "http/reply.h"
#include "http/request.h"

#include <stdio.h>

void api_healthz(struct request *req) { reply_json(req, 200, json_pack("{s:s}", "status", "ok")); }

void api_readyz(struct request *req) {
    char why[512];
    if (!db_conn(req->db)) {
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_NOT_READY, "database unreachable: %s", db_last_error(req->db));
        return;
    }
    if (migrate_check_current(req->db, &app_get()->migrations, why, sizeof why) != 0) {
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_NOT_READY, "%s", why);
        return;
    }
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:i}", "status", "ready", "database", "ok", "migrations",
                         (int)app_get()->migrations.n));
}
