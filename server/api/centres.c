/* centres: GET /centres/ (paginated, filters actif and type_cu), POST /centres/,
 * GET /centres/{code} and PATCH /centres/{code}, with their SQL. JSON bodies are built
 * by PostgreSQL (json_build_object, core/json_out.h's spellings); the handlers only glue
 * text. Nothing here outlives
 * a request: PGresults are cleared before returning. */
#include "api/body_fields.h"
#include "api/centres.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "core/json_out.h"
#include "db/db.h"
#include "http/reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The JSON of centre row c. */
#define CENTRE_JSON                                                                                \
    "json_build_object('id', c.id, 'code', c.code, 'nom', c.nom, 'type_cu', c.type_cu,"            \
    " 'description', c.description, 'actif', c.actif, 'log_folder', c.log_folder,"                 \
    " 'time_zone', c.time_zone, 'created_at', " JSON_SQL_UTC(                                      \
        "c.created_at") ","                                                                        \
                        " 'updated_at', " JSON_SQL_UTC("c.updated_at") ")::text"

/* $1 the actif values wanted ({true,false}: any), $2 the types wanted, $3 code after
 * which to start, $4 limit. Codes are [A-Z0-9_-] starting with [A-Z0-9], in the C
 * collation, so '-' and '~' bound them all. No parameter is ever NULL (bench/api runs
 * this text with pgbench, which cannot send NULL). */
static struct db_stmt q_list_asc =
    DB_STMT("SELECT c.code, " CENTRE_JSON " FROM centre_usinage c"
            " WHERE c.actif = ANY($1::boolean[]) AND c.type_cu = ANY($2::text[])"
            " AND c.code > $3::text ORDER BY c.code LIMIT $4::bigint");
static struct db_stmt q_list_desc =
    DB_STMT("SELECT c.code, " CENTRE_JSON " FROM centre_usinage c"
            " WHERE c.actif = ANY($1::boolean[]) AND c.type_cu = ANY($2::text[])"
            " AND c.code < $3::text ORDER BY c.code DESC LIMIT $4::bigint");

static struct db_stmt q_get =
    DB_STMT("SELECT " CENTRE_JSON " FROM centre_usinage c WHERE c.code = $1");

static struct db_stmt q_is_time_zone = DB_STMT("SELECT sluice_is_time_zone($1)");

/* A duplicate code or log folder inserts nothing (then the handler says which). */
static struct db_stmt q_insert =
    DB_STMT("INSERT INTO centre_usinage AS c"
            " (code, nom, type_cu, description, actif, log_folder, time_zone)"
            " VALUES ($1, $2, $3, $4, COALESCE($5::boolean, true),"
            " COALESCE($6, $1 || ' (' || $3 || ')'), COALESCE($7, 'Europe/Paris'))"
            " ON CONFLICT DO NOTHING RETURNING " CENTRE_JSON);

static struct db_stmt q_which_conflict =
    DB_STMT("SELECT c.code = $1 FROM centre_usinage c"
            " WHERE c.code = $1 OR c.log_folder = COALESCE($2, $1 || ' (' || $3 || ')')"
            " ORDER BY c.code = $1 DESC LIMIT 1");

/* $1 code; NULL leaves a column as it is, except description ($4 says whether to set it
 * to $5, which may be NULL). */
static struct db_stmt q_patch =
    DB_STMT("UPDATE centre_usinage AS c SET nom = COALESCE($2, c.nom),"
            " type_cu = COALESCE($3, c.type_cu),"
            " description = CASE WHEN $4::boolean THEN $5 ELSE c.description END,"
            " actif = COALESCE($6::boolean, c.actif), log_folder = COALESCE($7, c.log_folder),"
            " time_zone = COALESCE($8, c.time_zone)"
            " WHERE c.code = $1 RETURNING " CENTRE_JSON);

static const char *const types[] = {"PVC", "ALU", "HYBRIDE", NULL};
/* The same as PostgreSQL arrays, for the list filter; the last is "any". */
static const char *const type_sets[] = {"{PVC}", "{ALU}", "{HYBRIDE}", "{PVC,ALU,HYBRIDE}"};
static const char *const actif_sets[] = {"{false}", "{true}", "{true,false}"};

