/* json_row: JSON objects written straight from the text columns of a PGresult, for the
 * long lists (sessions, pieces) where building JSON in PostgreSQL (json_build_object)
 * costs more than the query itself. A resource declares its members once (name, type);
 * its statements select the columns in that order, and its list and its detail both
 * write them from that one declaration, so a field is spelled the same in both. The
 * spelling of each type is core/json_out.h's. Output is appended to a caller-owned
 * textbuf; nothing else is allocated. */
#ifndef SLUICE_JSON_ROW_H
#define SLUICE_JSON_ROW_H

#include "core/json_out.h"
#include "core/text.h"

#include <libpq-fe.h>
#include <stddef.h>

enum json_col_type {
    JCOL_INT,  /* an integer column, copied */
    JCOL_TEXT, /* any text, written as a JSON string */
    JCOL_NUM,  /* a float8 column, rounded to `decimals` and written as a number */
    JCOL_UTC,  /* JSON_SQL_UTC(t) (text "YYYY-MM-DDTHH:MM:SSZ"): written as a string */
    JCOL_JSON, /* JSON text (json_agg, a nested object): written through json_out_append */
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

/* The same members without the braces (to add more members to the object). */
void json_row_members(struct textbuf *b, const PGresult *r, int row, int first,
                      const struct json_col *cols, size_t ncols);

/* Appends n bytes of s: textbuf_put (kept for the handlers written with it). */
static inline void json_row_put(struct textbuf *b, const char *s, size_t n) {
    textbuf_put(b, s, n);
}

/* Appends s (NUL-terminated) as a JSON string. */
void json_row_string(struct textbuf *b, const char *s);

#endif
