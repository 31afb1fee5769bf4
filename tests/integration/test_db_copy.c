/* test_db_copy: COPY ... FROM STDIN through server/db/db_copy.c against the real
 * PostgreSQL: awkward text (tabs, newlines, backslashes, "\N", UTF-8, NUL) and NULL come
 * back exactly; many rows streamed in several puts; a row PostgreSQL refuses in the middle
 * of a COPY fails db_copy_end with its SQLSTATE, stores nothing, and the same connection
 * then runs a normal query; the same inside a transaction (rolled back, then usable);
 * db_copy_abort discards the rows; a COPY that cannot start (no such table, or not a COPY)
 * leaves the connection usable; a COPY after pipelined statements drains them first.
 * The group owns one throwaway database and one struct db. */
#include "db/db.h"
#include "db/db_copy.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct test_db tdb;
static struct db *db;

static const char *const copy_sql = "COPY copy_t (n, t) FROM STDIN";

static void exec_ok(const char *sql) {
    PGresult *r = db_exec_sql(db, sql, 0, NULL);
    if (!r) fail_msg("%s: %s", sql, db_last_error(db));
    PQclear(r);
}

static char *scalar(const char *sql) {
    PGresult *r = db_exec_sql(db, sql, 0, NULL);
    if (!r) fail_msg("%s: %s", sql, db_last_error(db));
    char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

static void assert_scalar(const char *sql, const char *expected) {
    char *v = scalar(sql);
    assert_string_equal(v, expected);
    free(v);
}

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&tdb) != 0) return -1;
    db = db_new(tdb.url);
    return db && db_conn(db) ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    db_free(db);
    testdb_drop(&tdb);
    return 0;
}

static int fresh_table(void **state) {
    (void)state;
    exec_ok("DROP TABLE IF EXISTS copy_t");
    exec_ok("CREATE TABLE copy_t (n int PRIMARY KEY, t text)");
    return 0;
}

static void awkward_text_round_trips(void **state) {
    (void)state;
    static const char *const values[] = {
        "tab\there", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "Planifi\303\251e", "", "end\\",
    };
    size_t n = sizeof values / sizeof *values;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    assert_int_equal(db_copy_begin(db, copy_sql), 0);
    for (size_t i = 0; i < n; i++) {
        db_copy_int(&b, (long long)i);
        db_copy_cstr(&b, values[i]);
        db_copy_end_row(&b);
    }
    db_copy_int(&b, 100);
    db_copy_null(&b);
    db_copy_end_row(&b);
    db_copy_int(&b, 101);
    db_copy_text(&b, "a\0b", 3);
    db_copy_end_row(&b);
    assert_int_equal(db_copy_put(db, &b), 0);
    int64_t rows = -1;
    assert_int_equal(db_copy_end(db, &rows), 0);
    assert_int_equal(rows, (int64_t)n + 2);
    db_copy_buf_cleanup(&b);

    for (size_t i = 0; i < n; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT t FROM copy_t WHERE n = %zu", i);
        assert_scalar(sql, values[i]);
    }
    assert_scalar("SELECT (t IS NULL)::text FROM copy_t WHERE n = 100", "true");
    assert_scalar("SELECT t FROM copy_t WHERE n = 101", "ab");
}

static void many_rows_in_several_puts(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    assert_int_equal(db_copy_begin(db, copy_sql), 0);
    int puts = 0;
    for (int i = 0; i < 200000; i++) {
        db_copy_int(&b, i);
        db_copy_cstr(&b, "row\twith a tab");
        db_copy_end_row(&b);
        if (b.len >= DB_COPY_FLUSH_BYTES) {
            assert_int_equal(db_copy_put(db, &b), 0);
            puts++;
        }
    }
    assert_int_equal(db_copy_put(db, &b), 0);
    assert_true(puts > 3);
    assert_true(b.cap <= 2 * DB_COPY_FLUSH_BYTES); /* memory stays bounded */
    int64_t rows = 0;
    assert_int_equal(db_copy_end(db, &rows), 0);
    assert_int_equal(rows, 200000);
    db_copy_buf_cleanup(&b);
    assert_scalar("SELECT count(*) FROM copy_t WHERE t = E'row\\twith a tab'", "200000");
}

/* Rows 0..9, then a duplicate key at 5: PostgreSQL refuses the whole COPY. */
static int copy_with_duplicate(void) {
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    int rc = db_copy_begin(db, copy_sql);
    assert_int_equal(rc, 0);
    for (int i = 0; i < 10; i++) {
        db_copy_int(&b, i);
        db_copy_cstr(&b, "x");
        db_copy_end_row(&b);
    }
    db_copy_int(&b, 5);
    db_copy_cstr(&b, "again");
    db_copy_end_row(&b);
    for (int i = 10; i < 20; i++) {
        db_copy_int(&b, i);
        db_copy_cstr(&b, "y");
        db_copy_end_row(&b);
    }
    rc = db_copy_put(db, &b);
    if (rc == 0) rc = db_copy_end(db, NULL);
    db_copy_buf_cleanup(&b);
    return rc;
}

