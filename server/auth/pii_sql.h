/* pii_sql: personal data (auth/pii.h) as bound bytea parameters and out of result
 * columns — the glue every table with sealed columns uses (users, patients): seal a
 * value into ciphertext, nonce and optional blind-index parameters, open a ciphertext +
 * nonce column pair of a PGresult. Keys are pii_global(). Strings returned are owned by
 * the caller (pii_param_cleanup, free). */
#ifndef SLUICE_PII_SQL_H
#define SLUICE_PII_SQL_H

#include "auth/pii.h"

#include <libpq-fe.h>
#include <stdbool.h>

enum pii_index_kind {
    PII_NO_INDEX,
    PII_EMAIL_INDEX, /* pii_email_index: the lower-cased address */
    PII_NAME_INDEX,  /* pii_name_index: the normalised name */
};

struct pii_param {
    char *ct, *nonce, *index; /* "\x..." bytea parameters, owned; NULL for SQL NULL */
};

/* Seals value for field (NULL value: all three NULL). 0, or -1 when sealing failed
 * (no PII_KEY, out of memory); *out needs pii_param_cleanup either way. */
int pii_param_seal(const char *field, const char *value, enum pii_index_kind index,
                   struct pii_param *out);
void pii_param_cleanup(struct pii_param *p);

/* Opens the pair at columns ct_col (ciphertext) and ct_col + 1 (nonce) of row: a new
 * string (free), or NULL when the column is NULL (*ok untouched) or unreadable (*ok set
 * false: altered, another key). */
char *pii_result_open(const PGresult *r, int row, int ct_col, const char *field, bool *ok);

/* Blind index of a person's name: keyed BLAKE2b-256 of "name:" + the name trimmed, its
 * runs of white space made one space and ASCII letters lower-cased, so that
 * "  Jeanne   DUPONT" and "jeanne dupont" match. */
void pii_name_index(const struct pii_keys *k, const char *name, unsigned char out[PII_INDEX_BYTES]);

#endif
