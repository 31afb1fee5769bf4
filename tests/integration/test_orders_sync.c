/* integration_orders_sync: the orders.sync job kind end to end, against the real
 * MariaDB and PostgreSQL of scripts/test — every cleaning and mapping rule (through a
 * query file over a table of crafted raw rows), the one-row-per-order rule through the
 * spec's own query and the ERP tables of docker/mariadb/init.sql, ERP-only replacement
 * and the take-over of API orders, unchanged rows left alone (same row version), the
 * history in sync_runs and GET /sync-runs, and the faults — ERP unreachable, wrong
 * password, broken query file, connection killed mid-stream, sluice killed mid-sync —
 * each leaving the orders exactly as they were, with the error in the job and the run
 * and a retry with backoff (the killed sync's job taken again once its lease expired,
 * its run marked interrupted) — and the fenced commit: a run whose worker lost the
 * job's lease rolls its replacement back. One MariaDB database (read-only account for sluice) and
 * one PostgreSQL database for the group; each test starts from empty tables. */
#include "auth_util.h"
#include "harness.h"
#include "harness_mdb.h"
#include "jobs_util.h"

#include "core/config.h"
#include "db/db.h"
#include "job_ctx.h"
#include "kinds/kinds.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct test_mdb erp;
static struct test_db pg;
static struct sluice_proc *proc;
static char *admin;
static char *tmp;
static char mysql_env[600];

static int group_setup(void **state) {
    (void)state;
    if (testmdb_create(&erp) != 0) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/docker/mariadb/init.sql", getenv("SLUICE_SOURCE_DIR"));
    if (testmdb_exec_file(erp.url, path) != 0) return -1;
    /* crafted raw rows for the rule tests (latin1, as the ERP's) */
    if (testmdb_exec(erp.url,
                     "CREATE TABLE raw_rows (numero_commande VARCHAR(40),"
                     " extension VARCHAR(10), status VARCHAR(60), date_modification DATE,"
                     " coffre VARCHAR(80), gestion_en_stock INT) CHARACTER SET latin1") != 0)
        return -1;
    snprintf(mysql_env, sizeof mysql_env, "MYSQL_URL=%s", erp.reader_url);
    /* no job workers here (JOB_QUEUES empty): the faults below start their own server
     * that runs the job, and no other worker may take it */
    const char *env[] = {mysql_env, "SCHEDULES=", "JOB_QUEUES=", NULL};
    if (test_server_start(&pg, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    tmp = make_temp_dir("orders_sync");
    return admin && tmp ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    if (tmp) remove_tree(tmp);
    free(tmp);
    int rc = test_server_stop(&pg, &proc);
    testmdb_drop(&erp);
    return rc;
}

static int reset(void **state) {
    (void)state;
    if (testmdb_exec(erp.url, "DELETE FROM A_Kopf; DELETE FROM A_KopfFreie; DELETE FROM A_Logbuch;"
                              " DELETE FROM P_Zubeh; DELETE FROM P_Artikel; DELETE FROM A_Vorgang;"
                              " DELETE FROM raw_rows") != 0)
        return -1;
    char *r = testdb_query(pg.url, "DELETE FROM commandes_volets_roulants; DELETE FROM sync_runs");
    free(r);
    return 0;
}

/* Runs `sluice jobs run orders.sync` with extra env (MYSQL_URL is the reader's unless
 * overridden); returns the exit status, output in *out (may be NULL). */
static int run_sync(const char *const *extra, char **out) {
    const char *args[] = {"jobs", "run", "orders.sync", NULL};
    const char *env[8] = {mysql_env};
    int n = 1;
    for (int i = 0; extra && extra[i] && n < 7; i++) env[n++] = extra[i];
    env[n] = NULL;
    char *output = NULL;
    int rc = run_sluice_cli(pg.url, args, env, &output);
    if (rc != 0 && rc != 1) fprintf(stderr, "sync exited %d:\n%s\n", rc, output ? output : "");
    if (out)
        *out = output;
    else
        free(output);
    return rc;
}

static void sync_ok(void) {
    char *out = NULL;
    int rc = run_sync(NULL, &out);
    if (rc != 0) fail_msg("orders.sync failed (%d): %s", rc, out ? out : "");
    free(out);
}

/* The last run's column expr as text. */
static char *last_run(const char *expr) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM sync_runs ORDER BY id DESC LIMIT 1", expr);
    return testdb_query(pg.url, sql);
}

static void assert_last_run(const char *expr, const char *expected) {
    char *v = last_run(expr);
    if (!v || strcmp(v, expected) != 0)
        fail_msg("sync_runs.%s is '%s', expected '%s'", expr, v ? v : "(null)", expected);
    free(v);
}

/* Frees v (a result, may be NULL), then fails naming what and v when not ok. */
static void check_text(char *v, bool ok, const char *what) {
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", v ? v : "(null)");
    free(v);
    if (!ok) fail_msg("%s: %s", what, copy);
}

/* One order's columns as "status|status_source|date|coffre|stock|source" ("" if none). */
static char *order(const char *numero, const char *ext) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT concat_ws('|', status, coalesce(status_source, '-'), date_modification,"
             " coalesce(coffre, 'NULL'), gestion_en_stock, source) FROM commandes_volets_roulants"
             " WHERE numero_commande = '%s' AND extension = '%s'",
             numero, ext);
    return testdb_query(pg.url, sql);
}

