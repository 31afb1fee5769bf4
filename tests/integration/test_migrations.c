/* test_migrations: `sluice migrate [--status]` against throwaway databases: pending then
 * applied, a changed applied file refused (by migrate, --status and serve), concurrent
 * migrators applying each file once, and /readyz reporting pending migrations. Each test
 * owns its database and temp folders and releases them before returning. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *source_dir(void) {
    const char *s = getenv("SLUICE_SOURCE_DIR");
    return s && *s ? s : SLUICE_SOURCE_DIR;
}

/* Names of the NNNN_*.sql files of dir, sorted; returns how many (at most max). */
static size_t list_migrations(const char *dir, char names[][256], size_t max) {
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && e->d_name[0] >= '0' &&
            e->d_name[0] <= '9')
            snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    qsort(names, n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* A copy of the project's migrations in a fresh temp folder (malloc'd path). */
static char *copy_migrations(void) {
    char *dir = make_temp_dir("sluice-migrations");
    assert_non_null(dir);
    char src[2048];
    snprintf(src, sizeof src, "%s/migrations", source_dir());
    char names[128][256];
    size_t n = list_migrations(src, names, 128);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%s/%s", src, names[i]);
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        size_t len;
        char *data = read_file_all(from, &len);
        assert_non_null(data);
        assert_int_equal(write_file(to, data, len), 0);
        free(data);
    }
    return dir;
}

static bool has_line(const char *out, const char *state, const char *name) {
    char want[512];
    snprintf(want, sizeof want, "%-8s %s", state, name);
    for (const char *p = out; p && (p = strstr(p, want)); p++)
        if ((p == out || p[-1] == '\n') && (p[strlen(want)] == '\n' || !p[strlen(want)]))
            return true;
    return false;
}

static void status_pending_then_applied(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/migrations", source_dir());
    char names[128][256];
    size_t n = list_migrations(dir, names, 128);
    assert_true(n >= 1);

    static const char *const status_args[] = {"migrate", "--status", NULL};
    static const char *const apply_args[] = {"migrate", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, status_args, NULL, &out);
    if (rc != 3)
        fail_msg("migrate --status on a fresh database: exit %d, expected 3:\n%s", rc, out);
    for (size_t i = 0; i < n; i++)
        if (!has_line(out, "pending", names[i])) fail_msg("%s not pending in:\n%s", names[i], out);
    char count[64];
    snprintf(count, sizeof count, "%zu pending", n);
    assert_non_null(strstr(out, count));
    free(out);

    rc = run_sluice_cli(db.url, apply_args, NULL, &out);
    if (rc != 0) fail_msg("migrate: exit %d:\n%s", rc, out);
    free(out);

    rc = run_sluice_cli(db.url, status_args, NULL, &out);
    if (rc != 0) fail_msg("migrate --status after migrate: exit %d:\n%s", rc, out);
    for (size_t i = 0; i < n; i++)
        if (!has_line(out, "applied", names[i])) fail_msg("%s not applied in:\n%s", names[i], out);
    assert_non_null(strstr(out, "0 pending"));
    free(out);

    /* Applying again is a no-op that succeeds; every version is recorded once. */
    rc = run_sluice_cli(db.url, apply_args, NULL, &out);
    assert_int_equal(rc, 0);
    free(out);
    char *rows = testdb_query(db.url, "SELECT count(*) || '/' || count(DISTINCT version) "
                                      "FROM schema_migrations");
    snprintf(count, sizeof count, "%zu/%zu", n, n);
    assert_non_null(rows);
    assert_string_equal(rows, count);
    free(rows);
    testdb_drop(&db);
}

static void changed_file_refused(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    char *dir = copy_migrations();
    char env_dir[4200];
    snprintf(env_dir, sizeof env_dir, "MIGRATIONS_DIR=%s", dir);
    const char *const env[] = {env_dir, NULL};
    static const char *const apply_args[] = {"migrate", NULL};
    static const char *const status_args[] = {"migrate", "--status", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, apply_args, env, &out);
    if (rc != 0) fail_msg("migrate: exit %d:\n%s", rc, out);
    free(out);

    /* Edit the first (applied) migration. */
    char names[128][256];
    assert_true(list_migrations(dir, names, 128) >= 1);
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, names[0]);
    size_t len;
    char *sql = read_file_all(path, &len);
    assert_non_null(sql);
    char *edited = malloc(len + 64);
    memcpy(edited, sql, len);
    memcpy(edited + len, "\n-- edited after it was applied\n", 32);
    assert_int_equal(write_file(path, edited, len + 32), 0);
    free(sql);
    free(edited);

    rc = run_sluice_cli(db.url, apply_args, env, &out);
    if (rc == 0) fail_msg("migrate accepted a changed applied file:\n%s", out);
    if (!strstr(out, names[0]) || !strstr(out, "changed"))
        fail_msg("the refusal does not name %s and say it changed:\n%s", names[0], out);
    free(out);

    rc = run_sluice_cli(db.url, status_args, env, &out);
    if (!has_line(out, "CHANGED", names[0])) fail_msg("--status does not flag it:\n%s", out);
    free(out);

    /* serve refuses to start on it as well (and does not end up listening). */
    static const char *const serve_args[] = {"serve", NULL};
    char port[32];
    snprintf(port, sizeof port, "HTTP_PORT=%d", free_port());
    const char *const serve_env[] = {env_dir, port, NULL};
    rc = run_sluice_cli(db.url, serve_args, serve_env, &out);
    if (rc == 0 || rc == -1) fail_msg("serve with a changed migration: exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, names[0]));
    free(out);

    remove_tree(dir);
    free(dir);
    testdb_drop(&db);
}

