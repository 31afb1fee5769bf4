/* test_patient_data: DashMed patient data (issue 12) against the real binary and a real
 * PostgreSQL — the seed's features one by one: the 3,600-row generation example, the
 * fill example, foreign-key skips by reason, each kind of malformed row with its line
 * number, a wrong header refused with nothing written, partitions created for a CSV
 * spanning several months, paced cycles one delay apart, a bulk load cut by a database
 * failure then resumed with no duplicate (CLI), the reference data API (masking for
 * viewers, the name blind index) and reading measurements back page by page.
 * The group owns one database (demo data seeded) and one server; CSV files go to a
 * temporary IMPORT_DIR, removed at the end. */
#include "jobs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER                                                                                     \
    "\"id_patient\",\"parameter_id\",\"value\",\"timestamp\",\"alert_flag\",\"created_by\","       \
    "\"archived\"\n"

static struct test_db db;
static struct sluice_proc *proc;
static char *dir, *admin, *viewer, *operator_;
static char env_import[600], env_uploads[640];
static const char *env[] = {"SEED_DEMO=true", "PATIENT_DATA_BATCH_ROWS=1000", env_import,
                            env_uploads, NULL};

static int group_setup(void **state) {
    (void)state;
    dir = make_temp_dir("sluice-patients");
    if (!dir) return -1;
    snprintf(env_import, sizeof env_import, "IMPORT_DIR=%s", dir);
    snprintf(env_uploads, sizeof env_uploads, "UPLOAD_DIR=%s/uploads", dir);
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    if (!admin) return -1;
    viewer = create_user_login(proc, admin, "ward-viewer", "viewer-password-123", "viewer", NULL);
    operator_ =
        create_user_login(proc, admin, "ward-nurse", "operator-password-123", "operator", NULL);
    return viewer && operator_ ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    int rc = test_server_stop(&db, &proc);
    free(admin);
    free(viewer);
    free(operator_);
    if (dir) remove_tree(dir);
    free(dir);
    return rc;
}

static long q(const char *sql) { return db_long(db.url, sql); }

static void exec_sql(const char *sql) {
    char *r = testdb_query(db.url, sql);
    assert_non_null(r);
    free(r);
}

static void write_csv(const char *name, const char *text) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(write_file(path, text, strlen(text)), 0);
}

/* Enqueues patient_data.insert with args (JSON object text), waits for the status, and
 * returns the job id. */
static long run_job(const char *args, const char *status) {
    char body[2048];
    snprintf(body, sizeof body, "{\"kind\":\"patient_data.insert\",\"args\":%s}", args);
    long id = job_post(proc, operator_, body);
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, status, 60));
    return id;
}

static json_t *job_result(long id) {
    char *text = job_column(db.url, id, "result::text");
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static long jint(json_t *o, const char *path) {
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    json_t *v = o;
    for (char *tok = strtok(copy, "."); tok && v; tok = strtok(NULL, "."))
        v = json_object_get(v, tok);
    if (!json_is_integer(v)) fail_msg("%s is not an integer", path);
    return (long)json_integer_value(v);
}

/* ---- the job --------------------------------------------------------------------------- */

static void generation_makes_3600_rows(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    long id = run_job("{\"seed\":7,\"cycles\":100}", "succeeded");
    json_t *r = job_result(id);
    assert_int_equal(jint(r, "cycles"), 100);
    assert_int_equal(jint(r, "inserted"), 3600);
    assert_int_equal(jint(r, "errors"), 0);
    assert_int_equal(jint(r, "ignored.patient"), 0);
    assert_true(json_is_number(json_object_get(r, "duration_seconds")));
    assert_true(json_is_number(json_object_get(r, "rows_per_second")));
    json_decref(r);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 3600);
    assert_int_equal(q("SELECT count(DISTINCT \"timestamp\") FROM patient_data"), 100);
    /* 3 patients x 12 parameters per cycle, each value in its parameter's range */
    assert_int_equal(q("SELECT count(*) FROM (SELECT \"timestamp\" FROM patient_data GROUP BY 1"
                       " HAVING count(*) = 36 AND count(DISTINCT id_patient) = 3"
                       " AND count(DISTINCT parameter_id) = 12) c"),
                     100);
    assert_int_equal(q("SELECT count(*) FROM patient_data d JOIN parameter_reference p USING"
                       " (parameter_id) WHERE d.value NOT BETWEEN p.display_min AND p.display_max"),
                     0);
    /* progress: cycles done/total and the counters */
    char *p = job_column(db.url, id,
                         "concat_ws(' ', progress_done, progress_total, progress_unit, count_ok)");
    assert_non_null(p);
    assert_string_equal(p, "100 100 cycles 3600");
    free(p);
}

