/* pii: sealing, opening and blind indexes of personal data; see pii.h. */
#include "auth/pii.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct pii_keys global;
static bool global_set;

bool pii_key_valid(const char *hex) {
    if (!hex || strlen(hex) != 64) return false;
    for (const char *p = hex; *p; p++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

int pii_keys_derive(const char *hex, struct pii_keys *keys) {
    unsigned char master[crypto_kdf_KEYBYTES];
    if (!pii_key_valid(hex) ||
        sodium_hex2bin(master, sizeof master, hex, 64, NULL, NULL, NULL) != 0)
        return -1;
    static const char ctx[crypto_kdf_CONTEXTBYTES] = {'s', 'l', 'u', 'i', 'c', 'e', 'p', 'i'};
    crypto_kdf_derive_from_key(keys->seal, sizeof keys->seal, 1, ctx, master);
    crypto_kdf_derive_from_key(keys->index, sizeof keys->index, 2, ctx, master);
    crypto_kdf_derive_from_key(keys->limiter, sizeof keys->limiter, 3, ctx, master);
    sodium_memzero(master, sizeof master);
    return 0;
}

int pii_setup(const char *hex) {
    if (pii_keys_derive(hex, &global) != 0) return -1;
    global_set = true;
    return 0;
}

const struct pii_keys *pii_global(void) { return global_set ? &global : NULL; }

int pii_seal(const struct pii_keys *k, const char *field, const char *plain, size_t len,
             unsigned char *ct, unsigned char nonce[PII_NONCE_BYTES]) {
    randombytes_buf(nonce, PII_NONCE_BYTES);
    unsigned long long ct_len = 0;
    return crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, (const unsigned char *)plain,
                                                      len, (const unsigned char *)field,
                                                      strlen(field), NULL, nonce, k->seal) == 0
               ? 0
               : -1;
}

char *pii_open(const struct pii_keys *k, const char *field, const unsigned char *ct, size_t ct_len,
               const unsigned char nonce[PII_NONCE_BYTES]) {
    if (ct_len < PII_TAG_BYTES) return NULL;
    char *plain = malloc(ct_len - PII_TAG_BYTES + 1);
    if (!plain) return NULL;
    unsigned long long n = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &n, NULL, ct, ct_len,
                                                   (const unsigned char *)field, strlen(field),
                                                   nonce, k->seal) != 0) {
        free(plain);
        return NULL;
    }
    plain[n] = '\0';
    return plain;
}

static void keyed_hash(const unsigned char key[32], const char *kind, const char *value, bool lower,
                       unsigned char out[PII_INDEX_BYTES]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, PII_INDEX_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
    unsigned char buf[256];
    size_t n = 0;
    for (const char *p = value; *p; p++) {
        char c = *p;
        if (lower && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        buf[n++] = (unsigned char)c;
        if (n == sizeof buf) {
            crypto_generichash_update(&st, buf, n);
            n = 0;
        }
    }
    crypto_generichash_update(&st, buf, n);
    crypto_generichash_final(&st, out, PII_INDEX_BYTES);
}

void pii_email_index(const struct pii_keys *k, const char *email,
                     unsigned char out[PII_INDEX_BYTES]) {
    keyed_hash(k->index, "email", email, true, out);
}

void pii_limiter_key(const struct pii_keys *k, const char *kind, const char *value,
                     unsigned char out[PII_INDEX_BYTES]) {
    keyed_hash(k->limiter, kind, value, true, out);
}
