/* pii_sql: sealed columns as bound parameters and back; see pii_sql.h. */
#include "auth/pii_sql.h"

#include "auth/bytea.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void pii_param_cleanup(struct pii_param *p) {
    free(p->ct);
    free(p->nonce);
    free(p->index);
    memset(p, 0, sizeof *p);
}

int pii_param_seal(const char *field, const char *value, enum pii_index_kind index,
                   struct pii_param *out) {
    memset(out, 0, sizeof *out);
    if (!value) return 0;
    const struct pii_keys *k = pii_global();
    if (!k) return -1;
    size_t len = strlen(value);
    unsigned char *ct = malloc(len + PII_TAG_BYTES);
    unsigned char nonce[PII_NONCE_BYTES];
    if (!ct || pii_seal(k, field, value, len, ct, nonce) != 0) {
        free(ct);
        return -1;
    }
    out->ct = bytea_param(ct, len + PII_TAG_BYTES);
    out->nonce = bytea_param(nonce, sizeof nonce);
    free(ct);
    if (index != PII_NO_INDEX) {
        unsigned char idx[PII_INDEX_BYTES];
        if (index == PII_EMAIL_INDEX)
            pii_email_index(k, value, idx);
        else
            pii_name_index(k, value, idx);
        out->index = bytea_param(idx, sizeof idx);
    }
    if (!out->ct || !out->nonce || (index != PII_NO_INDEX && !out->index)) {
        pii_param_cleanup(out);
        return -1;
    }
    return 0;
}

char *pii_result_open(const PGresult *r, int row, int ct_col, const char *field, bool *ok) {
    if (PQgetisnull(r, row, ct_col)) return NULL;
    const struct pii_keys *k = pii_global();
    size_t ct_len = 0, nonce_len = 0;
    unsigned char *ct = bytea_decode(PQgetvalue(r, row, ct_col), &ct_len);
    unsigned char *nonce = bytea_decode(PQgetvalue(r, row, ct_col + 1), &nonce_len);
    char *plain = NULL;
    if (k && ct && nonce && nonce_len == PII_NONCE_BYTES)
        plain = pii_open(k, field, ct, ct_len, nonce);
    free(ct);
    free(nonce);
    if (!plain) *ok = false;
    return plain;
}

void pii_name_index(const struct pii_keys *k, const char *name,
                    unsigned char out[PII_INDEX_BYTES]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, k->index, sizeof k->index, PII_INDEX_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)"name:", 5);
    bool space = false, started = false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (isspace(*p)) {
            space = started;
            continue;
        }
        if (space) crypto_generichash_update(&st, (const unsigned char *)" ", 1);
        space = false;
        started = true;
        unsigned char c = *p < 0x80 ? (unsigned char)tolower(*p) : *p;
        crypto_generichash_update(&st, &c, 1);
    }
    crypto_generichash_final(&st, out, PII_INDEX_BYTES);
}
