/* dotenv: parser for `.env` files. Bytes in, (key, value) pairs out through a callback;
 * no I/O and no allocation visible to the caller (key and value are borrowed for the
 * duration of the callback only). */
#ifndef SLUICE_DOTENV_H
#define SLUICE_DOTENV_H

#include <stddef.h>

struct dotenv_error {
    size_t line;        /* 1-based line of the error */
    const char *reason; /* static string */
};

/* Called once per assignment; return non-zero to stop parsing (returned as is). */
typedef int (*dotenv_fn)(const char *key, const char *value, void *userdata);

/* Parses KEY=VALUE lines: `#` comments, blank lines, optional `export `, unquoted values
 * (trailing ` # comment` and spaces stripped), 'single' quotes (literal) and "double"
 * quotes (\n \t \r \\ \" \$ escapes, may span lines). Returns 0 on success, -1 on a
 * syntax error (err filled), or the callback's non-zero value. */
int dotenv_parse(const char *buf, size_t len, dotenv_fn fn, void *userdata,
                 struct dotenv_error *err);

#endif
