/* patient_store: patients with sealed personal data; see patient_store.h. */
#include "core/json_out.h"
#include "patients/patient_store.h"

#include "auth/bytea.h"
#include "auth/pii_sql.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATIENT_COLS                                                                               \
    "id_patient, full_name_ct, full_name_nonce, birth_date_ct, birth_date_nonce, sex_ct,"          \
    " sex_nonce, " JSON_SQL_UTC("created_at") ", " JSON_SQL_UTC("updated_at") ""

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO patients (id_patient, full_name_ct, full_name_nonce, full_name_index,"
            " birth_date_ct, birth_date_nonce, sex_ct, sex_nonce)"
            " SELECT COALESCE($1::int, (SELECT COALESCE(max(id_patient), 0) + 1 FROM patients)),"
            " $2::bytea, $3::bytea, $4::bytea, $5::bytea, $6::bytea, $7::bytea, $8::bytea"
            " ON CONFLICT (id_patient) DO NOTHING RETURNING id_patient");

static struct db_stmt q_get =
    DB_STMT("SELECT " PATIENT_COLS " FROM patients WHERE id_patient = $1");

static struct db_stmt q_list =
    DB_STMT("SELECT " PATIENT_COLS " FROM patients WHERE id_patient > $1::int"
            " AND ($2::bytea IS NULL OR full_name_index = $2::bytea)"
            " ORDER BY id_patient LIMIT $3::int");

static struct db_stmt q_update =
    DB_STMT("UPDATE patients SET"
            " full_name_ct = CASE WHEN $2::boolean THEN $3::bytea ELSE full_name_ct END,"
            " full_name_nonce = CASE WHEN $2::boolean THEN $4::bytea ELSE full_name_nonce END,"
            " full_name_index = CASE WHEN $2::boolean THEN $5::bytea ELSE full_name_index END,"
            " birth_date_ct = CASE WHEN $6::boolean THEN $7::bytea ELSE birth_date_ct END,"
            " birth_date_nonce = CASE WHEN $6::boolean THEN $8::bytea ELSE birth_date_nonce END,"
            " sex_ct = CASE WHEN $9::boolean THEN $10::bytea ELSE sex_ct END,"
            " sex_nonce = CASE WHEN $9::boolean THEN $11::bytea ELSE sex_nonce END"
            " WHERE id_patient = $1::int RETURNING id_patient");

void patient_cleanup(struct patient *p) {
    free(p->full_name);
    free(p->birth_date);
    free(p->sex);
    memset(p, 0, sizeof *p);
}

const char *patient_check_full_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 400) return "must be 1 to 400 bytes long";
    if (!text_utf8_valid(s, n)) return "must be valid UTF-8";
    bool letter = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return "must not hold control characters";
        if (*p != ' ') letter = true;
    }
    return letter ? NULL : "must not be blank";
}

const char *patient_check_sex(const char *s) {
    return strcmp(s, "F") == 0 || strcmp(s, "M") == 0 || strcmp(s, "X") == 0
               ? NULL
               : "must be \"F\", \"M\" or \"X\" (unspecified)";
}

/* "Jeanne Marie DUPONT" -> "J. M. D." (first byte of each word; UTF-8 lead bytes keep
 * their continuation bytes). */
static void initials(const char *name, char *out, size_t outlen) {
    size_t n = 0;
    bool at_word = true;
    for (const unsigned char *p = (const unsigned char *)name; *p && n + 8 < outlen; p++) {
        if (*p == ' ') {
            at_word = true;
            continue;
        }
        if (!at_word) continue;
        at_word = false;
        if (n) out[n++] = ' ';
        out[n++] = (char)*p;
        while ((p[1] & 0xc0) == 0x80 && n + 6 < outlen) out[n++] = (char)*++p;
        out[n++] = '.';
    }
    out[n] = '\0';
}

json_t *patient_json(const struct patient *p, bool masked) {
    char shown[64];
    if (masked) initials(p->full_name ? p->full_name : "", shown, sizeof shown);
    return json_pack("{s:i,s:s,s:s?,s:s?,s:b,s:s,s:s}", "id_patient", (int)p->id, "full_name",
                     masked ? shown : (p->full_name ? p->full_name : ""), "birth_date",
                     masked ? NULL : p->birth_date, "sex", masked ? NULL : p->sex, "masked", masked,
                     "created_at", p->created_at, "updated_at", p->updated_at);
}

static bool read_patient(const PGresult *r, int row, struct patient *p) {
    memset(p, 0, sizeof *p);
    bool ok = true;
    p->id = (int32_t)strtol(PQgetvalue(r, row, 0), NULL, 10);
    p->full_name = pii_result_open(r, row, 1, "patient.full_name", &ok);
    p->birth_date = pii_result_open(r, row, 3, "patient.birth_date", &ok);
    p->sex = pii_result_open(r, row, 5, "patient.sex", &ok);
    snprintf(p->created_at, sizeof p->created_at, "%s", PQgetvalue(r, row, 7));
    snprintf(p->updated_at, sizeof p->updated_at, "%s", PQgetvalue(r, row, 8));
    return ok && p->full_name;
}