static void fill_example_and_monthly_partitions(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    /* The seed's example: the CSV holds only Compliance_m; 3 cycles over 3 months. */
    write_csv("fill.csv", HEADER
              "\"1\",\"Compliance_m\",\"45.5\",\"2025-11-15 10:00:00\",\"0\",\"1\",\"0\"\n"
              "\"1\",\"Compliance_m\",\"46\",\"2025-12-15 10:00:00\",\"0\",\"1\",\"0\"\n"
              "\"1\",\"Compliance_m\",\"47.25\",\"2026-01-15 10:00:00\",\"1\",\"1\",\"0\"\n");
    long id = run_job("{\"csv\":\"fill.csv\",\"seed\":3}", "succeeded");
    json_t *r = job_result(id);
    assert_int_equal(jint(r, "cycles"), 3);
    assert_int_equal(jint(r, "inserted"), 36);
    assert_int_equal(jint(r, "filled"), 33);
    json_decref(r);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE parameter_id = 'Compliance_m'"), 3);
    assert_int_equal(q("SELECT count(DISTINCT parameter_id) FROM patient_data"), 12);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE value = 47.25 AND alert_flag"), 1);
    /* CSV timestamps are read in SCHEDULE_TZ (Europe/Paris): 10:00 is 09:00 UTC. */
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE \"timestamp\" ="
                       " '2025-11-15 09:00:00+00'"),
                     12);
    assert_int_equal(q("SELECT count(*) FROM pg_class WHERE relname IN ('patient_data_2025_11',"
                       " 'patient_data_2025_12', 'patient_data_2026_01') AND relispartition"),
                     3);
    assert_int_equal(q("SELECT count(*) FROM patient_data_2025_12"), 12);
}

static void foreign_keys_and_bad_rows(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    write_csv("mixed.csv", HEADER
              "\"1\",\"FC\",\"75.5\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"  /* 2 ok */
              "\"99\",\"FC\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"   /* 3 patient */
              "\"2\",\"Nope\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"  /* 4 parameter */
              "\"2\",\"FC\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"4242\",\"0\"\n" /* 5 user */
              "\"3\",\"FC\",\"7O\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"    /* 6 number */
              "\"3\",\"FC\",\"70\",\"2025-12-01 25:00:00\",\"0\",\"1\",\"0\"\n"    /* 7 timestamp */
              "\"3\",\"\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"      /* 8 empty */
              "\"3\",\"FC\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"1\"\n"          /* 9 fields */
              "\"3\",\"SpO2\",\"97\",\"2025-12-01 00:00:01\",\"0\",\"1\",\"0\"\n"); /* 10 ok */
    long id = run_job("{\"csv\":\"mixed.csv\",\"fill_values\":false}", "succeeded");
    json_t *r = job_result(id);
    assert_int_equal(jint(r, "inserted"), 2);
    assert_int_equal(jint(r, "ignored.patient"), 1);
    assert_int_equal(jint(r, "ignored.parameter"), 1);
    assert_int_equal(jint(r, "ignored.user"), 1);
    assert_int_equal(jint(r, "errors"), 4);
    json_t *rows = json_object_get(r, "error_rows");
    assert_int_equal(json_array_size(rows), 4);
    static const struct {
        long line;
        const char *reason;
    } want[] = {{6, "value: \"7O\""},
                {7, "timestamp: \"2025-12-01 25:00:00\""},
                {8, "parameter_id is empty"},
                {9, "7 fields expected, found 6"}};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(rows, i);
        assert_int_equal(jint(e, "line"), want[i].line);
        assert_non_null(strstr(json_string_value(json_object_get(e, "reason")), want[i].reason));
    }
    json_decref(r);
    /* each error row is a job event naming its line */
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/events?limit=100", id);
    struct http_response resp;
    assert_int_equal(bearer_do(proc, "GET", path, viewer, NULL, &resp), 0);
    assert_int_equal(resp.status, 200);
    for (size_t i = 0; i < 4; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "line %ld: ", want[i].line);
        if (!strstr(resp.body, needle)) fail_msg("no event for %s in %.500s", needle, resp.body);
    }
    http_response_cleanup(&resp);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 2);
}

