/* log_files: GET /centres/{code}/log-files (paginated), GET /centres/{code}/log-files/{name}
 * and GET /centres/{code}/log-rejects?file= (paginated) — what machine-log ingestion
 * read of each LOG file (the registry of migrations/0009_machine_logs.sql) and the lines
 * it rejected. Lists are written from plain columns (json_row.h); the single file is built
 * by PostgreSQL. PGresults are cleared before returning. */
#include "core/json_out.h"
#include "api/centres.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "db/db.h"
#include "http/reply.h"

#include <stdio.h>
#include <string.h>

#define FILE_COLUMNS                                                                               \
    "f.name, to_char(f.date_production, 'YYYY-MM-DD'), f.size, f.byte_offset, f.line_number,"      \
    " f.lines, f.non_event_lines, f.unknown_events, f.rejected_lines, f.rereads"                   \
    ", " JSON_SQL_UTC("f.first_read_at") ", " JSON_SQL_UTC("f.last_read_at")

static const struct json_col file_cols[] = {
    {"name", JCOL_TEXT, 0},
    {"date_production", JCOL_TEXT, 0},
    {"size", JCOL_INT, 0},
    {"offset", JCOL_INT, 0},
    {"line_number", JCOL_INT, 0},
    {"lines", JCOL_INT, 0},
    {"non_event_lines", JCOL_INT, 0},
    {"unknown_events", JCOL_INT, 0},
    {"rejected_lines", JCOL_INT, 0},
    {"rereads", JCOL_INT, 0},
    {"first_read_at", JCOL_UTC, 0},
    {"last_read_at", JCOL_UTC, 0},
};
static const int file_keys[] = {0};

#define FILE_OF_CENTRE                                                                             \
    " FROM log_file f WHERE f.centre_usinage_id = (SELECT c.id FROM centre_usinage c"              \
    " WHERE c.code = $1)"

/* $1 centre, $2 name after/before which to start, $3 limit. */
static struct db_stmt q_files_asc =
    DB_STMT("SELECT " FILE_COLUMNS FILE_OF_CENTRE " AND f.name COLLATE \"C\" > $2 COLLATE \"C\""
            " ORDER BY f.name COLLATE \"C\" LIMIT $3::bigint");
static struct db_stmt q_files_desc =
    DB_STMT("SELECT " FILE_COLUMNS FILE_OF_CENTRE " AND f.name COLLATE \"C\" < $2 COLLATE \"C\""
            " ORDER BY f.name COLLATE \"C\" DESC LIMIT $3::bigint");

/* clang-format off */
static struct db_stmt q_file = DB_STMT(
    "SELECT json_build_object('centre', $1::text, 'name', f.name,"
    " 'date_production', f.date_production, 'size', f.size, 'offset', f.byte_offset,"
    " 'line_number', f.line_number, 'lines', f.lines, 'non_event_lines', f.non_event_lines,"
    " 'unknown_events', f.unknown_events, 'rejected_lines', f.rejected_lines,"
    " 'rereads', f.rereads,"
    " 'first_read_at', " JSON_SQL_UTC("f.first_read_at") ","
    " 'last_read_at', " JSON_SQL_UTC("f.last_read_at") ","
    " 'unknown_event_names', COALESCE((SELECT json_object_agg(x.evenement, x.n)"
    "   FROM (SELECT e.evenement, count(*) AS n FROM evenement_log e"
    "         WHERE e.session_id IN (SELECT l.session_id FROM session_log_file l"
    "                                WHERE l.log_file_id = f.id)"
    "           AND e.log_file_id = f.id"
    "           AND e.evenement NOT IN ('MachineStart', 'MachineStop')"
    "         GROUP BY 1 ORDER BY 1) x), '{}'::json),"
    " 'sessions', COALESCE((SELECT json_agg(json_build_object('id', s.id,"
    "                              'date_production', s.date_production)"
    "                       ORDER BY s.date_production)"
    "   FROM session_log_file l JOIN session_production s ON s.id = l.session_id"
    "   WHERE l.log_file_id = f.id), '[]'::json))::text"
    FILE_OF_CENTRE " AND f.name = $2");
/* clang-format on */

#define REJECT_COLUMNS "f.name, r.line, r.id, r.reason, r.raw"

