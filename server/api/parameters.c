/* parameters: GET /parameters (keyset by parameter_id), POST /parameters, GET/PATCH
 * /parameters/{id} — the parameter_reference table (what a measurement measures, its
 * unit and plausible display range). JSON built by PostgreSQL; display_min/display_max
 * are JSON numbers. Nothing outlives a request. */
#include "core/json_out.h"
#include "api/body_fields.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "db/db.h"
#include "http/reply.h"
#include "kinds/patient_data/pd_row.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PARAMETER_JSON                                                                             \
    "json_build_object('parameter_id', p.parameter_id, 'label', p.label, 'unit', p.unit,"          \
    " 'display_min', p.display_min, 'display_max', p.display_max,"                                 \
    " 'created_at', " JSON_SQL_UTC("p.created_at") ", 'updated_at', "                              \
                                                   "" JSON_SQL_UTC("p.updated_at") ")::text"

static struct db_stmt q_list =
    DB_STMT("SELECT p.parameter_id, " PARAMETER_JSON " FROM parameter_reference p"
            " WHERE p.parameter_id COLLATE \"C\" > $1::text COLLATE \"C\""
            " ORDER BY p.parameter_id COLLATE \"C\" LIMIT $2::bigint");

static struct db_stmt q_get =
    DB_STMT("SELECT " PARAMETER_JSON " FROM parameter_reference p WHERE p.parameter_id = $1");

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO parameter_reference AS p (parameter_id, label, unit, display_min,"
            " display_max) VALUES ($1, $2, COALESCE($3, ''), $4::numeric, $5::numeric)"
            " ON CONFLICT DO NOTHING RETURNING " PARAMETER_JSON);

/* NULL leaves a column as it is; the range is checked on the merged values. */
static struct db_stmt q_patch =
    DB_STMT("UPDATE parameter_reference AS p SET label = COALESCE($2, p.label),"
            " unit = COALESCE($3, p.unit), display_min = COALESCE($4::numeric, p.display_min),"
            " display_max = COALESCE($5::numeric, p.display_max)"
            " WHERE p.parameter_id = $1 RETURNING " PARAMETER_JSON);

static bool id_rule(const char *s) { return pdrow_parameter_ok(s, strlen(s)); }

enum { F_ID, F_LABEL, F_UNIT, F_COUNT };

static const struct field_spec parameter_fields[F_COUNT] = {
    [F_ID] = {.name = "parameter_id",
              .type = FIELD_TEXT,
              .required = true,
              .min_len = 1,
              .max_len = PDROW_PARAMETER_MAX,
              .check = id_rule,
              .rule = "letters, digits, '_', '.' and '-', starting with a letter or digit"},
    [F_LABEL] =
        {.name = "label", .type = FIELD_TEXT, .required = true, .min_len = 1, .max_len = 200},
    [F_UNIT] = {.name = "unit", .type = FIELD_TEXT, .min_len = 0, .max_len = 50},
};

/* A numeric(10,2) member of body (removed from copy): *text gets it ("%.2f"), empty when
 * absent. Failures go to errs. */
static void take_number(json_t *copy, const char *name, bool required, char text[32],
                        struct field_errors *errs) {
    text[0] = '\0';
    json_t *v = json_object_get(copy, name);
    if (!v) {
        if (required) body_fields_fail(errs, name, "%s is required", name);
        return;
    }
    double d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || fabs(d) >= 99999999.995)
        body_fields_fail(errs, name, "%s must be a number below 100000000 in absolute value", name);
    else
        snprintf(text, 32, "%.2f", d);
    json_object_del(copy, name);
}

