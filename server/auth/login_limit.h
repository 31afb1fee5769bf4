/* login_limit: brute-force protection. Each failed login adds two rows to
 * login_failures (PostgreSQL, so every sluice copy on the database shares the counts):
 * one under a keyed hash of the lower-cased username, one under a keyed hash of the
 * client address (no username or address is stored). Past `max` failures within
 * `window` seconds for either key, logins are refused until the oldest counted
 * failure leaves the window. Arguments are borrowed. */
#ifndef SLUICE_LOGIN_LIMIT_H
#define SLUICE_LOGIN_LIMIT_H

#include "db/db.h"

/* *retry_after gets 0 when a login may be tried, else the seconds to wait (>= 1).
 * 0, or -1 on a database error. */
int login_limit_check(struct db *db, const char *username, const char *client_addr, long max,
                      long window, long *retry_after);

/* Counts one failure for the username and one for the address. 0 or -1. */
int login_limit_record_failure(struct db *db, const char *username, const char *client_addr);

/* After a successful login: forgets the username's failures (not the address's). */
int login_limit_clear_user(struct db *db, const char *username);

/* Deletes at most batch (>= 1) failures recorded before the cut-off `before`
 * (timestamptz text; failures older than the window no longer count), oldest first, in
 * one statement; *deleted (optional) gets how many (fewer than batch: none are left).
 * Called by the maintenance.prune job. 0, or -1 on a database error. */
int login_limit_purge(struct db *db, const char *before, long batch, long *deleted);

#endif
