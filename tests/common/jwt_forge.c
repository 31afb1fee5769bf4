/* jwt_forge: forging test tokens with libsodium (HMAC-SHA256, base64url) and libjwt
 * (HS512); see jwt_forge.h. Every string returned is malloc'd and owned by the caller. */
#include "jwt_forge.h"

#include "auth/jwt.h"

#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *jwt_forge_b64url(const void *data, size_t len) {
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

char *jwt_forge(const char *header_json, const char *payload_json, const char *key,
                const char *sig_text) {
    char *h = jwt_forge_b64url(header_json, strlen(header_json));
    char *p = jwt_forge_b64url(payload_json, strlen(payload_json));
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
        sig = jwt_forge_b64url(mac, sizeof mac);
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

char *jwt_forge_kid_header(const char *alg, const char *key) {
    char kid[17];
    jwt_key_id(key, kid);
    size_t n = strlen(alg) + 64;
    char *out = malloc(n);
    snprintf(out, n, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
    return out;
}

char *jwt_forge_swap_payload(const char *token, const char *payload_json) {
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2) return NULL;
    char *p = jwt_forge_b64url(payload_json, strlen(payload_json));
    size_t n = (size_t)(dot1 - token) + strlen(p) + strlen(dot2) + 2;
    char *forged = malloc(n);
    snprintf(forged, n, "%.*s.%s%s", (int)(dot1 - token), token, p, dot2);
    free(p);
    return forged;
}

char *jwt_forge_hs512(const char *key, const char *sub, const char *jti, long iat, long exp) {
    jwt_t *j = NULL;
    if (jwt_new(&j) != 0) return NULL;
    char kid[17];
    jwt_key_id(key, kid);
    jwt_set_alg(j, JWT_ALG_HS512, (const unsigned char *)key, (int)strlen(key));
    jwt_add_header(j, "kid", kid);
    jwt_add_grant(j, "iss", "sluice");
    jwt_add_grant(j, "aud", "sluice-api");
    jwt_add_grant(j, "sub", sub);
    jwt_add_grant(j, "role", "admin");
    jwt_add_grant(j, "jti", jti);
    jwt_add_grant_int(j, "iat", iat);
    jwt_add_grant_int(j, "exp", exp);
    char *token = jwt_encode_str(j);
    jwt_free(j);
    return token;
}