static const struct json_col reject_cols[] = {
    {"file", JCOL_TEXT, 0},   {"line", JCOL_INT, 0}, {"id", JCOL_INT, 0},
    {"reason", JCOL_TEXT, 0}, {"raw", JCOL_TEXT, 0},
};
static const int reject_keys[] = {0, 1, 2};

/* $1 centre, $2 file (NULL: all), $3/$4/$5 the row to start after, $6 limit. */
static struct db_stmt q_rejects =
    DB_STMT("SELECT " REJECT_COLUMNS " FROM log_reject r JOIN log_file f ON f.id = r.log_file_id"
            " WHERE f.centre_usinage_id = (SELECT c.id FROM centre_usinage c WHERE c.code = $1)"
            " AND ($2::text IS NULL OR f.name = $2)"
            " AND (f.name COLLATE \"C\", r.line, r.id) > ($3 COLLATE \"C\", $4::bigint, $5::bigint)"
            " ORDER BY f.name COLLATE \"C\", r.line, r.id LIMIT $6::bigint");

static struct db_stmt q_centre_exists = DB_STMT("SELECT 1 FROM centre_usinage WHERE code = $1");

/* The {code} path parameter, normalised; false after a 404. */
static bool path_centre(struct request *req, char out[CENTRE_CODE_MAX + 1]) {
    const char *raw = request_param(req, "code");
    if (!raw || !centre_code_normalize(raw, out)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%.64s\"", raw ? raw : "");
        return false;
    }
    return true;
}

/* An empty page: 404 when the centre does not exist. */
static bool centre_exists(struct request *req, const char *code) {
    const char *v[] = {code};
    PGresult *r = db_exec(req->db, &q_centre_exists, 1, v);
    if (!r) {
        reply_db_error(req, "list log files");
        return false;
    }
    bool found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"", code);
    return found;
}

void api_log_files_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", NULL};
    static const struct page_sort sorts[] = {{"name", 1, {PAGE_KEY_TEXT}},
                                             {"-name", 1, {PAGE_KEY_TEXT}}};
    char code[CENTRE_CODE_MAX + 1];
    struct page pg;
    if (!path_centre(req, code) || !query_check_names(req, allowed, NULL) ||
        !page_parse(req, sorts, 2, &pg))
        return;
    bool asc = pg.sort_index == 0;
    /* U+10FFFF sorts after any name in the C collation */
    const char *key = page_key(&pg, 0, asc ? "" : "\xf4\x8f\xbf\xbf");
    const char *v[] = {code, key, pg.fetch};
    const struct page_render how = {.json_col = -1,
                                    .cols = file_cols,
                                    .ncols = sizeof file_cols / sizeof file_cols[0],
                                    .key_cols = file_keys,
                                    .what = "list log files",
                                    .on_empty = centre_exists,
                                    .on_empty_arg = code};
    page_query_then(req, &pg, asc ? &q_files_asc : &q_files_desc, 3, v, &how);
}

void api_log_file_get(struct request *req) {
    char code[CENTRE_CODE_MAX + 1];
    static const char *const allowed[] = {NULL};
    if (!path_centre(req, code) || !query_check_names(req, allowed, NULL)) return;
    const char *name = request_param(req, "name");
    const char *v[] = {code, name ? name : ""};
    char not_found[400];
    snprintf(not_found, sizeof not_found, "no log file \"%.255s\" of centre %s", name ? name : "",
             code);
    row_query_then(req, &q_file, 2, v, "get log file", not_found);
}

void api_log_rejects_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", "file", NULL};
    static const struct page_sort sorts[] = {
        {"file", 3, {PAGE_KEY_TEXT, PAGE_KEY_INT, PAGE_KEY_INT}}};
    char code[CENTRE_CODE_MAX + 1];
    const char *file;
    struct page pg;
    if (!path_centre(req, code) || !query_check_names(req, allowed, NULL) ||
        !query_text(req, "file", 255, &file) || !page_parse(req, sorts, 1, &pg))
        return;
    const char *v[] = {
        code, file, page_key(&pg, 0, ""), page_key(&pg, 1, "-1"), page_key(&pg, 2, "0"), pg.fetch};
    const struct page_render how = {.json_col = -1,
                                    .cols = reject_cols,
                                    .ncols = sizeof reject_cols / sizeof reject_cols[0],
                                    .key_cols = reject_keys,
                                    .what = "list log rejects",
                                    .on_empty = centre_exists,
                                    .on_empty_arg = code};
    page_query_then(req, &pg, &q_rejects, 6, v, &how);
}
