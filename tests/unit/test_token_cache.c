/* Unit tests of auth/token_cache.c: a token verified once is answered from the cache
 * with the same claims; expiry and not-yet-valid are checked again on a hit; refused
 * tokens are never remembered (a forged signature stays refused however often it comes);
 * other keys never hit an entry made under the first; a full set evicts the entry stored
 * longest ago; capacity 0 turns the cache off. Times are explicit: no test depends on the
 * clock. The cache is process-wide; each test re-initialises it. Tokens are heap strings
 * freed by the test that made them. */
#include "auth/role.h"
#include "auth/token_cache.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOW 1700000000L

static const struct jwt_settings settings = {
    .key = "unit-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
    .issuer = "sluice",
    .audience = "sluice-api",
    .ttl_seconds = 1800};

static int setup(void **state) {
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static long hits(void) {
    long h, m;
    token_cache_stats(&h, &m);
    return h;
}

static void second_use_is_a_hit_with_the_same_claims(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(64), 0);
    struct jwt_claims issued, first, second;
    char *token = jwt_issue(&settings, 42, ROLE_OPERATOR, NOW, &issued);
    assert_non_null(token);
    assert_int_equal(token_cache_verify(&settings, token, NOW + 1, &first), JWT_OK);
    assert_int_equal(hits(), 0);
    assert_int_equal(token_cache_verify(&settings, token, NOW + 2, &second), JWT_OK);
    assert_int_equal(hits(), 1);
    assert_memory_equal(&first, &second, sizeof first);
    assert_int_equal(second.user_id, 42);
    assert_int_equal(second.role, ROLE_OPERATOR);
    assert_string_equal(second.jti, issued.jti);
    free(token);
    token_cache_shutdown();
}

static void expiry_is_checked_on_every_hit(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(64), 0);
    char *token = jwt_issue(&settings, 7, ROLE_VIEWER, NOW, NULL);
    assert_int_equal(token_cache_verify(&settings, token, NOW, NULL), JWT_OK);
    long past_exp = NOW + settings.ttl_seconds + JWT_LEEWAY_SECONDS + 1;
    assert_int_equal(token_cache_verify(&settings, token, past_exp, NULL), JWT_EXPIRED);
    assert_int_equal(hits(), 1); /* answered from the cache, and still refused */
    /* a clock that went back before iat: not yet valid, from the cache too */
    assert_int_equal(token_cache_verify(&settings, token, NOW - JWT_LEEWAY_SECONDS - 1, NULL),
                     JWT_NOT_YET_VALID);
    assert_int_equal(hits(), 2);
    free(token);
    token_cache_shutdown();
}

static void refused_tokens_are_never_remembered(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(64), 0);
    char *token = jwt_issue(&settings, 7, ROLE_ADMIN, NOW, NULL);
    char *forged = strdup(token);
    size_t n = strlen(forged);
    forged[n - 2] = forged[n - 2] == 'A' ? 'B' : 'A'; /* one signature character off */
    for (int i = 0; i < 3; i++)
        assert_int_equal(token_cache_verify(&settings, forged, NOW, NULL), JWT_BAD_SIGNATURE);
    assert_int_equal(hits(), 0);
    /* the genuine token, cached, does not make its forged twin pass */
    assert_int_equal(token_cache_verify(&settings, token, NOW, NULL), JWT_OK);
    assert_int_equal(token_cache_verify(&settings, forged, NOW, NULL), JWT_BAD_SIGNATURE);
    /* an expired token is verified in full each time and stays refused */
    long late = NOW + 10 * settings.ttl_seconds;
    char *old = jwt_issue(&settings, 8, ROLE_ADMIN, NOW - 20 * settings.ttl_seconds, NULL);
    assert_int_equal(token_cache_verify(&settings, old, late, NULL), JWT_EXPIRED);
    assert_int_equal(token_cache_verify(&settings, old, late, NULL), JWT_EXPIRED);
    assert_int_equal(hits(), 0);
    free(token);
    free(forged);
    free(old);
    token_cache_shutdown();
}

static void other_keys_do_not_hit(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(64), 0);
    char *token = jwt_issue(&settings, 7, ROLE_ADMIN, NOW, NULL);
    assert_int_equal(token_cache_verify(&settings, token, NOW, NULL), JWT_OK);
    struct jwt_settings rotated = settings;
    rotated.key = "a-new-key-after-rotation-0123456789abcdefghijklmnop";
    assert_int_equal(token_cache_verify(&rotated, token, NOW, NULL), JWT_UNKNOWN_KEY);
    rotated.previous_key = settings.key; /* the old key still accepted: verified again */
    struct jwt_claims c;
    assert_int_equal(token_cache_verify(&rotated, token, NOW, &c), JWT_OK);
    assert_true(c.previous_key);
    assert_int_equal(hits(), 0);
    free(token);
    token_cache_shutdown();
}

static void full_set_evicts_the_oldest(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(4), 0); /* one set of four */
    char *tokens[5];
    for (int i = 0; i < 5; i++) {
        tokens[i] = jwt_issue(&settings, 100 + i, ROLE_VIEWER, NOW, NULL);
        assert_int_equal(token_cache_verify(&settings, tokens[i], NOW, NULL), JWT_OK);
    }
    assert_int_equal(hits(), 0);
    for (int i = 1; i < 5; i++)
        assert_int_equal(token_cache_verify(&settings, tokens[i], NOW, NULL), JWT_OK);
    assert_int_equal(hits(), 4);
    assert_int_equal(token_cache_verify(&settings, tokens[0], NOW, NULL), JWT_OK);
    assert_int_equal(hits(), 4); /* the first one had gone */
    for (int i = 0; i < 5; i++) free(tokens[i]);
    token_cache_shutdown();
}

static void capacity_zero_is_off(void **state) {
    (void)state;
    assert_int_equal(token_cache_init(0), 0);
    char *token = jwt_issue(&settings, 7, ROLE_ADMIN, NOW, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(token_cache_verify(&settings, token, NOW, NULL), JWT_OK);
    long h, m;
    token_cache_stats(&h, &m);
    assert_int_equal(h + m, 0);
    free(token);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_use_is_a_hit_with_the_same_claims),
        cmocka_unit_test(expiry_is_checked_on_every_hit),
        cmocka_unit_test(refused_tokens_are_never_remembered),
        cmocka_unit_test(other_keys_do_not_hit),
        cmocka_unit_test(full_set_evicts_the_oldest),
        cmocka_unit_test(capacity_zero_is_off),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
