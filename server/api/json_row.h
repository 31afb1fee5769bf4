/* json_row: JSON objects written straight from the text columns of a PGresult, for the
 * long lists (sessions, pieces) where building JSON in PostgreSQL (json_build_object)
 * costs more than the query itself. A list declares its members once (name, type); the
 * statement selects the columns in that order. Output is appended to a caller-owned
 * textbuf; nothing else is allocated. */
#ifndef SLUICE_JSON_ROW_H
#define SLUICE_JSON_ROW_H

#include "core/text.h"

#include <libpq-fe.h>
#include <stddef.h>

enum json_col_type {
    JCOL_INT,  /* an integer column, copied */
    JCOL_TEXT, /* any text, written as a JSON string */
    JCOL_NUM,  /* a float8 column, rounded to `decimals` and written as a number */
    JCOL_UTC,  /* to_json(t AT TIME ZONE 'UTC'): written as "YYYY-MM-DDTHH:MM:SS[.f]Z" */
};

struct json_col {
    const char *name;
    enum json_col_type type;
    int decimals; /* JCOL_NUM */
};

/* Appends {"name": value, ...} for row `row`, whose column first + i holds cols[i]. SQL
 * NULL (and a non-finite number) is written null. */
void json_row_append(struct textbuf *b, const PGresult *r, int row, int first,
                     const struct json_col *cols, size_t ncols);

/* Appends n bytes of s (a memcpy; textbuf_printf would format them byte by byte). */
void json_row_put(struct textbuf *b, const char *s, size_t n);

/* Appends s (NUL-terminated) as a JSON string. */
void json_row_string(struct textbuf *b, const char *s);

#endif
