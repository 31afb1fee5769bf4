/* jwt: issuing and verifying access tokens; see jwt.h. Everything allocated here is
 * freed before returning, except the token jwt_issue returns. */
#include "auth/jwt.h"

#include "auth/role.h"
#include "core/text.h"

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool usable_key(const char *key) { return key && strlen(key) >= JWT_MIN_KEY_BYTES; }

void jwt_key_id(const char *key, char out[17]) {
    static const unsigned char ctx[] = "sluice jwt kid";
    unsigned char h[8];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, ctx, sizeof ctx - 1);
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&st, h, sizeof h);
    text_hex(h, sizeof h, out);
}

char *jwt_issue(const struct jwt_settings *s, int64_t user_id, int role, long now,
                struct jwt_claims *claims) {
    return jwt_issue_cv(s, user_id, role, 0, now, claims);
}

char *jwt_issue_cv(const struct jwt_settings *s, int64_t user_id, int role, int64_t cv, long now,
                   struct jwt_claims *claims) {
    if (!usable_key(s->key) || user_id <= 0 || role < ROLE_VIEWER || role > ROLE_ADMIN) return NULL;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0) return NULL;
    char kid[17], sub[24], jti[33];
    unsigned char raw[16];
    jwt_key_id(s->key, kid);
    snprintf(sub, sizeof sub, "%lld", (long long)user_id);
    randombytes_buf(raw, sizeof raw);
    text_hex(raw, sizeof raw, jti);
    long exp = now + s->ttl_seconds;
    char *token = NULL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)s->key, (int)strlen(s->key)) == 0 &&
        jwt_add_header(jwt, "kid", kid) == 0 && jwt_add_grant(jwt, "iss", s->issuer) == 0 &&
        jwt_add_grant(jwt, "aud", s->audience) == 0 && jwt_add_grant(jwt, "sub", sub) == 0 &&
        jwt_add_grant(jwt, "role", role_name(role)) == 0 &&
        jwt_add_grant_int(jwt, "iat", now) == 0 && jwt_add_grant_int(jwt, "exp", exp) == 0 &&
        jwt_add_grant(jwt, "jti", jti) == 0 &&
        (cv <= 0 || jwt_add_grant_int(jwt, "cv", (long)cv) == 0))
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (token && claims) {
        memset(claims, 0, sizeof *claims);
        claims->user_id = user_id;
        claims->role = role;
        claims->iat = now;
        claims->exp = exp;
        memcpy(claims->jti, jti, sizeof jti);
        claims->cv = cv > 0 ? cv : 0;
    }
    return token;
}

const char *jwt_status_text(enum jwt_status st) {
    switch (st) {
    case JWT_OK: return "the token is valid";
    case JWT_MALFORMED: return "the token is not a well-formed JWT";
    case JWT_BAD_ALGORITHM: return "the token is not signed with HS256";
    case JWT_UNKNOWN_KEY: return "the token was signed with an unknown key";
    case JWT_BAD_SIGNATURE: return "the token signature is invalid";
    case JWT_EXPIRED: return "the token has expired";
    case JWT_NOT_YET_VALID: return "the token is not valid yet";
    case JWT_BAD_ISSUER: return "the token was issued by someone else";
    case JWT_BAD_AUDIENCE: return "the token is meant for another audience";
    case JWT_BAD_CLAIMS: return "the token lacks required claims";
    }
    return "the token is invalid";
}

