/* Unit tests of auth/principal_cache.c: a hit returns what was stored, an entry expires
 * after its TTL, invalidate and flush forget, a fill that raced with an invalidation is
 * dropped, a full set evicts the entry fetched longest ago, disabled users are never
 * stored, TTL 0 turns the cache off, and suspension. Times are passed explicitly (the
 * _at variants): no test depends on the clock. The cache is process-wide; each test
 * re-initialises it. */
#include "auth/principal_cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

static struct cached_principal make(int64_t id, int role, const char *name) {
    struct cached_principal p = {.user_id = id, .role = role, .enabled = true};
    snprintf(p.username, sizeof p.username, "%s", name);
    return p;
}

static void put(int64_t id, int role, double now) {
    struct cached_principal p = make(id, role, "someone");
    principal_cache_put_at(&p, principal_cache_epoch(), now);
}

static bool has(int64_t id, double now) {
    struct cached_principal out;
    return principal_cache_get_at(id, now, &out);
}

static void hit_returns_the_stored_principal(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 2), 0);
    assert_true(principal_cache_enabled());
    assert_false(has(7, 100.0)); /* empty */
    struct cached_principal p = make(7, 2, "alice");
    principal_cache_put_at(&p, principal_cache_epoch(), 100.0);
    struct cached_principal out = {0};
    assert_true(principal_cache_get_at(7, 100.5, &out));
    assert_int_equal(out.user_id, 7);
    assert_int_equal(out.role, 2);
    assert_true(out.enabled);
    assert_string_equal(out.username, "alice");
    assert_false(has(8, 100.5)); /* another user */
    /* A second put of the same user replaces its entry. */
    p.role = 0;
    principal_cache_put_at(&p, principal_cache_epoch(), 101.0);
    assert_true(principal_cache_get_at(7, 101.0, &out));
    assert_int_equal(out.role, 0);
    long hits, misses;
    principal_cache_stats(&hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 2);
    principal_cache_shutdown();
}

static void entries_expire_after_the_ttl(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 2), 0);
    put(5, 1, 10.0);
    assert_true(has(5, 11.999));
    assert_false(has(5, 12.0));
    assert_false(has(5, 11.0)); /* an expired entry is gone, not revived */
    principal_cache_shutdown();
}

static void invalidate_and_flush_forget(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 60), 0);
    put(1, 1, 0.0);
    put(2, 1, 0.0);
    principal_cache_invalidate(1);
    assert_false(has(1, 1.0));
    assert_true(has(2, 1.0));
    put(1, 1, 1.0);
    principal_cache_flush();
    assert_false(has(1, 2.0));
    assert_false(has(2, 2.0));
    principal_cache_shutdown();
}

static void a_fill_older_than_an_invalidation_is_dropped(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 60), 0);
    uint64_t before = principal_cache_epoch(); /* a worker starts reading user 3 */
    principal_cache_invalidate(3);             /* meanwhile user 3 changes */
    struct cached_principal stale = make(3, 2, "bob");
    principal_cache_put_at(&stale, before, 0.0);
    assert_false(has(3, 0.5));
    principal_cache_put_at(&stale, principal_cache_epoch(), 0.0);
    assert_true(has(3, 0.5));
    principal_cache_shutdown();
}

static void disabled_users_are_not_cached(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 60), 0);
    struct cached_principal p = make(9, 1, "carol");
    p.enabled = false;
    principal_cache_put_at(&p, principal_cache_epoch(), 0.0);
    assert_false(has(9, 0.0));
    principal_cache_shutdown();
}

static void a_full_cache_evicts_the_oldest(void **state) {
    (void)state;
    /* Capacity 4 is one set: every id lands in it. */
    assert_int_equal(principal_cache_init(4, 60), 0);
    for (int64_t id = 1; id <= 4; id++) put(id, 1, (double)id);
    for (int64_t id = 1; id <= 4; id++) assert_true(has(id, 5.0));
    put(5, 1, 6.0); /* full: user 1, fetched first, goes */
    assert_false(has(1, 6.0));
    for (int64_t id = 2; id <= 5; id++) assert_true(has(id, 6.0));
    put(6, 1, 7.0); /* then user 2 */
    assert_false(has(2, 7.0));
    assert_true(has(6, 7.0));
    /* An expired entry is reused before a fresh one is evicted. */
    assert_int_equal(principal_cache_init(4, 10), 0);
    put(1, 1, 0.0);
    for (int64_t id = 2; id <= 4; id++) put(id, 1, 8.0);
    put(5, 1, 12.0); /* user 1 expired at 10 */
    for (int64_t id = 2; id <= 5; id++) assert_true(has(id, 12.0));
    principal_cache_shutdown();
}

static void ttl_zero_turns_the_cache_off(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 0), 0);
    assert_false(principal_cache_enabled());
    put(1, 1, 0.0);
    assert_false(has(1, 0.0));
    principal_cache_invalidate(1); /* harmless */
    principal_cache_flush();
    principal_cache_shutdown();
    assert_false(principal_cache_enabled());
}

static void suspended_cache_neither_serves_nor_stores(void **state) {
    (void)state;
    assert_int_equal(principal_cache_init(64, 60), 0);
    put(1, 1, 0.0);
    principal_cache_suspend(true);
    assert_false(has(1, 0.0));
    put(2, 1, 0.0);
    principal_cache_suspend(false);
    assert_false(has(1, 0.0)); /* suspending flushed */
    assert_false(has(2, 0.0));
    put(2, 1, 0.0);
    assert_true(has(2, 0.0));
    principal_cache_shutdown();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_returns_the_stored_principal),
        cmocka_unit_test(entries_expire_after_the_ttl),
        cmocka_unit_test(invalidate_and_flush_forget),
        cmocka_unit_test(a_fill_older_than_an_invalidation_is_dropped),
        cmocka_unit_test(disabled_users_are_not_cached),
        cmocka_unit_test(a_full_cache_evicts_the_oldest),
        cmocka_unit_test(ttl_zero_turns_the_cache_off),
        cmocka_unit_test(suspended_cache_neither_serves_nor_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
