/* token: POST /token — the OAuth 2.0 password grant (RFC 6749 §4.3). Answers
 * {"access_token", "token_type": "bearer", "expires_in"} or an RFC 6749 §5.2 error
 * ({"error", "error_description"}), never problem+json. An unknown user costs the same
 * as a wrong password (a dummy Argon2id hash is verified), failures are counted in
 * PostgreSQL per username and per client address (429 + Retry-After past the limit),
 * and every outcome is audited. The form and the password copies are wiped and freed
 * before returning. */
#include "api/handlers.h"
#include "app.h"
#include "auth/audit.h"
#include "auth/auth_setup.h"
#include "auth/form.h"
#include "auth/jwt.h"
#include "auth/login_limit.h"
#include "auth/password.h"
#include "auth/user_store.h"
#include "core/log.h"
#include "db/db.h"
#include "http/oauth_reply.h"
#include "http/reply.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Client authentication: sluice has only public clients (Swagger UI, scripts), so a
 * client may identify itself (client_id, or HTTP Basic, as Swagger UI sends
 * `Basic Og==` for an empty id and secret) but must not present a secret.
 * Returns false after replying. */
static bool check_client(struct request *req, const struct form *f) {
    const char *form_id = form_get(f, "client_id");
    const char *form_secret = form_get(f, "client_secret");
    if (form_secret && *form_secret) {
        reply_oauth_error(req, 401, "invalid_client",
                          "sluice has no confidential clients: send an empty client_secret");
        return false;
    }
    const char *h = req->authorization;
    if (!h || !*h) return true;
    if (strncasecmp(h, "Basic ", 6) != 0) {
        reply_oauth_error(req, 400, "invalid_request",
                          "the token endpoint accepts no Authorization header but HTTP Basic "
                          "client authentication with an empty secret");
        return false;
    }
    const char *b64 = h + 6;
    while (*b64 == ' ') b64++;
    char decoded[512];
    size_t n = 0;
    if (sodium_base642bin((unsigned char *)decoded, sizeof decoded - 1, b64, strlen(b64), NULL, &n,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        !memchr(decoded, ':', n)) {
        reply_oauth_error(req, 400, "invalid_request",
                          "the Basic Authorization header is not base64 of client_id:secret");
        return false;
    }
    decoded[n] = '\0';
    char *colon = strchr(decoded, ':');
    if (!colon || colon[1] != '\0') {
        reply_header(req, "WWW-Authenticate", "Basic realm=\"sluice\"");
        reply_oauth_error(req, 401, "invalid_client",
                          "sluice has no confidential clients: send an empty client secret");
        return false;
    }
    *colon = '\0';
    if (*decoded && form_id && *form_id && strcmp(decoded, form_id) != 0) {
        reply_oauth_error(req, 400, "invalid_request",
                          "client_id differs between the form and the Authorization header");
        return false;
    }
    return true;
}

/* The database failed: still an RFC 6749 answer on this endpoint. */
static void token_db_error(struct request *req, const char *what) {
    if (db_is_down(req->db)) {
        reply_header(req, "Retry-After", "5");
        reply_oauth_error(req, 503, "temporarily_unavailable",
                          "the database is unreachable; retry later");
        return;
    }
    log_event(LOG_ERROR, "database error", "what", what, "error", db_last_error(req->db),
              "request_id", req->request_id, (char *)NULL);
    reply_oauth_error(req, 500, "server_error", "a database operation failed (request %s)",
                      req->request_id);
}

static void audit_login(struct request *req, const char *action, int64_t user_id, bool as_actor,
                        json_t *details) {
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)user_id);
    struct audit_entry e = {
        .actor_id = as_actor ? user_id : 0,
        .action = action,
        .target = user_id > 0 ? target : NULL,
        .client_addr = req->client_addr,
        .request_id = req->request_id,
        .details = details,
    };
    if (audit_write(req->db, &e) != 0)
        log_event(LOG_ERROR, "audit write failed", "action", action, "error",
                  db_last_error(req->db), (char *)NULL);
}

static void reply_token(struct request *req, const struct user_login *u) {
    struct app *a = app_get();
    struct jwt_settings js = auth_jwt_settings(&a->config);
    char *token = jwt_issue_cv(&js, u->id, u->role, u->creds_us, (long)time(NULL), NULL);
    if (!token) {
        reply_oauth_error(req, 500, "server_error", "the access token could not be signed");
        return;
    }
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:I}", "access_token", token, "token_type", "bearer",
                         "expires_in", (json_int_t)js.ttl_seconds));
    reply_header(req, "Cache-Control", "no-store");
    reply_header(req, "Pragma", "no-cache");
    free(token);
}