/* A CSV sent to POST /uploads is read by its upload id (the job's csv argument). */
static void csv_from_an_upload(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    static const char csv[] =
        HEADER "\"1\",\"FC\",\"71\",\"2025-11-03 08:00:00\",\"0\",\"1\",\"0\"\r\n"
               "\"2\",\"FC\",\"72\",\"2025-11-03 08:00:00\",\"0\",\"1\",\"0\"\r\n"
               "\"3\",\"SpO2\",\"98\",\"2025-11-03 08:00:05\",\"0\",\"1\",\"0\"\r\n";
    char auth[1200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", operator_);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    struct http_response r;
    assert_int_equal(
        http_do(proc, "POST", "/uploads?filename=measures.csv", headers, csv, sizeof csv - 1, &r),
        0);
    assert_int_equal(r.status, 201);
    json_t *idv = r.json ? json_object_get(r.json, "id") : NULL;
    assert_true(json_is_integer(idv));
    char args[128];
    snprintf(args, sizeof args, "{\"csv\":\"%lld\",\"fill_values\":false}",
             (long long)json_integer_value(idv));
    http_response_cleanup(&r);
    long id = run_job(args, "succeeded");
    json_t *res = job_result(id);
    assert_int_equal(jint(res, "inserted"), 3);
    assert_int_equal(jint(res, "errors"), 0);
    json_decref(res);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 3);
    /* an id that is no upload fails the job, naming it */
    id = run_job("{\"csv\":\"987654321\"}", "failed");
    char *err = job_column(db.url, id, "last_error");
    assert_non_null(strstr(err ? err : "", "no upload with id 987654321"));
    free(err);
}

static void wrong_header_writes_nothing(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data; DELETE FROM patient_data_loads");
    write_csv("header.csv", "\"id_patient\",\"parameter\",\"value\",\"timestamp\",\"alert_flag\","
                            "\"created_by\",\"archived\"\n"
                            "\"1\",\"FC\",\"75\",\"2031-07-01 00:00:00\",\"0\",\"1\",\"0\"\n");
    long id = run_job("{\"csv\":\"header.csv\"}", "failed");
    char *err = job_column(db.url, id, "last_error");
    assert_non_null(err);
    if (!strstr(err, "the header must be \"id_patient\",\"parameter_id\",\"value\","
                     "\"timestamp\",\"alert_flag\",\"created_by\",\"archived\"") ||
        !strstr(err, "\"parameter\""))
        fail_msg("last_error: %s", err);
    free(err);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 0);
    assert_int_equal(q("SELECT count(*) FROM patient_data_loads"), 0);
    assert_int_equal(q("SELECT count(*) FROM pg_class WHERE relname = 'patient_data_2031_07'"), 0);
    /* a missing file, an unknown time zone: clear errors, nothing written */
    id = run_job("{\"csv\":\"missing.csv\"}", "failed");
    err = job_column(db.url, id, "last_error");
    if (!strstr(err ? err : "", "missing.csv") || !strstr(err, "No such file"))
        fail_msg("last_error: %s", err ? err : "(null)");
    free(err);
    write_csv("ok.csv", HEADER "\"1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n");
    id = run_job("{\"csv\":\"ok.csv\",\"time_zone\":\"Mars/Olympus\"}", "failed");
    err = job_column(db.url, id, "last_error");
    assert_non_null(strstr(err ? err : "", "time_zone: unknown time zone \"Mars/Olympus\""));
    free(err);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 0);
    /* a file outside IMPORT_DIR is refused for a queued job */
    id = run_job("{\"csv\":\"/etc/passwd\"}", "failed");
    err = job_column(db.url, id, "last_error");
    assert_non_null(strstr(err ? err : "", "not under IMPORT_DIR"));
    free(err);
}

