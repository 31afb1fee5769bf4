/* form: decoder of application/x-www-form-urlencoded bodies (WHATWG URL standard:
 * `&`-separated `name=value`, `+` is a space, `%XX` escapes). Pure: no I/O. Strict
 * where the OAuth token endpoint needs it: a repeated name, a NUL byte (raw or %00), a
 * malformed escape or a name or value that is not valid UTF-8 is an error naming the
 * field. A struct form owns its decoded strings; free them with form_cleanup. */
#ifndef SLUICE_FORM_H
#define SLUICE_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 64

struct form_field {
    char *name;  /* NUL-terminated, valid UTF-8, no NUL inside */
    char *value; /* same */
    size_t value_len;
};

struct form {
    struct form_field fields[FORM_MAX_FIELDS];
    size_t n;
};

enum form_status {
    FORM_OK,
    FORM_BAD_ESCAPE, /* % not followed by two hex digits */
    FORM_NUL,        /* a NUL byte in a name or value */
    FORM_BAD_UTF8,   /* a name or value is not valid UTF-8 once decoded */
    FORM_DUPLICATE,  /* a name appears twice */
    FORM_TOO_MANY,   /* more than FORM_MAX_FIELDS fields */
    FORM_NO_MEMORY,
};

struct form_error {
    enum form_status status;
    char field[64]; /* the field concerned (decoded, truncated, made printable) */
};

/* Decodes body[0..len). On error, *err says what and where; *out is then empty. */
enum form_status form_parse(const char *body, size_t len, struct form *out, struct form_error *err);

/* The value of name, or NULL; borrowed from f. */
const char *form_get(const struct form *f, const char *name);

/* A sentence describing err, e.g. `field "password" is repeated`, into buf. */
void form_error_text(const struct form_error *err, char *buf, size_t len);

void form_cleanup(struct form *f);

#endif