/* A hash made with older Argon2id parameters is replaced now that we know the password. */
static void rehash_if_needed(struct request *req, const struct user_login *u, const char *pw,
                             size_t len) {
    if (!password_needs_rehash(u->hash)) return;
    char fresh[PASSWORD_HASH_BYTES];
    if (password_hash(pw, len, fresh) == 0 && user_store_rehash(req->db, u->id, fresh) == USER_OK) {
        audit_login(req, "user.rehash", u->id, true, NULL);
    } else {
        log_event(LOG_WARN, "password rehash failed", "error", db_last_error(req->db),
                  (char *)NULL);
    }
    sodium_memzero(fresh, sizeof fresh);
}

static void login(struct request *req, const char *username, const char *password,
                  size_t password_len) {
    struct config *c = &app_get()->config;
    struct user_login u;
    if (user_store_find_login(req->db, username, &u) == USER_ERROR) {
        token_db_error(req, "looking the user up");
        return;
    }
    struct login_limits limits = {
        .pair_max = c->login_max_failures,
        .window = c->login_window_seconds,
        .user_max = c->login_user_max_failures,
        .address_max = c->login_address_max_failures,
        .user_window = c->login_user_window_seconds,
        .max_delay = c->login_max_delay_seconds,
    };
    struct login_attempt attempt;
    if (login_limit_reserve(req->db, username, req->client_addr, &limits, &attempt) != 0) {
        token_db_error(req, "checking failed logins");
        return;
    }
    if (attempt.retry_after > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", attempt.retry_after);
        audit_login(req, "login.locked", u.found ? u.id : 0, false,
                    json_pack("{s:I,s:s}", "retry_after", (json_int_t)attempt.retry_after, "limit",
                              attempt.locked));
        reply_header(req, "Retry-After", ra);
        const char *whose = strcmp(attempt.locked, "pair") == 0 ? "this username from this address"
                            : strcmp(attempt.locked, "user") == 0 ? "this username"
                                                                  : "this address";
        reply_oauth_error(req, 429, "too_many_requests",
                          "too many failed logins for %s: retry in %ld seconds", whose,
                          attempt.retry_after);
        sodium_memzero(&u, sizeof u);
        return;
    }
    /* Verified even for an unknown user (against the dummy hash): same cost, same answer. */
    bool match = password_verify(u.found ? u.hash : NULL, password, password_len);
    if (!match || !u.enabled) {
        const char *reason = !u.found ? "unknown_user" : !match ? "bad_password" : "disabled";
        /* already counted: login_limit_reserve recorded the attempt as a failure */
        audit_login(req, "login.failure", u.found ? u.id : 0, false,
                    json_pack("{s:s}", "reason", reason));
        reply_oauth_error(req, 400, "invalid_grant", "incorrect username or password");
        sodium_memzero(&u, sizeof u);
        return;
    }
    rehash_if_needed(req, &u, password, password_len);
    if (login_limit_succeeded(req->db, username, req->client_addr, &attempt) != 0) {
        token_db_error(req, "clearing failed logins");
        return;
    }
    audit_login(req, "login.success", u.id, true, NULL);
    reply_token(req, &u);
    sodium_memzero(&u, sizeof u);
}

/* True when the Content-Type's media type (parameters ignored) is the form's. */
static bool is_form(const char *ct) {
    static const char form_type[] = "application/x-www-form-urlencoded";
    if (!ct) return false;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return n == sizeof form_type - 1 && strncasecmp(ct, form_type, n) == 0;
}

void api_token(struct request *req) {
    struct form f;
    struct form_error fe;
    /* Checked here, not by the server (which would answer 415 problem+json): RFC 6749
     * wants invalid_request for a body that is not a form. */
    if (!is_form(req->content_type)) {
        reply_oauth_error(req, 400, "invalid_request",
                          "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    if (form_parse(req->body ? req->body : "", req->body_len, &f, &fe) != FORM_OK) {
        char text[160];
        form_error_text(&fe, text, sizeof text);
        reply_oauth_error(req, 400, "invalid_request", "%s", text);
        return;
    }
    const char *grant = form_get(&f, "grant_type");
    const char *username = form_get(&f, "username");
    const char *password = form_get(&f, "password");
    if (!check_client(req, &f)) {
        /* reply set */
    } else if (grant && strcmp(grant, "password") != 0) {
        reply_oauth_error(req, 400, "unsupported_grant_type",
                          "only grant_type=password is supported");
    } else if (!username || !*username) {
        reply_oauth_error(req, 400, "invalid_request", "the username field is required");
    } else if (!password || !*password) {
        reply_oauth_error(req, 400, "invalid_request", "the password field is required");
    } else {
        size_t password_len = 0;
        for (size_t i = 0; i < f.n; i++)
            if (f.fields[i].value == password) password_len = f.fields[i].value_len;
        login(req, username, password, password_len);
    }
    form_cleanup(&f);
}
