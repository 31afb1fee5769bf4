/* jwt_forge: test tokens forged with the test's knowledge of the key, shared by
 * tests/unit/test_jwt.c and tests/integration/test_auth_bearer.c: base64url, a
 * header.payload.signature token signed HMAC-SHA256 (or with a given signature text, for
 * alg none), a header carrying the kid of a key, a token whose payload is swapped, and
 * a genuine HS512 token made by libjwt. No I/O; sodium_init() must have run. Every
 * string returned is malloc'd and the caller's to free. */
#ifndef SLUICE_TEST_JWT_FORGE_H
#define SLUICE_TEST_JWT_FORGE_H

#include <stddef.h>

/* base64url without padding of len bytes of data. */
char *jwt_forge_b64url(const void *data, size_t len);

/* header.payload.signature of the two JSON texts, signed HMAC-SHA256 with key; with key
 * NULL the signature part is sig_text as given ("" for the usual alg none attack). */
char *jwt_forge(const char *header_json, const char *payload_json, const char *key,
                const char *sig_text);

/* {"alg":alg,"typ":"JWT","kid":<jwt_key_id(key)>} */
char *jwt_forge_kid_header(const char *alg, const char *key);

/* token with its payload part replaced by payload_json (base64url encoded), header and
 * signature kept. */
char *jwt_forge_swap_payload(const char *token, const char *payload_json);

/* A genuine HS512 token by libjwt, signed with key under its kid, claiming iss "sluice",
 * aud "sluice-api", role admin, sub, jti, iat and exp as given. */
char *jwt_forge_hs512(const char *key, const char *sub, const char *jti, long iat, long exp);

#endif
