/* patients: GET /patients (keyset by id_patient; ?name= exact name through the blind
 * index, operator+), POST /patients, GET/PATCH /patients/{id} and GET
 * /patients/{id}/data (measurements of one patient, optionally one parameter, in a time
 * range, time-ordered, keyset-paginated). Personal fields are shown to operators and
 * admins; viewers get the name's initials and no birth date or sex ("masked": true).
 * Nothing outlives a request. */
#include "core/json_out.h"
#include "api/body_fields.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "http/reply.h"
#include "http/router.h"
#include "kinds/patient_data/pd_row.h"
#include "patients/patient_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

/* A positive id_patient (1..2^31-1) from text, or 0. */
static int32_t parse_patient_id(const char *s) {
    if (!s || !*s || strlen(s) > 10 || s[0] == '0') return 0;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
    }
    return v <= INT32_MAX ? (int32_t)v : 0;
}

static int32_t path_patient(struct request *req) {
    const char *raw = request_param(req, "id");
    int32_t id = parse_patient_id(raw);
    if (!id) reply_problem(req, PROBLEM_NOT_FOUND, "no patient with id \"%s\"", raw ? raw : "");
    return id;
}

static bool is_masked(const struct request *req) { return req->auth.role < ROLE_OPERATOR; }

static void reply_store_error(struct request *req, int rc, int32_t id, const char *what) {
    switch (rc) {
    case PATIENT_NOT_FOUND:
        reply_problem(req, PROBLEM_NOT_FOUND, "no patient with id %d", (int)id);
        break;
    case PATIENT_TAKEN:
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "id_patient"),
                           "a patient with id %d already exists", (int)id);
        break;
    case PATIENT_CRYPTO:
        reply_problem(req, PROBLEM_INTERNAL,
                      "personal data could not be sealed or opened (is PII_KEY set, or was it "
                      "changed?)");
        break;
    default: reply_db_error(req, what); break;
    }
}

static void reply_patient(struct request *req, int32_t id, unsigned status) {
    struct patient p;
    int rc = patient_store_get(req->db, id, &p);
    if (rc != PATIENT_OK) {
        reply_store_error(req, rc, id, "read patient");
        patient_cleanup(&p);
        return;
    }
    if (status == 201) {
        char location[48];
        snprintf(location, sizeof location, "/patients/%d", (int)id);
        reply_header(req, "Location", location);
    }
    reply_json(req, status, patient_json(&p, is_masked(req)));
    patient_cleanup(&p);
}

enum { F_NAME, F_BIRTH, F_SEX, F_COUNT };

static bool name_rule(const char *s) { return patient_check_full_name(s) == NULL; }

static const char *const sexes[] = {"F", "M", "X", NULL};

static const struct field_spec patient_fields[F_COUNT] = {
    [F_NAME] = {.name = "full_name",
                .type = FIELD_TEXT,
                .required = true,
                .min_len = 1,
                .max_len = 200,
                .check = name_rule,
                .rule = "a name that is not blank"},
    [F_BIRTH] = {.name = "birth_date", .type = FIELD_DATE, .nullable = true},
    [F_SEX] = {.name = "sex", .type = FIELD_TEXT, .nullable = true, .choices = sexes},
};

/* Checks the body; id_patient (an integer) is read here and the rest by body_fields.
 * false when a 422 is queued. */
static bool read_body(struct request *req, bool create, struct field_value f[F_COUNT], int32_t *id,
                      bool *id_given) {
    struct field_errors errs = {0};
    *id = 0;
    *id_given = false;
    if (!json_is_object(req->json)) {
        reply_problem(req, PROBLEM_VALIDATION, "the body must be a JSON object");
        return false;
    }
    json_t *copy = json_copy(req->json);
    json_t *idv = json_object_get(copy, "id_patient");
    if (idv) {
        *id_given = true;
        if (!json_is_integer(idv) || json_integer_value(idv) < 1 ||
            json_integer_value(idv) > INT32_MAX)
            body_fields_fail(&errs, "id_patient", "id_patient must be an integer from 1 to %d",
                             INT32_MAX);
        else
            *id = (int32_t)json_integer_value(idv);
        json_object_del(copy, "id_patient");
    }
    struct field_spec specs[F_COUNT];
    memcpy(specs, patient_fields, sizeof specs);
    if (!create)
        for (size_t i = 0; i < F_COUNT; i++) specs[i].required = false;
    bool ok = body_fields_check(copy, "", specs, F_COUNT, f, &errs) && errs.count == 0;
    /* json_copy is shallow: the values still belong to req->json's members */
    json_decref(copy);
    if (!ok) body_fields_reply(req, &errs);
    return ok;
}

