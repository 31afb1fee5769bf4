/* user_store: the users table's SQL and the row ↔ struct user mapping; see
 * user_store.h. */
#include "auth/user_store.h"

#include "auth/pii_sql.h"
#include "auth/pii.h"
#include "auth/principal_cache.h"
#include "auth/role.h"
#include "core/json_out.h"
#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLUMNS                                                                               \
    "id, username, role, enabled, email_ct, email_nonce, full_name_ct, "                           \
    "full_name_nonce, " JSON_SQL_UTC("created_at") ", " JSON_SQL_UTC("updated_at")

/* The credentials stamp as microseconds since the epoch (migration 0006). */
#define CREDS_US "(extract(epoch FROM credentials_changed_at) * 1000000)::bigint"

static struct db_stmt q_find_login =
    DB_STMT("SELECT id, role, enabled, password_hash, " CREDS_US " FROM users "
            "WHERE username = $1::citext AND anonymised_at IS NULL");
static struct db_stmt q_get =
    DB_STMT("SELECT " USER_COLUMNS " FROM users WHERE id = $1::bigint AND anonymised_at IS NULL");
static struct db_stmt q_brief = DB_STMT("SELECT username, role, enabled, " CREDS_US " FROM users "
                                        "WHERE id = $1::bigint AND anonymised_at IS NULL");
static struct db_stmt q_list =
    DB_STMT("SELECT " USER_COLUMNS " FROM users WHERE anonymised_at IS NULL AND id > $1::bigint "
            "ORDER BY id LIMIT $2::int");
static struct db_stmt q_count_live =
    DB_STMT("SELECT count(*) FROM users WHERE anonymised_at IS NULL");
static struct db_stmt q_set_hash =
    DB_STMT("UPDATE users SET password_hash = $2 WHERE id = $1::bigint AND anonymised_at IS NULL");
/* The trigger of migration 0006 keeps the stamp when this transaction says it rehashes. */
static struct db_stmt q_say_rehash = DB_STMT("SELECT set_config('sluice.rehash', 'on', true)");
static struct db_stmt q_lock = DB_STMT("SELECT pg_advisory_xact_lock(hashtext('sluice.users'))");
static struct db_stmt q_insert =
    DB_STMT("INSERT INTO users (username, password_hash, role, email_ct, email_nonce, email_index, "
            "full_name_ct, full_name_nonce) VALUES ($1::citext, $2, $3, $4::bytea, $5::bytea, "
            "$6::bytea, $7::bytea, $8::bytea) RETURNING id");
static struct db_stmt q_update =
    DB_STMT("UPDATE users SET "
            "role = CASE WHEN $2::boolean THEN $3 ELSE role END, "
            "enabled = CASE WHEN $4::boolean THEN $5::boolean ELSE enabled END, "
            "password_hash = COALESCE($6, password_hash), "
            "email_ct = CASE WHEN $7::boolean THEN $8::bytea ELSE email_ct END, "
            "email_nonce = CASE WHEN $7::boolean THEN $9::bytea ELSE email_nonce END, "
            "email_index = CASE WHEN $7::boolean THEN $10::bytea ELSE email_index END, "
            "full_name_ct = CASE WHEN $11::boolean THEN $12::bytea ELSE full_name_ct END, "
            "full_name_nonce = CASE WHEN $11::boolean THEN $13::bytea ELSE full_name_nonce END "
            "WHERE id = $1::bigint AND anonymised_at IS NULL RETURNING id");
static struct db_stmt q_admins_left = DB_STMT(
    "SELECT count(*) FROM users WHERE role = 'admin' AND enabled AND anonymised_at IS NULL");
static struct db_stmt q_delete =
    DB_STMT("DELETE FROM users WHERE id = $1::bigint AND anonymised_at IS NULL RETURNING id");
static struct db_stmt q_anonymise = DB_STMT(
    "UPDATE users SET username = NULL, password_hash = NULL, enabled = false, email_ct = NULL, "
    "email_nonce = NULL, email_index = NULL, full_name_ct = NULL, full_name_nonce = NULL, "
    "anonymised_at = now() WHERE id = $1::bigint AND anonymised_at IS NULL RETURNING id");

void user_cleanup(struct user *u) {
    free(u->username);
    free(u->email);
    free(u->full_name);
    memset(u, 0, sizeof *u);
}

static json_t *string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

json_t *user_json(const struct user *u) {
    return json_pack("{s:I,s:s,s:s,s:b,s:o,s:o,s:s,s:s}", "id", (json_int_t)u->id, "username",
                     u->username ? u->username : "", "role", role_name(u->role), "enabled",
                     u->enabled, "email", string_or_null(u->email), "full_name",
                     string_or_null(u->full_name), "created_at", u->created_at, "updated_at",
                     u->updated_at);
}

/* ---- validation ------------------------------------------------------------------ */

const char *user_check_username(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n < 3 || n > USER_NAME_MAX) return "the username must be 3 to 64 characters long";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '@')))
            return "the username may hold only letters A-Z, digits and . _ - @, and must "
                   "start with a letter or digit";
    }
    return NULL;
}

