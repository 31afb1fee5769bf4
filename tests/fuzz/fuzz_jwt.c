/* fuzz_jwt: drives jwt_verify, the check of the untrusted bearer token, with fixed test
 * keys (current and previous, both >= 32 bytes) at a fixed time. Two modes, by the first
 * byte of the input:
 *   '!' or '?': the rest is "header.payload"; the harness signs it (HMAC-SHA256 with the
 *       current key for '!', the previous one for '?') and verifies the result, so that
 *       mutations reach the header, libjwt's decoding and the claim checks. An accepted
 *       token then has three parts, alg HS256 in its header, iss and aud of the settings,
 *       sub the decimal user id (> 0), a known role, iat/exp within the leeway of now, a
 *       non-empty jti, and previous_key says which key signed it.
 *   anything else: the whole input is the token. It must never be accepted unless it is
 *       one of the tokens jwt_issue made (the seeds below, written by
 *       `FUZZ_JWT_PRINT=1 fuzz_replay_jwt /dev/null`, and the tokens issued in
 *       LLVMFuzzerInitialize): a forged or altered token is never valid.
 * Every status has a text. Tokens issued at start-up are kept for the whole run; nothing
 * else is kept between inputs. */
#include "auth/jwt.h"
#include "auth/role.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

#define KEY "fuzz-current-key-0123456789abcdef-not-a-secret"
#define PREVIOUS_KEY "fuzz-previous-key-0123456789abcdef-not-a-secret"
#define NOW 1718000000L /* 2024-06-10 */

static const struct jwt_settings settings = {
    .key = KEY,
    .previous_key = PREVIOUS_KEY,
    .issuer = "sluice",
    .audience = "sluice-api",
    .ttl_seconds = 900,
};

/* Issued by jwt_issue at NOW for user 42 (admin) with KEY and user 7 (viewer) with
 * PREVIOUS_KEY; the same texts are tests/fuzz/corpus/jwt/valid_*. */
static const char *const seeds[] = {
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImE2NTdjY2Y1NTI1NTg5NTYiLCJ0eXAiOiJKV1QifQ."
    "eyJhdWQiOiJzbHVpY2UtYXBpIiwiZXhwIjoxNzE4MDAwOTAwLCJpYXQiOjE3MTgwMDAwMDAsImlzcyI6InNsdWljZSIsIm"
    "p0aSI6IjJlODk2MzUzNWU5NmY2NmJkODIwOTY1OTg5ZDE1YWVlIiwicm9sZSI6ImFkbWluIiwic3ViIjoiNDIifQ."
    "PvgDx_AnvdMK0BzLWje8-5cDl4KjBcsn0I3e9-AQx9w",
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjM1NGZmZmUxYTM0NTAzYjIiLCJ0eXAiOiJKV1QifQ."
    "eyJhdWQiOiJzbHVpY2UtYXBpIiwiZXhwIjoxNzE4MDAwOTAwLCJpYXQiOjE3MTgwMDAwMDAsImlzcyI6InNsdWljZSIsIm"
    "p0aSI6ImIzZjA0YzkwNjY1N2YyMDE3NjcwMzhhZmZiNmEyNDUwIiwicm9sZSI6InZpZXdlciIsInN1YiI6IjcifQ."
    "oX9e8ShT6S8B2tlhhqVn8zeJLIl7Hn0IsWVcESQbyxc",
};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static char *issued[2];

static char *issue(const char *key, int64_t user, int role) {
    struct jwt_settings s = settings;
    s.key = key;
    s.previous_key = NULL;
    char *token = jwt_issue(&s, user, role, NOW, NULL);
    if (!token) abort();
    return token;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (sodium_init() < 0) abort();
    issued[0] = issue(KEY, 42, ROLE_ADMIN);
    issued[1] = issue(PREVIOUS_KEY, 7, ROLE_VIEWER);
    if (getenv("FUZZ_JWT_PRINT")) printf("%s\n%s\n", issued[0], issued[1]);
    struct jwt_claims c;
    for (size_t i = 0; i < 2; i++)
        if (jwt_verify(&settings, issued[i], NOW, &c) != JWT_OK || c.previous_key != (i == 1))
            abort();
    for (size_t i = 0; i < NSEEDS; i++)
        if (jwt_verify(&settings, seeds[i], NOW, &c) != JWT_OK && !getenv("FUZZ_JWT_PRINT")) {
            fprintf(stderr, "fuzz_jwt: seed %zu no longer verifies (regenerate it)\n", i);
            abort();
        }
    return 0;
}

