/* json_out: the one writer of response JSON, and the one spelling of each value type.
 *
 * Every JSON body sluice sends is compact (no whitespace outside strings), with UTF-8
 * strings as they are (only what JSON requires is escaped), numbers as plain decimals
 * (no exponent, no trailing zeros in the fraction, no -0) rounded to a fixed number of
 * decimals per field, times as RFC 3339 UTC to the second ("2025-01-31T03:00:00Z") and
 * dates as "YYYY-MM-DD". Text from anywhere (PostgreSQL's json_build_object, jansson)
 * goes through json_out_append, which enforces the first three; the SQL macros below
 * give the last three, so that a field is spelled the same by every statement.
 *
 * Memory: appends to a caller-owned textbuf (core/text.h); json_out_dump returns a
 * malloc'd string owned by the caller. */
#ifndef SLUICE_JSON_OUT_H
#define SLUICE_JSON_OUT_H

#include "core/text.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* SQL expressions that spell a value for JSON (use them in json_build_object, or select
 * them as text columns for api/json_row.h). NULL stays NULL. */
/* A timestamptz as RFC 3339 UTC to the second: text "2025-01-31T03:00:00Z". */
#define JSON_SQL_UTC(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* A date as text "YYYY-MM-DD". */
#define JSON_SQL_DATE(col) "to_char((" col "), 'YYYY-MM-DD')"
/* A number rounded (half away from zero) to `decimals` places, trailing zeros dropped:
 * numeric 12.5, never 12.5000. decimals is a literal, e.g. JSON_SQL_NUM("x", "4"). */
#define JSON_SQL_NUM(expr, decimals) "trim_scale(round((" expr ")::numeric, " decimals "))"

/* Appends the JSON text json[0..len) compacted: whitespace outside strings dropped,
 * numbers rewritten as plain decimals (json_out_number). Strings are copied as they are.
 * Returns 0, or -1 when the text is not well-formed JSON (b then holds a partial copy). */
int json_out_append(struct textbuf *b, const char *json, size_t len);

/* Writes the JSON number token num[0..len) as a plain decimal into out (outlen bytes):
 * "12.5000" -> "12.5", "3.0" -> "3", "-0.00" -> "0", "1.5e-05" -> "0.000015",
 * "1E+3" -> "1000". Returns the length written, or 0 when num is not a JSON number or
 * out is too small. */
size_t json_out_number(const char *num, size_t len, char *out, size_t outlen);

/* A jansson value as compact response text (json_out_append of its dump, reals with at
 * most 15 significant digits so that 0.1 stays 0.1); malloc'd, *len set; NULL on OOM. */
char *json_out_dump(const json_t *v, size_t *len);

/* True when json[0..len) is already as json_out_append would write it. */
bool json_out_is_canonical(const char *json, size_t len);

#endif
