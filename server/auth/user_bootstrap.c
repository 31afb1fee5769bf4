/* user_bootstrap: see user_bootstrap.h. */
#include "auth/user_bootstrap.h"

#include "auth/audit.h"
#include "auth/password.h"
#include "auth/user_store.h"
#include "core/log.h"
#include "http/router.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

struct bootstrap {
    const char *username, *password;
    bool created;
};

static int bootstrap_tx(struct db *db, void *arg) {
    struct bootstrap *b = arg;
    long live = 0;
    if (user_store_lock(db) != USER_OK || user_store_count_live(db, &live) != USER_OK)
        return USER_ERROR;
    if (live > 0) return USER_OK;
    char hash[PASSWORD_HASH_BYTES];
    if (password_hash(b->password, strlen(b->password), hash) != 0) return USER_CRYPTO;
    struct user_new in = {.username = b->username, .password_hash = hash, .role = ROLE_ADMIN};
    int64_t id = 0;
    int rc = user_store_create(db, &in, &id);
    sodium_memzero(hash, sizeof hash);
    if (rc != USER_OK) return rc;
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)id);
    struct audit_entry e = {
        .action = "user.bootstrap",
        .target = target,
        .details = json_pack("{s:s,s:s}", "username", b->username, "source", "ADMIN_USERNAME")};
    if (audit_write(db, &e) != 0) return USER_ERROR;
    b->created = true;
    return USER_OK;
}

int user_bootstrap_admin(struct db *db, const char *username, const char *password, char *err,
                         size_t errlen) {
    bool given = username && *username && password && *password;
    if (!given) {
        long live = 0;
        if (user_store_count_live(db, &live) != USER_OK) {
            snprintf(err, errlen, "counting users: %s", db_last_error(db));
            return -2;
        }
        if (live == 0)
            log_warn("no user exists: set ADMIN_USERNAME and ADMIN_PASSWORD, or run `sluice "
                     "user create`, to create the first admin");
        return 0;
    }
    const char *why = user_check_username(username);
    if (!why) why = password_check_rules(password, strlen(password));
    if (why) {
        snprintf(err, errlen, "ADMIN_USERNAME/ADMIN_PASSWORD: %s", why);
        return -1;
    }
    struct bootstrap b = {username, password, false};
    int rc = db_transaction(db, bootstrap_tx, &b);
    if (rc != USER_OK) {
        snprintf(err, errlen, "creating the first admin: %s",
                 rc == USER_CRYPTO ? "hashing or sealing failed" : db_last_error(db));
        return -2;
    }
    if (b.created) log_event(LOG_INFO, "first admin created", "username", username, (char *)NULL);
    return 0;
}
