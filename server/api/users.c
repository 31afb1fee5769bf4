/* users: POST /users, GET /users (paginated), GET /users/me, GET/PATCH/DELETE
 * /users/{id}. Who may call each is declared in routes.c only (admin, /users/me viewer).
 * Password hashes never leave the server; email and full name are sealed at rest
 * (auth/pii.h). Changes and their audit rows are written in one transaction; a changed
 * user is dropped from the principal cache once it committed (its tokens see the change
 * on the very next request). */
#include "api/body_fields.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "auth/audit.h"
#include "auth/password.h"
#include "auth/principal_cache.h"
#include "auth/role.h"
#include "auth/user_store.h"
#include "core/text.h"
#include "http/reply.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static int64_t path_id(struct request *req) {
    const char *raw = request_param(req, "id");
    int64_t id = 0;
    if (!text_parse_id(raw, &id))
        reply_problem(req, PROBLEM_NOT_FOUND, "no user with id \"%s\"", raw ? raw : "");
    return id;
}

/* Answers a failed store call. */
static void reply_store_error(struct request *req, int rc, int64_t id, const char *what) {
    switch (rc) {
    case USER_NOT_FOUND:
        reply_problem(req, PROBLEM_NOT_FOUND, "no user with id %lld", (long long)id);
        break;
    case USER_TAKEN_USERNAME:
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "username"),
                           "this username is taken (usernames ignore case)");
        break;
    case USER_TAKEN_EMAIL:
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", "email"),
                           "another user has this email address");
        break;
    case USER_LAST_ADMIN:
        reply_problem(req, PROBLEM_CONFLICT,
                      "this would leave no enabled admin: make another user admin first");
        break;
    case USER_CRYPTO:
        reply_problem(req, PROBLEM_INTERNAL,
                      "personal data could not be sealed or opened (was PII_KEY changed?)");
        break;
    default: reply_db_error(req, what); break;
    }
}

/* The members of POST and PATCH (api/body_fields.h); the rules are user_store's and
 * password's. */
static const char *username_rule(const char *s, size_t len) {
    (void)len;
    return user_check_username(s);
}
static const char *password_rule(const char *s, size_t len) { return password_check_rules(s, len); }
static const char *email_rule(const char *s, size_t len) {
    (void)len;
    return user_check_email(s);
}
static const char *full_name_rule(const char *s, size_t len) {
    (void)len;
    return user_check_full_name(s);
}

static const char *const roles[] = {"admin", "operator", "viewer", NULL};

enum { F_USERNAME, F_PASSWORD, F_ROLE, F_EMAIL, F_FULL_NAME, F_ENABLED, F_COUNT };

static const struct field_spec user_fields[F_COUNT] = {
    [F_USERNAME] = {.name = "username",
                    .type = FIELD_TEXT,
                    .any_text = true,
                    .explain = username_rule},
    [F_PASSWORD] = {.name = "password",
                    .type = FIELD_TEXT,
                    .any_text = true,
                    .explain = password_rule},
    [F_ROLE] = {.name = "role", .type = FIELD_TEXT, .choices = roles},
    [F_EMAIL] = {.name = "email",
                 .type = FIELD_TEXT,
                 .nullable = true,
                 .any_text = true,
                 .explain = email_rule},
    [F_FULL_NAME] = {.name = "full_name",
                     .type = FIELD_TEXT,
                     .nullable = true,
                     .any_text = true,
                     .explain = full_name_rule},
    [F_ENABLED] = {.name = "enabled", .type = FIELD_BOOL},
};

/* Checks the body against the members of POST (create: username, password and role
 * required; no enabled) or PATCH (none required; no username). false after a 422. */
