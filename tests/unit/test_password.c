/* Unit tests of auth/password.c: length rules counted in characters (not bytes), NUL and
 * invalid UTF-8 refused, Argon2id hash/verify, the dummy hash of unknown users,
 * needs_rehash on other parameters, and the concurrency bound under many threads. */
#include "auth/password.h"

#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state) {
    (void)state;
    if (sodium_init() < 0) return -1;
    return password_init(2);
}

/* n copies of the UTF-8 sequence unit, NUL-terminated; malloc'd. */
static char *repeat(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static void check(const char *unit, size_t n, bool ok) {
    char *pw = repeat(unit, n);
    const char *why = password_check_rules(pw, strlen(pw));
    if (ok)
        assert_null(why);
    else
        assert_non_null(why);
    free(pw);
}

static void length_rules_count_characters(void **state) {
    (void)state;
    check("a", 11, false);
    check("a", 12, true);
    check("a", 1024, true);
    check("a", 1025, false);
    /* "é" is 2 bytes: 11 of them are 22 bytes but 11 characters, still too short */
    check("\xC3\xA9", 11, false);
    check("\xC3\xA9", 12, true);
    /* 1024 four-byte characters (4096 bytes) are allowed, 1025 are not */
    check("\xF0\x9F\x98\x80", 1024, true);
    check("\xF0\x9F\x98\x80", 1025, false);
    const char *why = password_check_rules("short", 5);
    assert_non_null(strstr(why, "at least 12"));
    char *long_pw = repeat("a", 10000);
    why = password_check_rules(long_pw, 10000);
    assert_non_null(strstr(why, "at most 1024"));
    free(long_pw);
}

static void nul_and_bad_utf8_refused(void **state) {
    (void)state;
    static const char with_nul[] = "abcdefgh\0ijklmnop";
    assert_non_null(strstr(password_check_rules(with_nul, sizeof with_nul - 1), "NUL"));
    static const char bad[] = "abcdefghijkl\xFF";
    assert_non_null(strstr(password_check_rules(bad, sizeof bad - 1), "UTF-8"));
}

static void hash_and_verify(void **state) {
    (void)state;
    const char *pw = "correct horse battery staple";
    char hash[PASSWORD_HASH_BYTES];
    assert_int_equal(password_hash(pw, strlen(pw), hash), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(password_verify(hash, pw, strlen(pw)));
    assert_false(password_verify(hash, "correct horse battery stapl", strlen(pw) - 1));
    /* unknown user: verified against the dummy hash, never a match */
    assert_false(password_verify(NULL, pw, strlen(pw)));
    assert_false(password_verify("", pw, strlen(pw)));
    /* a garbage hash never matches */
    assert_false(password_verify("$argon2id$nonsense", pw, strlen(pw)));
    /* two hashes of one password differ (random salt) */
    char hash2[PASSWORD_HASH_BYTES];
    assert_int_equal(password_hash(pw, strlen(pw), hash2), 0);
    assert_string_not_equal(hash, hash2);
}

static void rehash_when_parameters_differ(void **state) {
    (void)state;
    const char *pw = "correct horse battery staple";
    char current[PASSWORD_HASH_BYTES], weak[crypto_pwhash_STRBYTES];
    assert_int_equal(password_hash(pw, strlen(pw), current), 0);
    assert_false(password_needs_rehash(current));
    assert_int_equal(crypto_pwhash_str(weak, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    assert_true(password_needs_rehash(weak));
    /* the old hash still verifies: the login that notices it can rehash */
    assert_true(password_verify(weak, pw, strlen(pw)));
    char params[64];
    password_params(params, sizeof params);
    assert_non_null(strstr(params, "argon2id"));
}

struct worker {
    char hash[PASSWORD_HASH_BYTES];
    bool ok;
};

static void *hash_worker(void *arg) {
    struct worker *w = arg;
    const char *pw = "parallel password 123";
    w->ok = password_hash(pw, strlen(pw), w->hash) == 0 && password_verify(w->hash, pw, strlen(pw));
    return NULL;
}

static void many_threads_under_a_bound_of_one(void **state) {
    (void)state;
    assert_int_equal(password_init(1), 0);
    assert_int_equal(password_concurrency(), 1);
    enum { N = 6 };
    pthread_t t[N];
    struct worker w[N];
    memset(w, 0, sizeof w);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hash_worker, &w[i]), 0);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) assert_true(w[i].ok);
    assert_int_equal(password_init(3), 0);
    assert_int_equal(password_concurrency(), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(length_rules_count_characters),
        cmocka_unit_test(nul_and_bad_utf8_refused),
        cmocka_unit_test(hash_and_verify),
        cmocka_unit_test(rehash_when_parameters_differ),
        cmocka_unit_test(many_threads_under_a_bound_of_one),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
