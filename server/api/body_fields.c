/* body_fields: the JSON object checker; see body_fields.h. */
#include "api/body_fields.h"

#include "api/query_params.h"
#include "http/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_LISTED 20

void body_fields_fail(struct field_errors *errs, const char *field, const char *fmt, ...) {
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (errs->count == 0) {
        snprintf(errs->first_field, sizeof errs->first_field, "%s", field);
        snprintf(errs->first_detail, sizeof errs->first_detail, "%s", detail);
    }
    errs->count++;
    if (errs->count > MAX_LISTED) return;
    if (!errs->list) errs->list = json_array();
    json_array_append_new(errs->list, json_pack("{s:s,s:s}", "field", field, "detail", detail));
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static bool has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

static bool check_text(const struct field_spec *f, json_t *v, const char *field,
                       struct field_value *out, struct field_errors *errs) {
    const char *s = json_string_value(v);
    if (!s) {
        body_fields_fail(errs, field, "%s must be a string", field);
        return false;
    }
    size_t chars = utf8_chars(s);
    if (strlen(s) != json_string_length(v) || has_control(s)) {
        body_fields_fail(errs, field, "%s must not contain control characters", field);
        return false;
    }
    if (f->choices) {
        for (size_t i = 0; f->choices[i]; i++) {
            if (strcasecmp(s, f->choices[i]) == 0) {
                out->text = f->choices[i];
                return true;
            }
        }
        char known[256] = "";
        for (size_t i = 0; f->choices[i]; i++) {
            if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
            strncat(known, f->choices[i], sizeof known - strlen(known) - 1);
        }
        body_fields_fail(errs, field, "%s must be one of: %s", field, known);
        return false;
    }
    if (chars < f->min_len || chars > f->max_len) {
        if (f->min_len == f->max_len)
            body_fields_fail(errs, field, "%s must be %zu characters long", field, f->min_len);
        else
            body_fields_fail(errs, field, "%s must be %zu to %zu characters long", field,
                             f->min_len, f->max_len);
        return false;
    }
    if (f->check && !f->check(s)) {
        body_fields_fail(errs, field, "%s: %s", field, f->rule ? f->rule : "invalid value");
        return false;
    }
    out->text = s;
    return true;
}

static bool check_one(const struct field_spec *f, json_t *v, const char *field,
                      struct field_value *out, struct field_errors *errs) {
    out->present = true;
    if (json_is_null(v)) {
        if (!f->nullable) {
            body_fields_fail(errs, field, "%s must not be null", field);
            return false;
        }
        out->is_null = true;
        return true;
    }
    switch (f->type) {
    case FIELD_TEXT: return check_text(f, v, field, out, errs);
    case FIELD_BOOL:
        if (json_is_boolean(v)) {
            out->boolean = json_is_true(v);
            return true;
        }
        if (f->int_bool && json_is_integer(v) &&
            (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
            out->boolean = json_integer_value(v) == 1;
            return true;
        }
        body_fields_fail(errs, field, "%s must be true or false%s", field,
                         f->int_bool ? " (or 1 or 0)" : "");
        return false;
    case FIELD_DATE: {
        struct query_date d;
        const char *s = json_string_value(v);
        if (!s || !parse_date(s, &d)) {
            body_fields_fail(errs, field, "%s must be a date (YYYY-MM-DD)", field);
            return false;
        }
        out->text = s;
        return true;
    }
    }
    return false;
}

bool body_fields_check(json_t *obj, const char *prefix, const struct field_spec *specs,
                       size_t nspecs, struct field_value *values, struct field_errors *errs) {
    char field[128];
    memset(values, 0, nspecs * sizeof *values);
    if (!json_is_object(obj)) {
        body_fields_fail(errs, *prefix ? prefix : "body", "%s must be a JSON object",
                         *prefix ? prefix : "the body");
        return false;
    }
    bool ok = true;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t i = 0;
        while (i < nspecs && strcmp(specs[i].name, key) != 0) i++;
        snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (i == nspecs) {
            body_fields_fail(errs, field, "unknown field %s", field);
            ok = false;
        } else if (!check_one(&specs[i], v, field, &values[i], errs)) {
            ok = false;
        }
    }
    for (size_t i = 0; i < nspecs; i++) {
        if (specs[i].required && !values[i].present) {
            snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", specs[i].name);
            body_fields_fail(errs, field, "%s is required", field);
            ok = false;
        }
    }
    return ok;
}

void body_fields_reply(struct request *req, struct field_errors *errs) {
    json_t *extra = json_pack("{s:s}", "field", errs->first_field);
    if (errs->list) json_object_set(extra, "errors", errs->list);
    if (errs->count > 1)
        reply_problem_with(req, PROBLEM_VALIDATION, extra, "%s (and %zu more)", errs->first_detail,
                           errs->count - 1);
    else
        reply_problem_with(req, PROBLEM_VALIDATION, extra, "%s", errs->first_detail);
    body_fields_errors_cleanup(errs);
}

void body_fields_errors_cleanup(struct field_errors *errs) {
    json_decref(errs->list);
    errs->list = NULL;
    errs->count = 0;
}