static bool check_user_body(struct request *req, bool create, struct field_value f[F_COUNT]) {
    struct field_spec specs[F_COUNT];
    size_t n = 0;
    int index[F_COUNT];
    for (int i = 0; i < F_COUNT; i++) {
        if ((create && i == F_ENABLED) || (!create && i == F_USERNAME)) continue;
        specs[n] = user_fields[i];
        specs[n].required = create && (i == F_USERNAME || i == F_PASSWORD || i == F_ROLE);
        index[n++] = i;
    }
    struct field_value got[F_COUNT];
    struct field_errors errs = {0};
    bool ok = body_fields_check(req->json, "", specs, n, got, &errs);
    memset(f, 0, F_COUNT * sizeof *f);
    for (size_t k = 0; k < n; k++) f[index[k]] = got[k];
    if (ok && !create && json_object_size(req->json) == 0) {
        body_fields_fail(&errs, "body",
                         "nothing to change: give role, enabled, password, email or full_name");
        ok = false;
    }
    if (!ok) body_fields_reply(req, &errs);
    return ok;
}

/* Hashes the checked password; false after replying. */
static bool hash_password(struct request *req, const struct field_value *pw,
                          char out[PASSWORD_HASH_BYTES]) {
    if (password_hash(pw->text, pw->len, out) != 0) {
        reply_problem(req, PROBLEM_INTERNAL, "the password could not be hashed");
        return false;
    }
    return true;
}

static const char *text_or_null(const struct field_value *v) {
    return v->present && !v->is_null ? v->text : NULL;
}

/* Replies the user with this id (after a change), status 200 or 201. */
static void reply_user(struct request *req, int64_t id, unsigned status) {
    struct user u;
    int rc = user_store_get(req->db, id, &u);
    if (rc != USER_OK) {
        reply_store_error(req, rc, id, "reading the user");
        return;
    }
    reply_json(req, status, user_json(&u));
    user_cleanup(&u);
}

/* ---- POST /users --------------------------------------------------------------------- */

struct create_tx {
    struct request *req;
    struct user_new in;
    int64_t id;
};

static int create_tx(struct db *db, void *arg) {
    struct create_tx *t = arg;
    int rc = user_store_create(db, &t->in, &t->id);
    if (rc != USER_OK) return rc;
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)t->id);
    json_t *details =
        json_pack("{s:s,s:s,s:b,s:b}", "username", t->in.username, "role", role_name(t->in.role),
                  "email", t->in.email != NULL, "full_name", t->in.full_name != NULL);
    return audit_request(t->req, "user.create", target, details) == 0 ? USER_OK : USER_ERROR;
}

void api_users_create(struct request *req) {
    struct field_value f[F_COUNT];
    if (!check_user_body(req, true, f)) return;
    struct create_tx t = {.req = req};
    t.in.email = text_or_null(&f[F_EMAIL]);
    t.in.full_name = text_or_null(&f[F_FULL_NAME]);
    char hash[PASSWORD_HASH_BYTES];
    if (!hash_password(req, &f[F_PASSWORD], hash)) return;
    t.in.username = f[F_USERNAME].text;
    t.in.password_hash = hash;
    t.in.role = role_parse(f[F_ROLE].text);
    int rc = db_transaction(req->db, create_tx, &t);
    sodium_memzero(hash, sizeof hash);
    if (rc != USER_OK) {
        reply_store_error(req, rc, 0, "creating the user");
        return;
    }
    char location[48];
    snprintf(location, sizeof location, "/users/%lld", (long long)t.id);
    reply_user(req, t.id, 201);
    if (req->reply.status == 201) reply_header(req, "Location", location);
}

/* ---- GET /users ---------------------------------------------------------------------- */

/* Pages by id with the shared keyset helpers (api/pagination.h): limit, cursor. */
void api_users_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", NULL};
    static const struct page_sort sorts[] = {{"id", 1, {PAGE_KEY_INT}}};
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !page_parse(req, sorts, 1, &pg)) return;
    int64_t after = strtoll(page_key(&pg, 0, "0"), NULL, 10);
    json_t *items = json_array();
    bool more = false;
    int rc = user_store_list(req->db, after, (int)pg.limit, items, &more);
    if (rc != USER_OK) {
        json_decref(items);
        page_cleanup(&pg);
        reply_store_error(req, rc, 0, "listing users");
        return;
    }
    char last[24] = "";
    const char *next_keys[1] = {last};
    if (more) {
        json_t *u = json_array_get(items, json_array_size(items) - 1);
        snprintf(last, sizeof last, "%lld",
                 (long long)json_integer_value(json_object_get(u, "id")));
    }
    page_reply(req, &pg, items, more ? next_keys : NULL);
    page_cleanup(&pg);
}