bool centre_code_normalize(const char *in, char out[CENTRE_CODE_MAX + 1]) {
    size_t n = in ? strlen(in) : 0;
    if (n == 0 || n > CENTRE_CODE_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)toupper((unsigned char)in[i]);
        bool ok =
            (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
        if (!ok) return false;
        out[i] = c;
    }
    out[n] = '\0';
    return true;
}

static bool code_rule(const char *s) {
    char norm[CENTRE_CODE_MAX + 1];
    return centre_code_normalize(s, norm) && strcmp(norm, s) == 0;
}

static bool folder_rule(const char *s) {
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') && s[0] != ' ' &&
           s[strlen(s) - 1] != ' ';
}

static bool zone_syntax(const char *s) {
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("/_+-", *s))) return false;
    return true;
}

enum { F_CODE, F_NOM, F_TYPE, F_DESCRIPTION, F_ACTIF, F_FOLDER, F_TZ, F_COUNT };

static const struct field_spec centre_fields[F_COUNT] = {
    [F_CODE] = {.name = "code",
                .type = FIELD_TEXT,
                .required = true,
                .min_len = 1,
                .max_len = CENTRE_CODE_MAX,
                .check = code_rule,
                .rule = "upper-case letters, digits, '-' and '_', starting with a letter or "
                        "digit"},
    [F_NOM] = {.name = "nom", .type = FIELD_TEXT, .required = true, .min_len = 1, .max_len = 200},
    [F_TYPE] = {.name = "type_cu", .type = FIELD_TEXT, .required = true, .choices = types},
    [F_DESCRIPTION] = {.name = "description",
                       .type = FIELD_TEXT,
                       .nullable = true,
                       .min_len = 0,
                       .max_len = 2000},
    [F_ACTIF] = {.name = "actif", .type = FIELD_BOOL},
    [F_FOLDER] = {.name = "log_folder",
                  .type = FIELD_TEXT,
                  .min_len = 1,
                  .max_len = 255,
                  .check = folder_rule,
                  .rule = "a folder name: no '/', not '.' or '..', no leading or trailing "
                          "space"},
    [F_TZ] = {.name = "time_zone",
              .type = FIELD_TEXT,
              .min_len = 1,
              .max_len = 64,
              .check = zone_syntax,
              .rule = "an IANA time zone name such as Europe/Paris"},
};

static const char *text_or_null(const struct field_value *v) {
    return v->present && !v->is_null ? v->text : NULL;
}

static const char *bool_or_null(const struct field_value *v) {
    return v->present && !v->is_null ? (v->boolean ? "true" : "false") : NULL;
}

/* 422 unless PostgreSQL knows the zone; false when a reply is queued. */
static bool check_time_zone(struct request *req, const char *tz) {
    if (!tz) return true;
    const char *v[] = {tz};
    PGresult *r = db_exec(req->db, &q_is_time_zone, 1, v);
    if (!r) {
        reply_db_error(req, "check time zone");
        return false;
    }
    bool known = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!known) {
        struct field_errors errs = {0};
        body_fields_fail(&errs, "time_zone", "time_zone: unknown time zone \"%s\"", tz);
        body_fields_reply(req, &errs);
    }
    return known;
}

static void reply_row_json(struct request *req, unsigned status, PGresult *r) {
    reply_json_text(req, status, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
}

/* Answers the centre row of r (200) or 404 when r is empty; clears r. */
static void reply_centre_or_404(struct request *req, PGresult *r, const char *code) {
    if (PQntuples(r) == 0)
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"", code);
    else
        reply_row_json(req, 200, r);
    PQclear(r);
}

void api_centres_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", "actif", "type_cu", NULL};
    static const struct page_sort sorts[] = {{"code", 1, {PAGE_KEY_TEXT}},
                                             {"-code", 1, {PAGE_KEY_TEXT}}};
    int actif, type;
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !query_bool(req, "actif", &actif) ||
        !query_choice(req, "type_cu", types, &type) || !page_parse(req, sorts, 2, &pg))
        return;
    bool asc = pg.sort_index == 0;
    const char *v[] = {actif_sets[actif < 0 ? 2 : actif], type_sets[type < 0 ? 3 : type],
                       page_key(&pg, 0, asc ? "-" : "~"), pg.fetch};
    static const int keys[] = {0};
    static const struct page_render how = {.json_col = 1, .key_cols = keys, .what = "list centres"};
    page_query_then(req, &pg, asc ? &q_list_asc : &q_list_desc, 4, v, &how);
}

