/* test_config: start-up configuration of the real binary: a bad value stops `serve` with
 * exit 2 and a message naming key, value and expectation; `.env` in the working folder is
 * read, and the real environment wins over it; placeholder secrets are refused outside
 * local mode. Temp folders and databases are owned by
 * each test and removed before it returns. */
#include "core/dotenv.h"
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_refused(const char *kv, const char *key, const char *value,
                           const char *expected) {
    static const char *const args[] = {"serve", NULL};
    const char *const env[] = {kv, NULL};
    char *out = NULL;
    /* The database is never reached: the configuration is checked first. */
    int rc = run_sluice_cli("postgresql://nobody@127.0.0.1:1/none", args, env, &out);
    if (rc != 2) fail_msg("%s: serve exited %d, expected 2:\n%s", kv, rc, out);
    if (!strstr(out, key) || !strstr(out, value) || !strstr(out, expected))
        fail_msg("%s: the message should name %s, \"%s\" and \"%s\":\n%s", kv, key, value, expected,
                 out);
    free(out);
}

static void bad_values_exit_2(void **state) {
    (void)state;
    expect_refused("HTTP_PORT=abc", "HTTP_PORT", "abc", "an integer from 1 to 65535");
    expect_refused("HTTP_PORT=70000", "HTTP_PORT", "70000", "an integer from 1 to 65535");
    expect_refused("LOG_LEVEL=loud", "LOG_LEVEL", "loud", "debug, info, warn");
    expect_refused("LOG_FORMAT=xml", "LOG_FORMAT", "xml", "text, json");
    expect_refused("MAX_BODY_BYTES=12", "MAX_BODY_BYTES", "12", "an integer from");
    expect_refused("MIGRATE_ON_START=maybe", "MIGRATE_ON_START", "maybe", "true or false");
}