static void assert_order(const char *numero, const char *ext, const char *expected) {
    char *v = order(numero, ext);
    if (!v || strcmp(v, expected) != 0)
        fail_msg("order %s/%s is '%s', expected '%s'", numero, ext, v ? v : "(null)", expected);
    free(v);
}

/* A digest of every order (values and row versions): equal means untouched. */
static char *orders_digest(void) {
    return testdb_query(pg.url,
                        "SELECT count(*) || ':' || coalesce(md5(string_agg(o::text || "
                        "xmin::text, ',' ORDER BY id)), '') FROM commandes_volets_roulants o");
}

/* ---- the cleaning and mapping rules --------------------------------------------- */

/* Writes the query file that reads raw_rows as the query's result: its path in qpath,
 * and "ERP_ORDERS_QUERY_FILE=path" in qenv. */
static void raw_query(char *qpath, size_t plen, char *qenv, size_t elen) {
    snprintf(qpath, plen, "%s/raw.sql", tmp);
    const char *q = "SELECT numero_commande, extension, status, date_modification, coffre,\n"
                    " gestion_en_stock FROM raw_rows;\n";
    assert_int_equal(write_file(qpath, q, strlen(q)), 0);
    snprintf(qenv, elen, "ERP_ORDERS_QUERY_FILE=%s", qpath);
}

/* Runs a sync of raw_rows; fails the test unless it succeeds. Its output in *out (may be
 * NULL). */
static void sync_raw(char **out) {
    char qpath[1024], qenv[1100];
    raw_query(qpath, sizeof qpath, qenv, sizeof qenv);
    const char *env[] = {qenv, NULL};
    char *output = NULL;
    int rc = run_sync(env, &output);
    if (rc != 0) fail_msg("orders.sync failed (%d): %s", rc, output ? output : "");
    if (out)
        *out = output;
    else
        free(output);
}

static void cleaning_rules(void **state) {
    (void)state;
    /* latin1 bytes: E9 é, C9 É, C3 A0 is "Ã" + no-break space (UTF-8 à read as Latin-1) */
    assert_int_equal(
        testmdb_exec(
            erp.url,
            "SET SESSION sql_mode = '';"
            "INSERT INTO raw_rows VALUES"
            "('R01   ', NULL, _latin1 x'506c616e696669e965', '2025-01-02', ' SOP 125 ', 1),"
            "(_latin1 x'52303200', '', 'cde PLANIFIEE', '2025-01-03', 'S P 165', 0),"
            "('R03', 'A', _latin1 x'c3a0206c616e63657220656e2070726f64', '2025-01-04',"
            " 'S D 180', 0),"
            "('R04', '', _latin1 x'5465726d696ee965', '2025-01-05', '   ', 0),"
            "('R05', ' ', 'ANNULEE', '2025-01-06', NULL, 1),"
            "('R06', '', 'vitrage puis Planifiee', '2025-01-07', 'S TN 220', 0),"
            "(_latin1 x'e931323334353637383930313233343536373839', _latin1 x'c9c9c9c9c9',"
            " 'vitrage', '2025-01-08', 'S Q 200', 0),"
            "('123456789012345678901', '', 'vitrage', '2025-01-09', 'SOP 1', 0),"
            "('   ', '', 'vitrage', '2025-01-09', 'SOP 1', 0),"
            "('R09', 'ABCDEF', 'vitrage', '2025-01-09', 'SOP 1', 0),"
            "('R10', '', 'En attente', '2025-01-09', 'SOP 1', 0),"
            "('R11', '', 'vitrage', '0000-00-00', 'SOP 1', 0),"
            "('R12', '', 'vitrage', NULL, 'SOP 1', 0),"
            "('R13', '', 'vitrage', '2025-01-09', REPEAT('x', 51), 0),"
            "('R14', '', 'vitrage', '2025-01-09', 'SOP 1', 2),"
            "('R15', '', NULL, '2025-01-09', 'SOP 1', 0)"),
        0);
    char qpath[1024], qenv[1100];
    raw_query(qpath, sizeof qpath, qenv, sizeof qenv);
    const char *env[] = {qenv, NULL};
    char *out = NULL;
    assert_int_equal(run_sync(env, &out), 0);
    /* `sluice jobs run` shows its progress in rows read (total known at the end) */
    check_text(out,
               out && strstr(out, "progress 16/16 (100.0%)") && strstr(out, "items: 16\n") &&
                   strstr(out, " rows/s"),
               "the output of jobs run");

    assert_order("R01", "",
                 "Planifiee|Planifi\xC3\xA9"
                 "e|2025-01-02|SOP 125|t|erp");
    assert_order("R02", "", "Planifiee|cde PLANIFIEE|2025-01-03|S P 165|f|erp");
    assert_order("R03", "A", "lancer en prod|\xC3\xA0 lancer en prod|2025-01-04|S D 180|f|erp");
    assert_order("R04", "",
                 "Terminee|Termin\xC3\xA9"
                 "e|2025-01-05|NULL|f|erp");
    assert_order("R05", "", "Annulee|ANNULEE|2025-01-06|NULL|t|erp");
    assert_order("R06", "", "Planifiee|vitrage puis Planifiee|2025-01-07|S TN 220|f|erp");
    assert_order("\xC3\xA9"
                 "1234567890123456789",
                 "\xC3\x89\xC3\x89\xC3\x89\xC3\x89\xC3\x89",
                 "vitrage|vitrage|2025-01-08|S Q 200|f|erp");
    assert_int_equal(db_long(pg.url, "SELECT count(*) FROM commandes_volets_roulants"), 7);
    assert_last_run("status", "succeeded");
    assert_last_run("rows_read", "16");
    assert_last_run("inserted", "7");
    assert_last_run("rejected", "9");
    assert_last_run("duplicates", "0");
    assert_last_run("rejected_by::text",
                    "{\"coffre\": 1, \"status\": 2, \"extension\": 1, \"numero_commande\": 2, "
                    "\"gestion_en_stock\": 1, \"date_modification\": 2}");
    /* a query whose result lacks a column is an error naming it, nothing changes */
    char *before = orders_digest();
    const char *bad = "SELECT numero_commande, extension, status FROM raw_rows";
    assert_int_equal(write_file(qpath, bad, strlen(bad)), 0);
    assert_int_equal(run_sync(env, &out), 1);
    assert_non_null(strstr(out, "no column named date_modification"));
    free(out);
    char *after = orders_digest();
    assert_string_equal(before, after);
    free(after);
    assert_last_run("status", "failed");
    /* the same with a result of no row: still refused (not "every ERP order left") */
    const char *empty = "SELECT numero_commande, extension FROM raw_rows WHERE 1 = 0";
    assert_int_equal(write_file(qpath, empty, strlen(empty)), 0);
    assert_int_equal(run_sync(env, &out), 1);
    assert_non_null(strstr(out, "no column named status"));
    free(out);
    after = orders_digest();
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_last_run("status", "failed");
}

