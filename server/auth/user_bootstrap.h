/* user_bootstrap: the first admin. When no (live) user exists, `serve` creates one
 * from ADMIN_USERNAME / ADMIN_PASSWORD at start-up; several copies starting together
 * create it once (transaction-scoped advisory lock). Arguments are borrowed. */
#ifndef SLUICE_USER_BOOTSTRAP_H
#define SLUICE_USER_BOOTSTRAP_H

#include "db/db.h"

#include <stddef.h>

/* 0 when the admin was created or was not needed (users exist; or no ADMIN_* given,
 * then a warning is logged); -1 with err set on a bad username or password; -2 with
 * err set on a database error (e.g. migrations not applied yet). */
int user_bootstrap_admin(struct db *db, const char *username, const char *password, char *err,
                         size_t errlen);

#endif