static bool known_token(const char *token) {
    for (size_t i = 0; i < NSEEDS; i++)
        if (strcmp(token, seeds[i]) == 0) return true;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(token, issued[i]) == 0) return true;
    return false;
}

/* The JSON object of base64url part [p, p + n), or NULL. Lenient like libjwt, which
 * decodes the payload: unused low bits of the last character may be set, a dangling
 * character is ignored and the JSON text ends at a NUL (harmless: the HMAC covers the
 * text, so only the key holder can choose them). */
static json_t *part_json(const char *p, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char buf[JWT_MAX_TOKEN_BYTES + 1];
    size_t len = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *at = p[i] ? strchr(alphabet, p[i]) : NULL;
        if (!at) return NULL;
        acc = (acc << 6) | (unsigned)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    buf[len] = '\0';
    return json_loads(buf, 0, NULL);
}

/* What an accepted token must look like. */
static void check_accepted(const char *token, const struct jwt_claims *c, bool previous) {
    const char *dot1 = strchr(token, '.');
    CHECK(dot1 != NULL);
    const char *dot2 = strchr(dot1 + 1, '.');
    CHECK(dot2 != NULL && strchr(dot2 + 1, '.') == NULL);
    json_t *h = part_json(token, (size_t)(dot1 - token));
    CHECK(json_is_object(h));
    const char *alg = json_string_value(json_object_get(h, "alg"));
    CHECK(alg && strcmp(alg, "HS256") == 0);
    json_decref(h);
    json_t *p = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    CHECK(json_is_object(p));
    const char *iss = json_string_value(json_object_get(p, "iss"));
    const char *aud = json_string_value(json_object_get(p, "aud"));
    const char *sub = json_string_value(json_object_get(p, "sub"));
    CHECK(iss && strcmp(iss, settings.issuer) == 0);
    CHECK(aud && strcmp(aud, settings.audience) == 0);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->user_id);
    CHECK(c->user_id > 0 && sub && strcmp(sub, id) == 0);
    json_decref(p);
    CHECK(c->role >= ROLE_VIEWER && c->role <= ROLE_ADMIN);
    CHECK(c->iat > 0 && c->iat <= NOW + JWT_LEEWAY_SECONDS);
    CHECK(c->exp >= NOW - JWT_LEEWAY_SECONDS);
    CHECK(memchr(c->jti, '\0', sizeof c->jti) != NULL && c->jti[0] != '\0');
    CHECK(c->previous_key == previous);
}

static void check_status(enum jwt_status st) {
    CHECK(st >= JWT_OK && st <= JWT_BAD_CLAIMS);
    const char *text = jwt_status_text(st);
    CHECK(text && text[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > JWT_MAX_TOKEN_BYTES + 64) return 0;
    bool resign = size > 0 && (data[0] == '!' || data[0] == '?');
    size_t skip = resign ? 1 : 0;
    size_t n = size - skip;
    size_t cap = n + 2 +
                 sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                           sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *token = malloc(cap);
    if (!token) return 0;
    memcpy(token, data + skip, n);
    token[n] = '\0';
    if (resign) {
        size_t signed_len = strlen(token); /* cut at the first NUL */
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        const char *key = data[0] == '!' ? KEY : PREVIOUS_KEY;
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, signed_len);
        crypto_auth_hmacsha256_final(&st, mac);
        token[signed_len] = '.';
        sodium_bin2base64(token + signed_len + 1, cap - signed_len - 1, mac, sizeof mac,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    enum jwt_status st = jwt_verify(&settings, token, NOW, &c);
    check_status(st);
    if (st == JWT_OK) {
        if (resign)
            check_accepted(token, &c, data[0] == '?');
        else
            CHECK(known_token(token));
    }
    free(token);
    return 0;
}
