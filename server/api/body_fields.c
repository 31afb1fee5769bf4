/* body_fields: the JSON object checker; see body_fields.h. */
#include "api/body_fields.h"

#include "api/query_params.h"
#include "core/text.h"
#include "http/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LISTED 20

static void add(struct field_errors *errs, const char *field, const char *rule,
                const char *detail) {
    if (errs->count == 0) {
        snprintf(errs->first_field, sizeof errs->first_field, "%s", field);
        snprintf(errs->first_detail, sizeof errs->first_detail, "%s", detail);
        snprintf(errs->first_rule, sizeof errs->first_rule, "%s", rule);
    }
    errs->count++;
    if (errs->count > MAX_LISTED) return;
    if (!errs->list) errs->list = json_array();
    json_array_append_new(errs->list, json_pack("{s:s,s:s}", "field", field, "detail", detail));
}

void body_fields_fail(struct field_errors *errs, const char *field, const char *fmt, ...) {
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    add(errs, field, detail, detail);
}

void body_fields_fail_rule(struct field_errors *errs, const char *field, const char *fmt, ...) {
    char rule[320], detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    snprintf(detail, sizeof detail, "%.60s %s", field, rule);
    add(errs, field, rule, detail);
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
        body_fields_fail_rule(errs, field, "must be a string");
        return false;
    }
    size_t len = json_string_length(v);
    if (strlen(s) != len) {
        body_fields_fail_rule(errs, field, "must not contain NUL characters");
        return false;
    }
    if (!f->any_text && has_control(s)) {
        body_fields_fail_rule(errs, field, "must not contain control characters");
        return false;
    }
    if (f->choices) {
        for (size_t i = 0; f->choices[i]; i++) {
            if (strcasecmp(s, f->choices[i]) == 0) {
                out->text = f->choices[i];
                out->len = strlen(f->choices[i]);
                return true;
            }
        }
        struct textbuf known = {0};
        textbuf_join(&known, f->choices, SIZE_MAX, ", ");
        body_fields_fail_rule(errs, field, "must be one of: %.250s", known.data ? known.data : "");
        free(known.data);
        return false;
    }
    size_t chars = utf8_chars(s);
    if (!f->any_text && (chars < f->min_len || chars > f->max_len)) {
        if (f->min_len == f->max_len)
            body_fields_fail_rule(errs, field, "must be %zu characters long", f->min_len);
        else
            body_fields_fail_rule(errs, field, "must be %zu to %zu characters long", f->min_len,
                                  f->max_len);
        return false;
    }
    if (f->check && !f->check(s)) {
        const char *rule = f->rule ? f->rule : "invalid value";
        char detail[384];
        snprintf(detail, sizeof detail, "%.60s: %s", field, rule);
        add(errs, field, rule, detail);
        return false;
    }
    const char *why = f->explain ? f->explain(s, len) : NULL;
    if (why) {
        char detail[384];
        snprintf(detail, sizeof detail, "%.60s: %s", field, why);
        add(errs, field, why, detail);
        return false;
    }
    out->text = s;
    out->len = len;
    return true;
}

static bool check_one(const struct field_spec *f, json_t *v, const char *field,
                      struct field_value *out, struct field_errors *errs) {
    out->present = true;
    if (json_is_null(v)) {
        if (!f->nullable) {
            body_fields_fail_rule(errs, field, "must not be null");
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
        body_fields_fail_rule(errs, field, "must be true or false%s",
                              f->int_bool ? " (or 1 or 0)" : "");
        return false;
    case FIELD_DATE: {
        struct query_date d;
        const char *s = json_string_value(v);
        if (!s || !parse_date(s, &d)) {
            body_fields_fail_rule(errs, field, "must be a date (YYYY-MM-DD)");
            return false;
        }
        out->text = s;
        return true;
    }
    case FIELD_INT: {
        if (!json_is_integer(v)) {
            body_fields_fail_rule(errs, field, "must be an integer from %lld to %lld", f->min,
                                  f->max);
            return false;
        }
        long long n = json_integer_value(v);
        if (n < f->min || n > f->max) {
            body_fields_fail_rule(errs, field, "must be an integer from %lld to %lld (got %lld)",
                                  f->min, f->max, n);
            return false;
        }
        out->integer = n;
        return true;
    }
    case FIELD_NUMBER: {
        double n = json_is_number(v) ? json_number_value(v) : 0;
        if (!json_is_number(v) || !(n >= (double)f->min && n <= (double)f->max)) {
            body_fields_fail_rule(errs, field, "must be a number from %lld to %lld", f->min,
                                  f->max);
            return false;
        }
        out->number = n;
        return true;
    }
    case FIELD_INSTANT: {
        struct query_time t;
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) > 64 || strlen(s) != json_string_length(v) ||
            !parse_instant(s, &t)) {
            body_fields_fail_rule(errs, field,
                                  "must be an RFC 3339 date-time with an offset, e.g. "
                                  "2025-01-31T03:00:00Z");
            return false;
        }
        snprintf(out->instant, sizeof out->instant, "%s", t.text);
        out->text = out->instant;
        return true;
    }
    case FIELD_OBJECT:
        if (!json_is_object(v)) {
            body_fields_fail_rule(errs, field, "must be a JSON object");
            return false;
        }
        out->json = v;
        return true;
    }
    return false;
}

static void known_names(const struct field_spec *specs, size_t nspecs, struct textbuf *out) {
    for (size_t i = 0; i < nspecs; i++) {
        if (i) textbuf_put(out, ", ", 2);
        textbuf_put(out, specs[i].name, strlen(specs[i].name));
    }
    if (nspecs == 0) textbuf_put(out, "none", 4);
}

bool body_fields_check(json_t *obj, const char *prefix, const struct field_spec *specs,
                       size_t nspecs, struct field_value *values, struct field_errors *errs) {
    char field[128];
    memset(values, 0, nspecs * sizeof *values);
    if (!json_is_object(obj)) {
        body_fields_fail_rule(errs, *prefix ? prefix : "body", "must be a JSON object");
        return false;
    }
    bool ok = true;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t i = 0;
        while (i < nspecs && strcmp(specs[i].name, key) != 0) i++;
        snprintf(field, sizeof field, "%s%s%.80s", prefix, *prefix ? "." : "", key);
        if (i == nspecs) {
            struct textbuf known = {0};
            known_names(specs, nspecs, &known);
            body_fields_fail_rule(errs, field, "is not a known field (known: %.200s)",
                                  known.data ? known.data : "");
            free(known.data);
            ok = false;
        } else if (!check_one(&specs[i], v, field, &values[i], errs)) {
            ok = false;
        }
    }
    for (size_t i = 0; i < nspecs; i++) {
        if (specs[i].required && !values[i].present) {
            snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "", specs[i].name);
            body_fields_fail_rule(errs, field, "is required");
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