/* ---- the spec's query and the one-row-per-order rule ------------------------------ */

static void one_row_per_order(void **state) {
    (void)state;
    assert_int_equal(
        testmdb_exec(erp.url,
                     "SET SESSION sql_mode = '';"
                     "INSERT INTO A_Kopf (ID, AuNummer, AuAlpha, AufStatus) VALUES"
                     " (1, 'S1', '', 'Planifiee'), (2, 'S2', NULL, 'vitrage'),"
                     " (3, 'S3', '', 'lancer en prod'), (4, 'S3', 'B', 'lancer en prod'),"
                     " (5, 'S5', '', 'Planifiee'), (6, 'S6', '', 'Terminee'),"
                     " (7, 'S7', '', 'Planifiee');"
                     "INSERT INTO A_KopfFreie (ID_A_Kopf, Feld1) VALUES (1, 'x'), (1, 'y');"
                     "INSERT INTO P_Artikel (ID_A_Kopf, ArtNr) VALUES (1, 'a'), (1, 'b'), (2, 'c');"
                     "INSERT INTO A_Logbuch (ID_A_Kopf, Datum, Notiz) VALUES"
                     " (1, '2025-03-01 10:00:00', 'cde Planifiee par MB'),"
                     " (1, '2025-03-05 09:00:00', 'cde Planifiee par JD'),"
                     " (1, '2025-03-09 09:00:00', 'Relance client'),"
                     " (2, '2025-02-01 08:00:00', 'cde Planifiee par MB'),"
                     " (2, '2025-04-01 08:00:00', 'cde Planifiee par MB'),"
                     " (3, '2025-05-01 08:00:00', 'cde Planifiee'),"
                     " (4, '2025-05-02 08:00:00', 'cde Planifiee'),"
                     " (5, '0000-00-00 00:00:00', 'cde Planifiee'),"
                     " (5, '2025-06-01 00:00:00', 'cde Planifiee'),"
                     " (6, '2025-06-01 00:00:00', 'cde Planifiee'),"
                     " (7, '2025-06-01 00:00:00', 'cde Planifiee');"
                     "INSERT INTO P_Zubeh (ID_A_Kopf, ZCode) VALUES (1, 'SOP 125'), (1, 'S P 165'),"
                     " (1, 'XOP 1'), (2, 'S TAB 200'), (3, 'S T 150'), (4, 'S T 150'),"
                     " (5, 'SOP 1'), (6, 'SOP 1'), (7, 'SP165');"
                     "INSERT INTO A_Vorgang (ID_A_Kopf, Nummer) VALUES (1, 'AB1'),"
                     " (2, 'AB9'), (2, 'VR9'), (3, 'VR-33')"),
        0);
    sync_ok();
    /* S1: 2 dates x 2 boxes; the latest date, then the smallest box in byte order
     * ("S P 165" < "SOP 125": a space sorts before 'O') */
    assert_order("S1", "", "Planifiee|Planifiee|2025-03-05|S P 165|f|erp");
    /* S2: from stock first (VR9), then the latest date */
    assert_order("S2", "", "vitrage|vitrage|2025-04-01|S TAB 200|t|erp");
    assert_order("S3", "", "lancer en prod|lancer en prod|2025-05-01|S T 150|t|erp");
    assert_order("S3", "B", "lancer en prod|lancer en prod|2025-05-02|S T 150|f|erp");
    /* S5: the zero-date row is rejected, the other kept */
    assert_order("S5", "", "Planifiee|Planifiee|2025-06-01|SOP 1|f|erp");
    /* S6 (status outside the query) and S7 (box outside the patterns): not in the result */
    assert_int_equal(db_long(pg.url, "SELECT count(*) FROM commandes_volets_roulants"), 5);
    /* rows: S1 4, S2 4, S3 1, S3/B 1, S5 2 */
    assert_last_run("rows_read", "12");
    assert_last_run("duplicates", "6");
    assert_last_run("rejected", "1");
    assert_last_run("rejected_by::text", "{\"date_modification\": 1}");
    assert_last_run("inserted || '/' || updated || '/' || deleted || '/' || unchanged", "5/0/0/0");
}