static bool has_control(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return true;
    return false;
}

const char *user_check_email(const char *email) {
    size_t n = strlen(email);
    if (n < 3 || n > 254) return "the email address must be 3 to 254 bytes long";
    if (!text_utf8_valid(email, n) || has_control(email) || strpbrk(email, " \t"))
        return "the email address holds spaces, control characters or invalid UTF-8";
    const char *at = strchr(email, '@');
    if (!at || at == email || at[1] == '\0' || strchr(at + 1, '@'))
        return "the email address must be local@domain with exactly one @";
    return NULL;
}

const char *user_check_full_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 400) return "the full name must be 1 to 400 bytes long";
    if (!text_utf8_valid(name, n) || has_control(name))
        return "the full name holds control characters or invalid UTF-8";
    return NULL;
}

/* ---- row mapping ----------------------------------------------------------------- */

static bool read_user(PGresult *r, int row, struct user *u) {
    memset(u, 0, sizeof *u);
    bool ok = true;
    u->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    u->username = strdup(PQgetvalue(r, row, 1));
    u->role = role_parse(PQgetvalue(r, row, 2));
    u->enabled = PQgetvalue(r, row, 3)[0] == 't';
    u->email = pii_result_open(r, row, 4, "email", &ok);
    u->full_name = pii_result_open(r, row, 6, "full_name", &ok);
    snprintf(u->created_at, sizeof u->created_at, "%s", PQgetvalue(r, row, 8));
    snprintf(u->updated_at, sizeof u->updated_at, "%s", PQgetvalue(r, row, 9));
    if (!u->username) ok = false;
    return ok;
}

/* A unique violation tells which constraint it hit. */
static int classify_failure(struct db *db) {
    if (strcmp(db_sqlstate(db), "23505") != 0) return USER_ERROR;
    return strstr(db_last_error(db), "users_email_index_key") ? USER_TAKEN_EMAIL
                                                              : USER_TAKEN_USERNAME;
}

/* ---- verbs ------------------------------------------------------------------------- */

int user_store_find_login(struct db *db, const char *username, struct user_login *out) {
    memset(out, 0, sizeof *out);
    const char *params[] = {username};
    PGresult *r = db_exec(db, &q_find_login, 1, params);
    if (!r) return USER_ERROR;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 3)) {
        out->found = true;
        out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        out->role = role_parse(PQgetvalue(r, 0, 1));
        out->enabled = PQgetvalue(r, 0, 2)[0] == 't';
        snprintf(out->hash, sizeof out->hash, "%s", PQgetvalue(r, 0, 3));
        out->creds_us = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    }
    PQclear(r);
    return out->found ? USER_OK : USER_NOT_FOUND;
}

int user_store_get(struct db *db, int64_t id, struct user *out) {
    memset(out, 0, sizeof *out);
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext};
    PGresult *r = db_exec(db, &q_get, 1, params);
    if (!r) return USER_ERROR;
    int rc = USER_NOT_FOUND;
    if (PQntuples(r) == 1) rc = read_user(r, 0, out) ? USER_OK : USER_CRYPTO;
    PQclear(r);
    if (rc == USER_CRYPTO) user_cleanup(out);
    return rc;
}

int user_store_brief(struct db *db, int64_t id, struct user_brief *out) {
    memset(out, 0, sizeof *out);
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext};
    PGresult *r = db_exec(db, &q_brief, 1, params);
    if (!r) return USER_ERROR;
    int rc = USER_NOT_FOUND;
    if (PQntuples(r) == 1) {
        out->id = id;
        snprintf(out->username, sizeof out->username, "%s", PQgetvalue(r, 0, 0));
        out->role = role_parse(PQgetvalue(r, 0, 1));
        out->enabled = PQgetvalue(r, 0, 2)[0] == 't';
        out->creds_us = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        rc = USER_OK;
    }
    PQclear(r);
    return rc;
}

int user_store_list(struct db *db, int64_t after, int limit, json_t *items, bool *more) {
    char after_text[24], limit_text[16];
    snprintf(after_text, sizeof after_text, "%lld", (long long)after);
    snprintf(limit_text, sizeof limit_text, "%d", limit + 1);
    const char *params[] = {after_text, limit_text};
    PGresult *r = db_exec(db, &q_list, 2, params);
    if (!r) return USER_ERROR;
    int n = PQntuples(r), rc = USER_OK;
    *more = n > limit;
    for (int i = 0; i < n && i < limit; i++) {
        struct user u;
        if (!read_user(r, i, &u)) rc = USER_CRYPTO;
        json_array_append_new(items, user_json(&u));
        user_cleanup(&u);
    }
    PQclear(r);
    return rc;
}

int user_store_count_live(struct db *db, long *count) {
    PGresult *r = db_exec(db, &q_count_live, 0, NULL);
    if (!r) return USER_ERROR;
    *count = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return USER_OK;
}

int user_store_set_password_hash(struct db *db, int64_t id, const char *hash) {
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext, hash};
    PGresult *r = db_exec(db, &q_set_hash, 2, params);
    if (!r) return USER_ERROR;
    int rc = atoi(PQcmdTuples(r)) == 1 ? USER_OK : USER_NOT_FOUND;
    PQclear(r);
    principal_cache_invalidate(id);
    return rc;
}

