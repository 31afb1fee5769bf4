/* token_cache: remembers the claims of access tokens whose signature and claims were
 * verified, so that a client sending the same token again costs a hash and a table
 * lookup instead of an HMAC, two base64 decodings and a JSON parse. A token's claims
 * cannot change (the HMAC covers them); what does change with time, exp/iat/nbf, is
 * checked again on every hit (jwt_check_times). Only JWT_OK results are remembered.
 *
 * Entries are keyed by a BLAKE2b-256 of the verifying keys and the token text, keyed with
 * a random key drawn at init, so a hit means the very same token under the same keys.
 * TOKEN_CACHE_ENTRIES bounds the table (0: off); when a set is full, the entry stored
 * longest ago goes. The table is owned here (token_cache_init/shutdown); callers pass and
 * get copies. Thread-safe: one mutex held for a few loads and stores. */
#ifndef SLUICE_TOKEN_CACHE_H
#define SLUICE_TOKEN_CACHE_H

#include "auth/jwt.h"

#include <stdbool.h>

/* Sets the cache up with room for capacity tokens (rounded up to a multiple of 4);
 * capacity <= 0 leaves it off. Calling it again replaces the table. 0, or -1 when out of
 * memory (then the cache is off). */
int token_cache_init(long capacity);
void token_cache_shutdown(void);

/* jwt_verify with the cache in front: the same answers, token for token. */
enum jwt_status token_cache_verify(const struct jwt_settings *s, const char *token, long now,
                                   struct jwt_claims *claims);

/* Counters since init (tests, diagnostics). */
void token_cache_stats(long *hits, long *misses);

#endif