/* ---- replacement, take-over, unchanged rows ----------------------------------------- */

/* An order still in the query's result whose rows are now all rejected did not leave the
 * result: its previous row stays as it was (the rejection counted), while an order that
 * left the result is deleted. */
static void all_rows_rejected_keeps_the_order(void **state) {
    (void)state;
    assert_int_equal(testmdb_exec(erp.url, "INSERT INTO raw_rows VALUES"
                                           " ('K1', '', 'vitrage', '2025-01-09', 'SOP 1', 0),"
                                           " ('K2', '', 'vitrage', '2025-01-09', 'SOP 2', 0),"
                                           " ('K3', '', 'vitrage', '2025-01-09', 'SOP 3', 0)"),
                     0);
    sync_raw(NULL);
    assert_last_run("inserted", "3");
    char *before = order("K1", "");
    /* K1: two rows, both rejected (zero date, unknown status); K2 left; K3 unchanged */
    assert_int_equal(testmdb_exec(erp.url, "SET SESSION sql_mode = '';"
                                           "DELETE FROM raw_rows WHERE numero_commande <> 'K3';"
                                           "INSERT INTO raw_rows VALUES"
                                           " ('K1', '', 'vitrage', '0000-00-00', 'SOP 1', 0),"
                                           " ('K1', '', 'En attente', '2025-02-01', 'SOP 1', 1)"),
                     0);
    sync_raw(NULL);
    assert_last_run("rejected::text || '/' || deleted || '/' || unchanged || '/' || inserted"
                    " || '/' || updated",
                    "2/1/1/0/0");
    char *after = order("K1", "");
    check_text(after, before && after && strcmp(before, after) == 0,
               "K1 after its rows were rejected");
    free(before);
    char *k2 = order("K2", "");
    check_text(k2, k2 == NULL || k2[0] == '\0', "K2 (left the result)");
}

/* Sequential scans of commandes_volets_roulants so far (pg_stat_user_tables; a rescan of
 * a scan inside a join counts as one more). */
static long orders_seq_scans(void) {
    char *v = testdb_query(pg.url, "SELECT seq_scan FROM pg_stat_user_tables"
                                   " WHERE relname = 'commandes_volets_roulants'");
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* A sync into the orders table emptied and vacuumed (0 pages, 0 rows for the planner):
 * the new orders' NOT EXISTS reads the table being filled, which the planner once joined
 * by a nested loop over a sequential scan of it, rescanned for each new order while it
 * grew — quadratic (minutes at 737,377 orders). The table is now scanned a few times per
 * sync, whatever the number of orders. */
static void sync_into_vacuumed_table(void **state) {
    (void)state;
    enum { N = 5000 };
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO raw_rows SELECT CONCAT('V', seq), '', 'vitrage', '2025-01-09',"
             " 'SOP 1', 0 FROM seq_1_to_%d",
             N);
    assert_int_equal(testmdb_exec(erp.url, sql), 0);
    free(testdb_query(pg.url, "VACUUM ANALYZE commandes_volets_roulants"));
    char *pages = testdb_query(pg.url, "SELECT relpages FROM pg_class"
                                       " WHERE relname = 'commandes_volets_roulants'");
    check_text(pages, pages && strcmp(pages, "0") == 0, "relpages after VACUUM of the empty table");
    long before = orders_seq_scans();
    assert_true(before >= 0);
    sync_raw(NULL);
    char want[32];
    snprintf(want, sizeof want, "%d", N);
    assert_last_run("inserted", want);
    /* the sync's backend reports its counts when it ends, just after the CLI exits (a plan
     * by indexes alone may leave the count at 0: then this waits the 15 s out) */
    long scans = 0;
    for (int i = 0; i < 150 && scans == 0; i++) {
        scans = orders_seq_scans() - before;
        if (scans == 0) usleep(100 * 1000);
    }
    if (scans < 0 || scans > 20)
        fail_msg("the sync scanned commandes_volets_roulants %ld times for %d new orders"
                 " (expected a few, not one per order)",
                 scans, N);
}

