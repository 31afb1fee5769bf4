/* db_backoff: when to try reaching the database server again once it failed — capped
 * exponential backoff with jitter, one state for the whole process (db.c keeps it under
 * a mutex and consults it before every connection attempt of every struct db).
 *
 * While the server is up, anyone may connect (workers start together, a broken
 * connection reopens at once). The first failed attempt marks it down: from then on, no
 * attempt before a delay (min_ms, doubled after each failure up to max_ms, each delay
 * drawn between 80 % and 120 % of it and never above max_ms), and one attempt at a time;
 * every other caller is told to wait, without connecting. A success marks it up again.
 * Pure: no I/O, times are monotonic milliseconds passed in. */
#ifndef SLUICE_DB_BACKOFF_H
#define SLUICE_DB_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct db_backoff {
    long min_ms, max_ms;
    bool down;       /* the last attempt failed */
    bool attempting; /* the single attempt allowed while down is in flight */
    long delay_ms;   /* the current delay (0 while up) */
    double next_ms;  /* while down: no attempt before this time */
    uint32_t seed;   /* jitter (xorshift32; never 0) */
};

enum db_try {
    DB_TRY_WAIT, /* down: do not connect now */
    DB_TRY_FREE, /* up: connect (others may too) */
    DB_TRY_ONLY, /* down, and the delay passed: this caller makes the one attempt */
};

/* min_ms >= 1, max_ms >= min_ms (clamped otherwise); seed: any value. */
void db_backoff_init(struct db_backoff *b, long min_ms, long max_ms, uint32_t seed);

/* Whether the caller may connect at time now; on DB_TRY_WAIT, *wait_ms (optional) gets
 * how long until the next attempt may start (0 when one is in flight). */
enum db_try db_backoff_enter(struct db_backoff *b, double now, long *wait_ms);

/* The outcome of an attempt allowed by db_backoff_enter (how: its answer). */
void db_backoff_leave(struct db_backoff *b, enum db_try how, bool ok, double now);

#endif
