/* users: POST /users, GET /users (paginated), GET /users/me, GET/PATCH/DELETE
 * /users/{id}. Who may call each is declared in routes.c only (admin, /users/me viewer).
 * Password hashes never leave the server; email and full name are sealed at rest
 * (auth/pii.h). Changes and their audit rows are written in one transaction; a changed
 * user is dropped from the principal cache once it committed (its tokens see the change
 * on the very next request). */
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "auth/audit.h"
#include "auth/password.h"
#include "auth/principal_cache.h"
#include "auth/role.h"
#include "auth/user_store.h"
#include "http/reply.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static void invalid(struct request *req, const char *field, const char *msg) {
    reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", field), "%s: %s", field,
                       msg);
}

/* A positive id of at most 18 digits, or 0. */
static int64_t parse_id(const char *s) {
    if (!s || !*s || strlen(s) > 18 || s[0] == '0') return 0;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static int64_t path_id(struct request *req) {
    const char *raw = request_param(req, "id");
    int64_t id = parse_id(raw);
    if (id == 0) reply_problem(req, PROBLEM_NOT_FOUND, "no user with id \"%s\"", raw ? raw : "");
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

/* Optional string-or-null member: *present tells whether it was given. Returns false
 * after replying 422 when it has another type. */
static bool opt_string(struct request *req, json_t *body, const char *name, const char **out,
                       bool *present) {
    json_t *v = json_object_get(body, name);
    *present = v != NULL;
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        invalid(req, name, "expected a string or null");
        return false;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        invalid(req, name, "must not contain NUL characters");
        return false;
    }
    return true;
}

/* Rejects members other than those listed (NULL-terminated). */
static bool only_members(struct request *req, json_t *body, const char *const *allowed) {
    if (!json_is_object(body)) {
        reply_problem(req, PROBLEM_VALIDATION, "the body must be a JSON object");
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++) ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) {
            invalid(req, key, "unknown field");
            return false;
        }
    }
    return true;
}

/* Checks a password against the rules and hashes it; false after replying. */
static bool hash_password(struct request *req, json_t *body, char out[PASSWORD_HASH_BYTES]) {
    json_t *v = json_object_get(body, "password");
    if (!json_is_string(v)) {
        invalid(req, "password", "expected a string");
        return false;
    }
    const char *why = password_check_rules(json_string_value(v), json_string_length(v));
    if (why) {
        invalid(req, "password", why);
        return false;
    }
    if (password_hash(json_string_value(v), json_string_length(v), out) != 0) {
        reply_problem(req, PROBLEM_INTERNAL, "the password could not be hashed");
        return false;
    }
    return true;
}

static bool check_pii(struct request *req, const char *email, const char *full_name) {
    const char *why;
    if (email && (why = user_check_email(email))) {
        invalid(req, "email", why);
        return false;
    }
    if (full_name && (why = user_check_full_name(full_name))) {
        invalid(req, "full_name", why);
        return false;
    }
    return true;
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
    static const char *const allowed[] = {"username", "password",  "role",
                                          "email",    "full_name", NULL};
    json_t *body = req->json;
    if (!only_members(req, body, allowed)) return;
    json_t *jname = json_object_get(body, "username");
    json_t *jrole = json_object_get(body, "role");
    const char *why;
    if (!json_is_string(jname)) {
        invalid(req, "username", "expected a string");
        return;
    }
    if ((why = user_check_username(json_string_value(jname)))) {
        invalid(req, "username", why);
        return;
    }
    int role = json_is_string(jrole) ? role_parse(json_string_value(jrole)) : -1;
    if (role < 0) {
        invalid(req, "role", "expected one of admin, operator, viewer");
        return;
    }
    struct create_tx t = {.req = req};
    bool has_email, has_name;
    if (!opt_string(req, body, "email", &t.in.email, &has_email) ||
        !opt_string(req, body, "full_name", &t.in.full_name, &has_name) ||
        !check_pii(req, t.in.email, t.in.full_name))
        return;
    char hash[PASSWORD_HASH_BYTES];
    if (!hash_password(req, body, hash)) return;
    t.in.username = json_string_value(jname);
    t.in.password_hash = hash;
    t.in.role = role;
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
    static const char *const allowed[] = {"role",  "enabled",   "password",
                                          "email", "full_name", NULL};
    int64_t id = path_id(req);
    if (!id) return;
    json_t *body = req->json;
    if (!only_members(req, body, allowed)) return;
    if (json_object_size(body) == 0) {
        reply_problem(req, PROBLEM_VALIDATION,
                      "nothing to change: give role, enabled, password, email or full_name");
        return;
    }
    struct update_tx t = {.req = req, .id = id};
    json_t *jrole = json_object_get(body, "role"), *jenabled = json_object_get(body, "enabled");
    if (jrole) {
        t.c.set_role = true;
        t.c.role = json_is_string(jrole) ? role_parse(json_string_value(jrole)) : -1;
        if (t.c.role < 0) {
            invalid(req, "role", "expected one of admin, operator, viewer");
            return;
        }
    }
    if (jenabled) {
        if (!json_is_boolean(jenabled)) {
            invalid(req, "enabled", "expected true or false");
            return;
        }
        t.c.set_enabled = true;
        t.c.enabled = json_is_true(jenabled);
    }
    if (!opt_string(req, body, "email", &t.c.email, &t.c.set_email) ||
        !opt_string(req, body, "full_name", &t.c.full_name, &t.c.set_full_name) ||
        !check_pii(req, t.c.email, t.c.full_name))
        return;
    char hash[PASSWORD_HASH_BYTES];
    if (json_object_get(body, "password")) {
        if (!hash_password(req, body, hash)) return;
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