struct migrator {
    const char *url;
    int rc;
    char *out;
};

static void *run_migrator(void *arg) {
    struct migrator *m = arg;
    static const char *const apply_args[] = {"migrate", NULL};
    m->rc = run_sluice_cli(m->url, apply_args, NULL, &m->out);
    return NULL;
}

static void concurrent_migrators(void **state) {
    (void)state;
    enum { N = 4 };
    for (int round = 0; round < 3; round++) {
        struct test_db db;
        assert_int_equal(testdb_create(&db), 0);
        struct migrator m[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            m[i] = (struct migrator){db.url, -1, NULL};
            assert_int_equal(pthread_create(&t[i], NULL, run_migrator, &m[i]), 0);
        }
        for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
        for (int i = 0; i < N; i++)
            if (m[i].rc != 0) fail_msg("migrator %d of %d: exit %d:\n%s", i, N, m[i].rc, m[i].out);
        /* Exactly one process applied each file. */
        size_t applied_lines = 0;
        for (int i = 0; i < N; i++) {
            for (const char *p = m[i].out; (p = strstr(p, "migration applied")); p++)
                applied_lines++;
            free(m[i].out);
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/migrations", source_dir());
        char names[128][256];
        size_t n = list_migrations(dir, names, 128);
        assert_int_equal(applied_lines, n);
        char *rows = testdb_query(db.url, "SELECT count(*) || '/' || count(DISTINCT version) "
                                          "FROM schema_migrations");
        char want[64];
        snprintf(want, sizeof want, "%zu/%zu", n, n);
        assert_non_null(rows);
        assert_string_equal(rows, want);
        free(rows);
        testdb_drop(&db);
    }
}

static void readyz_reports_pending(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    /* Apply every migration but the last from a partial copy. */
    char *dir = copy_migrations();
    char names[128][256];
    size_t n = list_migrations(dir, names, 128);
    assert_true(n >= 2);
    char last[4600];
    snprintf(last, sizeof last, "%s/%s", dir, names[n - 1]);
    assert_int_equal(unlink(last), 0);
    char env_dir[4200];
    snprintf(env_dir, sizeof env_dir, "MIGRATIONS_DIR=%s", dir);
    const char *const partial_env[] = {env_dir, NULL};
    static const char *const apply_args[] = {"migrate", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(db.url, apply_args, partial_env, &out);
    if (rc != 0) fail_msg("partial migrate: exit %d:\n%s", rc, out);
    free(out);

    static const char *const env[] = {"MIGRATE_ON_START=false", NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    struct http_response r;
    assert_int_equal(http_get(p, "/readyz", &r), 0);
    const char *why = problem_check(&r, 503, "not-ready");
    if (why) fail_msg("/readyz with a pending migration: %s", why);
    const char *detail = json_string_value(json_object_get(r.json, "detail"));
    if (!strstr(detail, names[n - 1]) || !strstr(detail, "pending"))
        fail_msg("/readyz detail should name %s as pending: %s", names[n - 1], detail);
    http_response_cleanup(&r);

    rc = run_sluice_cli(db.url, apply_args, NULL, &out);
    if (rc != 0) fail_msg("migrate: exit %d:\n%s", rc, out);
    free(out);

    assert_int_equal(http_get(p, "/readyz", &r), 0);
    if (r.status != 200) fail_msg("/readyz after migrate: %ld %s", r.status, r.body);
    http_response_cleanup(&r);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    remove_tree(dir);
    free(dir);
    testdb_drop(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_pending_then_applied),
        cmocka_unit_test(changed_file_refused),
        cmocka_unit_test(concurrent_migrators),
        cmocka_unit_test(readyz_reports_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
