/* auth_setup: see auth_setup.h. */
#include "auth/auth_setup.h"

#include "auth/password.h"
#include "auth/pii.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

int auth_setup(const struct config *c, bool need_jwt, char *err, size_t errlen) {
    if (need_jwt && (!c->secret_key || strlen(c->secret_key) < JWT_MIN_KEY_BYTES)) {
        snprintf(err, errlen,
                 "SECRET_KEY must be set and at least %d bytes long (e.g. "
                 "`openssl rand -base64 48`)",
                 JWT_MIN_KEY_BYTES);
        return -1;
    }
    if (need_jwt && c->secret_key_previous && *c->secret_key_previous &&
        strlen(c->secret_key_previous) < JWT_MIN_KEY_BYTES) {
        snprintf(err, errlen, "SECRET_KEY_PREVIOUS must be at least %d bytes long when set",
                 JWT_MIN_KEY_BYTES);
        return -1;
    }
    if (!pii_key_valid(c->pii_key)) {
        snprintf(err, errlen,
                 "PII_KEY must be set to 64 hex digits (32 bytes, e.g. "
                 "`openssl rand -hex 32`)");
        return -1;
    }
    if (pii_setup(c->pii_key) != 0) {
        snprintf(err, errlen, "PII_KEY cannot be used");
        return -1;
    }
    if (password_init((int)c->password_hash_concurrency) != 0) {
        snprintf(err, errlen, "Argon2id cannot hash: not enough memory?");
        return -1;
    }
    char params[64], concurrency[16];
    password_params(params, sizeof params);
    snprintf(concurrency, sizeof concurrency, "%d", password_concurrency());
    log_event(need_jwt ? LOG_INFO : LOG_DEBUG, "password hashing", "params", params, "concurrency",
              concurrency, (char *)NULL);
    return 0;
}

struct jwt_settings auth_jwt_settings(const struct config *c) {
    struct jwt_settings s = {
        .key = c->secret_key,
        .previous_key = c->secret_key_previous,
        .issuer = c->jwt_issuer ? c->jwt_issuer : "",
        .audience = c->jwt_audience ? c->jwt_audience : "",
        .ttl_seconds = c->access_token_expire_minutes * 60,
    };
    return s;
}
