/* Unit tests of auth/jwt.c: issue/verify round trip, and refusal of a tampered payload,
 * a tampered signature, alg none, HS512 (and RS256) with the same key, an expired token,
 * a wrong iss or aud, missing claims, an unknown kid; SECRET_KEY_PREVIOUS accepted
 * through the kid. Tokens are crafted here with libsodium (HMAC, base64url) and libjwt;
 * every string allocated is freed by its test. */
#include "auth/jwt.h"
#include "auth/role.h"

#include <jansson.h>
#include <jwt.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define KEY "unit-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
#define OTHER_KEY "another-key-0123456789abcdefghijklmnopqrstuvwxyz!!"
#define NOW 1700000000L

static const struct jwt_settings settings = {.key = KEY,
                                             .previous_key = NULL,
                                             .issuer = "sluice",
                                             .audience = "sluice-api",
                                             .ttl_seconds = 1800};

static int setup(void **state) {
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static char *b64url(const void *data, size_t len) {
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* header.payload.signature with an HMAC-SHA256 signature under key (NULL: sig_text). */
static char *craft(const char *header_json, const char *payload_json, const char *key,
                   const char *sig_text) {
    char *h = b64url(header_json, strlen(header_json));
    char *p = b64url(payload_json, strlen(payload_json));
    size_t n = strlen(h) + strlen(p) + 2;
    char *signing = malloc(n);
    snprintf(signing, n, "%s.%s", h, p);
    char *sig;
    if (key) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
        crypto_auth_hmacsha256_final(&st, mac);
        sig = b64url(mac, sizeof mac);
    } else {
        sig = strdup(sig_text);
    }
    size_t total = strlen(signing) + strlen(sig) + 2;
    char *token = malloc(total);
    snprintf(token, total, "%s.%s", signing, sig);
    free(h);
    free(p);
    free(signing);
    free(sig);
    return token;
}

static char *header_with_kid(const char *alg, const char *key) {
    char kid[17];
    jwt_key_id(key, kid);
    char *out = malloc(128);
    snprintf(out, 128, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
    return out;
}

static const char good_claims[] =
    "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"operator\","
    "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"abc123\"}";

static void round_trip(void **state) {
    (void)state;
    struct jwt_claims issued, got;
    char *token = jwt_issue(&settings, 42, ROLE_OPERATOR, NOW, &issued);
    assert_non_null(token);
    assert_int_equal(jwt_verify(&settings, token, NOW + 60, &got), JWT_OK);
    assert_int_equal(got.user_id, 42);
    assert_int_equal(got.role, ROLE_OPERATOR);
    assert_int_equal(got.iat, NOW);
    assert_int_equal(got.exp, NOW + 1800);
    assert_string_equal(got.jti, issued.jti);
    assert_int_equal(strlen(got.jti), 32);
    assert_false(got.previous_key);
    /* the header says HS256 and carries the kid of the key */
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, token, (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    char kid[17];
    jwt_key_id(KEY, kid);
    assert_string_equal(jwt_get_header(j, "kid"), kid);
    assert_int_equal(jwt_get_alg(j), JWT_ALG_HS256);
    assert_string_equal(jwt_get_grant(j, "sub"), "42");
    jwt_free(j);
    /* two tokens have different jti */
    char *token2 = jwt_issue(&settings, 42, ROLE_OPERATOR, NOW, &got);
    assert_string_not_equal(issued.jti, got.jti);
    free(token);
    free(token2);
    /* a crafted token with the right key and claims passes (the crafting is sound) */
    char *h = header_with_kid("HS256", KEY);
    char *c = craft(h, good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, c, NOW, &got), JWT_OK);
    assert_int_equal(got.user_id, 7);
    free(h);
    free(c);
}

static void tampered_payload_refused(void **state) {
    (void)state;
    char *token = jwt_issue(&settings, 42, ROLE_VIEWER, NOW, NULL);
    /* swap the payload for one claiming admin, keep header and signature */
    char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"aud\":\"sluice-api\",\"exp\":%ld,\"iat\":%ld,\"iss\":\"sluice\",\"jti\":\"x\","
             "\"role\":\"admin\",\"sub\":\"42\"}",
             NOW + 1800, NOW);
    char *p = b64url(payload, strlen(payload));
    size_t n = (size_t)(dot1 - token) + strlen(p) + strlen(dot2) + 2;
    char *forged = malloc(n);
    snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - token), token, p, dot2);
    assert_int_equal(jwt_verify(&settings, forged, NOW, NULL), JWT_BAD_SIGNATURE);
    /* one flipped character inside the original payload */
    char *copy = strdup(token);
    char *mid = strchr(copy, '.') + 5;
    *mid = *mid == 'A' ? 'B' : 'A';
    assert_int_not_equal(jwt_verify(&settings, copy, NOW, NULL), JWT_OK);
    free(copy);
    free(p);
    free(forged);
    free(token);
}

