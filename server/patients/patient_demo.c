/* patient_demo: demo parameters and patients, and the patient generator; see
 * patient_demo.h. */
#include "patients/patient_demo.h"

#include "auth/pii.h"
#include "patients/patient_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seed's parameters: ids as DashMed names them, labels in French as its users read
 * them, units and the range a monitor displays. */
static struct db_stmt q_parameters =
    DB_STMT("INSERT INTO parameter_reference (parameter_id, label, unit, display_min, display_max)"
            " VALUES ('FC', 'Fréquence cardiaque', 'bpm', 40, 180),"
            " ('SpO2', 'Saturation pulsée en oxygène', '%', 80, 100),"
            " ('FR', 'Fréquence respiratoire', 'cycles/min', 8, 40),"
            " ('Temperature', 'Température corporelle', '°C', 35, 41),"
            " ('PAS', 'Pression artérielle systolique', 'mmHg', 70, 200),"
            " ('PAD', 'Pression artérielle diastolique', 'mmHg', 40, 120),"
            " ('PAM', 'Pression artérielle moyenne', 'mmHg', 50, 140),"
            " ('EtCO2', 'CO2 de fin d''expiration', 'mmHg', 25, 50),"
            " ('Compliance_m', 'Compliance pulmonaire mesurée', 'mL/cmH2O', 20, 100),"
            " ('Vt', 'Volume courant', 'mL', 200, 800),"
            " ('PEEP', 'Pression expiratoire positive', 'cmH2O', 0, 20),"
            " ('FiO2', 'Fraction inspirée en oxygène', '%', 21, 100)"
            " ON CONFLICT (parameter_id) DO NOTHING");

static const struct patient_input demo_patients[] = {
    {.id = 1, .full_name = "Jeanne Dupont", .birth_date = "1948-03-14", .sex = "F"},
    {.id = 2, .full_name = "Karim Benali", .birth_date = "1971-11-02", .sex = "M"},
    {.id = 3, .full_name = "Lucie Martin", .birth_date = "1990-07-23", .sex = "F"},
};

int patient_demo_seed(struct db *db, long *parameters, long *patients, char *err, size_t errlen) {
    *parameters = 0;
    *patients = 0;
    PGresult *r = db_exec(db, &q_parameters, 0, NULL);
    if (!r) {
        snprintf(err, errlen, "demo parameters: %s", db_last_error(db));
        return -1;
    }
    *parameters = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (!pii_global()) {
        *patients = -1;
        return 0;
    }
    for (size_t i = 0; i < sizeof demo_patients / sizeof demo_patients[0]; i++) {
        int32_t id;
        int rc = patient_store_create(db, &demo_patients[i], &id);
        if (rc == PATIENT_OK)
            (*patients)++;
        else if (rc != PATIENT_TAKEN) {
            snprintf(err, errlen, "demo patient %d: %s", (int)demo_patients[i].id,
                     rc == PATIENT_CRYPTO ? "personal data could not be sealed"
                                          : db_last_error(db));
            return -1;
        }
    }
    return 0;
}

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int patient_generate(struct db *db, long count, uint64_t seed, long *made, char *err,
                     size_t errlen) {
    static const char *const female[] = {"Marie", "Camille", "Léa",  "Chloé",  "Inès",
                                         "Sarah", "Manon",   "Emma", "Louise", "Alice"};
    static const char *const male[] = {"Lucas", "Hugo", "Louis",  "Gabriel", "Arthur",
                                       "Jules", "Adam", "Nathan", "Paul",    "Mohamed"};
    static const char *const last[] = {"Martin",  "Bernard", "Thomas",   "Petit",  "Robert",
                                       "Richard", "Durand",  "Dubois",   "Moreau", "Laurent",
                                       "Simon",   "Michel",  "Lefebvre", "Garcia", "Nguyen"};
    *made = 0;
    if (!pii_global()) {
        snprintf(err, errlen, "PII_KEY must be set: patients' personal data is encrypted");
        return -1;
    }
    uint64_t s = seed;
    for (long i = 0; i < count; i++) {
        bool f = next(&s) & 1;
        char name[96], birth[16];
        snprintf(name, sizeof name, "%s %s", f ? female[next(&s) % 10] : male[next(&s) % 10],
                 last[next(&s) % 15]);
        snprintf(birth, sizeof birth, "%04d-%02d-%02d", 1930 + (int)(next(&s) % 90),
                 1 + (int)(next(&s) % 12), 1 + (int)(next(&s) % 28));
        struct patient_input in = {.full_name = name, .birth_date = birth, .sex = f ? "F" : "M"};
        int32_t id;
        int rc = patient_store_create(db, &in, &id);
        if (rc != PATIENT_OK) {
            snprintf(err, errlen, "patient %ld of %ld: %s", i + 1, count,
                     rc == PATIENT_CRYPTO ? "personal data could not be sealed"
                                          : db_last_error(db));
            return -1;
        }
        (*made)++;
    }
    return 0;
}
