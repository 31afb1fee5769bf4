/* job_args: checking a kind's arguments against its declaration (job.h), the CLI's
 * "name=value" conversion, and the retry backoff. Pure: no I/O. */
#include "job.h"

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
    out[0] = '\0';
    size_t used = 0;
    for (const struct job_arg *a = kind->args; a && a->name; a++) {
        int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", a->name);
        if (n < 0 || (size_t)n >= outlen - used) break;
        used += (size_t)n;
    }
    if (!used) snprintf(out, outlen, "none");
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

static int check_one(const struct job_arg *a, const json_t *v, struct job_error *err) {
    char field[80];
    snprintf(field, sizeof field, "args.%s", a->name);
    switch (a->type) {
    case JOB_ARG_INT: {
        if (!json_is_integer(v)) return refuse(err, field, "must be an integer");
        long long n = json_integer_value(v);
        if (n < a->min || n > a->max)
            return refuse(err, field, "must be from %lld to %lld (got %lld)", a->min, a->max, n);
        return 0;
    }
    case JOB_ARG_NUMBER: {
        if (!json_is_number(v)) return refuse(err, field, "must be a number");
        double n = json_number_value(v);
        if (!(n >= (double)a->min && n <= (double)a->max))
            return refuse(err, field, "must be from %lld to %lld (got %g)", a->min, a->max, n);
        return 0;
    }
    case JOB_ARG_BOOL:
        if (!json_is_boolean(v)) return refuse(err, field, "must be true or false");
        return 0;
    case JOB_ARG_STRING: {
        if (!json_is_string(v)) return refuse(err, field, "must be a string");
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
            return refuse(err, field, "must not contain NUL characters");
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return refuse(err, field, "must not contain control characters");
        long long n = (long long)utf8_chars(s);
        if (n < a->min || n > a->max)
            return refuse(err, field, "must be %lld to %lld characters long", a->min, a->max);
        return 0;
    }
    }
    return refuse(err, field, "has an unknown type");
}

int job_args_check(const struct job_kind *kind, const json_t *args, struct job_error *err) {
    if (args && !json_is_object(args)) return refuse(err, "args", "must be a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)args, key, value) {
        const struct job_arg *a = find_arg(kind, key);
        if (!a) {
            char field[80], known[200];
            snprintf(field, sizeof field, "args.%.70s", key);
            known_names(kind, known, sizeof known);
            return refuse(err, field, "is not an argument of %s (arguments: %s)", kind->name,
                          known);
        }
        if (check_one(a, value, err) != 0) return -1;
    }
    for (const struct job_arg *a = kind->args; a && a->name; a++) {
        if (a->required && !(args && json_object_get(args, a->name))) {
            char field[80];
            snprintf(field, sizeof field, "args.%s", a->name);
            return refuse(err, field, "is required by %s", kind->name);
        }
    }
    if (kind->validate) {
        json_t *empty = args ? NULL : json_object();
        int rc = kind->validate(args ? args : empty, err);
        json_decref(empty);
        if (rc != 0) return -1;
    }
    return 0;
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
