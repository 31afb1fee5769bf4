/* patient_store: the SQL of the patients and parameter_reference tables behind verbs
 * (all parameters bound). Full name, birth date and sex go in sealed (auth/pii_sql.h,
 * fields "patient.full_name", "patient.birth_date", "patient.sex") and come out opened;
 * the name is found through its blind index. Strings in struct patient are owned by it
 * (patient_cleanup). */
#ifndef SLUICE_PATIENT_STORE_H
#define SLUICE_PATIENT_STORE_H

#include "db/db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum patient_result {
    PATIENT_ERROR = -1, /* database error: db_last_error */
    PATIENT_OK = 0,
    PATIENT_NOT_FOUND,
    PATIENT_TAKEN,  /* id_patient already used */
    PATIENT_CRYPTO, /* sealing/opening failed (PII_KEY missing or changed) */
};

struct patient {
    int32_t id;
    char *full_name;
    char *birth_date; /* YYYY-MM-DD or NULL */
    char *sex;        /* "F", "M", "X" or NULL */
    char created_at[40], updated_at[40];
};

struct patient_input {
    int32_t id; /* 0: the next free id (max + 1) */
    const char *full_name, *birth_date, *sex;
    /* PATCH: which of full_name, birth_date, sex change (NULL erases the last two). */
    bool set_full_name, set_birth_date, set_sex;
};

void patient_cleanup(struct patient *p);

/* {id_patient, full_name, birth_date, sex, masked, created_at, updated_at}; masked
 * (for viewers) shows the name's initials only ("J. D.") and nulls birth date and sex. */
json_t *patient_json(const struct patient *p, bool masked);

/* Validation: NULL when acceptable, else a static message. */
const char *patient_check_full_name(const char *s);
const char *patient_check_sex(const char *s);

int patient_store_create(struct db *db, const struct patient_input *in, int32_t *id);
int patient_store_get(struct db *db, int32_t id, struct patient *out);
int patient_store_update(struct db *db, int32_t id, const struct patient_input *in);
/* Patients with id > after (and the name, when not NULL, matching by blind index), by
 * id, at most limit: items gets patient_json objects, *more whether more follow. */
int patient_store_list(struct db *db, int32_t after, int limit, const char *name, bool masked,
                       json_t *items, bool *more);

#endif
