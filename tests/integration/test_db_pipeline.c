/* test_db_pipeline: db_send/db_drain (server/db/db.c) against the real PostgreSQL:
 * results come back in order with their own values; a failing statement fails alone
 * (its SQLSTATE kept) while the ones around it succeed; a statement first used twice in
 * one pipeline is prepared once; a PREPARE that fails fails its statement only and is
 * tried again next time; a synchronous db_exec drains the pipeline first; more than
 * DB_PIPELINE_MAX sends drain on their own; a callback may use the connection
 * synchronously; a connection killed under pending statements fails every one of them,
 * marks the db down, and the next use reconnects; each callback sees its own failure
 * (lost connection or not) even when an earlier one reconnected; a failed PREPARE's error
 * reaches every use of the statement in the pipeline. The group owns one throwaway database
 * and one struct db. */
#include "db/db.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_db tdb;
static struct db *db;

static struct db_stmt q_echo = DB_STMT("SELECT $1::int * 10");
static struct db_stmt q_echo_for_callbacks = DB_STMT("SELECT $1::int");
static struct db_stmt q_divide = DB_STMT("SELECT 100 / $1::int");
static struct db_stmt q_fresh = DB_STMT("SELECT $1::text || '!'");
static struct db_stmt q_broken = DB_STMT("SELEKT $1::int");
static struct db_stmt q_broken_twice = DB_STMT("SELECT $1::int FROM no_such_table");
static struct db_stmt q_sleep = DB_STMT("SELECT pg_sleep(2), $1::int");

/* What a callback saw, in call order. */
struct seen {
    int calls;
    int order[64];
    char value[64][32];
    bool ok[64];
    char sqlstate[64][8];
    char error[64][128];
    bool down[64];
};

struct arg {
    struct seen *seen;
    int index;
};

static void record(struct db *d, PGresult *res, void *p) {
    struct arg *a = p;
    struct seen *s = a->seen;
    int i = s->calls++;
    s->order[i] = a->index;
    s->ok[i] = res != NULL;
    snprintf(s->value[i], sizeof s->value[i], "%s",
             res && PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    snprintf(s->sqlstate[i], sizeof s->sqlstate[i], "%s", res ? "" : db_sqlstate(d));
    snprintf(s->error[i], sizeof s->error[i], "%s", res ? "" : db_last_error(d));
    s->down[i] = db_is_down(d);
}

/* Like record, then queries synchronously (which reconnects a dropped connection). */
static void record_then_query(struct db *d, PGresult *res, void *p) {
    record(d, res, p);
    const char *v[] = {"1"};
    PGresult *r = db_exec(d, &q_echo_for_callbacks, 1, v);
    assert_non_null(r);
    PQclear(r);
}

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&tdb) != 0) return -1;
    db = db_new(tdb.url);
    return db_conn(db) ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    db_free(db);
    db = NULL;
    testdb_drop(&tdb);
    return 0;
}

static void send_one(struct db_stmt *stmt, const char *v, struct arg *a) {
    const char *values[] = {v};
    assert_true(db_send(db, stmt, 1, values, record, a));
}

