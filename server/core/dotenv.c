/* dotenv: `.env` syntax, see dotenv.h. Values are assembled in one heap buffer owned by
 * dotenv_parse and freed before it returns. */
#include "core/dotenv.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *p, *end;
    size_t line;
};

static bool at_end(const struct cursor *c) { return c->p >= c->end; }

static void skip_blanks(struct cursor *c) {
    while (!at_end(c) && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static void skip_line(struct cursor *c) {
    while (!at_end(c) && *c->p != '\n') c->p++;
    if (!at_end(c)) {
        c->p++;
        c->line++;
    }
}

static bool is_key_start(char ch) { return isalpha((unsigned char)ch) || ch == '_'; }
static bool is_key_char(char ch) { return isalnum((unsigned char)ch) || ch == '_' || ch == '.'; }

static int fail(struct dotenv_error *err, size_t line, const char *reason) {
    if (err) {
        err->line = line;
        err->reason = reason;
    }
    return -1;
}

/* After a value: only blanks, a comment or the end of the line may follow. */
static bool rest_of_line_empty(struct cursor *c) {
    skip_blanks(c);
    if (!at_end(c) && *c->p == '\r') c->p++;
    if (at_end(c) || *c->p == '\n' || *c->p == '#') {
        skip_line(c);
        return true;
    }
    return false;
}

static int read_double_quoted(struct cursor *c, char *out, size_t *n) {
    c->p++; /* opening quote */
    while (!at_end(c)) {
        char ch = *c->p++;
        if (ch == '"') return 0;
        if (ch == '\n') c->line++;
        if (ch == '\\' && !at_end(c)) {
            char e = *c->p++;
            if (e == '\n') c->line++; /* kept as backslash + newline, but still a line */
            switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case '\\':
            case '"':
            case '$':
            case '\'': ch = e; break;
            default:
                out[(*n)++] = '\\';
                ch = e;
                break;
            }
        }
        out[(*n)++] = ch;
    }
    return -1;
}

static int read_single_quoted(struct cursor *c, char *out, size_t *n) {
    c->p++;
    while (!at_end(c)) {
        char ch = *c->p++;
        if (ch == '\'') return 0;
        if (ch == '\n') c->line++;
        out[(*n)++] = ch;
    }
    return -1;
}

/* The value starts after `=` and any blanks; a `#` preceded by a blank in the input (also
 * the blanks skipped after `=`, so that `KEY= # note` is empty) starts a comment. */
static void read_unquoted(struct cursor *c, char *out, size_t *n) {
    while (!at_end(c) && *c->p != '\n') {
        if (*c->p == '#' && (c->p[-1] == ' ' || c->p[-1] == '\t')) break;
        out[(*n)++] = *c->p++;
    }
    while (*n > 0 && (out[*n - 1] == ' ' || out[*n - 1] == '\t' || out[*n - 1] == '\r')) (*n)--;
    skip_line(c);
}

int dotenv_parse(const char *buf, size_t len, dotenv_fn fn, void *userdata,
                 struct dotenv_error *err) {
    if (len > 0 && memchr(buf, '\0', len)) {
        const char *nul = memchr(buf, '\0', len);
        size_t line = 1;
        for (const char *q = buf; q < nul; q++) line += *q == '\n';
        return fail(err, line, "NUL byte in file");
    }
    /* A value is never longer than the file: one buffer serves every line. */
    char *value = malloc(len + 1);
    char *key = malloc(len + 1);
    if (!value || !key) {
        free(value);
        free(key);
        return fail(err, 0, "out of memory");
    }
    struct cursor c = {buf, buf + len, 1};
    int rc = 0;
    while (!at_end(&c)) {
        skip_blanks(&c);
        if (at_end(&c)) break;
        if (*c.p == '#' || *c.p == '\n' || *c.p == '\r') {
            if (*c.p == '\r' && c.p + 1 < c.end && c.p[1] != '\n') {
                rc = fail(err, c.line, "stray carriage return");
                break;
            }
            skip_line(&c);
            continue;
        }
        if ((size_t)(c.end - c.p) > 7 && memcmp(c.p, "export", 6) == 0 &&
            (c.p[6] == ' ' || c.p[6] == '\t')) {
            c.p += 7;
            skip_blanks(&c);
        }
        size_t line = c.line;
        if (at_end(&c) || !is_key_start(*c.p)) {
            rc = fail(err, line, "expected a variable name (letters, digits, _)");
            break;
        }
        size_t klen = 0;
        while (!at_end(&c) && is_key_char(*c.p)) key[klen++] = *c.p++;
        key[klen] = '\0';
        skip_blanks(&c);
        if (at_end(&c) || *c.p != '=') {
            rc = fail(err, line, "expected '=' after the variable name");
            break;
        }
        c.p++;
        skip_blanks(&c);
        size_t vlen = 0;
        if (!at_end(&c) && (*c.p == '"' || *c.p == '\'')) {
            int q = *c.p == '"' ? read_double_quoted(&c, value, &vlen)
                                : read_single_quoted(&c, value, &vlen);
            if (q != 0) {
                rc = fail(err, line, "unterminated quoted value");
                break;
            }
            if (!rest_of_line_empty(&c)) {
                rc = fail(err, c.line, "unexpected characters after the closing quote");
                break;
            }
        } else {
            read_unquoted(&c, value, &vlen);
        }
        value[vlen] = '\0';
        rc = fn(key, value, userdata);
        if (rc != 0) break;
    }
    free(value);
    free(key);
    return rc;
}
