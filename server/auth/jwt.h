/* jwt: access tokens — HS256 JWTs issued and verified with libjwt 1.10, hardened around
 * its gaps: the header is read first and anything but alg HS256 with a known kid is
 * refused, the HMAC is checked in constant time with libsodium before libjwt decodes,
 * jwt_get_alg() must say HS256 afterwards, and exp/iat/nbf/iss/aud are checked here
 * (libjwt checks no claim). A key is never empty (libjwt would then accept alg none).
 * Tokens carry a kid (a hash of their key) so that SECRET_KEY_PREVIOUS is still accepted
 * during a key rotation. The settings are borrowed; issued tokens are heap strings owned
 * by the caller. */
#ifndef SLUICE_JWT_H
#define SLUICE_JWT_H

#include <stdbool.h>
#include <stdint.h>

#define JWT_MIN_KEY_BYTES 32
#define JWT_MAX_TOKEN_BYTES 4096
#define JWT_LEEWAY_SECONDS 30

struct jwt_settings {
    const char *key;          /* signing key, >= JWT_MIN_KEY_BYTES */
    const char *previous_key; /* also accepted for verification; NULL or "" when none */
    const char *issuer;
    const char *audience;
    long ttl_seconds;
};

struct jwt_claims {
    int64_t user_id;    /* sub */
    int role;           /* enum role */
    long iat, exp, nbf; /* nbf: 0 when the token has none */
    char jti[33];
    int64_t cv;        /* "cv": the user's credentials stamp at issue (microseconds since
                        * the epoch of users.credentials_changed_at); 0 when absent */
    bool previous_key; /* verified with previous_key */
};

enum jwt_status {
    JWT_OK,
    JWT_MALFORMED,     /* not three base64url parts with a JSON header */
    JWT_BAD_ALGORITHM, /* alg other than HS256 (none, HS512, RS256, ...) */
    JWT_UNKNOWN_KEY,   /* kid of neither key */
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED,
    JWT_NOT_YET_VALID, /* iat or nbf in the future */
    JWT_BAD_ISSUER,
    JWT_BAD_AUDIENCE,
    JWT_BAD_CLAIMS, /* missing or mistyped sub, role, iat, exp or jti */
};

/* Issues a token for user_id/role at time now (seconds since the epoch). Returns a
 * new string (free) and fills *claims (optional), or NULL (bad key, out of memory). */
char *jwt_issue(const struct jwt_settings *s, int64_t user_id, int role, long now,
                struct jwt_claims *claims);
/* The same with a "cv" claim (the user's credentials stamp, > 0; 0: none), so that the
 * token is refused once the user's password or status changes (bearer.c). */
char *jwt_issue_cv(const struct jwt_settings *s, int64_t user_id, int role, int64_t cv, long now,
                   struct jwt_claims *claims);

/* Verifies token at time now; on JWT_OK fills *claims. */
enum jwt_status jwt_verify(const struct jwt_settings *s, const char *token, long now,
                           struct jwt_claims *claims);

/* The checks of claims that move with time: exp (JWT_EXPIRED), iat and nbf
 * (JWT_NOT_YET_VALID), each with JWT_LEEWAY_SECONDS. jwt_verify applies them too. */
enum jwt_status jwt_check_times(const struct jwt_claims *c, long now);

/* A short English reason for a status, e.g. "the token has expired". Static. */
const char *jwt_status_text(enum jwt_status st);

/* The kid of a key: 16 hex digits of a BLAKE2b hash of it (out: 17 bytes). */
void jwt_key_id(const char *key, char out[17]);

#endif