static void post_order(const char *json) {
    struct http_response r = {0};
    assert_int_equal(bearer_do(proc, "POST", "/commandes-volets/", admin, json, &r), 0);
    if (r.status != 201) fail_msg("POST /commandes-volets/ answered %ld: %s", r.status, r.body);
    http_response_cleanup(&r);
}

static void seed_simple_erp(void) {
    assert_int_equal(
        testmdb_exec(erp.url,
                     "INSERT INTO A_Kopf (ID, AuNummer, AuAlpha, AufStatus) VALUES"
                     " (11, 'E1', '', 'Planifiee'), (12, 'E2', '', 'vitrage'),"
                     " (13, 'E3', 'A', 'lancer en prod');"
                     "INSERT INTO A_Logbuch (ID_A_Kopf, Datum, Notiz) VALUES"
                     " (11, '2025-07-01 08:00:00', 'cde Planifiee'),"
                     " (12, '2025-07-02 08:00:00', 'cde Planifiee'),"
                     " (13, '2025-07-03 08:00:00', 'cde Planifiee');"
                     "INSERT INTO P_Zubeh (ID_A_Kopf, ZCode) VALUES (11, 'SOP 1'), (12, 'SOP 2'),"
                     " (13, 'SOP 3')"),
        0);
}

static void replacement_and_take_over(void **state) {
    (void)state;
    seed_simple_erp();
    post_order("{\"numero_commande\": \"A1\", \"status\": \"Annulee\","
               " \"date_modification\": \"2025-01-01\"}");
    post_order("{\"numero_commande\": \"E2\", \"status\": \"Terminee\","
               " \"date_modification\": \"2025-01-01\", \"coffre\": \"API\"}");
    sync_ok();
    assert_last_run("inserted || '/' || updated || '/' || deleted || '/' || unchanged", "2/1/0/0");
    assert_order("A1", "", "Annulee|-|2025-01-01|NULL|f|api");
    assert_order("E2", "", "vitrage|vitrage|2025-07-02|SOP 2|f|erp"); /* taken over */
    assert_order("E1", "", "Planifiee|Planifiee|2025-07-01|SOP 1|f|erp");

    /* nothing changed: nothing rewritten (same row versions, same sync time) */
    char *before = orders_digest();
    sync_ok();
    char *after = orders_digest();
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_last_run("inserted || '/' || updated || '/' || deleted || '/' || unchanged", "0/0/0/3");

    /* one order changes, one leaves the ERP: only those rows are touched */
    char *e3 = testdb_query(pg.url, "SELECT xmin::text || date_synchronisation FROM "
                                    "commandes_volets_roulants WHERE numero_commande = 'E3'");
    char *a1 = testdb_query(pg.url, "SELECT xmin::text FROM commandes_volets_roulants "
                                    "WHERE numero_commande = 'A1'");
    assert_int_equal(testmdb_exec(erp.url, "UPDATE A_Kopf SET AufStatus = 'Planifi\xC3\xA9"
                                           "e'"
                                           " WHERE ID = 12; DELETE FROM A_Kopf WHERE ID = 11"),
                     0);
    sync_ok();
    assert_last_run("inserted || '/' || updated || '/' || deleted || '/' || unchanged", "0/1/1/1");
    assert_order("E2", "",
                 "Planifiee|Planifi\xC3\xA9"
                 "e|2025-07-02|SOP 2|f|erp");
    assert_order("E1", "", "");
    assert_order("A1", "", "Annulee|-|2025-01-01|NULL|f|api"); /* API rows stay */
    char *e3_after = testdb_query(pg.url, "SELECT xmin::text || date_synchronisation FROM "
                                          "commandes_volets_roulants WHERE numero_commande = 'E3'");
    char *a1_after = testdb_query(pg.url, "SELECT xmin::text FROM commandes_volets_roulants "
                                          "WHERE numero_commande = 'A1'");
    assert_string_equal(e3, e3_after);
    assert_string_equal(a1, a1_after);
    free(e3);
    free(e3_after);
    free(a1);
    free(a1_after);

    /* the history through the API: newest first, one page at a time */
    struct http_response r = {0};
    assert_int_equal(bearer_do(proc, "GET", "/sync-runs?limit=2", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0), *second = json_array_get(items, 1);
    assert_true(json_integer_value(json_object_get(first, "id")) >
                json_integer_value(json_object_get(second, "id")));
    assert_string_equal(json_string_value(json_object_get(first, "status")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(first, "deleted")), 1);
    assert_true(json_is_null(json_object_get(first, "job_id")));
    assert_true(json_is_string(json_object_get(r.json, "next_cursor")));
    char path[64];
    snprintf(path, sizeof path, "/sync-runs/%lld",
             (long long)json_integer_value(json_object_get(second, "id")));
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", path, admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "unchanged")), 3);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/sync-runs/999999", admin, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/sync-runs/abc", admin, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/sync-runs?sort=id&limit=1", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/sync-runs", NULL, NULL, &r), 0);
    assert_problem(&r, 401, NULL);
    http_response_cleanup(&r);
    /* viewers read the history too */
    char *viewer =
        create_user_login(proc, admin, "sync.viewer", "viewer-password-123", "viewer", NULL);
    assert_non_null(viewer);
    int vrc = bearer_do(proc, "GET", "/sync-runs?limit=1", viewer, NULL, &r);
    long vstatus = r.status;
    http_response_cleanup(&r);
    if (vrc == 0 && vstatus == 200) {
        snprintf(path, sizeof path, "/sync-runs/%lld",
                 (long long)db_long(pg.url, "SELECT max(id) FROM sync_runs"));
        vrc = bearer_do(proc, "GET", path, viewer, NULL, &r);
        vstatus = r.status;
        http_response_cleanup(&r);
    }
    free(viewer);
    assert_int_equal(vrc, 0);
    assert_int_equal(vstatus, 200);
    /* an order shows its source and the ERP's status text */
    assert_int_equal(bearer_do(proc, "GET", "/commandes-volets/E2", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/commandes-volets/?limit=10", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

/* ---- faults ------------------------------------------------------------------------ */

static void fault_cli(const char *const *env, const char *says, const char *never) {
    char *before = orders_digest();
    char *out = NULL;
    assert_int_equal(run_sync(env, &out), 1);
    if (!strstr(out, says)) fail_msg("the output does not say '%s': %s", says, out);
    if (never && strstr(out, never)) fail_msg("the output holds '%s': %s", never, out);
    free(out);
    char *after = orders_digest();
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_last_run("status", "failed");
    char *err = last_run("error");
    if (!err || !strstr(err, says)) fail_msg("sync_runs.error '%s' does not say '%s'", err, says);
    if (never && strstr(err, never)) fail_msg("sync_runs.error holds '%s'", never);
    free(err);
}

static void faults(void **state) {
    (void)state;
    seed_simple_erp();
    sync_ok();
    char url[700];
    /* unreachable */
    snprintf(url, sizeof url, "MYSQL_URL=mysql://u:pw@127.0.0.1:%d/x", free_port());
    const char *unreachable[] = {url, "MYSQL_CONNECT_TIMEOUT_SECONDS=2", NULL};
    fault_cli(unreachable, "Can't connect", NULL);
    /* wrong password */
    snprintf(url, sizeof url, "MYSQL_URL=mysql://%s:Wrong-Secret-42@%s:%u/%s", erp.reader, erp.host,
             erp.port, erp.name);
    const char *wrong[] = {url, NULL};
    fault_cli(wrong, "Access denied", "Wrong-Secret-42");
    /* a broken query file, and a missing one */
    char qpath[1024], qenv[1100];
    snprintf(qpath, sizeof qpath, "%s/broken.sql", tmp);
    assert_int_equal(write_file(qpath, "SELEC oops FROM", 15), 0);
    snprintf(qenv, sizeof qenv, "ERP_ORDERS_QUERY_FILE=%s", qpath);
    const char *broken[] = {qenv, NULL};
    fault_cli(broken, "SQL syntax", NULL);
    snprintf(qenv, sizeof qenv, "ERP_ORDERS_QUERY_FILE=%s/none.sql", tmp);
    fault_cli(broken, "No such file", NULL);
}

/* The server of a fault test, stopped by stop_fault_server whatever the test's end. */
static struct sluice_proc *fault_proc;

static int stop_fault_server(void **state) {
    (void)state;
    if (fault_proc) sluice_stop(fault_proc, SIGKILL);
    fault_proc = NULL;
    testmdb_kill_sessions(erp.name); /* a killed process's ERP query */
    return 0;
}

/* Starts fault_proc: a server whose orders.sync reads for minutes (fifty million
 * generated rows), unless query is given; mysql (NULL: the reader's) is its MYSQL_URL=
 * assignment. */
static void fault_server(const char *query, const char *mysql) {
    char qpath[1024];
    snprintf(qpath, sizeof qpath, "%s/fault.sql", tmp);
    const char *q = query ? query
                          : "SELECT CONCAT('K', seq) AS numero_commande, '' AS extension,"
                            " 'vitrage' AS status, '2025-01-01' AS date_modification,"
                            " 'SOP 1' AS coffre, 0 AS gestion_en_stock FROM seq_1_to_50000000";
    assert_int_equal(write_file(qpath, q, strlen(q)), 0);
    char qenv[1100];
    snprintf(qenv, sizeof qenv, "ERP_ORDERS_QUERY_FILE=%s", qpath);
    const char *env[] = {mysql ? mysql : mysql_env, qenv,
                         "SCHEDULES=", "MYSQL_CONNECT_TIMEOUT_SECONDS=2", NULL};
    fault_proc = sluice_start(pg.url, env);
    assert_non_null(fault_proc);
}

static long start_job(struct sluice_proc *p) {
    char *token = test_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    long id = job_post(p, token, "{\"kind\": \"orders.sync\", \"max_attempts\": 3}");
    free(token);
    assert_true(id > 0);
    return id;
}

/* Waits (up to two minutes: the machine may be loaded) until job id is running, has
 * read rows, and its ERP session is running the query — so killing either now is
 * killing a sync in the middle of its stream. */
static void wait_mid_stream(long id) {
    char sql[512];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM jobs WHERE id = %ld AND status = 'running' AND progress_done > 0",
        id);
    if (!wait_count(pg.url, sql, 1, 120)) fail_msg("job %ld never streamed rows", id);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '%s'"
             " AND DB = '%s' AND COMMAND = 'Query' AND INFO LIKE '%%seq_1_to_50000000%%'",
             erp.reader, erp.name);
    for (int i = 0; i < 1200; i++) {
        char *n = testmdb_query(erp.url, sql);
        bool there = n && strcmp(n, "1") == 0;
        free(n);
        if (there) return;
        pause_ms(100);
    }
    fail_msg("job %ld has no ERP session running its query", id);
}

/* The last run as "status|has a job|error matches like" (a LIKE pattern). */
static void assert_last_run_error(const char *status, const char *like) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT status || '|' || (job_id IS NOT NULL) || '|' || coalesce(error, '(none)')"
             " || '|' || (coalesce(error, '') LIKE '%s') FROM sync_runs ORDER BY id DESC"
             " LIMIT 1",
             like);
    char *run = testdb_query(pg.url, sql);
    char expected[128];
    snprintf(expected, sizeof expected, "%s|true|", status);
    bool ok = run && strncmp(run, expected, strlen(expected)) == 0 && strlen(run) > 5 &&
              strcmp(run + strlen(run) - 5, "|true") == 0;
    if (!ok) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", run ? run : "(null)");
        free(run);
        fail_msg("last sync run '%s', expected status %s with an error like '%s'", copy, status,
                 like);
    }
    free(run);
}