static void results_in_order_and_failures_alone(void **state) {
    (void)state;
    struct seen s = {0};
    struct arg a[5];
    for (int i = 0; i < 5; i++) a[i] = (struct arg){&s, i};
    send_one(&q_echo, "1", &a[0]);
    send_one(&q_divide, "4", &a[1]);
    send_one(&q_divide, "0", &a[2]); /* division by zero */
    send_one(&q_echo, "3", &a[3]);
    send_one(&q_divide, "5", &a[4]);
    assert_int_equal(s.calls, 0); /* nothing read before the drain */
    db_drain(db);
    assert_int_equal(s.calls, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(s.order[i], i);
    assert_true(s.ok[0]);
    assert_string_equal(s.value[0], "10");
    assert_string_equal(s.value[1], "25");
    assert_false(s.ok[2]);
    assert_string_equal(s.sqlstate[2], "22012");
    assert_non_null(strstr(s.error[2], "division by zero"));
    assert_true(s.ok[3]);
    assert_string_equal(s.value[3], "30");
    assert_string_equal(s.value[4], "20");
    assert_false(db_is_down(db));
}

static void first_use_twice_prepares_once(void **state) {
    (void)state;
    struct seen s = {0};
    struct arg a[2] = {{&s, 0}, {&s, 1}};
    send_one(&q_fresh, "a", &a[0]);
    send_one(&q_fresh, "b", &a[1]);
    db_drain(db);
    assert_int_equal(s.calls, 2);
    assert_true(s.ok[0] && s.ok[1]);
    assert_string_equal(s.value[0], "a!");
    assert_string_equal(s.value[1], "b!");
}

static void failed_prepare_fails_its_statement_only(void **state) {
    (void)state;
    for (int round = 0; round < 2; round++) { /* the second round prepares it again */
        struct seen s = {0};
        struct arg a[3] = {{&s, 0}, {&s, 1}, {&s, 2}};
        send_one(&q_echo, "7", &a[0]);
        send_one(&q_broken, "8", &a[1]);
        send_one(&q_echo, "9", &a[2]);
        db_drain(db);
        assert_int_equal(s.calls, 3);
        assert_string_equal(s.value[0], "70");
        assert_false(s.ok[1]);
        assert_string_equal(s.sqlstate[1], "42601"); /* syntax error, not "does not exist" */
        assert_true(s.ok[2]);
        assert_string_equal(s.value[2], "90");
    }
}

static void sync_exec_drains_first(void **state) {
    (void)state;
    struct seen s = {0};
    struct arg a = {&s, 0};
    send_one(&q_echo, "4", &a);
    const char *v[] = {"6"};
    PGresult *r = db_exec(db, &q_echo, 1, v);
    assert_int_equal(s.calls, 1); /* the pending statement was answered first */
    assert_string_equal(s.value[0], "40");
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "60");
    PQclear(r);
    assert_int_equal(PQpipelineStatus(db_conn(db)), PQ_PIPELINE_OFF);
}

static void more_than_the_maximum_drains_on_its_own(void **state) {
    (void)state;
    struct seen s = {0};
    struct arg a[DB_PIPELINE_MAX + 8];
    char text[DB_PIPELINE_MAX + 8][8];
    for (int i = 0; i < DB_PIPELINE_MAX + 8; i++) {
        a[i] = (struct arg){&s, i};
        snprintf(text[i], sizeof text[i], "%d", i);
        send_one(&q_echo, text[i], &a[i]);
    }
    assert_int_equal(s.calls, DB_PIPELINE_MAX); /* the first DB_PIPELINE_MAX, drained */
    db_drain(db);
    assert_int_equal(s.calls, DB_PIPELINE_MAX + 8);
    for (int i = 0; i < DB_PIPELINE_MAX + 8; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i * 10);
        assert_int_equal(s.order[i], i);
        assert_string_equal(s.value[i], want);
    }
}