/* ---- handlers ------------------------------------------------------------------------ */

void api_patients_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "name", NULL};
    static const struct page_sort sorts[] = {{"id_patient", 1, {PAGE_KEY_INT}}};
    const char *name = NULL;
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !query_text(req, "name", 400, &name)) return;
    if (name && is_masked(req)) {
        reply_problem(req, PROBLEM_FORBIDDEN,
                      "searching patients by name needs the operator or admin role");
        return;
    }
    if (!page_parse(req, sorts, 1, &pg)) return;
    const char *after = page_key(&pg, 0, "0");
    long long a = strtoll(after, NULL, 10);
    int32_t after_id = a < 0 ? 0 : a > INT32_MAX ? INT32_MAX : (int32_t)a;
    json_t *items = json_array();
    bool more = false;
    int rc =
        patient_store_list(req->db, after_id, (int)pg.limit, name, is_masked(req), items, &more);
    if (rc != PATIENT_OK) {
        json_decref(items);
        page_cleanup(&pg);
        reply_store_error(req, rc, 0, "list patients");
        return;
    }
    char last[16];
    const char *next[] = {last};
    size_t n = json_array_size(items);
    if (more && n)
        snprintf(last, sizeof last, "%lld",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(items, n - 1), "id_patient")));
    page_reply(req, &pg, items, more && n ? next : NULL);
    page_cleanup(&pg);
}

void api_patients_create(struct request *req) {
    struct field_value f[F_COUNT];
    int32_t id;
    bool id_given;
    if (!read_body(req, true, f, &id, &id_given)) return;
    struct patient_input in = {
        .id = id,
        .full_name = f[F_NAME].text,
        .birth_date = f[F_BIRTH].present && !f[F_BIRTH].is_null ? f[F_BIRTH].text : NULL,
        .sex = f[F_SEX].present && !f[F_SEX].is_null ? f[F_SEX].text : NULL,
    };
    int32_t made = 0;
    int rc = patient_store_create(req->db, &in, &made);
    if (rc != PATIENT_OK) {
        reply_store_error(req, rc, id, "create patient");
        return;
    }
    reply_patient(req, made, 201);
}

void api_patient_get(struct request *req) {
    int32_t id = path_patient(req);
    if (id) reply_patient(req, id, 200);
}

void api_patient_patch(struct request *req) {
    int32_t id = path_patient(req);
    if (!id) return;
    struct field_value f[F_COUNT];
    int32_t body_id;
    bool id_given;
    if (!read_body(req, false, f, &body_id, &id_given)) return;
    if (id_given && body_id != id) {
        reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "id_patient"),
                           "id_patient cannot be changed");
        return;
    }
    if (f[F_NAME].present && f[F_NAME].is_null) {
        reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "full_name"),
                           "full_name cannot be erased");
        return;
    }
    struct patient_input in = {
        .full_name = f[F_NAME].present ? f[F_NAME].text : NULL,
        .birth_date = f[F_BIRTH].present && !f[F_BIRTH].is_null ? f[F_BIRTH].text : NULL,
        .sex = f[F_SEX].present && !f[F_SEX].is_null ? f[F_SEX].text : NULL,
        .set_full_name = f[F_NAME].present,
        .set_birth_date = f[F_BIRTH].present,
        .set_sex = f[F_SEX].present,
    };
    int rc = patient_store_update(req->db, id, &in);
    if (rc != PATIENT_OK) {
        reply_store_error(req, rc, id, "update patient");
        return;
    }
    reply_patient(req, id, 200);
}

/* ---- measurements --------------------------------------------------------------------- */

