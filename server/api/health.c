/* health: GET /healthz (the process answers; no database) and GET /readyz (the
 * database answers and every migration is applied). /readyz is public: when the database
 * is unreachable its 503 says only that; libpq's message (host, port, socket) goes to the
 * log, once per change of reason. */
#include "api/handlers.h"
#include "app.h"
#include "db/db.h"
#include "http/reply.h"
#include "core/log.h"
#include "http/request.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

void api_healthz(struct request *req) { reply_json(req, 200, json_pack("{s:s}", "status", "ok")); }

/* Logs why /readyz refuses, unless it is the reason logged last (probes come often). */
static void log_not_ready(const char *what, const char *detail) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char last[512];
    char now[512];
    snprintf(now, sizeof now, "%.100s: %.400s", what, detail);
    pthread_mutex_lock(&mu);
    bool fresh = strcmp(now, last) != 0;
    if (fresh) snprintf(last, sizeof last, "%s", now);
    pthread_mutex_unlock(&mu);
    if (fresh) log_event(LOG_WARN, "not ready", "reason", what, "detail", detail, (char *)NULL);
}

void api_readyz(struct request *req) {
    char why[512];
    if (!db_conn(req->db)) {
        log_not_ready("database unreachable", db_last_error(req->db));
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_NOT_READY, "the database is unreachable");
        return;
    }
    if (migrate_check_current(req->db, &app_get()->migrations, why, sizeof why) != 0) {
        /* Which migration is pending or changed is no secret, and says what to do. */
        log_not_ready("migrations not current", why);
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_NOT_READY, "%s", why);
        return;
    }
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:i}", "status", "ready", "database", "ok", "migrations",
                         (int)app_get()->migrations.n));
}