static void paced_cycles_one_delay_apart(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    write_csv("paced.csv",
              HEADER "\"1\",\"FC\",\"70\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"
                     "\"2\",\"FC\",\"71\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"
                     "\"1\",\"FC\",\"72\",\"2025-12-01 00:00:01\",\"0\",\"1\",\"0\"\n"
                     "\"2\",\"FC\",\"73\",\"2025-12-01 00:00:01\",\"0\",\"1\",\"0\"\n"
                     "\"1\",\"FC\",\"74\",\"2025-12-01 00:00:02\",\"0\",\"1\",\"0\"\n"
                     "\"1\",\"FC\",\"75\",\"2025-12-01 00:00:03\",\"0\",\"1\",\"0\"\n");
    long id =
        run_job("{\"csv\":\"paced.csv\",\"delay_seconds\":0.5,\"fill_values\":false}", "succeeded");
    json_t *r = job_result(id);
    assert_int_equal(jint(r, "cycles"), 4);
    assert_int_equal(jint(r, "inserted"), 6);
    json_decref(r);
    /* timestamps=now (the default when paced): the rows of a cycle share one instant, and
     * consecutive cycles are one delay apart (0.5 s, tolerance 0.1 s below, 1.5 s above). */
    assert_int_equal(q("SELECT count(DISTINCT \"timestamp\") FROM patient_data"), 4);
    assert_int_equal(q("SELECT count(*) FROM (SELECT \"timestamp\" - lag(\"timestamp\") OVER"
                       " (ORDER BY \"timestamp\") AS gap FROM (SELECT DISTINCT \"timestamp\""
                       " FROM patient_data) t) g WHERE gap BETWEEN interval '0.4 s' AND"
                       " interval '2 s'"),
                     3);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE \"timestamp\" > now() - "
                       "interval '5 minutes'"),
                     6);
}

/* A file cut short while a paced load reads it: the job fails saying so, with exactly the
 * committed cycles in (never the rows read past the cut, never a silent early end). While
 * it runs, GET /jobs/{id} shows cycles done/total, the counters, rate and ETA. The reader
 * takes the file 1 MiB at a time, so the cycles sit in a padding of blank lines: cycle 1
 * in the first MiB, cycles 2 and 3 in the second, cycle 4 in the fourth. Cycle 2 waits
 * its turn (3 s) with the second MiB read; the file is cut to 1.5 MB meanwhile. */