/* ---- GET /users/me, GET /users/{id} ----------------------------------------------------- */

void api_users_me(struct request *req) { reply_user(req, req->auth.user_id, 200); }

void api_users_get(struct request *req) {
    int64_t id = path_id(req);
    if (id) reply_user(req, id, 200);
}

/* ---- PATCH /users/{id} ----------------------------------------------------------------- */

struct update_tx {
    struct request *req;
    int64_t id;
    struct user_change c;
};

static int update_tx(struct db *db, void *arg) {
    struct update_tx *t = arg;
    int rc = user_store_update(db, t->id, &t->c);
    if (rc != USER_OK) return rc;
    json_t *changed = json_array();
    if (t->c.set_role) json_array_append_new(changed, json_string("role"));
    if (t->c.set_enabled) json_array_append_new(changed, json_string("enabled"));
    if (t->c.password_hash) json_array_append_new(changed, json_string("password"));
    if (t->c.set_email) json_array_append_new(changed, json_string("email"));
    if (t->c.set_full_name) json_array_append_new(changed, json_string("full_name"));
    json_t *details = json_pack("{s:o}", "changed", changed);
    if (t->c.set_role) json_object_set_new(details, "role", json_string(role_name(t->c.role)));
    if (t->c.set_enabled) json_object_set_new(details, "enabled", json_boolean(t->c.enabled));
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)t->id);
    return audit_request(t->req, "user.update", target, details) == 0 ? USER_OK : USER_ERROR;
}

void api_users_update(struct request *req) {
    int64_t id = path_id(req);
    if (!id) return;
    struct field_value f[F_COUNT];
    if (!check_user_body(req, false, f)) return;
    struct update_tx t = {.req = req, .id = id};
    t.c.set_role = f[F_ROLE].present;
    t.c.role = t.c.set_role ? role_parse(f[F_ROLE].text) : 0;
    t.c.set_enabled = f[F_ENABLED].present;
    t.c.enabled = f[F_ENABLED].boolean;
    t.c.set_email = f[F_EMAIL].present;
    t.c.email = text_or_null(&f[F_EMAIL]);
    t.c.set_full_name = f[F_FULL_NAME].present;
    t.c.full_name = text_or_null(&f[F_FULL_NAME]);
    char hash[PASSWORD_HASH_BYTES];
    if (f[F_PASSWORD].present) {
        if (!hash_password(req, &f[F_PASSWORD], hash)) return;
        t.c.password_hash = hash;
    }
    int rc = db_transaction(req->db, update_tx, &t);
    /* Again after the commit: a request that read the old row meanwhile must not keep it
     * (its fill is refused too: the epoch moved). */
    principal_cache_invalidate(id);
    sodium_memzero(hash, sizeof hash);
    if (rc != USER_OK) {
        reply_store_error(req, rc, id, "updating the user");
        return;
    }
    reply_user(req, id, 200);
}

/* ---- DELETE /users/{id} ---------------------------------------------------------------- */

struct delete_tx {
    struct request *req;
    int64_t id;
    bool anonymised;
};

static int delete_tx(struct db *db, void *arg) {
    struct delete_tx *t = arg;
    int rc = user_store_delete(db, t->id, &t->anonymised);
    if (rc != USER_OK) return rc;
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)t->id);
    return audit_request(t->req, "user.delete", target,
                         json_pack("{s:b}", "anonymised", t->anonymised)) == 0
               ? USER_OK
               : USER_ERROR;
}

void api_users_delete(struct request *req) {
    int64_t id = path_id(req);
    if (!id) return;
    struct delete_tx t = {.req = req, .id = id};
    int rc = db_transaction(req->db, delete_tx, &t);
    principal_cache_invalidate(id); /* after the commit, as in PATCH */
    if (rc != USER_OK) {
        reply_store_error(req, rc, id, "deleting the user");
        return;
    }
    reply_bytes(req, 204, NULL, "", 0, true);
}
