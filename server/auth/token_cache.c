/* token_cache: a set-associative table (sets of TC_WAYS digests chosen by the digest's
 * first bytes) behind one mutex; see token_cache.h. The table is owned by this file. */
#include "auth/token_cache.h"

#include "core/set_table.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TC_WAYS 4

struct entry {
    unsigned char digest[crypto_generichash_BYTES];
    struct jwt_claims claims;
    uint64_t stored; /* insertion counter; 0: empty */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table; /* nsets * TC_WAYS */
static size_t nsets;
static atomic_bool enabled; /* table != NULL, readable without the lock */
static uint64_t clock_ticks;
static unsigned char hash_key[crypto_generichash_KEYBYTES];
static long hits, misses;

int token_cache_init(long capacity) {
    size_t sets;
    bool failed;
    struct entry *fresh = set_table_new(capacity, TC_WAYS, sizeof *fresh, &sets, &failed);
    pthread_mutex_lock(&lock);
    struct entry *old = table;
    table = fresh;
    nsets = sets;
    atomic_store(&enabled, fresh != NULL);
    randombytes_buf(hash_key, sizeof hash_key);
    hits = misses = 0;
    pthread_mutex_unlock(&lock);
    free(old);
    return failed ? -1 : 0;
}

void token_cache_shutdown(void) { (void)token_cache_init(0); }

static void digest_of(const struct jwt_settings *s, const char *token,
                      unsigned char out[crypto_generichash_BYTES]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, hash_key, sizeof hash_key, crypto_generichash_BYTES);
    const char *prev = s->previous_key ? s->previous_key : "";
    /* Each part with its NUL, so that no two (key, previous, token) run together alike. */
    crypto_generichash_update(&st, (const unsigned char *)s->key, strlen(s->key) + 1);
    crypto_generichash_update(&st, (const unsigned char *)prev, strlen(prev) + 1);
    crypto_generichash_update(&st, (const unsigned char *)token, strlen(token));
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

static struct entry *set_of(const unsigned char *digest) {
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return &table[(size_t)(h % nsets) * TC_WAYS];
}

/* True and *out filled when the digest is in the table. */
static bool lookup(const unsigned char *digest, struct jwt_claims *out) {
    bool found = false;
    pthread_mutex_lock(&lock);
    if (table) {
        struct entry *set = set_of(digest);
        for (int i = 0; i < TC_WAYS && !found; i++) {
            if (set[i].stored && sodium_memcmp(set[i].digest, digest, sizeof set[i].digest) == 0) {
                *out = set[i].claims;
                found = true;
            }
        }
        if (found)
            hits++;
        else
            misses++;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

static void store(const unsigned char *digest, const struct jwt_claims *claims) {
    pthread_mutex_lock(&lock);
    if (table) {
        struct entry *set = set_of(digest), *slot = &set[0];
        for (int i = 1; i < TC_WAYS; i++)
            if (set[i].stored < slot->stored) slot = &set[i]; /* empty (0) or oldest */
        memcpy(slot->digest, digest, sizeof slot->digest);
        slot->claims = *claims;
        slot->stored = ++clock_ticks;
    }
    pthread_mutex_unlock(&lock);
}

enum jwt_status token_cache_verify(const struct jwt_settings *s, const char *token, long now,
                                   struct jwt_claims *claims) {
    struct jwt_claims c;
    unsigned char digest[crypto_generichash_BYTES];
    bool on = atomic_load(&enabled) && s->key && token && strlen(token) <= JWT_MAX_TOKEN_BYTES;
    if (on) {
        digest_of(s, token, digest);
        if (lookup(digest, &c)) {
            enum jwt_status st = jwt_check_times(&c, now);
            if (st == JWT_OK && claims) *claims = c;
            return st;
        }
    }
    enum jwt_status st = jwt_verify(s, token, now, &c);
    if (st != JWT_OK) return st;
    if (on) store(digest, &c);
    if (claims) *claims = c;
    return st;
}

void token_cache_stats(long *h, long *m) {
    pthread_mutex_lock(&lock);
    *h = hits;
    *m = misses;
    pthread_mutex_unlock(&lock);
}