static void a_file_cut_mid_load_fails_with_the_exact_count(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data; DELETE FROM patient_data_loads");
    size_t cap = 3300000, n = 0;
    char *csv = malloc(cap + 512);
    assert_non_null(csv);
    n += (size_t)snprintf(csv + n, 512,
                          HEADER "1,FC,70,2025-12-01 00:00:00,0,1,0\n"
                                 "2,FC,71,2025-12-01 00:00:00,0,1,0\n");
    memset(csv + n, '\n', 1100000 - n);
    n = 1100000;
    n += (size_t)snprintf(csv + n, 512,
                          "1,FC,72,2025-12-01 00:00:01,0,1,0\n"
                          "2,FC,73,2025-12-01 00:00:01,0,1,0\n"
                          "1,FC,74,2025-12-01 00:00:02,0,1,0\n");
    memset(csv + n, '\n', cap - n);
    n = cap;
    n += (size_t)snprintf(csv + n, 512, "1,FC,75,2025-12-01 00:00:03,0,1,0\n");
    char path[800];
    snprintf(path, sizeof path, "%s/cut.csv", dir);
    assert_int_equal(write_file(path, csv, n), 0);
    free(csv);
    char body[256];
    snprintf(body, sizeof body,
             "{\"kind\":\"patient_data.insert\",\"args\":{\"csv\":\"cut.csv\",\"delay_seconds\":3,"
             "\"fill_values\":false}}");
    long id = job_post(proc, operator_, body);
    assert_true(id > 0);
    char jpath[64];
    snprintf(jpath, sizeof jpath, "/jobs/%ld", id);
    /* wait for the first cycle to be in (progress moves only after a commit) */
    struct http_response r = {0};
    bool seen = false;
    for (int i = 0; i < 600 && !seen; i++) {
        assert_int_equal(bearer_do(proc, "GET", jpath, viewer, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *progress = json_object_get(r.json, "progress");
        const char *status = json_string_value(json_object_get(r.json, "status"));
        if (json_integer_value(json_object_get(progress, "done")) >= 1) {
            seen = true;
            break;
        }
        if (status && strcmp(status, "queued") != 0 && strcmp(status, "running") != 0)
            fail_msg("job ended before its first cycle was seen: %s", r.body);
        http_response_cleanup(&r);
        usleep(50 * 1000);
    }
    assert_true(seen);
    assert_int_equal(truncate(path, 1500000), 0);
    /* the job waits 3 s before cycle 2: it is running, one cycle of four done */
    json_t *progress = json_object_get(r.json, "progress");
    if (strcmp(json_string_value(json_object_get(r.json, "status")), "running") != 0 ||
        json_integer_value(json_object_get(progress, "done")) != 1 ||
        json_integer_value(json_object_get(progress, "total")) != 4 ||
        strcmp(json_string_value(json_object_get(progress, "unit")), "cycles") != 0 ||
        json_integer_value(json_object_get(json_object_get(r.json, "counters"), "ok")) != 2 ||
        !json_is_number(json_object_get(r.json, "rate")) ||
        !json_is_number(json_object_get(r.json, "eta_seconds")))
        fail_msg("GET %s: %s", jpath, r.body);
    http_response_cleanup(&r);
    assert_true(job_wait_status(db.url, id, "failed", 60));
    char *err = job_column(db.url, id, "last_error");
    if (!strstr(err ? err : "", "cut.csv shrank while it was being loaded") ||
        !strstr(err, "4 rows are in"))
        fail_msg("last_error: %s", err ? err : "(null)");
    free(err);
    /* cycles 1 and 2 are in, the row of cycle 3 read before the cut is not */
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 4);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE value = 74"), 0);
    json_t *res = job_result(id);
    assert_int_equal(jint(res, "cycles"), 2);
    assert_int_equal(jint(res, "inserted"), 4);
    json_decref(res);
}

/* A file whose last line had no end of line when the load began, and grew while the load
 * read it: the load reads exactly what the first pass saw, and finishing that line would
 * load a cut value (75 of what is now 755): the job fails saying so, with the cycles
 * committed before in and nothing of that line. The reader takes the file 1 MiB at a
 * time: cycle 1 in the first MiB, cycles 2 and 3 in the second (cycle 2 waits its turn,
 * 3 s, with that MiB read: the line grows meanwhile), the unterminated line in the third. */
static void a_last_line_growing_mid_load_fails(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data; DELETE FROM patient_data_loads");
    size_t cap = 2300000, n = 0;
    char *csv = malloc(cap + 512);
    assert_non_null(csv);
    n += (size_t)snprintf(csv + n, 512, HEADER "1,FC,70,2025-12-01 00:00:00,0,1,0\n");
    memset(csv + n, '\n', 1100000 - n);
    n = 1100000;
    n += (size_t)snprintf(csv + n, 512,
                          "1,FC,71,2025-12-01 00:00:01,0,1,0\n"
                          "1,FC,72,2025-12-01 00:00:02,0,1,0\n");
    memset(csv + n, '\n', 2200000 - n);
    n = 2200000;
    n += (size_t)snprintf(csv + n, 512, "1,FC,75");
    char path[800];
    snprintf(path, sizeof path, "%s/grown.csv", dir);
    assert_int_equal(write_file(path, csv, n), 0);
    free(csv);
    long id = job_post(proc, operator_,
                       "{\"kind\":\"patient_data.insert\",\"args\":{\"csv\":\"grown.csv\","
                       "\"delay_seconds\":3,\"fill_values\":false}}");
    assert_true(id > 0);
    bool seen = false;
    for (int i = 0; i < 600 && !seen; i++) {
        char *done = job_column(db.url, id, "progress_done");
        seen = done && atol(done) >= 1;
        free(done);
        if (!seen) usleep(50 * 1000);
    }
    assert_true(seen);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("5,2025-12-01 00:00:03,0,1,0\n", f);
    assert_int_equal(fclose(f), 0);
    assert_true(job_wait_status(db.url, id, "failed", 60));
    char *err = job_column(db.url, id, "last_error");
    if (!strstr(err ? err : "", "grown.csv grew while it was being loaded"))
        fail_msg("last_error: %s", err ? err : "(null)");
    free(err);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE value IN (70, 71)"), 2);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE value IN (72, 75, 755)"), 0);
}