/* Decodes base64url without padding (strict: libsodium refuses trailing bits). */
static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                         size_t *outlen) {
    return sodium_base642bin(out, cap, in, len, NULL, outlen, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static bool b64url_chars(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

/* Reads the header: alg must be "HS256", typ "JWT" if given, kid one of our keys. */
static enum jwt_status check_header(const struct jwt_settings *s, const char *head, size_t len,
                                    const char **key, bool *previous) {
    unsigned char buf[JWT_MAX_TOKEN_BYTES];
    size_t n = 0;
    if (b64url_decode(head, len, buf, sizeof buf, &n) != 0) return JWT_MALFORMED;
    json_t *h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(h)) {
        json_decref(h);
        return JWT_MALFORMED;
    }
    enum jwt_status st = JWT_OK;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    json_t *typ = json_object_get(h, "typ");
    const char *kid = json_string_value(json_object_get(h, "kid"));
    char current_kid[17], previous_kid[17];
    jwt_key_id(s->key, current_kid);
    bool has_previous = usable_key(s->previous_key);
    if (has_previous) jwt_key_id(s->previous_key, previous_kid);
    if (!alg || strcmp(alg, "HS256") != 0) {
        st = JWT_BAD_ALGORITHM;
    } else if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
        st = JWT_MALFORMED;
    } else if (kid && strcmp(kid, current_kid) == 0) {
        *key = s->key;
        *previous = false;
    } else if (kid && has_previous && strcmp(kid, previous_kid) == 0) {
        *key = s->previous_key;
        *previous = true;
    } else {
        st = JWT_UNKNOWN_KEY;
    }
    json_decref(h);
    return st;
}

/* HMAC-SHA256 of "header.payload" compared in constant time with the signature. */
static bool signature_ok(const char *key, const char *signed_part, size_t signed_len,
                         const char *sig, size_t sig_len) {
    unsigned char given[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    if (b64url_decode(sig, sig_len, given, sizeof given, &n) != 0 || n != sizeof given)
        return false;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signed_part, signed_len);
    crypto_auth_hmacsha256_final(&st, mac);
    return sodium_memcmp(mac, given, sizeof mac) == 0;
}

/* An integer claim: -1 when missing or not a positive integer. */
static long int_claim(jwt_t *jwt, const char *name) {
    char *js = jwt_get_grants_json(jwt, name);
    if (!js) return -1;
    json_t *v = json_loads(js, JSON_DECODE_ANY, NULL);
    free(js);
    long out = json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : -1;
    json_decref(v);
    return out;
}

static bool parse_sub(const char *sub, int64_t *id) {
    if (!sub || !*sub || strlen(sub) > 18) return false;
    int64_t v = 0;
    for (const char *p = sub; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0 || sub[0] == '0') return false;
    *id = v;
    return true;
}

enum jwt_status jwt_check_times(const struct jwt_claims *c, long now) {
    if (now - JWT_LEEWAY_SECONDS > c->exp) return JWT_EXPIRED; /* exp + leeway could overflow */
    if (c->iat > now + JWT_LEEWAY_SECONDS || c->nbf > now + JWT_LEEWAY_SECONDS)
        return JWT_NOT_YET_VALID;
    return JWT_OK;
}

static enum jwt_status check_claims(const struct jwt_settings *s, jwt_t *jwt, long now,
                                    struct jwt_claims *c) {
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *aud = jwt_get_grant(jwt, "aud");
    const char *role = jwt_get_grant(jwt, "role");
    const char *jti = jwt_get_grant(jwt, "jti");
    long exp = int_claim(jwt, "exp"), iat = int_claim(jwt, "iat"), nbf = 0;
    if (exp < 0 || iat < 0) return JWT_BAD_CLAIMS;
    char *nbf_js = jwt_get_grants_json(jwt, "nbf");
    if (nbf_js) {
        free(nbf_js);
        nbf = int_claim(jwt, "nbf");
        if (nbf < 0) return JWT_BAD_CLAIMS;
    }
    char *cv_js = jwt_get_grants_json(jwt, "cv");
    if (cv_js) {
        free(cv_js);
        long cv = int_claim(jwt, "cv");
        if (cv < 0) return JWT_BAD_CLAIMS;
        c->cv = cv;
    }
    c->iat = iat;
    c->exp = exp;
    c->nbf = nbf;
    enum jwt_status times = jwt_check_times(c, now);
    if (times != JWT_OK) return times;
    if (!iss || strcmp(iss, s->issuer) != 0) return JWT_BAD_ISSUER;
    if (!aud || strcmp(aud, s->audience) != 0) return JWT_BAD_AUDIENCE;
    int r = role_parse(role);
    if (r < 0 || !parse_sub(jwt_get_grant(jwt, "sub"), &c->user_id)) return JWT_BAD_CLAIMS;
    if (!jti || !*jti || strlen(jti) >= sizeof c->jti) return JWT_BAD_CLAIMS;
    c->role = r;
    snprintf(c->jti, sizeof c->jti, "%s", jti);
    return JWT_OK;
}

enum jwt_status jwt_verify(const struct jwt_settings *s, const char *token, long now,
                           struct jwt_claims *claims) {
    if (!usable_key(s->key)) return JWT_UNKNOWN_KEY;
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > JWT_MAX_TOKEN_BYTES) return JWT_MALFORMED;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == token + len ||
        !b64url_chars(token, (size_t)(dot1 - token)) ||
        !b64url_chars(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
        !b64url_chars(dot2 + 1, len - (size_t)(dot2 + 1 - token)))
        return JWT_MALFORMED;
    const char *key = NULL;
    bool previous = false;
    enum jwt_status st = check_header(s, token, (size_t)(dot1 - token), &key, &previous);
    if (st != JWT_OK) return st;
    if (!signature_ok(key, token, (size_t)(dot2 - token), dot2 + 1,
                      len - (size_t)(dot2 + 1 - token)))
        return JWT_BAD_SIGNATURE;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)key, (int)strlen(key)) != 0 || !jwt)
        return JWT_MALFORMED;
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        st = JWT_BAD_ALGORITHM;
    else
        st = check_claims(s, jwt, now, &c);
    jwt_free(jwt);
    if (st == JWT_OK && claims) {
        c.previous_key = previous;
        *claims = c;
    }
    return st;
}
