/* pii: personal data at rest. Email and full name are sealed with XChaCha20-Poly1305
 * (libsodium crypto_aead_xchacha20poly1305_ietf, a random 24-byte nonce per value, the
 * field name as associated data so values cannot be swapped between columns); the
 * email blind index is a keyed BLAKE2b of the lower-cased address. All keys are
 * derived from PII_KEY (64 hex digits) with crypto_kdf. struct pii_keys lives in
 * caller memory; pii_global() is set once at start-up by pii_setup and read-only after. */
#ifndef SLUICE_PII_H
#define SLUICE_PII_H

#include <stdbool.h>
#include <stddef.h>

#define PII_NONCE_BYTES 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define PII_TAG_BYTES 16   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
#define PII_INDEX_BYTES 32

struct pii_keys {
    unsigned char seal[32];    /* XChaCha20-Poly1305 key */
    unsigned char index[32];   /* BLAKE2b key of the email blind index */
    unsigned char limiter[32]; /* BLAKE2b key of the login-failure counters */
};

/* True when hex is exactly 64 hex digits. */
bool pii_key_valid(const char *hex);

/* Derives the keys from PII_KEY. -1 when hex is not 64 hex digits. */
int pii_keys_derive(const char *hex, struct pii_keys *keys);

/* Derives the process-wide keys (pii_global). -1 on a bad PII_KEY. */
int pii_setup(const char *hex);
const struct pii_keys *pii_global(void); /* borrowed; NULL before pii_setup */

/* Seals plain[0..len) for field (e.g. "email"): ct gets len + PII_TAG_BYTES bytes (the
 * caller sizes it), nonce PII_NONCE_BYTES. 0 or -1. */
int pii_seal(const struct pii_keys *k, const char *field, const char *plain, size_t len,
             unsigned char *ct, unsigned char nonce[PII_NONCE_BYTES]);

/* Opens what pii_seal made: returns a new NUL-terminated string (free), or NULL when
 * the ciphertext was altered, sealed for another field or with another key. */
char *pii_open(const struct pii_keys *k, const char *field, const unsigned char *ct, size_t ct_len,
               const unsigned char nonce[PII_NONCE_BYTES]);

/* Blind index of an email: keyed BLAKE2b-256 of its ASCII-lower-cased form. */
void pii_email_index(const struct pii_keys *k, const char *email,
                     unsigned char out[PII_INDEX_BYTES]);

/* Keyed hash of (kind, value) for counters that must not store the value itself. */
void pii_limiter_key(const struct pii_keys *k, const char *kind, const char *value,
                     unsigned char out[PII_INDEX_BYTES]);

#endif