/* ---- resume (CLI) ---------------------------------------------------------------------- */

static void bulk_resume_after_a_failure_without_duplicates(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data; DELETE FROM patient_data_loads");
    /* 2,500 cycles of 2 rows; batches of >= 1,000 rows; row 3,701 poisons its batch. */
    size_t cap = 5000 * 80 + 200, n = 0;
    char *csv = malloc(cap);
    n += (size_t)snprintf(csv + n, cap - n, HEADER);
    for (int i = 0; i < 5000; i++) {
        int sec = i / 2;
        n += (size_t)snprintf(csv + n, cap - n, "%d,FC,%s,2025-12-%02d %02d:%02d:%02d,0,1,0\n",
                              1 + i % 2, i == 3700 ? "777.77" : "80", 1 + sec / 86400,
                              sec / 3600 % 24, sec / 60 % 60, sec % 60);
    }
    write_csv("big.csv", csv);
    free(csv);
    exec_sql("CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
             " IF NEW.value = 777.77 THEN RAISE EXCEPTION 'poisoned row'; END IF;"
             " RETURN NEW; END $$;"
             " CREATE TRIGGER poison BEFORE INSERT ON patient_data FOR EACH ROW"
             " EXECUTE FUNCTION poison()");
    char path[800];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    char arg[900];
    snprintf(arg, sizeof arg, "csv=%s", path);
    static const char *const batch_env[] = {"PATIENT_DATA_BATCH_ROWS=1000", NULL};
    const char *args[] = {"jobs", "run",   "patient_data.insert", "--arg",
                          arg,    "--arg", "fill_values=false",   NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, args, batch_env, &out);
    if (rc != 1) fail_msg("first run: %d %s", rc, out ? out : "");
    assert_non_null(strstr(out, "poisoned row"));
    assert_non_null(strstr(out, "3000 rows are in"));
    free(out);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 3000);
    assert_int_equal(q("SELECT next_line FROM patient_data_loads"), 3002);
    exec_sql("DROP TRIGGER poison ON patient_data");
    const char *again[] = {"jobs",        "run",   "patient_data.insert", "--arg",
                           arg,           "--arg", "fill_values=false",   "--arg",
                           "resume=true", NULL};
    rc = run_sluice_cli(db.url, again, batch_env, &out);
    if (rc != 0) fail_msg("resumed run: %d %s", rc, out ? out : "");
    assert_non_null(strstr(out, "resuming at line 3002"));
    /* the seed's summary: cycles, inserted, ignored by reason, errors, duration, rate */
    if (!strstr(out, "cycles: 1000, inserted: 2000 (0 filled), ignored: 0 (patient 0, parameter "
                     "0, user 0), errors: 0, duration: ") ||
        !strstr(out, " insert/s\n") || !strstr(out, "progress 2500/2500 (100.0%) ok=2000 "))
        fail_msg("resumed run: %s", out);
    assert_non_null(strstr(out, "result: succeeded"));
    assert_non_null(strstr(out, "ok: 2000\n"));
    assert_non_null(strstr(out, "\"started_at_line\":3002"));
    free(out);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 5000);
    assert_int_equal(q("SELECT count(*) FROM (SELECT DISTINCT id_patient, \"timestamp\""
                       " FROM patient_data) d"),
                     5000);
    assert_int_equal(q("SELECT count(*) FROM patient_data WHERE value = 777.77"), 1);
    /* once finished, resuming again adds nothing */
    rc = run_sluice_cli(db.url, again, batch_env, &out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "loaded completely already"));
    free(out);
    assert_int_equal(q("SELECT count(*) FROM patient_data"), 5000);
}

/* ---- reference data and reading back ------------------------------------------------------- */