static void assert_orders_are(const char *before) {
    char *after = orders_digest();
    bool same = after && strcmp(before, after) == 0;
    free(after);
    if (!same) fail_msg("the orders changed");
}

/* A first sync of the simple ERP (its orders' digest into before), then a job of an
 * endless sync on fault_proc, waited for until it streams. Returns the job's id. */
static long synced_then_mid_stream(char *before, size_t len) {
    seed_simple_erp();
    sync_ok();
    char *b = orders_digest();
    assert_non_null(b);
    snprintf(before, len, "%s", b);
    free(b);
    fault_server(NULL, NULL);
    long id = start_job(fault_proc);
    wait_mid_stream(id);
    return id;
}

/* The faults of the CLI above, through a queued job: the error in the job and the run,
 * the orders untouched, and the job queued again after a backoff (the first is 15 to
 * 30 s: base 30 s, equal jitter). */
static void unreachable_job_retried(void **state) {
    (void)state;
    seed_simple_erp();
    sync_ok();
    static char before[128];
    char *b = orders_digest();
    assert_non_null(b);
    snprintf(before, sizeof before, "%s", b);
    free(b);
    char url[700];
    snprintf(url, sizeof url, "MYSQL_URL=mysql://u:pw@127.0.0.1:%d/x", free_port());
    fault_server(NULL, url);
    long id = start_job(fault_proc);
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM jobs WHERE id = %ld AND status = 'queued' AND attempt = 1"
             " AND run_at > now() + interval '10 seconds' AND last_error LIKE '%%Can''t connect%%'",
             id);
    assert_true(wait_count(pg.url, sql, 1, 120));
    assert_last_run_error("failed", "%Can''t connect%");
    assert_orders_are(before);
}

