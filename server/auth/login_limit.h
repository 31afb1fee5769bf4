/* login_limit: brute-force protection that does not lock out the people it protects.
 * Each failed login leaves three rows in login_failures (PostgreSQL, so every sluice copy
 * on the database shares the counts), under keyed hashes (no username or address is
 * stored) of: the (lower-cased username, client address) pair, the username, the
 * address. An attempt is refused (429, Retry-After) when
 *   - its pair has pair_max failures within window (LOGIN_MAX_FAILURES per
 *     LOGIN_WINDOW_SECONDS): the guesser at one address is stopped, nobody else is;
 *   - unless the pair is known (that user logged in successfully from that address
 *     before: login_known_addresses), when
 *       . the address has address_max failures within user_window (one address trying
 *         many usernames), or
 *       . the username has user_max or more failures within user_window (many addresses
 *         guessing one password) and the last of them is more recent than a delay that
 *         doubles with each failure past user_max (1 s, 2 s, 4 s... up to max_delay):
 *         never a hard lock, the attempts just slow down.
 * So a correct password from an address that logged in before always gets through
 * (except after pair_max failures of its own), and an attacker cannot lock `admin` out.
 * Arguments are borrowed. */
#ifndef SLUICE_LOGIN_LIMIT_H
#define SLUICE_LOGIN_LIMIT_H

#include "db/db.h"

#include <stdbool.h>
#include <stdint.h>

struct login_limits {
    long pair_max;    /* LOGIN_MAX_FAILURES */
    long window;      /* LOGIN_WINDOW_SECONDS (the pair's) */
    long user_max;    /* LOGIN_USER_MAX_FAILURES */
    long address_max; /* LOGIN_ADDRESS_MAX_FAILURES */
    long user_window; /* LOGIN_USER_WINDOW_SECONDS (the username's and the address's) */
    long max_delay;   /* LOGIN_MAX_DELAY_SECONDS */
};

struct login_attempt {
    long retry_after;   /* > 0: refused, seconds to wait */
    const char *locked; /* refused by: "pair", "address" or "user" (static); NULL */
    bool known;         /* the pair logged in successfully before */
    int64_t rows[3];    /* the attempt's own rows (pair, username, address) */
};

/* Before a password is checked: reserves the attempt, atomically across every copy of
 * sluice (transaction-scoped advisory locks on the three keys, always in the same
 * order). When refused, nothing is recorded; else the attempt is recorded as a failure
 * of the three keys at once (so concurrent attempts can never get past a limit
 * together). A wrong password leaves it counted; a successful login calls
 * login_limit_succeeded. 0, or -1 on a database error. */
int login_limit_reserve(struct db *db, const char *username, const char *client_addr,
                        const struct login_limits *l, struct login_attempt *out);

/* After a successful login: forgets the pair's failures and the attempt's own rows (not
 * the username's or the address's other failures) and remembers the pair as known.
 * 0 or -1. */
int login_limit_succeeded(struct db *db, const char *username, const char *client_addr,
                          const struct login_attempt *a);

/* Deletes at most batch (>= 1) rows, oldest first: failures recorded before the cut-off
 * `before` (timestamptz text; give the longer of the two windows), then known pairs
 * unused for 180 days; *deleted (optional) gets how many (fewer than batch: none are
 * left). Called by the maintenance.prune job. 0, or -1 on a database error. */
int login_limit_purge(struct db *db, const char *before, long batch, long *deleted);

#endif