struct rehash {
    int64_t id;
    const char *hash;
    int rc;
};

static int rehash_in_tx(struct db *db, void *arg) {
    struct rehash *rh = arg;
    PGresult *r = db_exec(db, &q_say_rehash, 0, NULL);
    if (!r) return -1;
    PQclear(r);
    rh->rc = user_store_set_password_hash(db, rh->id, rh->hash);
    return rh->rc == USER_ERROR ? -1 : 0;
}

int user_store_rehash(struct db *db, int64_t id, const char *hash) {
    struct rehash rh = {.id = id, .hash = hash, .rc = USER_ERROR};
    if (db_transaction(db, rehash_in_tx, &rh) != 0) return USER_ERROR;
    principal_cache_invalidate(id);
    return rh.rc;
}

int user_store_lock(struct db *db) {
    PGresult *r = db_exec(db, &q_lock, 0, NULL);
    if (!r) return USER_ERROR;
    PQclear(r);
    return USER_OK;
}

int user_store_create(struct db *db, const struct user_new *in, int64_t *id) {
    struct pii_param email, name;
    if (pii_param_seal("email", in->email, PII_EMAIL_INDEX, &email) != 0) return USER_CRYPTO;
    if (pii_param_seal("full_name", in->full_name, PII_NO_INDEX, &name) != 0) {
        pii_param_cleanup(&email);
        return USER_CRYPTO;
    }
    const char *params[] = {in->username, in->password_hash, role_name(in->role),
                            email.ct,     email.nonce,       email.index,
                            name.ct,      name.nonce};
    PGresult *r = db_exec(db, &q_insert, 8, params);
    pii_param_cleanup(&email);
    pii_param_cleanup(&name);
    if (!r) return classify_failure(db);
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return USER_OK;
}

static int admins_left(struct db *db, long *n) {
    PGresult *r = db_exec(db, &q_admins_left, 0, NULL);
    if (!r) return USER_ERROR;
    *n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return USER_OK;
}

int user_store_update(struct db *db, int64_t id, const struct user_change *c) {
    long before = 0, after = 0;
    if (user_store_lock(db) != USER_OK || admins_left(db, &before) != USER_OK) return USER_ERROR;
    struct pii_param email = {0}, name = {0};
    if (c->set_email && pii_param_seal("email", c->email, PII_EMAIL_INDEX, &email) != 0)
        return USER_CRYPTO;
    if (c->set_full_name && pii_param_seal("full_name", c->full_name, PII_NO_INDEX, &name) != 0) {
        pii_param_cleanup(&email);
        return USER_CRYPTO;
    }
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext,
                            c->set_role ? "true" : "false",
                            role_name(c->set_role ? c->role : ROLE_VIEWER),
                            c->set_enabled ? "true" : "false",
                            c->enabled ? "true" : "false",
                            c->password_hash,
                            c->set_email ? "true" : "false",
                            email.ct,
                            email.nonce,
                            email.index,
                            c->set_full_name ? "true" : "false",
                            name.ct,
                            name.nonce};
    PGresult *r = db_exec(db, &q_update, 13, params);
    pii_param_cleanup(&email);
    pii_param_cleanup(&name);
    if (!r) return classify_failure(db);
    int rc = PQntuples(r) == 1 ? USER_OK : USER_NOT_FOUND;
    PQclear(r);
    principal_cache_invalidate(id);
    if (rc == USER_OK && (c->set_role || c->set_enabled)) {
        if (admins_left(db, &after) != USER_OK) return USER_ERROR;
        if (before > 0 && after == 0) rc = USER_LAST_ADMIN;
    }
    return rc;
}

int user_store_delete(struct db *db, int64_t id, bool *anonymised) {
    *anonymised = false;
    long before = 0, after = 0;
    if (user_store_lock(db) != USER_OK || admins_left(db, &before) != USER_OK) return USER_ERROR;
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    const char *params[] = {idtext};
    PGresult *r = db_exec_sql(db, "SAVEPOINT user_delete", 0, NULL);
    if (!r) return USER_ERROR;
    PQclear(r);
    r = db_exec(db, &q_delete, 1, params);
    if (!r) {
        /* 23503: other rows (the audit log, jobs...) refer to the user: anonymise. */
        if (strcmp(db_sqlstate(db), "23503") != 0) return USER_ERROR;
        r = db_exec_sql(db, "ROLLBACK TO SAVEPOINT user_delete", 0, NULL);
        if (!r) return USER_ERROR;
        PQclear(r);
        r = db_exec(db, &q_anonymise, 1, params);
        if (!r) return USER_ERROR;
        *anonymised = true;
    }
    int rc = PQntuples(r) == 1 ? USER_OK : USER_NOT_FOUND;
    PQclear(r);
    principal_cache_invalidate(id);
    if (rc == USER_OK) {
        if (admins_left(db, &after) != USER_OK) return USER_ERROR;
        if (before > 0 && after == 0) rc = USER_LAST_ADMIN;
    }
    return rc;
}
