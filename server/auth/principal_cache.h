/* principal_cache: a process-wide cache of what the bearer middleware needs to know of a
 * token's user (role, enabled, username), so that an authenticated request usually costs
 * the handler's query alone. Entries live AUTH_CACHE_SECONDS (0 turns the cache off) in a
 * fixed table of AUTH_CACHE_ENTRIES; only enabled users are cached (a refusal is never
 * remembered). Changes made by this process invalidate at once (user_store, api/users.c);
 * changes made by other copies arrive through principal_listener (LISTEN/NOTIFY), and the
 * TTL bounds what a missed notification can cost.
 *
 * Memory: the table is allocated by principal_cache_init and freed by
 * principal_cache_shutdown; callers pass and receive plain values (copies). Every
 * function is thread-safe (one mutex held for a few loads and stores). */
#ifndef SLUICE_PRINCIPAL_CACHE_H
#define SLUICE_PRINCIPAL_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define PRINCIPAL_NAME_MAX 64

struct cached_principal {
    int64_t user_id;
    int role; /* enum role */
    bool enabled;
    int64_t creds_us; /* when the user's credentials or status last changed (bearer.c) */
    char username[PRINCIPAL_NAME_MAX + 1];
};

/* Sets the cache up: capacity entries (rounded up to a multiple of 4), each valid
 * ttl_seconds. ttl_seconds <= 0 or capacity <= 0: the cache stays off (lookups miss, puts
 * are ignored). Calling it again replaces the table (tests). 0, or -1 when out of memory
 * (then the cache is off). */
int principal_cache_init(long capacity, long ttl_seconds);
void principal_cache_shutdown(void);
bool principal_cache_enabled(void);

/* A counter that changes with every invalidation, flush and suspension: read it before
 * loading a user from the database and hand it to principal_cache_put, which then drops
 * the value if anything was invalidated meanwhile (it may predate the change). */
uint64_t principal_cache_epoch(void);

/* True and *out filled when user_id has a fresh entry. */
bool principal_cache_get(int64_t user_id, struct cached_principal *out);
/* Remembers p (only when p->enabled, and epoch is still current). When the user's set
 * is full, the entry fetched longest ago goes. */
void principal_cache_put(const struct cached_principal *p, uint64_t epoch);

/* Forgets one user / everything. */
void principal_cache_invalidate(int64_t user_id);
void principal_cache_flush(void);

/* While suspended (e.g. the change listener lost its connection and may miss
 * notifications), every lookup misses and nothing is stored; suspending flushes. */
void principal_cache_suspend(bool suspended);

/* The same with an explicit monotonic time in seconds instead of the clock (tests). */
bool principal_cache_get_at(int64_t user_id, double now, struct cached_principal *out);
void principal_cache_put_at(const struct cached_principal *p, uint64_t epoch, double now);

/* Counters since init, for tests and diagnostics. */
void principal_cache_stats(long *hits, long *misses);

#endif