struct sealed3 {
    struct pii_param name, birth, sex;
};

static void sealed3_cleanup(struct sealed3 *s) {
    pii_param_cleanup(&s->name);
    pii_param_cleanup(&s->birth);
    pii_param_cleanup(&s->sex);
}

static int seal3(const struct patient_input *in, struct sealed3 *s) {
    memset(s, 0, sizeof *s);
    int rc = 0;
    if (in->full_name)
        rc |= pii_param_seal("patient.full_name", in->full_name, PII_NAME_INDEX, &s->name);
    rc |= pii_param_seal("patient.birth_date", in->birth_date, PII_NO_INDEX, &s->birth);
    rc |= pii_param_seal("patient.sex", in->sex, PII_NO_INDEX, &s->sex);
    return rc ? -1 : 0;
}

int patient_store_create(struct db *db, const struct patient_input *in, int32_t *id) {
    struct sealed3 s;
    if (!in->full_name || seal3(in, &s) != 0) {
        sealed3_cleanup(&s);
        return PATIENT_CRYPTO;
    }
    char idtext[16];
    snprintf(idtext, sizeof idtext, "%d", (int)in->id);
    const char *v[] = {in->id ? idtext : NULL, s.name.ct, s.name.nonce, s.name.index, s.birth.ct,
                       s.birth.nonce,          s.sex.ct,  s.sex.nonce};
    int rc = PATIENT_ERROR;
    /* An id chosen by max + 1 can be taken meanwhile by another insert: try again. */
    for (int attempt = 0; attempt < 5; attempt++) {
        PGresult *r = db_exec(db, &q_insert, 8, v);
        if (!r) break;
        bool inserted = PQntuples(r) == 1;
        if (inserted) *id = (int32_t)strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        rc = inserted ? PATIENT_OK : PATIENT_TAKEN;
        if (inserted || in->id) break;
    }
    sealed3_cleanup(&s);
    return rc;
}

int patient_store_get(struct db *db, int32_t id, struct patient *out) {
    memset(out, 0, sizeof *out);
    char idtext[16];
    snprintf(idtext, sizeof idtext, "%d", (int)id);
    const char *v[] = {idtext};
    PGresult *r = db_exec(db, &q_get, 1, v);
    if (!r) return PATIENT_ERROR;
    int rc = PATIENT_NOT_FOUND;
    if (PQntuples(r) == 1) rc = read_patient(r, 0, out) ? PATIENT_OK : PATIENT_CRYPTO;
    PQclear(r);
    return rc;
}

int patient_store_update(struct db *db, int32_t id, const struct patient_input *in) {
    struct sealed3 s;
    if (seal3(in, &s) != 0 || (in->set_full_name && !s.name.ct)) {
        sealed3_cleanup(&s);
        return PATIENT_CRYPTO;
    }
    char idtext[16];
    snprintf(idtext, sizeof idtext, "%d", (int)id);
    const char *v[] = {idtext,
                       in->set_full_name ? "true" : "false",
                       s.name.ct,
                       s.name.nonce,
                       s.name.index,
                       in->set_birth_date ? "true" : "false",
                       s.birth.ct,
                       s.birth.nonce,
                       in->set_sex ? "true" : "false",
                       s.sex.ct,
                       s.sex.nonce};
    PGresult *r = db_exec(db, &q_update, 11, v);
    sealed3_cleanup(&s);
    if (!r) return PATIENT_ERROR;
    int rc = PQntuples(r) == 1 ? PATIENT_OK : PATIENT_NOT_FOUND;
    PQclear(r);
    return rc;
}

int patient_store_list(struct db *db, int32_t after, int limit, const char *name, bool masked,
                       json_t *items, bool *more) {
    char aftertext[16], fetch[16];
    snprintf(aftertext, sizeof aftertext, "%d", (int)after);
    snprintf(fetch, sizeof fetch, "%d", limit + 1);
    struct pii_param idx = {0};
    if (name) {
        const struct pii_keys *k = pii_global();
        if (!k) return PATIENT_CRYPTO;
        unsigned char h[PII_INDEX_BYTES];
        pii_name_index(k, name, h);
        idx.index = bytea_param(h, sizeof h);
        if (!idx.index) return PATIENT_ERROR;
    }
    const char *v[] = {aftertext, idx.index, fetch};
    PGresult *r = db_exec(db, &q_list, 3, v);
    pii_param_cleanup(&idx);
    if (!r) return PATIENT_ERROR;
    int n = PQntuples(r), rc = PATIENT_OK;
    *more = n > limit;
    for (int i = 0; i < n && i < limit; i++) {
        struct patient p;
        if (!read_patient(r, i, &p)) rc = PATIENT_CRYPTO;
        if (rc == PATIENT_OK) json_array_append_new(items, patient_json(&p, masked));
        patient_cleanup(&p);
    }
    PQclear(r);
    return rc;
}