static void missing_secret_key_exit_2(void **state) {
    (void)state;
    static const char *const args[] = {"serve", NULL};
    static const char *const env[] = {"SECRET_KEY=short", NULL};
    char *out = NULL;
    int rc = run_sluice_cli("postgresql://nobody@127.0.0.1:1/none", args, env, &out);
    if (rc != 2) fail_msg("serve with a short SECRET_KEY exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "SECRET_KEY"));
    assert_null(strstr(out, "short\"")); /* a secret value is not echoed */
    free(out);
}

static void dotenv_read_and_env_wins(void **state) {
    (void)state;
    char *dir = make_temp_dir("sluice-dotenv");
    assert_non_null(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/.env", dir);
    static const char dotenv[] = "# test .env\nLOG_LEVEL=bogus\nexport HTTP_THREADS=3\n";
    assert_int_equal(write_file(path, dotenv, sizeof dotenv - 1), 0);

    /* Without LOG_LEVEL in the environment, the .env value is used (and refused). */
    static const char *const args[] = {"config", "check", NULL};
    char *out = NULL;
    int rc = run_sluice_cli_in(NULL, args, NULL, dir, false, &out);
    if (rc != 2 || !strstr(out, "LOG_LEVEL") || !strstr(out, "bogus"))
        fail_msg("config check with LOG_LEVEL=bogus in .env: exit %d:\n%s", rc, out);
    free(out);

    /* With LOG_LEVEL in the environment, the environment wins. */
    static const char *const env[] = {"LOG_LEVEL=info", NULL};
    rc = run_sluice_cli_in(NULL, args, env, dir, false, &out);
    if (rc != 0)
        fail_msg("config check with LOG_LEVEL=info in the environment: exit %d:\n%s", rc, out);
    free(out);
    remove_tree(dir);
    free(dir);
}

static void dotenv_serve(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    char *dir = make_temp_dir("sluice-dotenv");
    assert_non_null(dir);
    int env_port = free_port(), dotenv_port = free_port();
    while (dotenv_port == env_port) dotenv_port = free_port();
    char path[4200], dotenv[256];
    snprintf(path, sizeof path, "%s/.env", dir);
    int n = snprintf(dotenv, sizeof dotenv, "HTTP_PORT=%d\nLOG_FORMAT=json\n", dotenv_port);
    assert_int_equal(write_file(path, dotenv, (size_t)n), 0);

    char port_kv[32];
    snprintf(port_kv, sizeof port_kv, "HTTP_PORT=%d", env_port);
    const char *const env[] = {port_kv, NULL};
    struct sluice_proc *p = sluice_start_in(db.url, env, dir, true);
    assert_non_null(p);
    assert_int_equal(sluice_port(p), env_port);
    /* Nothing listens on the .env port: the environment won. */
    int fd = raw_connect_port(dotenv_port);
    if (fd >= 0) close(fd);
    assert_true(fd < 0);
    /* LOG_FORMAT came from .env: every log line is a JSON object. */
    char *log = sluice_log_read(p);
    assert_non_null(log);
    size_t lines = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (!json_is_object(j)) fail_msg("not a JSON log line: %s", line);
        json_decref(j);
        lines++;
    }
    assert_true(lines > 0);
    free(log);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    remove_tree(dir);
    free(dir);
    testdb_drop(&db);
}

/* ---- the scripts read .env through the binary (scripts/lib/common.sh load_dotenv) ---- */

/* .env lines that a shell-side parser would easily read differently from dotenv.c. */
static const char tricky_env[] = "# a comment\n"
                                 "PLAIN=value\n"
                                 "export EXPORTED=yes\n"
                                 "SPACED = spaced value   # trailing comment\n"
                                 "HASH=a#b\n"
                                 "SINGLE='it is $HOME \\n literal'\n"
                                 "DOUBLE=\"tab\\there \\\"quoted\\\" \\$HOME\"\n"
                                 "MULTI=\"line one\nline two\"\n"
                                 "QUOTE_IN=it's\n"
                                 "EMPTY=\n"
                                 "TWICE=first\n"
                                 "TWICE=second\n"
                                 "FROM_ENV=from the file\n";

struct pairs {
    char keys[16][32];
    char values[16][128];
    size_t n;
};

static int keep_pair(const char *key, const char *value, void *ud) {
    struct pairs *p = ud;
    size_t i = 0;
    while (i < p->n && strcmp(p->keys[i], key) != 0) i++; /* the last assignment wins */
    if (i == p->n) {
        if (p->n == 16) return 1;
        p->n++;
    }
    snprintf(p->keys[i], sizeof p->keys[i], "%s", key);
    snprintf(p->values[i], sizeof p->values[i], "%s", value);
    return 0;
}

static void dotenv_shell_reads_as_c(void **state) {
    (void)state;
    char *dir = make_temp_dir("dotenv-shell");
    char file[512], script[2048];
    snprintf(file, sizeof file, "%s/.env", dir);
    assert_int_equal(write_file(file, tricky_env, sizeof tricky_env - 1), 0);
    struct pairs want = {0};
    struct dotenv_error de = {0};
    assert_int_equal(dotenv_parse(tricky_env, sizeof tricky_env - 1, keep_pair, &want, &de), 0);
    assert_int_equal(want.n, 11); /* TWICE once: the last assignment wins */
    /* The shell prints each key and its value NUL-separated after load_dotenv. */
    int n = snprintf(script, sizeof script,
                     "env -i PATH=\"$PATH\" FROM_ENV='the environment' SLUICE_BIN='%s' bash -c '"
                     "source \"%s/scripts/lib/common.sh\" && load_dotenv \"$1\" && shift && "
                     "for k; do printf \"%%s\\0%%s\\0\" \"$k\" \"${!k-UNSET}\"; done' _ '%s'",
                     getenv("SLUICE_TEST_BIN"), getenv("SLUICE_SOURCE_DIR"), file);
    for (size_t i = 0; i < want.n; i++)
        n += snprintf(script + n, sizeof script - (size_t)n, " %s", want.keys[i]);
    FILE *sh = popen(script, "r");
    assert_non_null(sh);
    char out[8192];
    size_t len = fread(out, 1, sizeof out, sh);
    assert_int_equal(pclose(sh), 0);
    const char *p = out, *end = out + len;
    size_t seen = 0;
    while (p < end) {
        const char *key = p;
        p += strlen(p) + 1;
        assert_true(p < end);
        const char *value = p;
        p += strlen(p) + 1;
        size_t i = 0;
        while (i < want.n && strcmp(want.keys[i], key) != 0) i++;
        assert_true(i < want.n);
        const char *expected =
            strcmp(key, "FROM_ENV") == 0 ? "the environment" : want.values[i]; /* env wins */
        if (strcmp(value, expected) != 0)
            fail_msg("%s: the scripts read \"%s\", sluice reads \"%s\"", key, value, expected);
        seen++;
    }
    assert_int_equal(seen, want.n);
    /* A file sluice refuses stops the scripts too. */
    static const char bad[] = "GOOD=1\nBAD=\"never closed\n";
    assert_int_equal(write_file(file, bad, sizeof bad - 1), 0);
    snprintf(script, sizeof script,
             "env -i PATH=\"$PATH\" SLUICE_BIN='%s' bash -c 'source \"%s/scripts/lib/common.sh\" "
             "&& load_dotenv \"$1\"' _ '%s' 2>/dev/null",
             getenv("SLUICE_TEST_BIN"), getenv("SLUICE_SOURCE_DIR"), file);
    assert_int_not_equal(system(script), 0);
    remove_tree(dir);
    free(dir);
}

/* Outside local mode (HTTP_HOST not loopback) a secret still holding the placeholder of
 * .env.example stops `serve` with exit 2, naming the key but never its value: sluice's own
 * secrets, a password inside DATABASE_URL, and the compose keys that docker compose
 * hands sluice with the rest of .env. */
static void expect_placeholder_refused(const char *database_url, const char *kv, const char *key) {
    static const char *const args[] = {"serve", NULL};
    const char *const env[] = {"HTTP_HOST=0.0.0.0", kv, NULL};
    char *out = NULL;
    int rc = run_sluice_cli(database_url, args, env, &out);
    if (rc != 2)
        fail_msg("%s with HTTP_HOST=0.0.0.0: serve exited %d, expected 2:\n%s", kv, rc, out);
    if (!strstr(out, key) || !strstr(out, "placeholder") || !strstr(out, "HTTP_HOST=0.0.0.0"))
        fail_msg("%s: the message should name %s, the placeholder and HTTP_HOST:\n%s", kv, key,
                 out);
    const char *value = strchr(kv, '=') + 1;
    if (*value && strstr(out, value)) fail_msg("%s: the secret is echoed:\n%s", kv, out);
    free(out);
}

static void placeholder_secrets_refused_outside_local_mode(void **state) {
    (void)state;
    const char *nowhere = "postgresql://nobody@127.0.0.1:1/none";
    expect_placeholder_refused(
        nowhere, "SECRET_KEY=change-me-to-the-output-of-openssl-rand-base64-48", "SECRET_KEY");
    expect_placeholder_refused(
        nowhere, "PII_KEY=0000000000000000000000000000000000000000000000000000000000000000",
        "PII_KEY");
    expect_placeholder_refused(nowhere, "ADMIN_PASSWORD=change-me-admin-password",
                               "ADMIN_PASSWORD");
    expect_placeholder_refused(nowhere, "MARIADB_ROOT_PASSWORD=CHANGE-ME-too",
                               "MARIADB_ROOT_PASSWORD");
    expect_placeholder_refused(nowhere, "SFTP_USERS=DEM12:change-me-sftp-password:DEM12 (PVC)",
                               "SFTP_USERS");
    expect_placeholder_refused("postgresql://sluice:change-me-postgres-password@127.0.0.1:1/none",
                               "LOG_LEVEL=info", "DATABASE_URL");
}

/* In local mode the same placeholder is accepted with a warning, and serving goes on. */
static void placeholder_secret_accepted_in_local_mode(void **state) {
    (void)state;
    struct test_db db;
    assert_int_equal(testdb_create(&db), 0);
    static const char *const env[] = {
        "SECRET_KEY=change-me-to-the-output-of-openssl-rand-base64-48",
        "POSTGRES_PASSWORD=change-me-postgres-password", NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    struct http_response r;
    assert_int_equal(http_get(p, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    char *log = sluice_log_read(p);
    assert_non_null(log);
    if (!strstr(log, "SECRET_KEY holds the placeholder"))
        fail_msg("no warning about the placeholder in the log:\n%s", log);
    free(log);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
    testdb_drop(&db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_values_exit_2),
        cmocka_unit_test(missing_secret_key_exit_2),
        cmocka_unit_test(dotenv_read_and_env_wins),
        cmocka_unit_test(dotenv_serve),
        cmocka_unit_test(dotenv_shell_reads_as_c),
        cmocka_unit_test(placeholder_secrets_refused_outside_local_mode),
        cmocka_unit_test(placeholder_secret_accepted_in_local_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
