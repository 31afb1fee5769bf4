/* sync_runs: the history of the ERP order synchronisations (table sync_runs, written by
 * the orders.sync job kind) — GET /sync-runs (paginated, newest first by default) and
 * GET /sync-runs/{id}, for viewers and up. JSON is built by PostgreSQL; nothing is kept
 * after the handler returns. */
#include "core/json_out.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "db/db.h"
#include "http/reply.h"

#include <stdio.h>
#include <string.h>

#define RUN_JSON                                                                                   \
    "json_build_object('id', r.id, 'kind', r.kind, 'job_id', r.job_id, 'attempt', r.attempt,"      \
    " 'status', r.status, 'started_at', " JSON_SQL_UTC(                                            \
        "r.started_at") ","                                                                        \
                        " 'finished_at', " JSON_SQL_UTC(                                           \
                            "r.finished_at") ", 'rows_read', r.rows_read,"                         \
                                             " 'inserted', r.inserted, 'updated', r.updated, "     \
                                             "'deleted', r.deleted,"                               \
                                             " 'unchanged', r.unchanged, 'duplicates', "           \
                                             "r.duplicates, 'rejected', r.rejected,"               \
                                             " 'rejected_by', r.rejected_by, 'error', "            \
                                             "r.error)::text"

/* $1 the id after which the page starts, $2 the limit. */
static struct db_stmt q_list_desc = DB_STMT("SELECT r.id, " RUN_JSON " FROM sync_runs r"
                                            " WHERE r.id < $1::bigint ORDER BY r.id DESC"
                                            " LIMIT $2::bigint");
static struct db_stmt q_list_asc = DB_STMT("SELECT r.id, " RUN_JSON " FROM sync_runs r"
                                           " WHERE r.id > $1::bigint ORDER BY r.id"
                                           " LIMIT $2::bigint");
static struct db_stmt q_get =
    DB_STMT("SELECT " RUN_JSON " FROM sync_runs r WHERE r.id = $1::bigint");

void api_sync_runs_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", NULL};
    static const struct page_sort sorts[] = {{"-id", 1, {PAGE_KEY_INT}}, {"id", 1, {PAGE_KEY_INT}}};
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !page_parse(req, sorts, 2, &pg)) return;
    bool desc = pg.sort_index == 0;
    const char *v[] = {page_key(&pg, 0, desc ? "9223372036854775807" : "0"), pg.fetch};
    static const int keys[] = {0};
    static const struct page_render how = {
        .json_col = 1, .key_cols = keys, .what = "list sync runs"};
    page_query_then(req, &pg, desc ? &q_list_desc : &q_list_asc, 2, v, &how);
}

void api_sync_run_get(struct request *req) {
    static const char *const allowed[] = {NULL};
    const char *raw = request_param(req, "id");
    size_t len = raw ? strlen(raw) : 0;
    bool ok = len > 0 && len <= 18 && raw[0] != '0' && strspn(raw, "0123456789") == len;
    if (!ok) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no sync run with id \"%.40s\"", raw ? raw : "");
        return;
    }
    if (!query_check_names(req, allowed, NULL)) return;
    char not_found[64];
    snprintf(not_found, sizeof not_found, "no sync run with id %s", raw);
    const char *v[] = {raw};
    row_query_then(req, &q_get, 1, v, "get a sync run", not_found);
}
