/* bearer: see bearer.h. The caller's role and enabled flag come from the principal
 * cache (auth/principal_cache.h) or the database. Nothing here owns heap memory. */
#include "auth/bearer.h"

#include "app.h"
#include "auth/audit_refusals.h"
#include "auth/auth_setup.h"
#include "auth/jwt.h"
#include "auth/principal_cache.h"
#include "auth/role.h"
#include "auth/token_cache.h"
#include "auth/user_store.h"
#include "http/reply.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define REALM "Bearer realm=\"sluice\""

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool is_b64token(const char *s) {
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok) break;
    }
    if (i == 0) return false;
    while (s[i] == '=') i++;
    return s[i] == '\0';
}

static void refuse(struct request *req, enum problem_type type, const char *error,
                   const char *description) {
    char challenge[256];
    if (error)
        snprintf(challenge, sizeof challenge, REALM ", error=\"%s\", error_description=\"%s\"",
                 error, description);
    else
        snprintf(challenge, sizeof challenge, REALM);
    reply_header(req, "WWW-Authenticate", challenge);
    reply_problem(req, type, "%s", description);
}

/* Audits a refused token (aggregated per address and reason: audit_refusals.h); the
 * refusal itself is the reply whatever happens here. */
static void audit_refusal(struct request *req, int64_t user_id, enum refusal_code code,
                          const char *reason) {
    audit_refusals_note(req, user_id, code, reason);
}

static enum refusal_code jwt_refusal(enum jwt_status st) {
    switch (st) {
    case JWT_OK:
    case JWT_MALFORMED: return REFUSAL_MALFORMED;
    case JWT_BAD_ALGORITHM: return REFUSAL_BAD_ALGORITHM;
    case JWT_UNKNOWN_KEY: return REFUSAL_UNKNOWN_KEY;
    case JWT_BAD_SIGNATURE: return REFUSAL_BAD_SIGNATURE;
    case JWT_EXPIRED: return REFUSAL_EXPIRED;
    case JWT_NOT_YET_VALID: return REFUSAL_NOT_YET_VALID;
    case JWT_BAD_ISSUER: return REFUSAL_BAD_ISSUER;
    case JWT_BAD_AUDIENCE: return REFUSAL_BAD_AUDIENCE;
    case JWT_BAD_CLAIMS: return REFUSAL_BAD_CLAIMS;
    }
    return REFUSAL_MALFORMED;
}

/* The caller as stored: from the principal cache when fresh, else from the database
 * (then remembered, unless a change to users was seen meanwhile: see the epoch). */
static int load_caller(struct request *req, int64_t user_id, struct user_brief *u) {
    struct cached_principal p;
    if (principal_cache_get(user_id, &p)) {
        u->id = p.user_id;
        u->role = p.role;
        u->enabled = p.enabled;
        snprintf(u->username, sizeof u->username, "%s", p.username);
        return USER_OK;
    }
    uint64_t epoch = principal_cache_epoch();
    int rc = user_store_brief(req->db, user_id, u);
    if (rc == USER_OK && u->enabled) {
        p = (struct cached_principal){.user_id = u->id, .role = u->role, .enabled = true};
        snprintf(p.username, sizeof p.username, "%s", u->username);
        principal_cache_put(&p, epoch);
    }
    return rc;
}

bool bearer_authorize(struct request *req, int required_role) {
    memset(&req->auth, 0, sizeof req->auth);
    const char *h = req->authorization;
    if (!h || !*h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0')) {
        refuse(req, PROBLEM_UNAUTHORIZED, NULL,
               "this route needs a bearer token: Authorization: Bearer <access token from "
               "POST /token>");
        return false;
    }
    const char *token = h + 6;
    while (*token == ' ') token++;
    if (!is_b64token(token)) {
        refuse(req, PROBLEM_BAD_REQUEST, "invalid_request",
               "the Authorization header is malformed: expected Bearer followed by one token");
        return false;
    }
    struct app *a = app_get();
    struct jwt_settings js = auth_jwt_settings(&a->config);
    struct jwt_claims claims;
    enum jwt_status st = token_cache_verify(&js, token, (long)time(NULL), &claims);
    if (st != JWT_OK) {
        audit_refusal(req, 0, jwt_refusal(st), jwt_status_text(st));
        refuse(req, PROBLEM_UNAUTHORIZED, "invalid_token", jwt_status_text(st));
        return false;
    }
    struct user_brief u;
    int rc = load_caller(req, claims.user_id, &u);
    if (rc == USER_ERROR) {
        reply_db_error(req, "loading the caller");
        return false;
    }
    if (rc == USER_NOT_FOUND || !u.enabled) {
        const char *why = rc == USER_NOT_FOUND ? "the user of the token no longer exists"
                                               : "the user of the token is disabled";
        audit_refusal(req, rc == USER_NOT_FOUND ? 0 : u.id,
                      rc == USER_NOT_FOUND ? REFUSAL_USER_GONE : REFUSAL_USER_DISABLED, why);
        refuse(req, PROBLEM_UNAUTHORIZED, "invalid_token", why);
        return false;
    }
    req->auth.user_id = u.id;
    req->auth.role = u.role;
    snprintf(req->auth.username, sizeof req->auth.username, "%s", u.username);
    req->auth.authenticated = true;
    if (u.role < required_role) {
        char why[128];
        snprintf(why, sizeof why, "this route needs the %s role; the caller is %s",
                 role_name(required_role), role_name(u.role));
        audit_refusal(req, u.id, REFUSAL_INSUFFICIENT_ROLE, why);
        refuse(req, PROBLEM_FORBIDDEN, "insufficient_scope", why);
        return false;
    }
    return true;
}
