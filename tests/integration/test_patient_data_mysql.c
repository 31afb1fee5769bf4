/* test_patient_data_mysql: patient_data.insert target=mysql against the real MariaDB
 * that scripts/test starts — DashMed's own schema (tests/fixtures/dashmed_mysql.sql,
 * foreign keys included) in a throwaway database: the reference sets come from it (its
 * users, not sluice's), a CSV loads in bulk with fill, ignored and error rows, and
 * generation runs paced, one statement per cycle. Runs `sluice jobs run` (no server);
 * sluice's own PostgreSQL is a throwaway database too. Skipped (77) without MariaDB. */
#include "auth_util.h"
#include "harness_mdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct test_db pg;
static struct test_mdb my;
static char *dir;
static char env_url[700];
static const char *const env[] = {env_url, NULL};

static int setup(void **state) {
    (void)state;
    if (testdb_create(&pg) != 0 || testmdb_create(&my) != 0) return -1;
    char fixture[600];
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/dashmed_mysql.sql",
             getenv("SLUICE_SOURCE_DIR") ? getenv("SLUICE_SOURCE_DIR") : "../../..");
    if (testmdb_exec_file(my.url, fixture) != 0) return -1;
    snprintf(env_url, sizeof env_url, "DASHMED_MYSQL_URL=%s", my.url);
    static const char *const migrate[] = {"migrate", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(pg.url, migrate, env, &out);
    if (rc != 0) fprintf(stderr, "migrate: %s\n", out ? out : "");
    free(out);
    dir = make_temp_dir("sluice-dashmed");
    return rc == 0 && dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    testmdb_drop(&my);
    testdb_drop(&pg);
    if (dir) remove_tree(dir);
    free(dir);
    return 0;
}

static long mysql_long(const char *sql) {
    char *v = testmdb_query(my.url, sql);
    assert_non_null(v);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static void csv_in_bulk_with_fill(void **state) {
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/dashmed.csv", dir);
    const char *csv =
        "\"id_patient\",\"parameter_id\",\"value\",\"timestamp\",\"alert_flag\",\"created_by\","
        "\"archived\"\n"
        "\"1\",\"Compliance_m\",\"55.5\",\"2025-12-01 08:00:00\",\"1\",\"4\",\"0\"\n"
        "\"2\",\"Compliance_m\",\"60\",\"2025-12-01 08:00:00\",\"0\",\"5\",\"0\"\n"
        "\"1\",\"Compliance_m\",\"56\",\"2025-12-01 08:00:01\",\"0\",\"4\",\"0\"\n"
        "\"7\",\"Compliance_m\",\"56\",\"2025-12-01 08:00:01\",\"0\",\"4\",\"0\"\n" /* patient */
        "\"1\",\"Compliance_m\",\"56\",\"2025-12-01 08:00:01\",\"0\",\"9\",\"0\"\n" /* user */
        "\"1\",\"Compliance_m\",\"x\",\"2025-12-01 08:00:01\",\"0\",\"4\",\"0\"\n"; /* error */
    assert_int_equal(write_file(path, csv, strlen(csv)), 0);
    char arg[800];
    snprintf(arg, sizeof arg, "csv=%s", path);
    const char *args[] = {"jobs",   "run",   "patient_data.insert", "--arg",
                          arg,      "--arg", "target=mysql",        "--arg",
                          "seed=5", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(pg.url, args, env, &out);
    if (rc != 0) fail_msg("%d %s", rc, out ? out : "");
    /* DashMed's users are 1..5 (sluice's own database has none): user 4 and 5 exist there */
    assert_non_null(strstr(out, "5 users: [1, 2, 3, 4, 5]"));
    assert_non_null(strstr(out, "line 7: value: \"x\""));
    assert_non_null(strstr(out, "\"ignored\":{\"parameter\":0,\"patient\":1,\"user\":1}"));
    free(out);
    /* 2 cycles: (2 + 3 filled x 2 patients) + (1 + 3 filled x 1 patient) */
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data"), 12);
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data WHERE parameter_id ="
                                " 'Compliance_m'"),
                     3);
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data WHERE `timestamp` ="
                                " '2025-12-01 08:00:00' AND id_patient = 1"),
                     4);
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data WHERE value = 55.50 AND"
                                " alert_flag = 1 AND created_by = 4"),
                     1);
    /* nothing went to sluice's PostgreSQL */
    assert_int_equal(db_long(pg.url, "SELECT count(*) FROM patient_data"), 0);
}

static void generation_paced(void **state) {
    (void)state;
    assert_int_equal(testmdb_exec(my.url, "DELETE FROM patient_data"), 0);
    const char *args[] = {
        "jobs",         "run",   "patient_data.insert", "--arg", "cycles=3", "--arg",
        "target=mysql", "--arg", "delay_seconds=0.2",   "--arg", "seed=9",   NULL};
    char *out = NULL;
    int rc = run_sluice_cli(pg.url, args, env, &out);
    if (rc != 0) fail_msg("%d %s", rc, out ? out : "");
    assert_non_null(strstr(out, "\"inserted\":36"));
    free(out);
    /* 3 cycles x 3 patients x 4 parameters, values in range, recorded as DashMed user 1 */
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data"), 36);
    assert_int_equal(mysql_long("SELECT count(*) FROM patient_data d JOIN parameter_reference p"
                                " USING (parameter_id) WHERE d.value NOT BETWEEN p.display_min"
                                " AND p.display_max OR d.created_by <> 1"),
                     0);
    /* resume is refused for this target (its record lives in PostgreSQL) */
    const char *bad[] = {"jobs",        "run",   "patient_data.insert", "--arg",
                         "csv=x.csv",   "--arg", "target=mysql",        "--arg",
                         "resume=true", NULL};
    rc = run_sluice_cli(pg.url, bad, env, &out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "args.resume"));
    free(out);
}

int main(void) {
    if (!testmdb_admin_url()) {
        fprintf(stderr, "SLUICE_TEST_MYSQL_ADMIN_URL is not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_in_bulk_with_fill),
        cmocka_unit_test(generation_paced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