static void lost_mid_stream(void **state) {
    (void)state;
    static char before[128];
    long id = synced_then_mid_stream(before, sizeof before);
    /* the ERP connection killed while rows stream: error, retry with backoff */
    assert_true(testmdb_kill_sessions(erp.name) >= 1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM jobs WHERE id = %ld AND status = 'queued' AND attempt = 1"
             " AND run_at > now() AND last_error IS NOT NULL",
             id);
    assert_true(wait_count(pg.url, sql, 1, 120));
    char *err = job_column(pg.url, id, "coalesce(last_error, '')");
    check_text(err, err && (strstr(err, "reading the result") || strstr(err, "Lost connection")),
               "last_error");
    assert_last_run_error("failed", "%reading the result%");
    assert_orders_are(before);
    /* cancelled while it waits for its retry */
    char *token = test_login(fault_proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/cancel", id);
    struct http_response r = {0};
    int rc = bearer_do(fault_proc, "POST", path, token, NULL, &r);
    free(token);
    http_response_cleanup(&r);
    assert_int_equal(rc, 0);
    assert_true(job_wait_status(pg.url, id, "cancelled", 60));
    struct sluice_proc *p = fault_proc;
    fault_proc = NULL;
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
}

static void killed_mid_sync(void **state) {
    (void)state;
    static char before[128];
    long id = synced_then_mid_stream(before, sizeof before);
    /* sluice killed mid-sync: the previous set stays, the run stays marked running */
    struct sluice_proc *p = fault_proc;
    fault_proc = NULL;
    assert_int_equal(sluice_stop(p, SIGKILL), 128 + SIGKILL);
    testmdb_kill_sessions(erp.name); /* the dead process's ERP query */
    assert_orders_are(before);
    assert_last_run("status", "running");

    /* its lease runs out (here at once), a server with the spec's query takes the job
     * again: attempt 2 marks the dead attempt's run interrupted and syncs the same ERP,
     * which changes nothing */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET lease_expires_at = now() - interval '1 minute' WHERE id = %ld", id);
    free(testdb_query(pg.url, sql));
    char qfile[1024];
    snprintf(qfile, sizeof qfile, "%s/queries/erp_orders.sql", getenv("SLUICE_SOURCE_DIR"));
    char *spec_query = read_file_all(qfile, NULL);
    assert_non_null(spec_query);
    fault_server(spec_query, NULL);
    free(spec_query);
    assert_true(job_wait_status(pg.url, id, "succeeded", 120));
    char *attempt = job_column(pg.url, id, "attempt::text");
    bool second = attempt && strcmp(attempt, "2") == 0;
    free(attempt);
    assert_true(second);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(attempt || ':' || status || ':' ||"
             " coalesce(error LIKE 'interrupted%%', false), ',' ORDER BY id) FROM sync_runs"
             " WHERE job_id = %ld",
             id);
    char *runs = testdb_query(pg.url, sql);
    check_text(runs, runs && strcmp(runs, "1:failed:true,2:succeeded:false") == 0,
               "the job's runs");
    assert_last_run("inserted || '/' || updated || '/' || deleted || '/' || unchanged", "0/0/0/3");
    assert_orders_are(before);
}

/* ---- the fenced commit --------------------------------------------------------------- */

static const char *fence_env(const char *name, void *ud) {
    (void)ud;
    return strcmp(name, "MYSQL_URL") == 0 ? erp.reader_url : NULL;
}

/* Runs orders.sync as worker "orders-test/1/w1" would, on a running job row held by
 * owner at attempt 1 (in a queue no worker serves). */
static enum job_outcome run_as_worker(struct db *db, const struct config *cfg, const char *owner) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (kind, status, attempt, lease_owner, lease_expires_at,"
             " started_at, queue) VALUES ('orders.sync', 'running', 1, '%s',"
             " now() + interval '1 hour', now(), 'nobody') RETURNING id",
             owner);
    long id = db_long(pg.url, sql);
    assert_true(id > 0);
    struct job_ctx ctx;
    job_ctx_init(&ctx, &job_kind_orders_sync, db, cfg, id, 1);
    ctx.lease_owner = "orders-test/1/w1";
    enum job_outcome o = job_kind_orders_sync.run(&ctx, NULL);
    job_ctx_cleanup(&ctx);
    return o;
}