static void failure_mid_copy_leaves_connection_usable(void **state) {
    (void)state;
    assert_int_equal(copy_with_duplicate(), -1);
    assert_string_equal(db_sqlstate(db), "23505");
    assert_non_null(strstr(db_last_error(db), "duplicate key"));
    assert_false(db_is_down(db));
    assert_scalar("SELECT count(*) FROM copy_t", "0");
    assert_scalar("SELECT 6 * 7", "42");
}

static void failure_in_transaction_rolls_back(void **state) {
    (void)state;
    exec_ok("INSERT INTO copy_t VALUES (1000, 'before')");
    exec_ok("BEGIN");
    exec_ok("INSERT INTO copy_t VALUES (1001, 'in the transaction')");
    assert_int_equal(copy_with_duplicate(), -1);
    assert_int_equal(PQtransactionStatus(db_conn(db)), PQTRANS_INERROR);
    exec_ok("ROLLBACK");
    assert_scalar("SELECT string_agg(n::text, ',' ORDER BY n) FROM copy_t", "1000");
}

static void bad_value_is_reported(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    assert_int_equal(db_copy_begin(db, copy_sql), 0);
    db_copy_cstr(&b, "not a number");
    db_copy_cstr(&b, "x");
    db_copy_end_row(&b);
    int rc = db_copy_put(db, &b);
    if (rc == 0) rc = db_copy_end(db, NULL);
    assert_int_equal(rc, -1);
    assert_string_equal(db_sqlstate(db), "22P02");
    db_copy_buf_cleanup(&b);
    assert_scalar("SELECT count(*) FROM copy_t", "0");
}

static void abort_discards_rows(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    assert_int_equal(db_copy_begin(db, copy_sql), 0);
    db_copy_int(&b, 1);
    db_copy_cstr(&b, "dropped");
    db_copy_end_row(&b);
    assert_int_equal(db_copy_put(db, &b), 0);
    assert_int_equal(db_copy_abort(db, "the file vanished"), 0);
    db_copy_buf_cleanup(&b);
    assert_scalar("SELECT count(*) FROM copy_t", "0");
}

static void begin_failures_leave_connection_usable(void **state) {
    (void)state;
    assert_int_equal(db_copy_begin(db, "COPY no_such_table (n) FROM STDIN"), -1);
    assert_string_equal(db_sqlstate(db), "42P01");
    assert_scalar("SELECT 1", "1");
    assert_int_equal(db_copy_begin(db, "SELECT 1"), -1);
    assert_non_null(strstr(db_last_error(db), "not COPY"));
    assert_scalar("SELECT 2", "2");
}

static void ignore_result(struct db *d, PGresult *res, void *arg) {
    (void)d;
    (void)res;
    (*(int *)arg)++;
}

static void copy_after_pipeline_drains_it(void **state) {
    (void)state;
    static struct db_stmt q = DB_STMT("SELECT $1::int");
    int calls = 0;
    const char *v[] = {"1"};
    assert_true(db_send(db, &q, 1, v, ignore_result, &calls));
    assert_true(db_send(db, &q, 1, v, ignore_result, &calls));
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    assert_int_equal(db_copy_begin(db, copy_sql), 0);
    assert_int_equal(calls, 2);
    db_copy_int(&b, 1);
    db_copy_cstr(&b, "after");
    db_copy_end_row(&b);
    assert_int_equal(db_copy_put(db, &b), 0);
    assert_int_equal(db_copy_end(db, NULL), 0);
    db_copy_buf_cleanup(&b);
    assert_scalar("SELECT t FROM copy_t WHERE n = 1", "after");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(awkward_text_round_trips, fresh_table),
        cmocka_unit_test_setup(many_rows_in_several_puts, fresh_table),
        cmocka_unit_test_setup(failure_mid_copy_leaves_connection_usable, fresh_table),
        cmocka_unit_test_setup(failure_in_transaction_rolls_back, fresh_table),
        cmocka_unit_test_setup(bad_value_is_reported, fresh_table),
        cmocka_unit_test_setup(abort_discards_rows, fresh_table),
        cmocka_unit_test_setup(begin_failures_leave_connection_usable, fresh_table),
        cmocka_unit_test_setup(copy_after_pipeline_drains_it, fresh_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