#define DATA_JSON                                                                                  \
    "json_build_object('id', d.id, 'id_patient', d.id_patient, 'parameter_id', d.parameter_id,"    \
    " 'value', d.value, 'timestamp', " JSON_SQL_UTC(                                               \
        "d.\"timestamp\"") ", 'alert_flag', d.alert_flag,"                                         \
                           " 'created_by', d.created_by, 'archived', d.archived)::text"

/* $1 patient, $2 parameter (NULL: all), $3 from (inclusive), $4 to (exclusive), $5 and $6
 * the keyset (timestamp, id) after which to start, $7 limit. */
static struct db_stmt q_data =
    DB_STMT("SELECT sluice_rfc3339(d.\"timestamp\"), d.id::text, " DATA_JSON
            " FROM patient_data d WHERE d.id_patient = $1::int"
            " AND ($2::text IS NULL OR d.parameter_id = $2::text)"
            " AND d.\"timestamp\" >= $3::timestamptz AND d.\"timestamp\" < $4::timestamptz"
            " AND (d.\"timestamp\", d.id) > ($5::timestamptz, $6::bigint)"
            " ORDER BY d.\"timestamp\", d.id LIMIT $7::bigint");

static struct db_stmt q_patient_exists =
    DB_STMT("SELECT 1 FROM patients WHERE id_patient = $1::int");

static bool patient_exists_or_404(struct request *req, const char *id) {
    const char *v[] = {id};
    PGresult *r = db_exec(req->db, &q_patient_exists, 1, v);
    if (!r) {
        reply_db_error(req, "read patient");
        return false;
    }
    bool found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) reply_problem(req, PROBLEM_NOT_FOUND, "no patient with id %s", id);
    return found;
}

/* The bound of a range as a timestamptz text: a date is its midnight UTC; `to` as a
 * date includes that whole day. */
static void bound_text(const struct query_time *t, bool upper, char *out, size_t outlen) {
    if (t->kind == QUERY_TIME_ABSENT) {
        snprintf(out, outlen, "%s", upper ? "infinity" : "-infinity");
    } else if (t->kind == QUERY_TIME_DATE) {
        struct query_date d = upper ? date_add_days(&t->date, 1) : t->date;
        char day[11];
        date_format(&d, day);
        snprintf(out, outlen, "%s 00:00:00+00", day);
    } else {
        snprintf(out, outlen, "%s", t->text);
    }
}

void api_patient_data(struct request *req) {
    int32_t id = path_patient(req);
    if (!id) return;
    static const char *const allowed[] = {"limit", "cursor", "parameter", "from", "to", NULL};
    static const struct page_sort sorts[] = {{"timestamp", 2, {PAGE_KEY_TEXT, PAGE_KEY_INT}}};
    const char *parameter = NULL;
    struct query_time from, to;
    struct page pg;
    if (!query_check_names(req, allowed, NULL) ||
        !query_text(req, "parameter", PDROW_PARAMETER_MAX, &parameter) ||
        !query_range(req, "from", "to", true, &from, &to))
        return;
    if (parameter && !pdrow_parameter_ok(parameter, strlen(parameter))) {
        query_bad(req, "parameter", "parameter must be a parameter id such as FC or SpO2");
        return;
    }
    if (!page_parse(req, sorts, 1, &pg)) return;
    /* A cursor's timestamp must be an instant PostgreSQL reads. */
    struct query_time after;
    if (pg.has_cursor && !parse_instant(page_key(&pg, 0, ""), &after)) {
        page_cleanup(&pg);
        query_bad(req, "cursor", "the cursor is not valid for this list");
        return;
    }
    char idtext[16], lo[64], hi[64];
    snprintf(idtext, sizeof idtext, "%d", (int)id);
    bound_text(&from, false, lo, sizeof lo);
    bound_text(&to, true, hi, sizeof hi);
    const char *v[] = {idtext,
                       parameter,
                       lo,
                       hi,
                       pg.has_cursor ? after.text : "-infinity",
                       page_key(&pg, 1, "-9223372036854775808"),
                       pg.fetch};
    static const int keys[] = {0, 1};
    static const struct page_render how = {.json_col = 2,
                                           .key_cols = keys,
                                           .what = "list patient data",
                                           .on_empty = patient_exists_or_404};
    struct page_render h = how;
    h.on_empty_arg = idtext;
    page_query_then(req, &pg, &q_data, 7, v, &h);
}