void api_centre_get(struct request *req) {
    char code[CENTRE_CODE_MAX + 1];
    if (!centre_code_normalize(request_param(req, "code"), code)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"",
                      request_param(req, "code"));
        return;
    }
    const char *v[] = {code};
    char not_found[CENTRE_CODE_MAX + 32];
    snprintf(not_found, sizeof not_found, "no centre with code \"%s\"", code);
    row_query_then(req, &q_get, 1, v, "get centre", not_found);
}

void api_centres_create(struct request *req) {
    struct field_value f[F_COUNT];
    struct field_errors errs = {0};
    if (!body_fields_check(req->json, "", centre_fields, F_COUNT, f, &errs)) {
        body_fields_reply(req, &errs);
        return;
    }
    if (!check_time_zone(req, text_or_null(&f[F_TZ]))) return;
    const char *v[] = {f[F_CODE].text,
                       f[F_NOM].text,
                       f[F_TYPE].text,
                       text_or_null(&f[F_DESCRIPTION]),
                       bool_or_null(&f[F_ACTIF]),
                       text_or_null(&f[F_FOLDER]),
                       text_or_null(&f[F_TZ])};
    PGresult *r = db_exec(req->db, &q_insert, 7, v);
    if (!r) {
        reply_db_error(req, "create centre");
        return;
    }
    if (PQntuples(r) == 1) {
        char location[64];
        snprintf(location, sizeof location, "/centres/%s", f[F_CODE].text);
        reply_header(req, "Location", location);
        reply_row_json(req, 201, r);
        PQclear(r);
        return;
    }
    PQclear(r);
    const char *w[] = {f[F_CODE].text, text_or_null(&f[F_FOLDER]), f[F_TYPE].text};
    r = db_exec(req->db, &q_which_conflict, 3, w);
    if (!r) {
        reply_db_error(req, "create centre");
        return;
    }
    bool by_code = PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (by_code)
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "code"),
                           "a centre with code \"%s\" already exists", f[F_CODE].text);
    else
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "log_folder"),
                           "another centre already uses this log folder");
}

void api_centre_patch(struct request *req) {
    char code[CENTRE_CODE_MAX + 1];
    if (!centre_code_normalize(request_param(req, "code"), code)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"",
                      request_param(req, "code"));
        return;
    }
    /* The same members as POST, none required; the code cannot change. */
    struct field_spec specs[F_COUNT];
    memcpy(specs, centre_fields, sizeof specs);
    for (size_t i = 0; i < F_COUNT; i++) specs[i].required = false;
    struct field_value f[F_COUNT];
    struct field_errors errs = {0};
    bool ok = body_fields_check(req->json, "", specs, F_COUNT, f, &errs);
    if (f[F_CODE].present && !(f[F_CODE].text && strcmp(f[F_CODE].text, code) == 0)) {
        body_fields_fail(&errs, "code", "code cannot be changed");
        ok = false;
    }
    if (!ok) {
        body_fields_reply(req, &errs);
        return;
    }
    if (!check_time_zone(req, text_or_null(&f[F_TZ]))) return;
    const char *v[] = {code,
                       text_or_null(&f[F_NOM]),
                       text_or_null(&f[F_TYPE]),
                       f[F_DESCRIPTION].present ? "true" : "false",
                       text_or_null(&f[F_DESCRIPTION]),
                       bool_or_null(&f[F_ACTIF]),
                       text_or_null(&f[F_FOLDER]),
                       text_or_null(&f[F_TZ])};
    PGresult *r = db_exec(req->db, &q_patch, 8, v);
    if (!r) {
        if (strcmp(db_sqlstate(req->db), "23505") == 0)
            reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "log_folder"),
                               "another centre already uses this log folder");
        else
            reply_db_error(req, "update centre");
        return;
    }
    reply_centre_or_404(req, r, code);
}
