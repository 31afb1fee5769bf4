/* login_limit: brute-force protection. Each failed login leaves two rows in
 * login_failures (PostgreSQL, so every sluice copy on the database shares the counts):
 * one under a keyed hash of the lower-cased username, one under a keyed hash of the
 * client address (no username or address is stored). Past `max` failures within
 * `window` seconds for either key, logins are refused until the oldest counted
 * failure leaves the window. Arguments are borrowed. */
#ifndef SLUICE_LOGIN_LIMIT_H
#define SLUICE_LOGIN_LIMIT_H

#include "db/db.h"

#include <stdint.h>

/* Before a password is checked: reserves the attempt, atomically across every copy of
 * sluice. Under transaction-scoped advisory locks on both keys, when either key already
 * has `max` failures in the window *retry_after gets the seconds to wait (>= 1) and
 * nothing is recorded; else the attempt is recorded as a failure of both keys at once
 * (so concurrent attempts can never get past `max` together), *retry_after gets 0 and
 * *address_row the id of the address's row. A wrong password leaves the attempt counted;
 * a successful login calls login_limit_succeeded. 0, or -1 on a database error. */
int login_limit_reserve(struct db *db, const char *username, const char *client_addr, long max,
                        long window, long *retry_after, int64_t *address_row);

/* After a successful login: forgets the username's failures (and the attempt's own
 * address row, not the address's earlier failures). 0 or -1. */
int login_limit_succeeded(struct db *db, const char *username, int64_t address_row);

/* Deletes at most batch (>= 1) failures recorded before the cut-off `before`
 * (timestamptz text; failures older than the window no longer count), oldest first, in
 * one statement; *deleted (optional) gets how many (fewer than batch: none are left).
 * Called by the maintenance.prune job. 0, or -1 on a database error. */
int login_limit_purge(struct db *db, const char *before, long batch, long *deleted);

#endif