static void parameters_api(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/parameters?limit=20", viewer, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 12);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/parameters/SpO2", viewer, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(json_number_value(json_object_get(r.json, "display_min")) == 80);
    assert_string_equal(json_string_value(json_object_get(r.json, "unit")), "%");
    http_response_cleanup(&r);
    const char *body = "{\"parameter_id\":\"GCS\",\"label\":\"Glasgow\",\"unit\":\"\","
                       "\"display_min\":3,\"display_max\":15}";
    assert_int_equal(bearer_do(proc, "POST", "/parameters", operator_, body, &r), 0);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "POST", "/parameters", admin, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(http_header(&r, "Location"), "/parameters/GCS");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "POST", "/parameters", admin, body, &r), 0);
    assert_problem(&r, 409, "conflict");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "PATCH", "/parameters/GCS", admin, "{\"display_min\":20}", &r),
                     0);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "PATCH", "/parameters/GCS", admin,
                               "{\"label\":\"Score de Glasgow\",\"display_max\":15.5}", &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "label")), "Score de Glasgow");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/parameters/Nope", viewer, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
}

static void patients_api(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/patients", admin, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "id_patient")), 1);
    assert_string_equal(json_string_value(json_object_get(first, "full_name")), "Jeanne Dupont");
    assert_string_equal(json_string_value(json_object_get(first, "birth_date")), "1948-03-14");
    http_response_cleanup(&r);
    /* viewers see initials only */
    assert_int_equal(bearer_do(proc, "GET", "/patients/1", viewer, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "full_name")), "J. D.");
    assert_true(json_is_null(json_object_get(r.json, "birth_date")));
    assert_true(json_is_true(json_object_get(r.json, "masked")));
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/patients?name=Jeanne%20Dupont", viewer, NULL, &r), 0);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
    /* the blind index finds a name whatever its ASCII case and spacing */
    assert_int_equal(
        bearer_do(proc, "GET", "/patients?name=%20jeanne%20%20DUPONT", operator_, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    http_response_cleanup(&r);
    const char *body = "{\"id_patient\":40,\"full_name\":\"Paul Lefèvre\",\"birth_date\":"
                       "\"1960-02-29\",\"sex\":\"M\"}";
    assert_int_equal(bearer_do(proc, "POST", "/patients", viewer, body, &r), 0);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "POST", "/patients", operator_, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(http_header(&r, "Location"), "/patients/40");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "POST", "/patients", operator_, body, &r), 0);
    assert_problem(&r, 409, "conflict");
    http_response_cleanup(&r);
    assert_int_equal(
        bearer_do(proc, "POST", "/patients", operator_, "{\"full_name\":\"X\",\"sex\":\"Q\"}", &r),
        0);
    assert_problem(&r, 422, "validation");
    http_response_cleanup(&r);
    /* no id: the next one */
    assert_int_equal(
        bearer_do(proc, "POST", "/patients", operator_, "{\"full_name\":\"Nina Roux\"}", &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "id_patient")), 41);
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "PATCH", "/patients/40", operator_,
                               "{\"birth_date\":null,\"sex\":\"X\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "birth_date")));
    assert_string_equal(json_string_value(json_object_get(r.json, "sex")), "X");
    assert_string_equal(json_string_value(json_object_get(r.json, "full_name")), "Paul Lefèvre");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/patients/999", viewer, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    /* nothing personal in clear at rest */
    assert_int_equal(q("SELECT count(*) FROM patients WHERE position('Lef'::bytea IN"
                       " full_name_ct) > 0 OR position('1960'::bytea IN birth_date_ct) > 0"),
                     0);
}

