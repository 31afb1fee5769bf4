/* body_fields: declarative checking of a JSON object body. A handler lists the members
 * it accepts (name, type, required, nullable, bounds, allowed values, extra check); one
 * call checks the object, rejects unknown members, and on failure answers 422
 * (/problems/validation) with "field" naming the first bad member (prefixed, e.g.
 * "[3].status" inside an array) and "errors" listing up to 20 of them.
 * Values are borrowed from the JSON object: valid while it lives. */
#ifndef SLUICE_BODY_FIELDS_H
#define SLUICE_BODY_FIELDS_H

#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum field_type {
    FIELD_TEXT, /* string of min_len..max_len characters, no control characters */
    FIELD_BOOL, /* true/false (and 0/1 when int_bool) */
    FIELD_DATE, /* "YYYY-MM-DD" */
};

struct field_spec {
    const char *name;
    enum field_type type;
    bool required;
    bool nullable;                    /* null is accepted (and reported as is_null) */
    size_t min_len, max_len;          /* FIELD_TEXT, in characters (code points) */
    const char *const *choices;       /* FIELD_TEXT: allowed values (case-insensitive; the
                                         canonical spelling is returned), NULL-terminated */
    bool int_bool;                    /* FIELD_BOOL: also accept the integers 0 and 1 */
    bool (*check)(const char *value); /* FIELD_TEXT: extra rule, e.g. a character set */
    const char *rule;                 /* what check (or the type) demands, for the message */
};

struct field_value {
    bool present;
    bool is_null;
    const char *text; /* FIELD_TEXT / FIELD_DATE: borrowed, or the canonical choice */
    bool boolean;     /* FIELD_BOOL */
};

/* Collected failures across several objects (e.g. the items of an array). */
struct field_errors {
    json_t *list; /* array of {"field", "detail"}, owned; NULL when none */
    char first_field[128];
    char first_detail[384];
    size_t count;
};

/* Checks obj (must be an object) against specs into values[nspecs]. prefix (may be "")
 * goes before each field name. Returns true when obj is valid; otherwise adds to errs. */
bool body_fields_check(json_t *obj, const char *prefix, const struct field_spec *specs,
                       size_t nspecs, struct field_value *values, struct field_errors *errs);

/* Adds one failure (e.g. a rule spanning fields). */
void body_fields_fail(struct field_errors *errs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 422 with the collected failures and frees them. */
void body_fields_reply(struct request *req, struct field_errors *errs);

void body_fields_errors_cleanup(struct field_errors *errs);

#endif
