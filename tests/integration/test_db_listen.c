/* test_db_listen: the process's LISTEN loop (server/db/db_listen.c) against the real
 * PostgreSQL: a subscriber hears state(true) once LISTEN holds and then the
 * notifications of its channel only, with their payloads; an ended subscription hears
 * nothing more; when the listening backend is killed, subscribers hear state(false),
 * then state(true) once the loop has reconnected (through the backoff gate) and
 * LISTENed again, and notifications flow again; bad channel names and more than
 * DB_LISTEN_MAX subscriptions are refused. Every wait is for a condition, up to 30 s.
 * The group owns one throwaway database and one loop; the recorders are static. */
#include "db/db_listen.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a subscriber heard (written by the loop's thread, read by the test). */
struct heard {
    pthread_mutex_t mu;
    int notes, up, down;
    char last[64];
};

static struct test_db tdb;
static struct db_listen *loop;
static struct heard a = {.mu = PTHREAD_MUTEX_INITIALIZER}, b = {.mu = PTHREAD_MUTEX_INITIALIZER};
static int sub_a = -1, sub_b = -1;

static void on_notify(const char *channel, const char *payload, void *arg) {
    struct heard *h = arg;
    pthread_mutex_lock(&h->mu);
    h->notes++;
    snprintf(h->last, sizeof h->last, "%s:%s", channel, payload);
    pthread_mutex_unlock(&h->mu);
}

static void on_state(bool listening, void *arg) {
    struct heard *h = arg;
    pthread_mutex_lock(&h->mu);
    if (listening)
        h->up++;
    else
        h->down++;
    pthread_mutex_unlock(&h->mu);
}

static int read_count(struct heard *h, const int *field) {
    pthread_mutex_lock(&h->mu);
    int n = *field;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* Waits until *field of h reaches n (30 s at most). */
static bool wait_count(struct heard *h, const int *field, int n) {
    double deadline = now_ms() + 30000.0;
    while (read_count(h, field) < n) {
        if (now_ms() > deadline) return false;
        usleep(20000);
    }
    return true;
}

static void notify(const char *channel, const char *payload) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT pg_notify('%s', '%s')", channel, payload);
    char *v = testdb_query(tdb.url, sql);
    assert_non_null(v);
    free(v);
}

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&tdb) != 0) return -1;
    loop = db_listen_new(tdb.url);
    if (!loop || db_listen_start(loop) != 0) return -1;
    sub_a = db_listen_subscribe(loop, "test_listen_a", on_notify, on_state, &a);
    sub_b = db_listen_subscribe(loop, "test_listen_b", on_notify, on_state, &b);
    return sub_a >= 0 && sub_b >= 0 ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    db_listen_free(loop);
    testdb_drop(&tdb);
    return 0;
}

static void each_hears_its_channel(void **state) {
    (void)state;
    assert_true(wait_count(&a, &a.up, 1));
    assert_true(wait_count(&b, &b.up, 1));
    notify("test_listen_a", "42");
    assert_true(wait_count(&a, &a.notes, 1));
    notify("test_listen_b", "hello");
    assert_true(wait_count(&b, &b.notes, 1));
    assert_int_equal(read_count(&a, &a.notes), 1); /* b's notification is not a's */
    pthread_mutex_lock(&a.mu);
    assert_string_equal(a.last, "test_listen_a:42");
    pthread_mutex_unlock(&a.mu);
    pthread_mutex_lock(&b.mu);
    assert_string_equal(b.last, "test_listen_b:hello");
    pthread_mutex_unlock(&b.mu);
}

/* The listening backend is killed: down, up again, and notifications flow again. */
static void comes_back_after_a_lost_connection(void **state) {
    (void)state;
    int up = read_count(&a, &a.up), notes = read_count(&a, &a.notes);
    char *v = testdb_query(tdb.url, "SELECT count(pg_terminate_backend(pid)) FROM"
                                    " pg_stat_activity WHERE datname = current_database()"
                                    " AND query LIKE 'LISTEN %'");
    assert_non_null(v);
    assert_string_equal(v, "1"); /* one connection listens for both subscribers */
    free(v);
    assert_true(wait_count(&a, &a.down, 1));
    assert_true(wait_count(&b, &b.down, 1));
    assert_true(wait_count(&a, &a.up, up + 1));
    notify("test_listen_a", "again");
    assert_true(wait_count(&a, &a.notes, notes + 1));
    pthread_mutex_lock(&a.mu);
    assert_string_equal(a.last, "test_listen_a:again");
    pthread_mutex_unlock(&a.mu);
}

/* After unsubscribe, a's notifications are dropped: b's, sent after a's, arrives and a
 * heard nothing (notifications are delivered in commit order). */
static void unsubscribed_hears_nothing(void **state) {
    (void)state;
    int notes_a = read_count(&a, &a.notes), notes_b = read_count(&b, &b.notes);
    db_listen_unsubscribe(loop, sub_a);
    sub_a = -1;
    notify("test_listen_a", "lost");
    notify("test_listen_b", "after");
    assert_true(wait_count(&b, &b.notes, notes_b + 1));
    assert_int_equal(read_count(&a, &a.notes), notes_a);
}

static void bad_subscriptions_refused(void **state) {
    (void)state;
    assert_int_equal(db_listen_subscribe(loop, "Bad-Name", on_notify, NULL, &a), -1);
    assert_int_equal(db_listen_subscribe(loop, "", on_notify, NULL, &a), -1);
    assert_int_equal(db_listen_subscribe(loop, "ok_name", NULL, NULL, &a), -1);
    int ids[DB_LISTEN_MAX];
    int n = 0;
    for (; n < DB_LISTEN_MAX; n++) {
        ids[n] = db_listen_subscribe(loop, "test_listen_c", on_notify, NULL, &a);
        if (ids[n] < 0) break;
    }
    assert_int_equal(n, DB_LISTEN_MAX - 1); /* b holds one place */
    for (int i = 0; i < n; i++) db_listen_unsubscribe(loop, ids[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_hears_its_channel),
        cmocka_unit_test(comes_back_after_a_lost_connection),
        cmocka_unit_test(unsubscribed_hears_nothing),
        cmocka_unit_test(bad_subscriptions_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
