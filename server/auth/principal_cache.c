/* principal_cache: a set-associative table (sets of PC_WAYS entries chosen by a hash of
 * the user id) behind one mutex; see principal_cache.h. The table is owned by this file
 * (malloc'd in principal_cache_init, freed in principal_cache_shutdown). */
#include "auth/principal_cache.h"

#include "core/set_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PC_WAYS 4

struct entry {
    struct cached_principal p; /* p.user_id == 0: empty */
    double fetched_at;         /* monotonic seconds */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table; /* nsets * PC_WAYS */
static size_t nsets;
static double ttl;
static bool suspended;
static uint64_t epoch = 1;
static long hits, misses;

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct entry *set_of(int64_t user_id) {
    uint64_t h = (uint64_t)user_id * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing */
    return &table[(size_t)((h >> 32) % nsets) * PC_WAYS];
}

int principal_cache_init(long capacity, long ttl_seconds) {
    size_t sets;
    bool failed;
    struct entry *fresh =
        set_table_new(ttl_seconds > 0 ? capacity : 0, PC_WAYS, sizeof *fresh, &sets, &failed);
    pthread_mutex_lock(&lock);
    struct entry *old = table;
    table = fresh;
    nsets = sets;
    ttl = (double)ttl_seconds;
    suspended = false;
    epoch++;
    hits = misses = 0;
    pthread_mutex_unlock(&lock);
    free(old);
    return failed ? -1 : 0;
}

void principal_cache_shutdown(void) { (void)principal_cache_init(0, 0); }

bool principal_cache_enabled(void) {
    pthread_mutex_lock(&lock);
    bool on = table != NULL;
    pthread_mutex_unlock(&lock);
    return on;
}

uint64_t principal_cache_epoch(void) {
    pthread_mutex_lock(&lock);
    uint64_t e = epoch;
    pthread_mutex_unlock(&lock);
    return e;
}

bool principal_cache_get_at(int64_t user_id, double now, struct cached_principal *out) {
    bool found = false;
    pthread_mutex_lock(&lock);
    if (table && !suspended && user_id > 0) {
        struct entry *set = set_of(user_id);
        for (int i = 0; i < PC_WAYS; i++) {
            if (set[i].p.user_id != user_id) continue;
            if (now - set[i].fetched_at < ttl && now >= set[i].fetched_at) {
                *out = set[i].p;
                found = true;
            } else {
                memset(&set[i], 0, sizeof set[i]); /* expired: free the way */
            }
            break;
        }
        if (found)
            hits++;
        else
            misses++;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

bool principal_cache_get(int64_t user_id, struct cached_principal *out) {
    return principal_cache_get_at(user_id, monotonic_now(), out);
}

void principal_cache_put_at(const struct cached_principal *p, uint64_t seen_epoch, double now) {
    if (!p->enabled || p->user_id <= 0) return; /* refusals are never cached */
    pthread_mutex_lock(&lock);
    if (table && !suspended && seen_epoch == epoch) {
        struct entry *set = set_of(p->user_id), *slot = NULL;
        for (int i = 0; i < PC_WAYS && !slot; i++)
            if (set[i].p.user_id == p->user_id) slot = &set[i];
        for (int i = 0; i < PC_WAYS && !slot; i++)
            if (set[i].p.user_id == 0 || now - set[i].fetched_at >= ttl) slot = &set[i];
        if (!slot) { /* the set is full of fresh entries: the oldest goes */
            slot = &set[0];
            for (int i = 1; i < PC_WAYS; i++)
                if (set[i].fetched_at < slot->fetched_at) slot = &set[i];
        }
        slot->p = *p;
        slot->fetched_at = now;
    }
    pthread_mutex_unlock(&lock);
}

void principal_cache_put(const struct cached_principal *p, uint64_t seen_epoch) {
    principal_cache_put_at(p, seen_epoch, monotonic_now());
}

void principal_cache_invalidate(int64_t user_id) {
    pthread_mutex_lock(&lock);
    epoch++;
    if (table && user_id > 0) {
        struct entry *set = set_of(user_id);
        for (int i = 0; i < PC_WAYS; i++)
            if (set[i].p.user_id == user_id) memset(&set[i], 0, sizeof set[i]);
    }
    pthread_mutex_unlock(&lock);
}

void principal_cache_flush(void) {
    pthread_mutex_lock(&lock);
    epoch++;
    if (table) memset(table, 0, nsets * PC_WAYS * sizeof *table);
    pthread_mutex_unlock(&lock);
}

void principal_cache_suspend(bool on) {
    pthread_mutex_lock(&lock);
    suspended = on;
    epoch++;
    if (on && table) memset(table, 0, nsets * PC_WAYS * sizeof *table);
    pthread_mutex_unlock(&lock);
}

void principal_cache_stats(long *h, long *m) {
    pthread_mutex_lock(&lock);
    *h = hits;
    *m = misses;
    pthread_mutex_unlock(&lock);
}
