/* erp_clean: the cleaning and mapping rules of an ERP order row (specs/erp-orders.md),
 * as pure functions: text cleaning (NUL bytes, spaces, double-encoding repair), case and
 * accent folding, the status mapping, the bounds of each field, dates (zero dates
 * refused) and the one-row-per-order preference. No I/O, no allocation: results are
 * written into caller-owned buffers. */
#ifndef SLUICE_ERP_CLEAN_H
#define SLUICE_ERP_CLEAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The query's columns, by their aliases. */
enum erp_col {
    ERP_COL_NUMERO,    /* numero_commande */
    ERP_COL_EXTENSION, /* extension */
    ERP_COL_STATUS,    /* status */
    ERP_COL_DATE,      /* date_modification */
    ERP_COL_COFFRE,    /* coffre */
    ERP_COL_STOCK,     /* gestion_en_stock */
    ERP_COL_COUNT
};

/* Why a row was rejected: the field at fault (ERP_OK: kept). */
enum erp_reject {
    ERP_OK = -1,
    ERP_REJECT_NUMERO = ERP_COL_NUMERO,
    ERP_REJECT_EXTENSION = ERP_COL_EXTENSION,
    ERP_REJECT_STATUS = ERP_COL_STATUS,
    ERP_REJECT_DATE = ERP_COL_DATE,
    ERP_REJECT_COFFRE = ERP_COL_COFFRE,
    ERP_REJECT_STOCK = ERP_COL_STOCK,
};

#define ERP_NUMERO_MAX 20   /* characters */
#define ERP_EXTENSION_MAX 5 /* characters */
#define ERP_COFFRE_MAX 50   /* characters */
#define ERP_TEXT_MAX 1024   /* bytes of a cleaned status text kept beside the status */

/* The column alias of a field ("numero_commande", ...). Static. */
const char *erp_col_name(enum erp_col c);
/* The field whose alias is name (case-insensitive), or -1. */
int erp_col_find(const char *name);

/* The canonical statuses, in the order the mapping tries them. */
#define ERP_STATUS_COUNT 5
extern const char *const erp_statuses[ERP_STATUS_COUNT];

/* Cleans in[0..len) into out (at least len + 1 bytes; the result is never longer):
 * NUL bytes removed, then spaces trimmed at both ends, then double encoding repaired
 * (a value whose characters are all Latin-1 and whose Latin-1 bytes are valid UTF-8
 * with at least one multi-byte sequence is decoded once). Returns the cleaned length;
 * out is NUL-terminated. */
size_t erp_clean_text(const char *in, size_t len, char *out);

/* Number of UTF-8 characters in s[0..len), or -1 when it is not valid UTF-8. */
long erp_utf8_chars(const char *s, size_t len);

/* Folds case and accents of UTF-8 text into lower-case ASCII where it can (é → e,
 * Œ → oe, ...; other characters are copied). out needs 2 * len + 1 bytes. Returns the
 * folded length. */
size_t erp_fold(const char *in, size_t len, char *out);

/* The canonical status that the (cleaned) text maps to, or NULL when it holds none. */
const char *erp_status_map(const char *text, size_t len);

/* A calendar date from "YYYY-MM-DD" (optionally followed by a time: " HH:MM:SS..." or
 * "T..."); zero dates and impossible dates are refused. 0 with *days (since 1970-01-01)
 * and the canonical "YYYY-MM-DD" in iso (11 bytes), or -1. */
int erp_parse_date(const char *s, size_t len, int32_t *days, char iso[11]);

/* One cleaned order row. Strings are NUL-terminated. */
struct erp_order {
    char numero[ERP_NUMERO_MAX * 4 + 1];
    char extension[ERP_EXTENSION_MAX * 4 + 1];
    const char *status; /* one of erp_statuses */
    char status_text[ERP_TEXT_MAX + 1];
    char date[11]; /* YYYY-MM-DD */
    int32_t days;
    bool coffre_null;
    char coffre[ERP_COFFRE_MAX * 4 + 1];
    bool stock;
};

/* A raw row: the six values (NULL for SQL NULL) and their byte lengths. */
struct erp_raw {
    const char *values[ERP_COL_COUNT];
    size_t lengths[ERP_COL_COUNT];
};

/* Cleans and checks a raw row into *out. ERP_OK, or the field that rejected it (*out is
 * then unspecified). scratch: at least as many bytes as the longest value, plus one. */
enum erp_reject erp_clean_row(const struct erp_raw *raw, struct erp_order *out, char *scratch,
                              size_t scratch_len);

/* Whether two cleaned rows are the same order (numero_commande, extension). */
bool erp_same_order(const struct erp_order *a, const struct erp_order *b);
/* The one-row-per-order rule: true when a should be kept over b (gestion_en_stock = 1
 * first, then the latest date, then the smallest coffre in byte order, NULL last; rows
 * equal on those: the smallest status, then status text, in byte order). */
bool erp_order_better(const struct erp_order *a, const struct erp_order *b);

#endif
