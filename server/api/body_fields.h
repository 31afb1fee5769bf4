/* body_fields: the one declarative checker of JSON object bodies (and of job arguments,
 * workers/job_args.c). A handler lists the members it accepts (name, type, required,
 * nullable, bounds, allowed values, extra check); one call checks the object, rejects
 * unknown members (naming the known ones), and on failure answers 422
 * (/problems/validation) with "field" naming the first bad member (prefixed, e.g.
 * "[3].status" inside an array, "args.days" inside a member) and "errors" listing up to
 * 20 of them, each {"field", "detail"}. Every JSON body mistake is a 422; 400 is for
 * query parameters and malformed JSON.
 * Values are borrowed from the JSON object: valid while it lives. */
#ifndef SLUICE_BODY_FIELDS_H
#define SLUICE_BODY_FIELDS_H

#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum field_type {
    FIELD_TEXT,    /* string of min_len..max_len characters, no control characters */
    FIELD_BOOL,    /* true/false (and 0/1 when int_bool) */
    FIELD_DATE,    /* "YYYY-MM-DD" */
    FIELD_INT,     /* an integer from min..max */
    FIELD_NUMBER,  /* any JSON number from min..max */
    FIELD_INSTANT, /* an RFC 3339 date-time with an offset ("2025-01-31T03:00:00Z") */
    FIELD_OBJECT,  /* any JSON object (its members are the caller's to check) */
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
    /* FIELD_TEXT: extra rule that says why it refuses (NULL: accepted; the reason is a
     * static or thread-local string); with any_text the string may hold any character
     * but NUL and have any length (the rule decides, e.g. passwords). */
    const char *(*explain)(const char *value, size_t len);
    bool any_text;
    long long min, max; /* FIELD_INT, FIELD_NUMBER */
};

struct field_value {
    bool present;
    bool is_null;
    const char *text;  /* FIELD_TEXT / FIELD_DATE: borrowed, or the canonical choice;
                          FIELD_INSTANT: instant (normalised for PostgreSQL) */
    size_t len;        /* FIELD_TEXT: bytes */
    bool boolean;      /* FIELD_BOOL */
    long long integer; /* FIELD_INT */
    double number;     /* FIELD_NUMBER */
    json_t *json;      /* FIELD_OBJECT (borrowed) */
    char instant[48];  /* FIELD_INSTANT's text */
};

/* Collected failures across several objects (e.g. the items of an array). */
struct field_errors {
    json_t *list; /* array of {"field", "detail"}, owned; NULL when none */
    char first_field[128];
    char first_detail[384]; /* "args.days must be an integer" */
    char first_rule[384];   /* the same without the field: "must be an integer" */
    size_t count;
};

/* Checks obj (must be an object) against specs into values[nspecs]. prefix (may be "")
 * goes before each field name. Returns true when obj is valid; otherwise adds to errs. */
bool body_fields_check(json_t *obj, const char *prefix, const struct field_spec *specs,
                       size_t nspecs, struct field_value *values, struct field_errors *errs);

/* Adds one failure (e.g. a rule spanning fields); the detail is the whole sentence. */
void body_fields_fail(struct field_errors *errs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds one failure whose detail is "<field> <rule>", e.g. ("email", "is not an address"). */
void body_fields_fail_rule(struct field_errors *errs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 422 with the collected failures and frees them. */
void body_fields_reply(struct request *req, struct field_errors *errs);

void body_fields_errors_cleanup(struct field_errors *errs);

#endif
