/* db_backoff: the reconnection schedule; see db_backoff.h. */
#include "db/db_backoff.h"

void db_backoff_init(struct db_backoff *b, long min_ms, long max_ms, uint32_t seed) {
    if (min_ms < 1) min_ms = 1;
    if (max_ms < min_ms) max_ms = min_ms;
    *b = (struct db_backoff){.min_ms = min_ms, .max_ms = max_ms, .seed = seed ? seed : 0x9e3779b9u};
}

/* A factor in [0.8, 1.2). */
static double jitter(struct db_backoff *b) {
    uint32_t x = b->seed;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->seed = x;
    return 0.8 + 0.4 * ((double)(x >> 8) / (double)(1u << 24));
}

static void schedule(struct db_backoff *b, double now) {
    double d = (double)b->delay_ms * jitter(b);
    if (d > (double)b->max_ms) d = (double)b->max_ms;
    b->next_ms = now + d;
}

enum db_try db_backoff_enter(struct db_backoff *b, double now, long *wait_ms) {
    if (wait_ms) *wait_ms = 0;
    if (!b->down) return DB_TRY_FREE;
    if (b->attempting) return DB_TRY_WAIT;
    if (now < b->next_ms) {
        if (wait_ms) *wait_ms = (long)(b->next_ms - now) + 1;
        return DB_TRY_WAIT;
    }
    b->attempting = true;
    return DB_TRY_ONLY;
}

void db_backoff_leave(struct db_backoff *b, enum db_try how, bool ok, double now) {
    if (how == DB_TRY_ONLY) b->attempting = false;
    if (how == DB_TRY_WAIT) return;
    if (ok) {
        b->down = false;
        b->delay_ms = 0;
        return;
    }
    if (how == DB_TRY_ONLY) {
        b->delay_ms = b->delay_ms * 2 > b->max_ms ? b->max_ms : b->delay_ms * 2;
        if (b->delay_ms < b->min_ms) b->delay_ms = b->min_ms;
        schedule(b, now);
    } else if (!b->down) {
        /* The first failure seen while up; failures of other free attempts made at the same
         * time do not lengthen the delay. */
        b->down = true;
        b->delay_ms = b->min_ms;
        schedule(b, now);
    }
}
