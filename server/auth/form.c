/* form: the x-www-form-urlencoded decoder; see form.h. Values are wiped (they may be
 * passwords) before they are freed. */
#include "auth/form.h"

#include "core/text.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void wipe_free(char *p, size_t len) {
    sodium_memzero(p, len);
    free(p);
}

/* Decodes s[0..len) into a new string; *outlen gets its length. */
static enum form_status decode(const char *s, size_t len, char **out, size_t *outlen) {
    char *d = malloc(len + 1);
    if (!d) return FORM_NO_MEMORY;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
                wipe_free(d, o);
                return FORM_BAD_ESCAPE;
            }
            c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        }
        if (c == '\0') {
            wipe_free(d, o);
            return FORM_NUL;
        }
        d[o++] = c;
    }
    d[o] = '\0';
    if (!text_utf8_valid(d, o)) {
        wipe_free(d, o);
        return FORM_BAD_UTF8;
    }
    *out = d;
    *outlen = o;
    return FORM_OK;
}

/* Copies a name into err->field, printable ASCII only, for messages. */
static void name_for_error(struct form_error *err, const char *name, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < sizeof err->field; i++) {
        unsigned char c = (unsigned char)name[i];
        err->field[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    err->field[o] = '\0';
}

static enum form_status fail(struct form *out, struct form_error *err, enum form_status st,
                             const char *name, size_t name_len) {
    form_cleanup(out);
    err->status = st;
    name_for_error(err, name, name_len);
    return st;
}

enum form_status form_parse(const char *body, size_t len, struct form *out,
                            struct form_error *err) {
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    size_t pos = 0;
    while (pos < len) {
        const char *seg = body + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t seg_len = amp ? (size_t)(amp - seg) : len - pos;
        pos += seg_len + 1;
        if (seg_len == 0) continue; /* "a=1&&b=2" */
        const char *eq = memchr(seg, '=', seg_len);
        size_t raw_name_len = eq ? (size_t)(eq - seg) : seg_len;
        const char *raw_value = eq ? eq + 1 : seg + seg_len;
        size_t raw_value_len = eq ? seg_len - raw_name_len - 1 : 0;
        if (out->n == FORM_MAX_FIELDS) return fail(out, err, FORM_TOO_MANY, seg, raw_name_len);
        char *name = NULL, *value = NULL;
        size_t name_len = 0, value_len = 0;
        enum form_status st = decode(seg, raw_name_len, &name, &name_len);
        if (st != FORM_OK) return fail(out, err, st, seg, raw_name_len);
        st = decode(raw_value, raw_value_len, &value, &value_len);
        if (st != FORM_OK) {
            st = fail(out, err, st, name, name_len);
            free(name);
            return st;
        }
        if (form_get(out, name)) {
            st = fail(out, err, FORM_DUPLICATE, name, name_len);
            free(name);
            wipe_free(value, value_len);
            return st;
        }
        out->fields[out->n].name = name;
        out->fields[out->n].value = value;
        out->fields[out->n].value_len = value_len;
        out->n++;
    }
    return FORM_OK;
}

const char *form_get(const struct form *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0) return f->fields[i].value;
    return NULL;
}

void form_error_text(const struct form_error *err, char *buf, size_t len) {
    const char *f = err->field;
    switch (err->status) {
    case FORM_OK: snprintf(buf, len, "the form is well-formed"); break;
    case FORM_BAD_ESCAPE:
        snprintf(buf, len, "field \"%s\" holds a malformed %%-escape (expected %%XX)", f);
        break;
    case FORM_NUL: snprintf(buf, len, "field \"%s\" contains a NUL byte", f); break;
    case FORM_BAD_UTF8: snprintf(buf, len, "field \"%s\" is not valid UTF-8", f); break;
    case FORM_DUPLICATE: snprintf(buf, len, "field \"%s\" is repeated", f); break;
    case FORM_TOO_MANY:
        snprintf(buf, len, "the form has more than %d fields", FORM_MAX_FIELDS);
        break;
    case FORM_NO_MEMORY: snprintf(buf, len, "out of memory while decoding the form"); break;
    }
}

void form_cleanup(struct form *f) {
    for (size_t i = 0; i < f->n; i++) {
        free(f->fields[i].name);
        if (f->fields[i].value) wipe_free(f->fields[i].value, f->fields[i].value_len);
    }
    f->n = 0;
}
