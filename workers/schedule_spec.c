/* schedule_spec: parser of SCHEDULES; see schedule_spec.h. */
#include "schedule_spec.h"

#include "job.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int schedule_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !isalnum((unsigned char)name[0])) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '_' || c == '.' || c == '-')) return 0;
    }
    return 1;
}

__attribute__((format(printf, 4, 5))) static int bad(char *err, size_t errlen, size_t index,
                                                     const char *fmt, ...) {
    int n = snprintf(err, errlen, "SCHEDULES entry %zu: ", index);
    if (n > 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Next token of s (after blanks) into tok; returns the position after it, or NULL. */
static const char *token(const char *s, char *tok, size_t toklen) {
    while (blank(*s)) s++;
    if (!*s) return NULL;
    size_t n = 0;
    while (s[n] && !blank(s[n])) n++;
    if (n >= toklen) n = toklen - 1;
    memcpy(tok, s, n);
    tok[n] = '\0';
    while (s[n] && !blank(s[n])) n++;
    return s + n;
}

static int parse_entry(char *entry, size_t index, struct schedule_spec *sp, char *err,
                       size_t errlen) {
    sp->entry = strdup(entry);
    if (!sp->entry) return bad(err, errlen, index, "out of memory");
    char *eq = strchr(entry, '=');
    if (!eq) return bad(err, errlen, index, "\"%.60s\" is not NAME=CRON [KIND [ARGS]]", entry);
    *eq = '\0';
    char *name = entry, *end = eq;
    while (end > name && blank(end[-1])) *--end = '\0';
    if (!schedule_name_valid(name))
        return bad(err, errlen, index,
                   "\"%.64s\" is not a schedule name (letters, digits, "
                   "_ . -; at most 64)",
                   name);
    snprintf(sp->name, sizeof sp->name, "%s", name);

    const char *p = eq + 1;
    char tok[CRON_MAX_LENGTH + 1];
    sp->cron[0] = '\0';
    int fields = 0;
    while (fields < 5) {
        const char *next = token(p, tok, sizeof tok);
        if (!next) break;
        if (fields == 0 && tok[0] == '@') {
            snprintf(sp->cron, sizeof sp->cron, "%s", tok);
            p = next;
            fields = 5;
            break;
        }
        size_t used = strlen(sp->cron);
        snprintf(sp->cron + used, sizeof sp->cron - used, "%s%s", used ? " " : "", tok);
        p = next;
        fields++;
    }
    struct cron c;
    char why[256];
    if (cron_parse(sp->cron, &c, why, sizeof why) != 0)
        return bad(err, errlen, index, "%s: cron \"%s\": %s", sp->name, sp->cron, why);

    while (blank(*p)) p++;
    if (*p && *p != '{') {
        const char *next = token(p, tok, sizeof tok);
        size_t n = strlen(tok);
        if (n >= sizeof sp->kind)
            return bad(err, errlen, index, "%s: the kind name is too long", sp->name);
        memcpy(sp->kind, tok, n + 1);
        p = next;
        while (blank(*p)) p++;
    } else {
        snprintf(sp->kind, sizeof sp->kind, "%s", sp->name);
    }
    const struct job_kind *kind = job_kind_find(sp->kind);
    if (!kind) return bad(err, errlen, index, "%s: no job kind named \"%s\"", sp->name, sp->kind);
    json_t *args = NULL;
    if (*p) {
        json_error_t je;
        args = json_loads(p, 0, &je);
        if (!args || !json_is_object(args)) {
            json_decref(args);
            return bad(err, errlen, index, "%s: arguments must be one JSON object (%s)", sp->name,
                       args ? "not an object" : je.text);
        }
    } else {
        args = json_object();
    }
    struct job_error je;
    if (job_args_check(kind, args, &je) != 0) {
        json_decref(args);
        return bad(err, errlen, index, "%s: %s %s", sp->name, je.field, je.message);
    }
    sp->args_json = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(args);
    if (!sp->args_json) return bad(err, errlen, index, "out of memory");
    return 0;
}

int schedule_specs_parse(const char *text, struct schedule_specs *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!text) return 0;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) return bad(err, errlen, 0, "out of memory");
    memcpy(copy, text, len + 1);
    int rc = 0;
    size_t index = 0;
    char *start = copy;
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char *q = copy;; q++) {
        char ch = *q;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (ch == '\\')
                escaped = true;
            else if (ch == '"')
                in_string = false;
            if (ch) continue;
        } else if (ch == '"' && depth > 0) {
            in_string = true;
            continue;
        } else if (ch == '{') {
            depth++;
        } else if (ch == '}' && depth > 0) {
            depth--;
        }
        if (ch != '\0' && !(ch == ';' && depth == 0)) continue;
        *q = '\0';
        while (blank(*start)) start++;
        char *e = start + strlen(start);
        while (e > start && blank(e[-1])) *--e = '\0';
        if (*start) {
            index++;
            struct schedule_spec *items = realloc(out->items, (out->n + 1) * sizeof *items);
            if (!items) {
                rc = bad(err, errlen, index, "out of memory");
                break;
            }
            out->items = items;
            memset(&out->items[out->n], 0, sizeof out->items[out->n]);
            out->n++;
            if (parse_entry(start, index, &out->items[out->n - 1], err, errlen) != 0) {
                rc = -1;
                break;
            }
            for (size_t i = 0; i + 1 < out->n; i++) {
                if (strcmp(out->items[i].name, out->items[out->n - 1].name) == 0) {
                    rc = bad(err, errlen, index, "%s: the name is used twice", out->items[i].name);
                    break;
                }
            }
            if (rc) break;
        }
        if (ch == '\0') break;
        start = q + 1;
    }
    free(copy);
    if (rc) schedule_specs_cleanup(out);
    return rc;
}

void schedule_specs_cleanup(struct schedule_specs *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].args_json);
        free(s->items[i].entry);
    }
    free(s->items);
    s->items = NULL;
    s->n = 0;
}
