/* integration_orders_sync: the orders.sync job kind end to end, against the real
 * MariaDB and PostgreSQL of scripts/test — every cleaning and mapping rule (through a
 * query file over a table of crafted raw rows), the one-row-per-order rule through the
 * spec's own query and the ERP tables of docker/mariadb/init.sql, ERP-only replacement
 * and the take-over of API orders, unchanged rows left alone (same row version), the
 * history in sync_runs and GET /sync-runs, and the faults — ERP unreachable, wrong
 * password, broken query file, connection killed mid-stream, sluice killed mid-sync —
 * each leaving the orders exactly as they were, with the error in the job and the run
 * and a retry with backoff. One MariaDB database (read-only account for sluice) and one
 * PostgreSQL database for the group; each test starts from empty tables. */
#include "auth_util.h"
#include "harness.h"
#include "harness_mdb.h"
#include "jobs_util.h"

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
    /* no job workers here: the faults below start their own server that runs the job */
    const char *env[] = {mysql_env, "SCHEDULES=", "WORKER_THREADS=0", NULL};
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
    char qpath[1024];
    snprintf(qpath, sizeof qpath, "%s/raw.sql", tmp);
    const char *q = "SELECT numero_commande, extension, status, date_modification, coffre,\n"
                    " gestion_en_stock FROM raw_rows;\n";
    assert_int_equal(write_file(qpath, q, strlen(q)), 0);
    char qenv[1100];
    snprintf(qenv, sizeof qenv, "ERP_ORDERS_QUERY_FILE=%s", qpath);
    const char *env[] = {qenv, NULL};
    char *out = NULL;
    assert_int_equal(run_sync(env, &out), 0);
    free(out);

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

/* A server whose orders.sync reads forever (fifty million generated rows). */
static struct sluice_proc *endless_server(void) {
    char qpath[1024];
    snprintf(qpath, sizeof qpath, "%s/endless.sql", tmp);
    const char *q = "SELECT CONCAT('K', seq) AS numero_commande, '' AS extension,"
                    " 'vitrage' AS status, '2025-01-01' AS date_modification,"
                    " 'SOP 1' AS coffre, 0 AS gestion_en_stock FROM seq_1_to_50000000";
    assert_int_equal(write_file(qpath, q, strlen(q)), 0);
    static char qenv[1100];
    snprintf(qenv, sizeof qenv, "ERP_ORDERS_QUERY_FILE=%s", qpath);
    const char *env[] = {mysql_env, qenv, "SCHEDULES=", NULL};
    struct sluice_proc *p = sluice_start(pg.url, env);
    assert_non_null(p);
    return p;
}

static long start_job(struct sluice_proc *p) {
    char *token = test_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    long id = job_post(p, token, "{\"kind\": \"orders.sync\", \"max_attempts\": 3}");
    free(token);
    assert_true(id > 0);
    return id;
}

static bool wait_rows(const char *url, long id, double timeout_s) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE id = %ld AND progress_done > 0", id);
    return wait_count(url, sql, 1, timeout_s);
}

static void lost_mid_stream_and_killed(void **state) {
    (void)state;
    seed_simple_erp();
    sync_ok();
    char *before = orders_digest();

    /* the ERP connection killed while rows stream: error, retry with backoff */
    struct sluice_proc *p = endless_server();
    long id = start_job(p);
    assert_true(wait_rows(pg.url, id, 60));
    assert_true(testmdb_kill_sessions(erp.name) >= 1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM jobs WHERE id = %ld AND status = 'queued' AND attempt = 1"
             " AND run_at > now() AND last_error IS NOT NULL",
             id);
    assert_true(wait_count(pg.url, sql, 1, 60));
    char *err = job_column(pg.url, id, "last_error");
    if (!strstr(err, "reading the result") && !strstr(err, "Lost connection"))
        fail_msg("last_error: %s", err);
    free(err);
    char *run = testdb_query(pg.url, "SELECT status || '|' || (job_id IS NOT NULL) || '|' ||"
                                     " (error LIKE '%reading the result%') FROM sync_runs"
                                     " ORDER BY id DESC LIMIT 1");
    assert_string_equal(run, "failed|true|true");
    free(run);
    char *after = orders_digest();
    assert_string_equal(before, after);
    free(after);
    /* the job shows the error through the API too */
    char *token = test_login(p, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/cancel", id);
    struct http_response r = {0};
    assert_int_equal(bearer_do(p, "POST", path, token, NULL, &r), 0);
    http_response_cleanup(&r);
    free(token);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);

    /* sluice killed mid-sync: the previous set stays; the next run marks it interrupted */
    p = endless_server();
    id = start_job(p);
    assert_true(wait_rows(pg.url, id, 60));
    sluice_stop(p, SIGKILL);
    after = orders_digest();
    assert_string_equal(before, after);
    free(after);
    free(before);
    assert_last_run("status", "running");
    testmdb_kill_sessions(erp.name); /* the dead process's ERP query */
    (void)sql;
}

int main(void) {
    if (!testmdb_admin_url()) {
        fprintf(stderr, "SLUICE_TEST_MYSQL_ADMIN_URL is not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cleaning_rules, reset),
        cmocka_unit_test_setup(one_row_per_order, reset),
        cmocka_unit_test_setup(replacement_and_take_over, reset),
        cmocka_unit_test_setup(faults, reset),
        cmocka_unit_test_setup(lost_mid_stream_and_killed, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