static void measurements_read_back_in_time_order(void **state) {
    (void)state;
    exec_sql("TRUNCATE patient_data");
    write_csv("read.csv", HEADER "\"1\",\"FC\",\"70\",\"2025-12-01 00:00:02\",\"0\",\"1\",\"0\"\n"
                                 "\"1\",\"FC\",\"71\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"
                                 "\"1\",\"SpO2\",\"95\",\"2025-12-01 00:00:01\",\"0\",\"1\",\"0\"\n"
                                 "\"1\",\"FC\",\"72\",\"2025-12-01 00:00:01\",\"1\",\"1\",\"0\"\n"
                                 "\"1\",\"FC\",\"73\",\"2025-12-03 00:00:00\",\"0\",\"1\",\"0\"\n");
    run_job("{\"csv\":\"read.csv\",\"fill_values\":false,\"time_zone\":\"UTC\"}", "succeeded");
    const char *path = "/patients/1/data?parameter=FC&from=2025-12-01&to=2025-12-02&limit=2";
    double seen[4];
    size_t n = 0;
    char next[1024];
    snprintf(next, sizeof next, "%s", path);
    for (int page = 0; page < 3 && next[0]; page++) {
        struct http_response r;
        assert_int_equal(bearer_do(proc, "GET", next, viewer, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(r.json, "items"), i, item) {
            assert_true(n < 4);
            seen[n++] = json_number_value(json_object_get(item, "value"));
        }
        const char *cursor = json_string_value(json_object_get(r.json, "next_cursor"));
        if (cursor)
            snprintf(next, sizeof next, "%s&cursor=%s", path, cursor);
        else
            next[0] = '\0';
        http_response_cleanup(&r);
    }
    assert_int_equal(n, 3); /* 73 is on 2025-12-03, outside the range; SpO2 not asked */
    assert_true(seen[0] == 71 && seen[1] == 72 && seen[2] == 70);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/patients/777/data", viewer, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/patients/1/data?parameter=a%20b", viewer, NULL, &r),
                     0);
    assert_problem(&r, 400, "bad-request");
    http_response_cleanup(&r);
}

/* `sluice generate patients --count N`: N more patients after the highest id, their
 * personal data sealed at rest, readable through the API. */
static void generate_patients_cli(void **state) {
    (void)state;
    long before = q("SELECT count(*) FROM patients"),
         top = q("SELECT max(id_patient) FROM patients");
    const char *args[] = {"generate", "patients", "--count", "5", "--seed", "11", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, args, NULL, &out);
    if (rc != 0 || !strstr(out ? out : "", "5 patients created")) fail_msg("%d %s", rc, out);
    free(out);
    assert_int_equal(q("SELECT count(*) FROM patients"), before + 5);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patients WHERE id_patient BETWEEN %ld AND %ld",
             top + 1, top + 5);
    assert_int_equal(q(sql), 5);
    char path[64];
    snprintf(path, sizeof path, "/patients/%ld", top + 5);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", path, operator_, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    const char *name = json_string_value(json_object_get(r.json, "full_name"));
    const char *sex = json_string_value(json_object_get(r.json, "sex"));
    const char *birth = json_string_value(json_object_get(r.json, "birth_date"));
    if (!name || !strchr(name, ' ') || !sex || (strcmp(sex, "F") != 0 && strcmp(sex, "M") != 0) ||
        !birth || strlen(birth) != 10)
        fail_msg("GET %s: %s", path, r.body);
    char probe[200];
    snprintf(probe, sizeof probe,
             "SELECT count(*) FROM patients WHERE position(convert_to('%.80s', 'UTF8') IN"
             " full_name_ct) > 0",
             strchr(name, ' ') + 1);
    assert_int_equal(q(probe), 0);
    http_response_cleanup(&r);
    /* a count out of range is a usage error, nothing created */
    const char *bad[] = {"generate", "patients", "--count", "0", NULL};
    rc = run_sluice_cli(db.url, bad, NULL, &out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out ? out : "", "--count"));
    free(out);
    assert_int_equal(q("SELECT count(*) FROM patients"), before + 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generation_makes_3600_rows),
        cmocka_unit_test(fill_example_and_monthly_partitions),
        cmocka_unit_test(foreign_keys_and_bad_rows),
        cmocka_unit_test(wrong_header_writes_nothing),
        cmocka_unit_test(paced_cycles_one_delay_apart),
        cmocka_unit_test(a_file_cut_mid_load_fails_with_the_exact_count),
        cmocka_unit_test(a_last_line_growing_mid_load_fails),
        cmocka_unit_test(bulk_resume_after_a_failure_without_duplicates),
        cmocka_unit_test(measurements_read_back_in_time_order),
        cmocka_unit_test(csv_from_an_upload),
        cmocka_unit_test(parameters_api),
        cmocka_unit_test(patients_api),
        cmocka_unit_test(generate_patients_cli),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
