/* pd_row: one record of a DashMed patient-data CSV checked and turned into typed values,
 * and the header check. The seed's columns, in this order:
 *   "id_patient","parameter_id","value","timestamp","alert_flag","created_by","archived"
 * Rules (README, "patient_data.insert"): id_patient and created_by positive integers;
 * parameter_id 1..50 characters [A-Za-z0-9_.-]; value a decimal number (sign, digits,
 * optional fraction, no exponent) that fits numeric(10,2) once rounded to 2 decimals;
 * timestamp YYYY-MM-DD HH:MM:SS (or T between), optional fraction up to 6 digits and an
 * optional offset (Z, +HH:MM, -HH:MM; without one it is read in the job's time zone);
 * alert_flag and archived 0 or 1 (empty: 0). An empty required field, a bad value or
 * the wrong number of fields make the row an error with a reason.
 * Pure; values point into the record (borrowed). */
#ifndef SLUICE_PD_ROW_H
#define SLUICE_PD_ROW_H

#include "kinds/patient_data/pd_csv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PDROW_FIELDS 7
#define PDROW_PARAMETER_MAX 50
#define PDROW_HEADER                                                                               \
    "\"id_patient\",\"parameter_id\",\"value\",\"timestamp\",\"alert_flag\",\"created_by\","       \
    "\"archived\""

struct pdrow {
    int32_t id_patient;
    const char *parameter_id; /* borrowed */
    const char *value;        /* borrowed, checked decimal text */
    const char *timestamp;    /* borrowed, checked */
    int64_t ts_key;           /* microseconds since 1970 of the wall-clock time (offset
                                 applied when one is given): equal keys, same cycle */
    bool has_offset;
    bool alert_flag, archived;
    int64_t created_by;
};

/* true when the record is the seed's header (field names exact, in order; quoting
 * optional). Otherwise why says what was found and what was expected. */
bool pdrow_header_ok(const struct pdcsv_record *rec, char *why, size_t whylen);

/* true and *out filled, or false with the reason in why (e.g.
 * "value: \"7x\" is not a decimal number"). */
bool pdrow_parse(const struct pdcsv_record *rec, struct pdrow *out, char *why, size_t whylen);

/* The checks one at a time (exposed for the unit tests and the generator). */
bool pdrow_decimal_ok(const char *s, size_t len, double *out);
bool pdrow_timestamp_ok(const char *s, size_t len, int64_t *key, bool *has_offset);
bool pdrow_parameter_ok(const char *s, size_t len);

#endif