/* Reads a POST (create) or PATCH body. false when a 422 is queued. */
static bool read_body(struct request *req, bool create, struct field_value f[F_COUNT], char min[32],
                      char max[32]) {
    if (!json_is_object(req->json)) {
        reply_problem(req, PROBLEM_VALIDATION, "the body must be a JSON object");
        return false;
    }
    struct field_errors errs = {0};
    json_t *copy = json_copy(req->json); /* shallow: strings stay req->json's */
    take_number(copy, "display_min", create, min, &errs);
    take_number(copy, "display_max", create, max, &errs);
    struct field_spec specs[F_COUNT];
    memcpy(specs, parameter_fields, sizeof specs);
    if (!create)
        for (size_t i = 0; i < F_COUNT; i++) specs[i].required = false;
    bool ok = body_fields_check(copy, "", specs, F_COUNT, f, &errs) && errs.count == 0;
    json_decref(copy);
    if (ok && min[0] && max[0] && strtod(min, NULL) > strtod(max, NULL)) {
        body_fields_fail(&errs, "display_max", "display_max must not be below display_min");
        ok = false;
    }
    if (!ok) body_fields_reply(req, &errs);
    return ok;
}

static const char *text_or_null(const struct field_value *v) {
    return v->present && !v->is_null ? v->text : NULL;
}

static void reply_row(struct request *req, unsigned status, PGresult *r) {
    reply_json_text(req, status, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
}

void api_parameters_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", NULL};
    static const struct page_sort sorts[] = {{"parameter_id", 1, {PAGE_KEY_TEXT}}};
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !page_parse(req, sorts, 1, &pg)) return;
    const char *v[] = {page_key(&pg, 0, ""), pg.fetch};
    static const int keys[] = {0};
    static const struct page_render how = {
        .json_col = 1, .key_cols = keys, .what = "list parameters"};
    page_query_then(req, &pg, &q_list, 2, v, &how);
}

void api_parameters_create(struct request *req) {
    struct field_value f[F_COUNT];
    char min[32], max[32];
    if (!read_body(req, true, f, min, max)) return;
    const char *v[] = {f[F_ID].text, f[F_LABEL].text, text_or_null(&f[F_UNIT]), min, max};
    PGresult *r = db_exec(req->db, &q_insert, 5, v);
    if (!r) {
        reply_db_error(req, "create parameter");
        return;
    }
    if (PQntuples(r) == 1) {
        char location[96];
        snprintf(location, sizeof location, "/parameters/%s", f[F_ID].text);
        reply_header(req, "Location", location);
        reply_row(req, 201, r);
    } else {
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "parameter_id"),
                           "a parameter \"%s\" already exists", f[F_ID].text);
    }
    PQclear(r);
}

static const char *path_parameter(struct request *req) {
    const char *id = request_param(req, "id");
    if (!id || !pdrow_parameter_ok(id, strlen(id))) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no parameter \"%s\"", id ? id : "");
        return NULL;
    }
    return id;
}

void api_parameter_get(struct request *req) {
    const char *id = path_parameter(req);
    if (!id) return;
    const char *v[] = {id};
    char not_found[96];
    snprintf(not_found, sizeof not_found, "no parameter \"%s\"", id);
    row_query_then(req, &q_get, 1, v, "get parameter", not_found);
}

void api_parameter_patch(struct request *req) {
    const char *id = path_parameter(req);
    if (!id) return;
    struct field_value f[F_COUNT];
    char min[32], max[32];
    if (!read_body(req, false, f, min, max)) return;
    if (f[F_ID].present && !(f[F_ID].text && strcmp(f[F_ID].text, id) == 0)) {
        reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "parameter_id"),
                           "parameter_id cannot be changed");
        return;
    }
    const char *v[] = {id, text_or_null(&f[F_LABEL]), text_or_null(&f[F_UNIT]), min[0] ? min : NULL,
                       max[0] ? max : NULL};
    PGresult *r = db_exec(req->db, &q_patch, 5, v);
    if (!r) {
        if (strcmp(db_sqlstate(req->db), "23514") == 0)
            reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "display_max"),
                               "display_max must not be below display_min");
        else
            reply_db_error(req, "update parameter");
        return;
    }
    if (PQntuples(r) == 0)
        reply_problem(req, PROBLEM_NOT_FOUND, "no parameter \"%s\"", id);
    else
        reply_row(req, 200, r);
    PQclear(r);
}
