/* metrics: GET /metrics in the Prometheus text format — HTTP counters, database
 * connection state, build info, and whatever other modules registered. */
#include "api/handlers.h"
#include "app.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "http/request_pool.h"

#include <stdlib.h>

void api_metrics(struct request *req) {
    struct textbuf out = {0};
    textbuf_printf(&out,
                   "# HELP sluice_build_info Version of this binary.\n"
                   "# TYPE sluice_build_info gauge\n"
                   "sluice_build_info{version=\"%s\"} 1\n",
                   SLUICE_VERSION);
    textbuf_printf(&out,
                   "# HELP sluice_uptime_seconds Seconds since start-up.\n"
                   "# TYPE sluice_uptime_seconds gauge\n"
                   "sluice_uptime_seconds %.0f\n",
                   request_clock() - app_get()->started);
    metrics_render_http(&out);
    long up, down;
    db_counts(&up, &down);
    textbuf_printf(&out,
                   "# HELP sluice_db_connections PostgreSQL connections of the workers by "
                   "state.\n# TYPE sluice_db_connections gauge\n"
                   "sluice_db_connections{state=\"up\"} %ld\n"
                   "sluice_db_connections{state=\"down\"} %ld\n",
                   up, down);
    long attempts, failures, skipped;
    db_connect_counts(&attempts, &failures, &skipped);
    textbuf_printf(&out,
                   "# HELP sluice_db_connect_attempts_total PostgreSQL connection attempts.\n"
                   "# TYPE sluice_db_connect_attempts_total counter\n"
                   "sluice_db_connect_attempts_total %ld\n"
                   "# HELP sluice_db_connect_failures_total PostgreSQL connection attempts that "
                   "failed.\n# TYPE sluice_db_connect_failures_total counter\n"
                   "sluice_db_connect_failures_total %ld\n"
                   "# HELP sluice_db_connect_deferred_total Connections wanted while the database "
                   "was down and not attempted (backoff: DB_RECONNECT_MIN_MS..MAX_MS).\n"
                   "# TYPE sluice_db_connect_deferred_total counter\n"
                   "sluice_db_connect_deferred_total %ld\n",
                   attempts, failures, skipped);
    long batches, taken, given_back;
    request_pool_counts(&batches, &taken, &given_back);
    textbuf_printf(&out,
                   "# HELP sluice_request_batches_total Batches of requests taken by the request "
                   "workers.\n# TYPE sluice_request_batches_total counter\n"
                   "sluice_request_batches_total %ld\n"
                   "# HELP sluice_request_batched_total Requests taken in those batches (a "
                   "request given back and taken again counts twice).\n"
                   "# TYPE sluice_request_batched_total counter\nsluice_request_batched_total %ld\n"
                   "# HELP sluice_request_given_back_total Requests a slow batch put back in the "
                   "queue unstarted.\n# TYPE sluice_request_given_back_total counter\n"
                   "sluice_request_given_back_total %ld\n",
                   batches, taken, given_back);
    bool reachable = db_conn(req->db) != NULL;
    textbuf_printf(&out,
                   "# HELP sluice_db_up Whether the database answered this scrape.\n"
                   "# TYPE sluice_db_up gauge\nsluice_db_up %d\n",
                   reachable ? 1 : 0);
    metrics_render_sources(&out, req->db);
    reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data ? out.data : "",
                out.len, false);
    free(out.data);
}
