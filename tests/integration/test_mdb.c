/* integration_mdb: db/mdb.c against the real MariaDB of scripts/test — the connection
 * character set (latin1 columns read as UTF-8), errors that name the fault and never the
 * password (wrong password, unreachable port, unknown database, a query error that
 * leaves the connection usable, TLS asked of a server without it), streaming a million
 * rows with flat memory, a callback that stops the stream, and a connection killed
 * mid-stream. Each test makes and drops its own database. */
#include "db/mdb.h"
#include "harness.h"
#include "harness_mdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

static struct test_mdb tdb;

static int setup(void **state) {
    (void)state;
    return testmdb_create(&tdb);
}

static int teardown(void **state) {
    (void)state;
    testmdb_drop(&tdb);
    return 0;
}

static int collect_text(void *arg, const struct mdb_row *row) {
    char *out = arg;
    size_t len = strlen(out);
    snprintf(out + len, 256 - len, "%.*s|", row->values[0] ? (int)row->lengths[0] : 4,
             row->values[0] ? row->values[0] : "NULL");
    return 0;
}

static void utf8mb4_over_latin1(void **state) {
    (void)state;
    assert_int_equal(testmdb_exec(tdb.url, "CREATE TABLE t (s VARCHAR(20)) CHARACTER SET latin1;"
                                           "INSERT INTO t VALUES (_latin1 x'506c616e696669e965'),"
                                           "(NULL)"),
                     0);
    struct mdb_error err;
    struct mdb *c = mdb_connect(tdb.reader_url, NULL, &err);
    if (!c) fail_msg("%s", err.text);
    char out[256] = "";
    assert_int_equal(mdb_stream(c, "SELECT s FROM t ORDER BY s IS NULL", collect_text, out, &err),
                     0);
    assert_string_equal(out, "Planifi\xC3\xA9"
                             "e|NULL|");
    /* the reader may not write */
    assert_int_equal(mdb_exec(c, "INSERT INTO t VALUES ('x')", &err), -1);
    assert_int_equal(err.code, 1142);
    mdb_close(c);
}

static void wrong_password(void **state) {
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "mysql://%s:WRONG-pass-XYZZY@%s:%u/%s", tdb.reader, tdb.host,
             tdb.port, tdb.name);
    struct mdb_error err;
    assert_null(mdb_connect(url, NULL, &err));
    assert_int_equal(err.code, 1045);
    assert_false(err.lost);
    assert_non_null(strstr(err.text, "Access denied"));
    assert_non_null(strstr(err.text, "connecting"));
    assert_non_null(strstr(err.text, ":***@"));
    assert_null(strstr(err.text, "WRONG-pass-XYZZY"));
}

static void unreachable_and_unknown(void **state) {
    (void)state;
    char url[600];
    int port = free_port();
    snprintf(url, sizeof url, "mysql://u:SECRETPW@127.0.0.1:%d/x?connect-timeout=2", port);
    struct mdb_error err;
    assert_null(mdb_connect(url, NULL, &err));
    assert_true(err.lost);
    assert_int_equal(err.code, 2002);
    assert_null(strstr(err.text, "SECRETPW"));
    char port_text[16];
    snprintf(port_text, sizeof port_text, ":%d/", port);
    assert_non_null(strstr(err.text, port_text));

    /* the reader's own URL with another database */
    snprintf(url, sizeof url, "%.*s/no_such_db_here",
             (int)(strrchr(tdb.reader_url, '/') - tdb.reader_url), tdb.reader_url);
    assert_null(mdb_connect(url, NULL, &err));
    assert_false(err.lost);
    assert_true(err.code == 1044 || err.code == 1049);

    assert_null(mdb_connect("mysql://u:pw@h:0/x", NULL, &err));
    assert_non_null(strstr(err.text, "MYSQL_URL: the port"));
}

static void tls_options(void **state) {
    (void)state;
    struct mdb_error err;
    char url[700];
    snprintf(url, sizeof url, "%s?ssl-mode=verify-ca", tdb.reader_url);
    assert_null(mdb_connect(url, NULL, &err));
    assert_non_null(strstr(err.text, "needs a CA file"));
    /* the test server has no TLS: required must refuse, not fall back to plain text */
    snprintf(url, sizeof url, "%s?ssl-mode=required", tdb.reader_url);
    assert_null(mdb_connect(url, NULL, &err));
    assert_non_null(strstr(err.text, "TLS"));
    assert_null(strstr(err.text, "reader-pw"));
    /* the options' mode applies when the URL has none; disabled connects */
    struct mdb_opts o = {.ssl_mode = MDB_SSL_REQUIRED};
    assert_null(mdb_connect(tdb.reader_url, &o, &err));
    o.ssl_mode = MDB_SSL_DISABLED;
    struct mdb *c = mdb_connect(tdb.reader_url, &o, &err);
    if (!c) fail_msg("%s", err.text);
    mdb_close(c);
}