static void tampered_signature_refused(void **state) {
    (void)state;
    char *token = jwt_issue(&settings, 42, ROLE_ADMIN, NOW, NULL);
    size_t n = strlen(token);
    char *copy = strdup(token);
    copy[n - 2] = copy[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(jwt_verify(&settings, copy, NOW, NULL), JWT_BAD_SIGNATURE);
    /* signature removed */
    strcpy(copy, token);
    *(strrchr(copy, '.') + 1) = '\0';
    assert_int_equal(jwt_verify(&settings, copy, NOW, NULL), JWT_MALFORMED);
    /* signed with another key, kid of ours */
    char *h = header_with_kid("HS256", KEY);
    char *c = craft(h, good_claims, OTHER_KEY, NULL);
    assert_int_equal(jwt_verify(&settings, c, NOW, NULL), JWT_BAD_SIGNATURE);
    free(h);
    free(c);
    free(copy);
    free(token);
}

static void alg_none_refused(void **state) {
    (void)state;
    char *h = header_with_kid("none", KEY);
    /* with an empty signature (the usual attack) and with some bytes as signature */
    char *t1 = craft(h, good_claims, NULL, "");
    char *t2 = craft(h, good_claims, NULL, "c2lnbmF0dXJl");
    assert_int_not_equal(jwt_verify(&settings, t1, NOW, NULL), JWT_OK);
    assert_int_equal(jwt_verify(&settings, t2, NOW, NULL), JWT_BAD_ALGORITHM);
    /* also without a kid and with "None" spelled otherwise */
    char *t3 = craft("{\"alg\":\"None\",\"typ\":\"JWT\"}", good_claims, NULL, "eA");
    assert_int_equal(jwt_verify(&settings, t3, NOW, NULL), JWT_BAD_ALGORITHM);
    /* a header without alg */
    char *t4 = craft("{\"typ\":\"JWT\"}", good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t4, NOW, NULL), JWT_BAD_ALGORITHM);
    free(h);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
}

