/* job_args: checking a kind's arguments against its declaration (job.h) with the one
 * body checker (api/body_fields.h, so the API answers the same 422 as for any body),
 * the CLI's "name=value" conversion, and the retry backoff. Pure: no I/O. */
#include "job.h"

#include "api/body_fields.h"
#include "core/text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 3, 4))) static int refuse(struct job_error *err, const char *field,
                                                        const char *fmt, ...) {
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static const struct job_arg *find_arg(const struct job_kind *kind, const char *name) {
    for (const struct job_arg *a = kind->args; a && a->name; a++)
        if (strcmp(a->name, name) == 0) return a;
    return NULL;
}

static void known_names(const struct job_kind *kind, char *out, size_t outlen) {
    struct textbuf b = {0};
    for (const struct job_arg *a = kind->args; a && a->name; a++) {
        if (b.len) textbuf_put(&b, ", ", 2);
        textbuf_put(&b, a->name, strlen(a->name));
    }
    snprintf(out, outlen, "%s", b.data ? b.data : "none");
    free(b.data);
}

/* The kind's declared arguments as body_fields specs (job.h's types map one to one). */
static size_t arg_specs(const struct job_kind *kind, struct field_spec *specs, size_t max) {
    size_t n = 0;
    for (const struct job_arg *a = kind->args; a && a->name && n < max; a++, n++) {
        specs[n] = (struct field_spec){.name = a->name, .required = a->required};
        switch (a->type) {
        case JOB_ARG_INT:
            specs[n].type = FIELD_INT;
            specs[n].min = a->min;
            specs[n].max = a->max;
            break;
        case JOB_ARG_NUMBER:
            specs[n].type = FIELD_NUMBER;
            specs[n].min = a->min;
            specs[n].max = a->max;
            break;
        case JOB_ARG_BOOL: specs[n].type = FIELD_BOOL; break;
        case JOB_ARG_STRING:
            specs[n].type = FIELD_TEXT;
            specs[n].min_len = a->min > 0 ? (size_t)a->min : 0;
            specs[n].max_len = a->max > 0 ? (size_t)a->max : 0;
            break;
        }
    }
    return n;
}

bool job_args_collect(const struct job_kind *kind, json_t *args, struct field_errors *errs) {
    struct field_spec specs[JOB_MAX_ARGS];
    struct field_value values[JOB_MAX_ARGS];
    size_t n = arg_specs(kind, specs, JOB_MAX_ARGS);
    json_t *empty = args ? NULL : json_object();
    bool ok = body_fields_check(args ? args : empty, "args", specs, n, values, errs);
    if (ok && kind->validate) {
        struct job_error err;
        if (kind->validate(args ? args : empty, &err) != 0) {
            body_fields_fail_rule(errs, err.field, "%s", err.message);
            ok = false;
        }
    }
    json_decref(empty);
    return ok;
}

int job_args_check(const struct job_kind *kind, const json_t *args, struct job_error *err) {
    struct field_errors errs = {0};
    bool ok = job_args_collect(kind, (json_t *)args, &errs);
    if (!ok) {
        snprintf(err->field, sizeof err->field, "%.79s", errs.first_field);
        snprintf(err->message, sizeof err->message, "%.255s", errs.first_rule);
    }
    body_fields_errors_cleanup(&errs);
    return ok ? 0 : -1;
}

int job_args_set_text(const struct job_kind *kind, json_t *args, const char *assignment,
                      struct job_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return refuse(err, "args", "\"%.100s\" is not name=value", assignment);
    char name[64];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof name) return refuse(err, "args", "argument name too long");
    memcpy(name, assignment, n);
    name[n] = '\0';
    const char *text = eq + 1;
    const struct job_arg *a = find_arg(kind, name);
    char field[80];
    snprintf(field, sizeof field, "args.%s", name);
    if (!a) {
        char known[200];
        known_names(kind, known, sizeof known);
        return refuse(err, field, "is not an argument of %s (arguments: %s)", kind->name, known);
    }
    json_t *v = NULL;
    switch (a->type) {
    case JOB_ARG_INT: {
        errno = 0;
        char *end = NULL;
        long long x = strtoll(text, &end, 10);
        if (errno || end == text || *end != '\0')
            return refuse(err, field, "must be an integer (got \"%.60s\")", text);
        v = json_integer(x);
        break;
    }
    case JOB_ARG_BOOL:
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcasecmp(text, "yes") == 0)
            v = json_true();
        else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0 ||
                 strcasecmp(text, "no") == 0)
            v = json_false();
        else
            return refuse(err, field, "must be true or false (got \"%.60s\")", text);
        break;
    case JOB_ARG_NUMBER: {
        errno = 0;
        char *end = NULL;
        double x = strtod(text, &end);
        if (errno || end == text || *end != '\0' || !isfinite(x))
            return refuse(err, field, "must be a number (got \"%.60s\")", text);
        v = json_real(x);
        break;
    }
    case JOB_ARG_STRING: v = json_string(text); break;
    }
    if (!v) return refuse(err, field, "is not valid text (UTF-8 expected)");
    json_object_set_new(args, name, v);
    return 0;
}

double job_backoff_seconds(double base, double max, int attempt, double unit) {
    if (attempt < 1) attempt = 1;
    if (attempt > 40) attempt = 40;
    double d = base * ldexp(1.0, attempt - 1);
    if (d > max) d = max;
    if (d < 0) d = 0;
    if (unit < 0) unit = 0;
    if (unit >= 1) unit = 0.999999;
    return d / 2 + d / 2 * unit;
}
