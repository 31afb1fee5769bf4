/* user_store: the SQL of the users table, behind verbs (one statement each, all
 * parameters bound). Personal data goes in sealed and comes out opened with
 * pii_global(). Password hashes are read only by user_store_find_login and never put in
 * a struct user. Strings in struct user are owned by it (user_cleanup). Functions that
 * say "inside a transaction" must run in db_transaction (they take the users lock).
 * Every verb that changes a user drops it from the principal cache; callers of those
 * inside a transaction drop it again once the transaction ended (principal_cache.h). */
#ifndef SLUICE_USER_STORE_H
#define SLUICE_USER_STORE_H

#include "auth/password.h"
#include "db/db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define USER_NAME_MAX 64

enum user_result {
    USER_ERROR = -1, /* database error: see db_last_error */
    USER_OK = 0,
    USER_NOT_FOUND,
    USER_TAKEN_USERNAME,
    USER_TAKEN_EMAIL,
    USER_LAST_ADMIN, /* the change would leave no enabled admin */
    USER_CRYPTO,     /* personal data could not be sealed or opened (PII_KEY changed?) */
};

struct user {
    int64_t id;
    char *username;
    int role; /* enum role */
    bool enabled;
    char *email;                         /* NULL when none */
    char *full_name;                     /* NULL when none */
    char created_at[40], updated_at[40]; /* RFC 3339, UTC */
};

/* What a login needs: found is false for an unknown (or anonymised) username. */
struct user_login {
    bool found;
    int64_t id;
    int role;
    bool enabled;
    int64_t creds_us; /* users.credentials_changed_at, microseconds since the epoch */
    char hash[PASSWORD_HASH_BYTES];
};

/* What the bearer middleware needs of the caller. */
struct user_brief {
    int64_t id;
    char username[USER_NAME_MAX + 1];
    int role;
    bool enabled;
    int64_t creds_us; /* users.credentials_changed_at, microseconds since the epoch */
};

struct user_new {
    const char *username, *password_hash;
    int role;
    const char *email, *full_name; /* NULL: none */
};

/* A PATCH: only the fields whose set_ flag is true change. */
struct user_change {
    bool set_role, set_enabled, set_email, set_full_name;
    int role;
    bool enabled;
    const char *password_hash;     /* NULL: unchanged */
    const char *email, *full_name; /* NULL with set_: erased */
};

void user_cleanup(struct user *u);

/* {id, username, role, enabled, email, full_name, created_at, updated_at}: new ref. */
json_t *user_json(const struct user *u);

/* Validation of input fields: NULL when acceptable, else a static message. */
const char *user_check_username(const char *name);
const char *user_check_email(const char *email);
const char *user_check_full_name(const char *name);

int user_store_find_login(struct db *db, const char *username, struct user_login *out);
int user_store_get(struct db *db, int64_t id, struct user *out);
int user_store_brief(struct db *db, int64_t id, struct user_brief *out);
/* Live users with id > after, by id, at most limit; items gets user_json objects and
 * *more whether more follow. */
int user_store_list(struct db *db, int64_t after, int limit, json_t *items, bool *more);
int user_store_count_live(struct db *db, long *count);
/* A new password: stamps credentials_changed_at (older tokens are refused). */
int user_store_set_password_hash(struct db *db, int64_t id, const char *hash);
/* The same password hashed again with other Argon2id parameters: the stamp stays. */
int user_store_rehash(struct db *db, int64_t id, const char *hash);

/* Inside a transaction. */
int user_store_create(struct db *db, const struct user_new *in, int64_t *id);
int user_store_update(struct db *db, int64_t id, const struct user_change *c);
/* Removes the user, or anonymises it when other rows refer to it (*anonymised). */
int user_store_delete(struct db *db, int64_t id, bool *anonymised);
/* Takes the transaction-scoped lock that serialises changes to admins and bootstrap. */
int user_store_lock(struct db *db);

#endif
