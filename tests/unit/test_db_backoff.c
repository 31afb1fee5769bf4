/* test_db_backoff: the reconnection schedule (server/db/db_backoff.c) on a simulated
 * clock: anyone may connect while up; the first failure marks the server down; then one
 * attempt at a time, each after a delay that doubles up to the cap, with jitter kept in
 * [80 %, 120 %] of the delay and never above the cap; a success ends it. */
#include "db/db_backoff.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void up_lets_everyone_in(void **state) {
    (void)state;
    struct db_backoff b;
    db_backoff_init(&b, 100, 1000, 1);
    for (int i = 0; i < 5; i++) assert_int_equal(db_backoff_enter(&b, 0, NULL), DB_TRY_FREE);
    db_backoff_leave(&b, DB_TRY_FREE, true, 0);
    assert_false(b.down);
}

static void down_waits_then_one_at_a_time(void **state) {
    (void)state;
    struct db_backoff b;
    db_backoff_init(&b, 100, 1000, 7);
    /* three workers connect at once while up, and all fail */
    for (int i = 0; i < 3; i++) assert_int_equal(db_backoff_enter(&b, 0, NULL), DB_TRY_FREE);
    for (int i = 0; i < 3; i++) db_backoff_leave(&b, DB_TRY_FREE, false, 0);
    assert_true(b.down);
    assert_int_equal(b.delay_ms, 100); /* not lengthened by the other two */
    long wait = 0;
    assert_int_equal(db_backoff_enter(&b, 10, &wait), DB_TRY_WAIT);
    assert_true(wait >= 70 && wait <= 111);
    /* after the delay, one caller gets the attempt; the others wait meanwhile */
    assert_int_equal(db_backoff_enter(&b, 121, NULL), DB_TRY_ONLY);
    assert_int_equal(db_backoff_enter(&b, 122, &wait), DB_TRY_WAIT);
    assert_int_equal(wait, 0);
    db_backoff_leave(&b, DB_TRY_ONLY, false, 125);
    assert_int_equal(b.delay_ms, 200);
    assert_true(b.next_ms >= 125 + 160 && b.next_ms <= 125 + 240);
    /* success: up again, everyone may connect */
    assert_int_equal(db_backoff_enter(&b, 400, NULL), DB_TRY_ONLY);
    db_backoff_leave(&b, DB_TRY_ONLY, true, 401);
    assert_false(b.down);
    assert_int_equal(db_backoff_enter(&b, 402, NULL), DB_TRY_FREE);
}

/* Callers every millisecond for a simulated minute of outage: the attempts follow the
 * doubling delays (100, 200, 400, 800, then 1000 capped), about 64 of them, instead of
 * 60,000. */
static void a_minute_of_outage(void **state) {
    (void)state;
    struct db_backoff b;
    db_backoff_init(&b, 100, 1000, 12345);
    assert_int_equal(db_backoff_enter(&b, 0, NULL), DB_TRY_FREE);
    db_backoff_leave(&b, DB_TRY_FREE, false, 0);
    int attempts = 0;
    double last = 0, shortest = 1e9, longest = 0;
    for (int now = 1; now <= 60000; now++) {
        enum db_try how = db_backoff_enter(&b, now, NULL);
        if (how == DB_TRY_WAIT) continue;
        assert_int_equal(how, DB_TRY_ONLY);
        attempts++;
        double gap = now - last;
        if (attempts > 4 && gap < shortest) shortest = gap;
        if (gap > longest) longest = gap;
        last = now;
        db_backoff_leave(&b, DB_TRY_ONLY, false, now);
    }
    assert_true(attempts >= 55 && attempts <= 75);
    assert_true(shortest >= 800); /* capped delays: 80 % of 1000 at least */
    assert_true(longest <= 1001); /* never above the cap */
}

static void bad_bounds_are_clamped(void **state) {
    (void)state;
    struct db_backoff b;
    db_backoff_init(&b, 0, -5, 0);
    assert_int_equal(b.min_ms, 1);
    assert_int_equal(b.max_ms, 1);
    assert_int_not_equal(b.seed, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(up_lets_everyone_in),
        cmocka_unit_test(down_waits_then_one_at_a_time),
        cmocka_unit_test(a_minute_of_outage),
        cmocka_unit_test(bad_bounds_are_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
