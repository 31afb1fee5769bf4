/* pd_refs: the reference sets of a patient-data load; see pd_refs.h. */
#include "kinds/patient_data/pd_refs.h"

#include "db/db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pd_refs_cleanup(struct pd_refs *r) {
    free(r->patients);
    free(r->parameters);
    free(r->users);
    memset(r, 0, sizeof *r);
}

/* Grows *arr to hold n + 1 items of size sz when n is a power of two (or 0). */
static int grow(void **arr, size_t n, size_t sz) {
    if (n & (n - 1) || (n && n < 16)) return 0;
    size_t cap = n < 16 ? 16 : n * 2;
    void *p = realloc(*arr, cap * sz);
    if (!p) return -1;
    *arr = p;
    return 0;
}

int pd_refs_add_patient(struct pd_refs *r, int32_t id) {
    if (grow((void **)&r->patients, r->npatients, sizeof *r->patients) != 0) return -1;
    r->patients[r->npatients++] = id;
    return 0;
}

int pd_refs_add_user(struct pd_refs *r, int64_t id) {
    if (grow((void **)&r->users, r->nusers, sizeof *r->users) != 0) return -1;
    r->users[r->nusers++] = id;
    return 0;
}

static int64_t cents(const char *s) {
    double v = s && *s ? strtod(s, NULL) : 0;
    return (int64_t)llround(v * 100);
}

int pd_refs_add_parameter(struct pd_refs *r, const char *id, const char *min, const char *max) {
    if (strlen(id) > PDROW_PARAMETER_MAX) return 0; /* cannot match a CSV row anyway */
    if (grow((void **)&r->parameters, r->nparameters, sizeof *r->parameters) != 0) return -1;
    struct pd_parameter *p = &r->parameters[r->nparameters++];
    snprintf(p->id, sizeof p->id, "%s", id);
    p->min_cents = cents(min);
    p->max_cents = cents(max);
    if (p->max_cents < p->min_cents) p->max_cents = p->min_cents;
    return 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_param(const void *a, const void *b) {
    return strcmp(((const struct pd_parameter *)a)->id, ((const struct pd_parameter *)b)->id);
}

void pd_refs_sort(struct pd_refs *r) {
    if (r->npatients) qsort(r->patients, r->npatients, sizeof *r->patients, cmp_i32);
    if (r->nusers) qsort(r->users, r->nusers, sizeof *r->users, cmp_i64);
    if (r->nparameters) qsort(r->parameters, r->nparameters, sizeof *r->parameters, cmp_param);
}

bool pd_refs_has_patient(const struct pd_refs *r, int32_t id) {
    return r->npatients && bsearch(&id, r->patients, r->npatients, sizeof id, cmp_i32);
}

bool pd_refs_has_user(const struct pd_refs *r, int64_t id) {
    return r->nusers && bsearch(&id, r->users, r->nusers, sizeof id, cmp_i64);
}

long pd_refs_parameter(const struct pd_refs *r, const char *id) {
    size_t lo = 0, hi = r->nparameters;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(id, r->parameters[mid].id);
        if (c == 0) return (long)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static struct db_stmt q_patients = DB_STMT("SELECT id_patient FROM patients");
static struct db_stmt q_parameters =
    DB_STMT("SELECT parameter_id, display_min::text, display_max::text FROM parameter_reference");
static struct db_stmt q_users = DB_STMT("SELECT id FROM users");

int pd_refs_load_pg(struct db *db, struct pd_refs *r) {
    memset(r, 0, sizeof *r);
    PGresult *res = db_exec(db, &q_patients, 0, NULL);
    if (!res) return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = pd_refs_add_patient(r, (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10));
    PQclear(res);
    if (rc || !(res = db_exec(db, &q_parameters, 0, NULL))) return -1;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = pd_refs_add_parameter(r, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                   PQgetvalue(res, i, 2));
    PQclear(res);
    if (rc || !(res = db_exec(db, &q_users, 0, NULL))) return -1;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = pd_refs_add_user(r, strtoll(PQgetvalue(res, i, 0), NULL, 10));
    PQclear(res);
    pd_refs_sort(r);
    return rc;
}

void pd_refs_describe(const struct pd_refs *r, char *patients, char *parameters, char *users,
                      size_t len) {
    size_t n = (size_t)snprintf(patients, len, "%zu patients: [", r->npatients);
    for (size_t i = 0; i < r->npatients && i < 20 && n < len; i++)
        n += (size_t)snprintf(patients + n, len - n, "%s%d", i ? ", " : "", (int)r->patients[i]);
    if (n < len) snprintf(patients + n, len - n, "%s]", r->npatients > 20 ? ", ..." : "");
    n = (size_t)snprintf(parameters, len, "%zu parameters: [", r->nparameters);
    for (size_t i = 0; i < r->nparameters && i < 20 && n < len; i++) {
        const struct pd_parameter *p = &r->parameters[i];
        n += (size_t)snprintf(parameters + n, len - n, "%s'%s' (%.2f, %.2f)", i ? ", " : "", p->id,
                              (double)p->min_cents / 100, (double)p->max_cents / 100);
    }
    if (n < len) snprintf(parameters + n, len - n, "%s]", r->nparameters > 20 ? ", ..." : "");
    n = (size_t)snprintf(users, len, "%zu users: [", r->nusers);
    for (size_t i = 0; i < r->nusers && i < 20 && n < len; i++)
        n += (size_t)snprintf(users + n, len - n, "%s%lld", i ? ", " : "", (long long)r->users[i]);
    if (n < len) snprintf(users + n, len - n, "%s]", r->nusers > 20 ? ", ..." : "");
}