/* A callback that queries synchronously, as a list's "does the parent exist" check does. */
static void query_inside(struct db *d, PGresult *res, void *p) {
    int *out = p;
    assert_non_null(res);
    const char *v[] = {PQgetvalue(res, 0, 0)};
    PGresult *r = db_exec(d, &q_echo, 1, v);
    assert_non_null(r);
    *out = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void callback_may_query_synchronously(void **state) {
    (void)state;
    int out[2] = {0, 0};
    const char *v1[] = {"2"}, *v2[] = {"3"};
    assert_true(db_send(db, &q_echo, 1, v1, query_inside, &out[0]));
    assert_true(db_send(db, &q_echo, 1, v2, query_inside, &out[1]));
    db_drain(db);
    assert_int_equal(out[0], 200);
    assert_int_equal(out[1], 300);
}

static void killed_connection_fails_all_then_reconnects(void **state) {
    (void)state;
    int pid = PQbackendPID(db_conn(db));
    struct seen s = {0};
    struct arg a[3] = {{&s, 0}, {&s, 1}, {&s, 2}};
    send_one(&q_sleep, "1", &a[0]);
    send_one(&q_echo, "2", &a[1]);
    send_one(&q_echo, "3", &a[2]);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    char *killed = testdb_query(tdb.url, sql);
    assert_non_null(killed);
    assert_string_equal(killed, "t");
    free(killed);
    db_drain(db);
    assert_int_equal(s.calls, 3);
    for (int i = 0; i < 3; i++) assert_false(s.ok[i]);
    assert_true(db_is_down(db));
    for (int i = 0; i < 3; i++) assert_true(s.down[i]); /* 503, not 500, for each */
    /* the next use opens a new connection */
    const char *v[] = {"5"};
    PGresult *r = db_exec(db, &q_echo, 1, v);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "50");
    PQclear(r);
    assert_false(db_is_down(db));
    assert_int_not_equal(PQbackendPID(db_conn(db)), pid);
    /* and pipelines again, its statements prepared anew */
    struct seen t = {0};
    struct arg b = {&t, 0};
    send_one(&q_divide, "50", &b);
    db_drain(db);
    assert_true(t.ok[0]);
    assert_string_equal(t.value[0], "2");
}

/* A statement that succeeded before the connection died: its callback reconnects; the
 * failed ones after it must still see that the database was lost (503), each with its
 * own error, not the state the first callback left. */
static void each_callback_sees_its_own_failure(void **state) {
    (void)state;
    int pid = PQbackendPID(db_conn(db));
    struct seen s = {0};
    struct arg a[3] = {{&s, 0}, {&s, 1}, {&s, 2}};
    const char *one[] = {"1"};
    assert_true(db_send(db, &q_echo, 1, one, record_then_query, &a[0]));
    send_one(&q_sleep, "2", &a[1]);
    send_one(&q_echo, "3", &a[2]);
    usleep(300 * 1000); /* the first is answered, the second sleeps */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    free(testdb_query(tdb.url, sql));
    db_drain(db);
    assert_int_equal(s.calls, 3);
    assert_true(s.ok[0]);
    assert_false(s.down[0]);
    assert_false(s.ok[1]);
    assert_true(s.down[1]);
    assert_false(s.ok[2]);
    assert_true(s.down[2]);
    assert_false(db_is_down(db)); /* the first callback's reconnection stands */
}

/* A statement used twice whose PREPARE fails: both uses report the PREPARE's error. */
static void failed_prepare_error_reaches_every_use(void **state) {
    (void)state;
    struct seen s = {0};
    struct arg a[2] = {{&s, 0}, {&s, 1}};
    send_one(&q_broken_twice, "1", &a[0]);
    send_one(&q_broken_twice, "2", &a[1]);
    db_drain(db);
    assert_int_equal(s.calls, 2);
    assert_false(s.ok[0] || s.ok[1]);
    assert_string_equal(s.sqlstate[0], "42P01");
    assert_string_equal(s.sqlstate[1], "42P01"); /* not 26000, "does not exist" */
    assert_false(s.down[0] || s.down[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_in_order_and_failures_alone),
        cmocka_unit_test(first_use_twice_prepares_once),
        cmocka_unit_test(failed_prepare_fails_its_statement_only),
        cmocka_unit_test(sync_exec_drains_first),
        cmocka_unit_test(more_than_the_maximum_drains_on_its_own),
        cmocka_unit_test(callback_may_query_synchronously),
        cmocka_unit_test(killed_connection_fails_all_then_reconnects),
        cmocka_unit_test(each_callback_sees_its_own_failure),
        cmocka_unit_test(failed_prepare_error_reaches_every_use),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
