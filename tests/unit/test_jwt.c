/* Unit tests of auth/jwt.c: issue/verify round trip, and refusal of a tampered payload,
 * a tampered signature, alg none, HS512 (and RS256) with the same key, an expired token,
 * a wrong iss or aud, missing claims, an unknown kid; SECRET_KEY_PREVIOUS accepted
 * through the kid. Tokens are forged by tests/common/jwt_forge.c (libsodium, libjwt);
 * every string allocated is freed by its test. */
#include "auth/jwt.h"
#include "auth/role.h"
#include "jwt_forge.h"

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
    char *h = jwt_forge_kid_header("HS256", KEY);
    char *c = jwt_forge(h, good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, c, NOW, &got), JWT_OK);
    assert_int_equal(got.user_id, 7);
    free(h);
    free(c);
}

static void tampered_payload_refused(void **state) {
    (void)state;
    char *token = jwt_issue(&settings, 42, ROLE_VIEWER, NOW, NULL);
    /* swap the payload for one claiming admin, keep header and signature */
    char payload[256];
    snprintf(payload, sizeof payload,
             "{\"aud\":\"sluice-api\",\"exp\":%ld,\"iat\":%ld,\"iss\":\"sluice\",\"jti\":\"x\","
             "\"role\":\"admin\",\"sub\":\"42\"}",
             NOW + 1800, NOW);
    char *forged = jwt_forge_swap_payload(token, payload);
    assert_int_equal(jwt_verify(&settings, forged, NOW, NULL), JWT_BAD_SIGNATURE);
    /* one flipped character inside the original payload */
    char *copy = strdup(token);
    char *mid = strchr(copy, '.') + 5;
    *mid = *mid == 'A' ? 'B' : 'A';
    assert_int_not_equal(jwt_verify(&settings, copy, NOW, NULL), JWT_OK);
    free(copy);
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
    char *h = jwt_forge_kid_header("HS256", KEY);
    char *c = jwt_forge(h, good_claims, OTHER_KEY, NULL);
    assert_int_equal(jwt_verify(&settings, c, NOW, NULL), JWT_BAD_SIGNATURE);
    free(h);
    free(c);
    free(copy);
    free(token);
}

static void alg_none_refused(void **state) {
    (void)state;
    char *h = jwt_forge_kid_header("none", KEY);
    /* with an empty signature (the usual attack) and with some bytes as signature */
    char *t1 = jwt_forge(h, good_claims, NULL, "");
    char *t2 = jwt_forge(h, good_claims, NULL, "c2lnbmF0dXJl");
    assert_int_not_equal(jwt_verify(&settings, t1, NOW, NULL), JWT_OK);
    assert_int_equal(jwt_verify(&settings, t2, NOW, NULL), JWT_BAD_ALGORITHM);
    /* also without a kid and with "None" spelled otherwise */
    char *t3 = jwt_forge("{\"alg\":\"None\",\"typ\":\"JWT\"}", good_claims, NULL, "eA");
    assert_int_equal(jwt_verify(&settings, t3, NOW, NULL), JWT_BAD_ALGORITHM);
    /* a header without alg */
    char *t4 = jwt_forge("{\"typ\":\"JWT\"}", good_claims, KEY, NULL);
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
    char *hs512 = jwt_forge_hs512(KEY, "42", "x", NOW, NOW + 1800);
    assert_non_null(hs512);
    /* libjwt alone would accept it with the same key: the pin is ours */
    jwt_t *decoded = NULL;
    assert_int_equal(jwt_decode(&decoded, hs512, (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    jwt_free(decoded);
    assert_int_equal(jwt_verify(&settings, hs512, NOW, NULL), JWT_BAD_ALGORITHM);
    free(hs512);
    char *h = jwt_forge_kid_header("HS384", KEY);
    char *t = jwt_forge(h, good_claims, KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_ALGORITHM);
    free(h);
    free(t);
    h = jwt_forge_kid_header("RS256", KEY);
    t = jwt_forge(h, good_claims, KEY, NULL);
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
    char *h = jwt_forge_kid_header("HS256", KEY);
    char *t = jwt_forge(h,
                        "{\"iss\":\"evil\",\"aud\":\"sluice-api\",\"sub\":\"7\",\"role\":\"admin\","
                        "\"iat\":1700000000,\"exp\":1700001800,\"jti\":\"j\"}",
                        KEY, NULL);
    assert_int_equal(jwt_verify(&settings, t, NOW, NULL), JWT_BAD_ISSUER);
    free(t);
    t = jwt_forge(h,
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
    char *h = jwt_forge_kid_header("HS256", KEY);
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *t = jwt_forge(h, payloads[i], KEY, NULL);
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
    char *t = jwt_forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", good_claims, KEY, NULL);
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
    char *none = jwt_forge("{\"alg\":\"none\"}", good_claims, NULL, "x");
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
