/* test_jobs_cli: `sluice jobs` against a real database, without a server
 * (JOB_TEST_KINDS=true): `run` in the foreground (exit status, plain progress lines when
 * not on a terminal, the summary), a failing run, usage errors, Ctrl-C (SIGINT) cancelling
 * a run cleanly (exit 130), and enqueue / list / show / cancel. The group owns the
 * database (migrated by `sluice migrate`). */
#include "jobs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct test_db db;
static const char *const env[] = {"JOB_TEST_KINDS=true", NULL};

static int group_setup(void **state) {
    (void)state;
    if (testdb_create(&db) != 0) return -1;
    static const char *const migrate[] = {"migrate", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, migrate, env, &out);
    if (rc != 0) fprintf(stderr, "migrate: %d %s\n", rc, out ? out : "");
    free(out);
    char *ok = testdb_query(db.url, "CREATE TABLE sluice_test_runs (job_id bigint, attempt int,"
                                    " pid int, at timestamptz DEFAULT clock_timestamp())");
    free(ok);
    return rc == 0 && ok ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    testdb_drop(&db);
    return 0;
}

static int cli(char **out, ...) {
    const char *args[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, out);
    const char *a;
    while (n < 15 && (a = va_arg(ap, const char *)) != NULL) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return run_sluice_cli(db.url, args, env, out);
}

static size_t count_lines_starting(const char *text, const char *prefix) {
    size_t n = 0, len = strlen(prefix);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, prefix, len) == 0) n++;
        const char *end = strchr(line, '\n');
        line = end ? end + 1 : NULL;
    }
    return n;
}

static void run_succeeds_with_progress_lines(void **state) {
    (void)state;
    char *out = NULL;
    /* 20 items of 100 ms: a plain line every 0.5 s, and a last one at the end. */
    int rc =
        cli(&out, "jobs", "run", "test.count", "--arg", "n=20", "--arg", "sleep_ms=100", "--arg",
            "ignore_every=5", "--arg", "error_every=7", "--progress-interval", "0.5", NULL);
    if (rc != 0) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_true(count_lines_starting(out, "progress ") >= 2);
    /* The last progress line shows the end. */
    assert_non_null(
        strstr(out, "progress 20/20 (100.0%) ok=14 ignored=4 errors=2 elapsed=00:00:0"));
    assert_non_null(strstr(out, "result: succeeded\nitems: 20\nok: 14\nignored: 4\nerrors: 2\n"
                                "duration: "));
    assert_non_null(strstr(out, "rate: "));
    assert_non_null(strstr(out, "output: {\"counted\":20}"));
    /* Not a terminal: no bar, no escape sequences. */
    assert_null(strstr(out, "\033["));
    assert_null(strstr(out, "\xe2\x96\x88"));
    free(out);
}

static void run_failure_and_usage(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(cli(&out, "jobs", "run", "test.fail", "--arg", "permanent=true", "--arg",
                         "message=disk full", NULL),
                     1);
    assert_non_null(strstr(out, "result: failed: disk full\n"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "run", "no.such.kind", NULL), 2);
    assert_non_null(strstr(out, "no job kind named \"no.such.kind\""));
    free(out);
    assert_int_equal(cli(&out, "jobs", "run", "test.sleep", NULL), 2);
    assert_non_null(strstr(out, "args.ms is required"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "run", "test.sleep", "--arg", "ms=soon", NULL), 2);
    assert_non_null(strstr(out, "args.ms must be an integer"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "frobnicate", NULL), 2);
    free(out);
    /* Test kinds do not exist unless JOB_TEST_KINDS says so. */
    static const char *const args[] = {"jobs", "run", "test.count", NULL};
    static const char *const off[] = {"JOB_TEST_KINDS=false", NULL};
    assert_int_equal(run_sluice_cli(db.url, args, off, &out), 2);
    free(out);
}

struct background {
    int rc;
    char *out;
};

static void *run_long(void *arg) {
    struct background *b = arg;
    b->rc = cli(&b->out, "jobs", "run", "test.count", "--arg", "n=100000", "--arg", "sleep_ms=10",
                "--arg", "record=true", NULL);
    return NULL;
}

static void ctrl_c_cancels_cleanly(void **state) {
    (void)state;
    struct background b = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_long, &b), 0);
    /* The run records its pid (job id 0 in the foreground) as it starts. */
    assert_true(
        wait_count(db.url, "SELECT count(*) FROM sluice_test_runs WHERE job_id = 0", 1, 60));
    long pid = db_long(db.url, "SELECT pid FROM sluice_test_runs WHERE job_id = 0");
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGINT), 0);
    pthread_join(t, NULL);
    if (b.rc != 130) fprintf(stderr, "%s\n", b.out);
    assert_int_equal(b.rc, 130);
    assert_non_null(strstr(b.out, "cancelling: the job stops at its next check"));
    assert_non_null(strstr(b.out, "result: cancelled\n"));
    free(b.out);
}

static void enqueue_list_show_cancel(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(cli(&out, "jobs", "enqueue", "test.count", "--arg", "n=3", "--priority", "5",
                         "--dedupe-key", "cli-key", NULL),
                     0);
    long id = strtol(out, NULL, 10);
    free(out);
    assert_true(id > 0);
    char *v = job_column(db.url, id, "status || ' ' || origin || ' ' || priority || ' ' || args");
    assert_string_equal(v, "queued cli 5 {\"n\": 3}");
    free(v);
    /* The same dedupe key: the same job. */
    assert_int_equal(cli(&out, "jobs", "enqueue", "test.count", "--dedupe-key", "cli-key", NULL),
                     0);
    assert_non_null(strstr(out, "an unfinished job already holds this dedupe key"));
    char line[32];
    snprintf(line, sizeof line, "\n%ld\n", id);
    assert_non_null(strstr(out, line));
    free(out);
    assert_int_equal(cli(&out, "jobs", "enqueue", "test.count", "--arg", "n=x", NULL), 2);
    free(out);
    assert_int_equal(cli(&out, "jobs", "enqueue", "test.count", "--run-at", "later", NULL), 2);
    free(out);

    char sid[24];
    snprintf(sid, sizeof sid, "%ld", id);
    assert_int_equal(cli(&out, "jobs", "list", "--status", "queued", NULL), 0);
    assert_non_null(strstr(out, "queued"));
    assert_non_null(strstr(out, "test.count"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "show", sid, NULL), 0);
    assert_non_null(strstr(out, "test.count queued"));
    assert_non_null(strstr(out, "args:       {\"n\":3}"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "show", sid, "--json", NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), id);
    json_decref(j);
    free(out);
    assert_int_equal(cli(&out, "jobs", "cancel", sid, NULL), 0);
    assert_non_null(strstr(out, "cancelled"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "cancel", sid, NULL), 1);
    assert_non_null(strstr(out, "already finished (cancelled)"));
    free(out);
    assert_int_equal(cli(&out, "jobs", "show", "999999", NULL), 1);
    free(out);
    assert_int_equal(cli(&out, "jobs", "kinds", NULL), 0);
    assert_non_null(strstr(out, "maintenance.prune"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_succeeds_with_progress_lines),
        cmocka_unit_test(run_failure_and_usage),
        cmocka_unit_test(ctrl_c_cancels_cleanly),
        cmocka_unit_test(enqueue_list_show_cancel),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