static void query_error_keeps_connection(void **state) {
    (void)state;
    struct mdb_error err;
    struct mdb *c = mdb_connect(tdb.reader_url, NULL, &err);
    assert_non_null(c);
    char out[256] = "";
    assert_int_equal(mdb_stream(c, "SELEC 1", collect_text, out, &err), -1);
    assert_int_equal(err.code, 1064);
    assert_false(err.lost);
    assert_non_null(strstr(err.text, "running the query"));
    assert_int_equal(mdb_stream(c, "SELECT missing_col FROM dual", collect_text, out, &err), -1);
    assert_int_equal(mdb_stream(c, "SELECT 'ok'", collect_text, out, &err), 0);
    assert_string_equal(out, "ok|");
    mdb_close(c);
}

struct counter {
    uint64_t rows, bytes;
    long max_rss_kb;
    uint64_t stop_at;
    const char *kill_db;
};

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * 4;
}

static int count_rows(void *arg, const struct mdb_row *row) {
    struct counter *k = arg;
    if (row->index != k->rows) return 99; /* indexes must run 0, 1, 2, ... */
    k->rows++;
    k->bytes += row->lengths[1];
    if ((k->rows & 65535) == 0) {
        long r = rss_kb();
        if (r > k->max_rss_kb) k->max_rss_kb = r;
    }
    if (k->kill_db && k->rows == 1000) testmdb_kill_sessions(k->kill_db);
    if (k->stop_at && k->rows == k->stop_at) return 7;
    return 0;
}

static const char *million =
    "SELECT seq, REPEAT('x', 200) AS pad FROM seq_1_to_1000000 ORDER BY seq";

static void stream_flat_memory(void **state) {
    (void)state;
    struct mdb_error err;
    struct mdb *c = mdb_connect(tdb.reader_url, NULL, &err);
    assert_non_null(c);
    struct counter k = {0};
    long before = rss_kb();
    assert_int_equal(mdb_stream(c, million, count_rows, &k, &err), 0);
    assert_int_equal(k.rows, 1000000);
    assert_int_equal(k.bytes, 200000000ULL);
    /* 200 MB went through; a buffered result would hold all of it */
    long grew = k.max_rss_kb - before;
    if (grew > 32 * 1024) fail_msg("RSS grew by %ld KiB while streaming", grew);
    mdb_close(c);
}

static void callback_stops(void **state) {
    (void)state;
    struct mdb_error err;
    struct mdb *c = mdb_connect(tdb.reader_url, NULL, &err);
    assert_non_null(c);
    struct counter k = {.stop_at = 10};
    assert_int_equal(mdb_stream(c, million, count_rows, &k, &err), 7);
    assert_int_equal(k.rows, 10);
    /* the connection is closed after a stop: a new statement says so */
    assert_int_equal(mdb_stream(c, "SELECT 1", count_rows, &k, &err), -1);
    assert_true(err.lost);
    mdb_close(c);
}

static void killed_mid_stream(void **state) {
    (void)state;
    struct mdb_error err;
    struct mdb *c = mdb_connect(tdb.reader_url, NULL, &err);
    assert_non_null(c);
    struct counter k = {.kill_db = tdb.name};
    assert_int_equal(mdb_stream(c, million, count_rows, &k, &err), -1);
    assert_true(k.rows >= 1000 && k.rows < 1000000);
    assert_true(err.lost);
    assert_non_null(strstr(err.text, "reading the result"));
    mdb_close(c);
}

int main(void) {
    if (!testmdb_admin_url()) {
        fprintf(stderr, "SLUICE_TEST_MYSQL_ADMIN_URL is not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8mb4_over_latin1),
        cmocka_unit_test(wrong_password),
        cmocka_unit_test(unreachable_and_unknown),
        cmocka_unit_test(tls_options),
        cmocka_unit_test(query_error_keeps_connection),
        cmocka_unit_test(stream_flat_memory),
        cmocka_unit_test(callback_stops),
        cmocka_unit_test(killed_mid_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