static void fenced_commit(void **state) {
    (void)state;
    seed_simple_erp();
    sync_ok();
    char *before = orders_digest();
    /* every order leaves the ERP: a committed sync would delete them all */
    assert_int_equal(testmdb_exec(erp.url, "DELETE FROM A_Kopf"), 0);
    struct config cfg;
    char err[256];
    assert_int_equal(config_load(&cfg, fence_env, NULL, err, sizeof err), 0);
    struct db *db = db_new(pg.url);
    assert_non_null(db);
    /* another worker holds the job now: the replacement is rolled back at the fence */
    enum job_outcome lost = run_as_worker(db, &cfg, "thief/2/w1");
    char *after = orders_digest();
    bool same = before && after && strcmp(before, after) == 0;
    free(before);
    free(after);
    enum job_outcome held = same ? run_as_worker(db, &cfg, "orders-test/1/w1") : JOB_FAILED;
    db_free(db);
    config_cleanup(&cfg);
    assert_int_equal(lost, JOB_CANCELLED);
    assert_true(same);
    /* while it holds the lease, the same run commits */
    assert_int_equal(held, JOB_SUCCEEDED);
    assert_int_equal(db_long(pg.url, "SELECT count(*) FROM commandes_volets_roulants"), 0);
    char *runs = testdb_query(pg.url, "SELECT string_agg(status || ':' || deleted || ':' ||"
                                      " coalesce(error LIKE '%lease was lost%', false), ','"
                                      " ORDER BY id) FROM sync_runs WHERE job_id IS NOT NULL");
    check_text(runs, runs && strcmp(runs, "cancelled:0:true,succeeded:3:false") == 0, "the runs");
}

int main(void) {
    if (!testmdb_admin_url()) {
        fprintf(stderr, "SLUICE_TEST_MYSQL_ADMIN_URL is not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cleaning_rules, reset),
        cmocka_unit_test_setup(one_row_per_order, reset),
        cmocka_unit_test_setup(sync_into_vacuumed_table, reset),
        cmocka_unit_test_setup(all_rows_rejected_keeps_the_order, reset),
        cmocka_unit_test_setup(replacement_and_take_over, reset),
        cmocka_unit_test_setup(faults, reset),
        cmocka_unit_test_setup_teardown(unreachable_job_retried, reset, stop_fault_server),
        cmocka_unit_test_setup_teardown(lost_mid_stream, reset, stop_fault_server),
        cmocka_unit_test_setup_teardown(killed_mid_sync, reset, stop_fault_server),
        cmocka_unit_test_setup(fenced_commit, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
