/* Unit tests of auth/pii.c: PII_KEY validation, XChaCha20-Poly1305 round trip, refusal
 * of altered ciphertext, of another field's or another key's ciphertext, and the keyed
 * blind index (case-insensitive, key-dependent). Opened strings are freed here. */
#include "auth/pii.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static int setup(void **state) {
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void key_validation(void **state) {
    (void)state;
    struct pii_keys k;
    assert_true(pii_key_valid(KEY_A));
    assert_true(pii_key_valid("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"));
    assert_false(pii_key_valid(NULL));
    assert_false(pii_key_valid(""));
    assert_false(pii_key_valid("0011"));    /* too short */
    assert_false(pii_key_valid(KEY_A "0")); /* 65 digits */
    assert_false(pii_key_valid("g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"));
    assert_int_equal(pii_keys_derive("not a key", &k), -1);
    assert_int_equal(pii_keys_derive(KEY_A, &k), 0);
    /* the subkeys differ from each other */
    assert_int_not_equal(memcmp(k.seal, k.index, 32), 0);
    assert_int_not_equal(memcmp(k.index, k.limiter, 32), 0);
}

static void round_trip(void **state) {
    (void)state;
    struct pii_keys k;
    assert_int_equal(pii_keys_derive(KEY_A, &k), 0);
    const char *email = "alice@example.org";
    size_t len = strlen(email);
    unsigned char ct[64], ct2[64], nonce[PII_NONCE_BYTES], nonce2[PII_NONCE_BYTES];
    assert_int_equal(pii_seal(&k, "email", email, len, ct, nonce), 0);
    /* the plaintext does not appear in the ciphertext */
    assert_null(memmem(ct, len + PII_TAG_BYTES, "alice", 5));
    char *plain = pii_open(&k, "email", ct, len + PII_TAG_BYTES, nonce);
    assert_non_null(plain);
    assert_string_equal(plain, email);
    free(plain);
    /* a fresh nonce each time: the same value seals differently */
    assert_int_equal(pii_seal(&k, "email", email, len, ct2, nonce2), 0);
    assert_int_not_equal(memcmp(nonce, nonce2, sizeof nonce), 0);
    assert_int_not_equal(memcmp(ct, ct2, len), 0);
    /* UTF-8 names survive */
    const char *name = "Ana\xC3\xAFs M\xC3\xBCller";
    assert_int_equal(pii_seal(&k, "full_name", name, strlen(name), ct, nonce), 0);
    plain = pii_open(&k, "full_name", ct, strlen(name) + PII_TAG_BYTES, nonce);
    assert_string_equal(plain, name);
    free(plain);
}

static void altered_or_misplaced_ciphertext_refused(void **state) {
    (void)state;
    struct pii_keys a, b;
    assert_int_equal(pii_keys_derive(KEY_A, &a), 0);
    assert_int_equal(pii_keys_derive(KEY_B, &b), 0);
    const char *email = "bob@example.org";
    size_t n = strlen(email) + PII_TAG_BYTES;
    unsigned char ct[64], nonce[PII_NONCE_BYTES];
    assert_int_equal(pii_seal(&a, "email", email, strlen(email), ct, nonce), 0);
    assert_null(pii_open(&b, "email", ct, n, nonce));     /* another key */
    assert_null(pii_open(&a, "full_name", ct, n, nonce)); /* another column */
    ct[3] ^= 1;
    assert_null(pii_open(&a, "email", ct, n, nonce)); /* a flipped bit */
    ct[3] ^= 1;
    nonce[0] ^= 1;
    assert_null(pii_open(&a, "email", ct, n, nonce)); /* another nonce */
    nonce[0] ^= 1;
    assert_null(pii_open(&a, "email", ct, n - 1, nonce)); /* truncated */
    assert_null(pii_open(&a, "email", ct, 3, nonce));     /* shorter than a tag */
    char *ok = pii_open(&a, "email", ct, n, nonce);
    assert_string_equal(ok, email);
    free(ok);
}

static void blind_index(void **state) {
    (void)state;
    struct pii_keys a, b;
    assert_int_equal(pii_keys_derive(KEY_A, &a), 0);
    assert_int_equal(pii_keys_derive(KEY_B, &b), 0);
    unsigned char i1[PII_INDEX_BYTES], i2[PII_INDEX_BYTES], i3[PII_INDEX_BYTES],
        i4[PII_INDEX_BYTES], i5[PII_INDEX_BYTES];
    pii_email_index(&a, "Alice@Example.ORG", i1);
    pii_email_index(&a, "alice@example.org", i2);
    pii_email_index(&a, "alice@example.com", i3);
    pii_email_index(&b, "alice@example.org", i4);
    pii_limiter_key(&a, "email", "alice@example.org", i5);
    assert_memory_equal(i1, i2, PII_INDEX_BYTES);     /* case does not matter */
    assert_memory_not_equal(i2, i3, PII_INDEX_BYTES); /* another address */
    assert_memory_not_equal(i2, i4, PII_INDEX_BYTES); /* keyed: another key, another index */
    assert_memory_not_equal(i2, i5, PII_INDEX_BYTES); /* separate keys per purpose */
    /* an unkeyed hash of the address is not the index */
    unsigned char plain_hash[PII_INDEX_BYTES];
    crypto_generichash(plain_hash, sizeof plain_hash, (const unsigned char *)"alice@example.org",
                       17, NULL, 0);
    assert_memory_not_equal(i2, plain_hash, PII_INDEX_BYTES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_validation),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(altered_or_misplaced_ciphertext_refused),
        cmocka_unit_test(blind_index),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