static void other_algorithms_with_the_same_key_refused(void **state) {
    (void)state;
    /* a genuine HS512 token made by libjwt with our key and our kid */
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    char kid[17];
    jwt_key_id(KEY, kid);
    jwt_set_alg(j, JWT_ALG_HS512, (const unsigned char *)KEY, (int)strlen(KEY));
    jwt_add_header(j, "kid", kid);
    jwt_add_grant(j, "iss", "sluice");
    jwt_add_grant(j, "aud", "sluice-api");
    jwt_add_grant(j, "sub", "42");
    jwt_add_grant(j, "role", "admin");
    jwt_add_grant(j, "jti", "x");
    jwt_add_grant_int(j, "iat", NOW);
    jwt_add_grant_int(j, "exp", NOW + 1800);
    char *hs512 = jwt_encode_str(j);
    jwt_free(j);
    /* libjwt alone would accept it with the same key: the pin is ours */
    jwt_t *decoded = NULL;
    assert_int_equal(jwt_decode(&decoded, hs512, (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    jwt_free(decoded);
    assert_int_equal(jwt_verify(&settings, hs512, NOW, NULL), JWT_BAD_ALGORITHM);
    free(hs512);
    char *h = header_with_kid("HS384", KEY);
    char *t = craft(h, good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_ALGORITHM);
    free(h);
    free(t);
    h = header_with_kid("RS256", KEY);
    t = craft(h, good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_ALGORITHM);
    free(h);
    free(t);
}

static void expiry_with_leeway(void **state) {
    (void)state;
    char *token = jwt_issue(&settings, 42, ROLE_VIEWER, NOW, NULL);
    long exp = NOW + 1800;
    assert_int_equal(jwt_verify(&settings, token, exp, NULL), JWT_OK);
    assert_int_equal(jwt_verify(&settings, token, exp + JWT_LEEWAY_SECONDS, NULL), JWT_OK);
    assert_int_equal(jwt_verify(&settings, token, exp + JWT_LEEWAY_SECONDS + 1, NULL), JWT_EXPIRED);
    assert_int_equal(jwt_verify(&settings, token, exp + 86400, NULL), JWT_EXPIRED);
    /* issued in the future (beyond leeway) */
    assert_int_equal(jwt_verify(&settings, token, NOW - JWT_LEEWAY_SECONDS - 1, NULL),
                     JWT_NOT_YET_VALID);
    free(token);
}

static void wrong_issuer_or_audience_refused(void **state) {
    (void)state;
    char *token = jwt_issue(&settings, 42, ROLE_VIEWER, NOW, NULL);
    struct jwt_settings other_iss = settings, other_aud = settings;
    other_iss.issuer = "someone-else";
    other_aud.audience = "another-api";
    assert_int_equal(jwt_verify(&other_iss, token, NOW, NULL), JWT_BAD_ISSUER);
    assert_int_equal(jwt_verify(&other_aud, token, NOW, NULL), JWT_BAD_AUDIENCE);
    free(token);
    char *h = header_with_kid("HS256", KEY);
    char *t = craft(h,
                    "{\"iss\":\"evil\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
                    "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
                    KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_ISSUER);
    free(t);
    t = craft(h,
              "{\"iss\":\"sluice\",\"aud\":[\"sluice-api\"],\"sub\":\"7\",\"role\":\"admin\","
              "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
              KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_AUDIENCE);
    free(t);
    free(h);
}

static void missing_or_mistyped_claims_refused(void **state) {
    (void)state;
    static const char *const payloads[] = {
        /* no exp */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
        "\"iat\":1700000000,\"jti\":\"j\"}",
        /* exp as a string */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
        "\"iat\":1700000000,\"exp\":\"1700001800\",\"jti\":\"j\"}",
        /* no sub */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"role\":\"admin\","
        "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
        /* sub not a user id */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7 OR 1=1\",\"role\":\"admin\","
        "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
        /* unknown role */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"root\","
        "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
        /* no jti */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
        "\"iat\":1700000000,\"exp\":1700001800}",
        /* no iat */
        "{\"iss\":\"sluice\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
        "\"exp\":1700001800,\"jti\":\"j\"}",
    };
    char *h = header_with_kid("HS256", KEY);
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *t = craft(h, payloads[i], KEY, NULL);
        assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_CLAIMS);
        free(t);
    }
    free(h);
    /* not a JWT at all */
    assert_int_equal(jwt_verify(&settings, "abc", NOW, NULL), JWT_MALFORMED);
    assert_int_equal(jwt_verify(&settings, "a.b.c.d", NOW, NULL), JWT_MALFORMED);
    assert_int_equal(jwt_verify(&settings, "", NOW, NULL), JWT_MALFORMED);
    assert_int_equal(jwt_verify(&settings, "e30.e30.e30", NOW, NULL), JWT_BAD_ALGORITHM);
    assert_int_equal(jwt_verify(&settings, "!!!.e30.e30", NOW, NULL), JWT_MALFORMED);
}

static void key_rotation_through_kid(void **state) {
    (void)state;
    struct jwt_settings old = settings;
    old.key = OTHER_KEY;
    char *old_token = jwt_issue(&old, 9, ROLE_ADMIN, NOW, NULL);
    struct jwt_settings rotated = settings; /* KEY now, OTHER_KEY before */
    rotated.previous_key = OTHER_KEY;
    struct jwt_claims c;
    assert_int_equal(jwt_verify(&rotated, old_token, NOW, &c), JWT_OK);
    assert_true(c.previous_key);
    assert_int_equal(c.user_id, 9);
    /* once the previous key is dropped, its tokens are refused */
    assert_int_equal(jwt_verify(&settings, old_token, NOW, NULL), JWT_UNKNOWN_KEY);
    /* new tokens use the new key */
    char *new_token = jwt_issue(&rotated, 9, ROLE_ADMIN, NOW, NULL);
    assert_int_equal(jwt_verify(&rotated, new_token, NOW, &c), JWT_OK);
    assert_false(c.previous_key);
    /* a token without kid is refused even if its signature is right */
    char *t = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_UNKNOWN_KEY);
    free(t);
    free(old_token);
    free(new_token);
}

static void short_or_empty_keys_never_used(void **state) {
    (void)state;
    struct jwt_settings empty = settings;
    empty.key = "";
    assert_null(jwt_issue(&empty, 1, ROLE_ADMIN, NOW, NULL));
    empty.key = "short";
    assert_null(jwt_issue(&empty, 1, ROLE_ADMIN, NOW, NULL));
    char *token = jwt_issue(&settings, 1, ROLE_ADMIN, NOW, NULL);
    empty.key = "";
    assert_int_not_equal(jwt_verify(&empty, token, NOW, NULL), JWT_OK);
    /* an alg none token against an empty key: what libjwt alone would accept */
    char *none = craft("{\"alg\":\"none\"}", good_claims, NULL, "x");
    assert_int_not_equal(jwt_verify(&empty, none, NOW, NULL), JWT_OK);
    free(none);
    free(token);
    assert_null(jwt_issue(&settings, 0, ROLE_ADMIN, NOW, NULL));
    assert_null(jwt_issue(&settings, 1, ROLE_PUBLIC, NOW, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tampered_payload_refused),
        cmocka_unit_test(tampered_signature_refused),
        cmocka_unit_test(alg_none_refused),
        cmocka_unit_test(other_algorithms_with_the_same_key_refused),
        cmocka_unit_test(expiry_with_leeway),
        cmocka_unit_test(wrong_issuer_or_audience_refused),
        cmocka_unit_test(missing_or_mistyped_claims_refused),
        cmocka_unit_test(key_rotation_through_kid),
        cmocka_unit_test(short_or_empty_keys_never_used),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
