/* Unit tests of core/config.c: defaults, bounds, messages for bad values, `.env` loading
 * with the real environment winning, and `.env.example` matching the table. Most tests go
 * through config_load with a lookup over a NULL-terminated array of name/value pairs (no
 * environment); each struct config is cleaned up by the test that loaded it. */
#include "core/config.h"
#include "core/config_deploy.h"

#include "core/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* vars: {"NAME", "value", ..., NULL}. The last assignment of a name wins. */
static const char *lookup(const char *name, void *ud) {
    const char *const *vars = ud;
    const char *found = NULL;
    for (size_t i = 0; vars && vars[i]; i += 2)
        if (strcmp(vars[i], name) == 0) found = vars[i + 1];
    return found;
}

static const struct config_key *find_key(const char *name) {
    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    fail_msg("no config key %s", name);
    return NULL;
}

static long int_field(const struct config *cfg, const struct config_key *k) {
    return *(const long *)(const void *)((const char *)cfg + k->offset);
}

static bool bool_field(const struct config *cfg, const struct config_key *k) {
    return *(const bool *)(const void *)((const char *)cfg + k->offset);
}

static const char *string_field(const struct config *cfg, const struct config_key *k) {
    return *(char *const *)(const void *)((const char *)cfg + k->offset);
}

/* Loads {name=value} alone and expects failure with a message naming key, value and what
 * was expected. */
static void assert_rejected(const char *name, const char *value, const char *expected) {
    const char *vars[] = {name, value, NULL};
    struct config cfg;
    char err[512] = "";
    int rc = config_load(&cfg, lookup, vars, err, sizeof err);
    config_cleanup(&cfg);
    if (rc != -1) fail_msg("%s=\"%s\" was accepted", name, value);
    char quoted[300];
    snprintf(quoted, sizeof quoted, "%s=\"%s\"", name, value);
    if (!strstr(err, quoted) || !strstr(err, expected))
        fail_msg("message \"%s\" should name %s and say \"%s\"", err, quoted, expected);
}

static void assert_accepted(const char *name, const char *value, struct config *cfg) {
    const char *vars[] = {name, value, NULL};
    char err[512] = "";
    if (config_load(cfg, lookup, vars, err, sizeof err) != 0)
        fail_msg("%s=\"%s\" was rejected: %s", name, value, err);
}

static void test_keys_are_well_formed(void **state) {
    (void)state;
    size_t n;
    const struct config_key *keys = config_keys(&n);
    assert_true(n >= 11);
    static const char *const required[] = {"DATABASE_URL", "MYSQL_URL",      "SECRET_KEY",
                                           "HTTP_HOST",    "HTTP_PORT",      "HTTP_THREADS",
                                           "JOB_QUEUES",   "MAX_BODY_BYTES", "LOG_LEVEL",
                                           "LOG_FORMAT",   "CORS_ORIGINS",   NULL};
    for (size_t i = 0; required[i]; i++) find_key(required[i]);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(keys[i].help);
        assert_true(strlen(keys[i].help) > 0);
        assert_true(keys[i].offset < sizeof(struct config));
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[i].name, keys[j].name) == 0) fail_msg("%s twice", keys[i].name);
        if (keys[i].type == CONFIG_INT) assert_true(keys[i].min <= keys[i].max);
        if (keys[i].type == CONFIG_ENUM) assert_non_null(keys[i].choices);
    }
}

static void test_defaults(void **state) {
    (void)state;
    struct config cfg;
    char err[512] = "";
    assert_int_equal(config_load(&cfg, lookup, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.http_host, "127.0.0.1");
    assert_int_equal(cfg.http_port, 8000);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
    assert_true(cfg.migrate_on_start);
    assert_false(cfg.seed_demo);
    assert_string_equal(cfg.cors_origins, "");
    assert_null(cfg.secret_key); /* no default: serve requires one */

    /* every key holds its own default, parsed as the table says */
    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const struct config_key *k = &keys[i];
        switch (k->type) {
        case CONFIG_STRING:
            if (k->default_value)
                assert_string_equal(string_field(&cfg, k), k->default_value);
            else
                assert_null(string_field(&cfg, k));
            break;
        case CONFIG_INT:
            assert_non_null(k->default_value);
            assert_int_equal(int_field(&cfg, k), strtol(k->default_value, NULL, 10));
            assert_in_range(int_field(&cfg, k), k->min, k->max);
            break;
        case CONFIG_BOOL:
            assert_non_null(k->default_value);
            assert_int_equal(bool_field(&cfg, k), strcmp(k->default_value, "true") == 0);
            break;
        case CONFIG_ENUM:
            assert_non_null(k->default_value);
            assert_string_equal(k->choices[int_field(&cfg, k)], k->default_value);
            break;
        }
    }
    config_cleanup(&cfg);
    assert_null(cfg.http_host);
}

static void test_values_are_read(void **state) {
    (void)state;
    const char *vars[] = {
        "HTTP_HOST",    "0.0.0.0", "HTTP_PORT",        "9001", "LOG_LEVEL",  "DEBUG",
        "LOG_FORMAT",   "json",    "SEED_DEMO",        "yes",  "SECRET_KEY", "s3cret",
        "CORS_ORIGINS", "*",       "MIGRATE_ON_START", "Off",  NULL};
    struct config cfg;
    char err[512] = "";
    assert_int_equal(config_load(&cfg, lookup, vars, err, sizeof err), 0);
    assert_string_equal(cfg.http_host, "0.0.0.0");
    assert_int_equal(cfg.http_port, 9001);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
    assert_true(cfg.seed_demo);
    assert_false(cfg.migrate_on_start);
    assert_string_equal(cfg.secret_key, "s3cret");
    assert_string_equal(cfg.cors_origins, "*");
    config_cleanup(&cfg);
    assert_null(cfg.secret_key);
}

static void test_int_bounds(void **state) {
    (void)state;
    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const struct config_key *k = &keys[i];
        if (k->type != CONFIG_INT) continue;
        char lo[32], hi[32], below[32], above[32], expected[96];
        snprintf(lo, sizeof lo, "%ld", k->min);
        snprintf(hi, sizeof hi, "%ld", k->max);
        snprintf(below, sizeof below, "%ld", k->min - 1);
        snprintf(above, sizeof above, "%ld", k->max + 1);
        snprintf(expected, sizeof expected, "an integer from %ld to %ld", k->min, k->max);
        struct config cfg;
        assert_accepted(k->name, lo, &cfg);
        assert_int_equal(int_field(&cfg, k), k->min);
        config_cleanup(&cfg);
        assert_accepted(k->name, hi, &cfg);
        assert_int_equal(int_field(&cfg, k), k->max);
        config_cleanup(&cfg);
        assert_rejected(k->name, below, expected);
        assert_rejected(k->name, above, expected);
    }
}

static void test_bad_values_name_key_value_and_expectation(void **state) {
    (void)state;
    assert_rejected("HTTP_PORT", "80a", "an integer from 1 to 65535");
    assert_rejected("HTTP_PORT", "eighty", "an integer from 1 to 65535");
    assert_rejected("HTTP_PORT", "8000 ", "an integer from 1 to 65535");
    assert_rejected("HTTP_PORT", "1e3", "an integer from 1 to 65535");
    assert_rejected("HTTP_PORT", "99999999999999999999999", "an integer from 1 to 65535");
    assert_rejected("MAX_BODY_BYTES", "-1", "an integer from 1024 to 1073741824");
    assert_rejected("MIGRATE_ON_START", "maybe", "true or false");
    assert_rejected("SEED_DEMO", "2", "true or false");
    assert_rejected("LOG_LEVEL", "verbose", "one of debug, info, warn, error");
    assert_rejected("LOG_FORMAT", "xml", "one of text, json");

    /* the message is of the form KEY="value" is not valid: expected ... */
    const char *vars[] = {"HTTP_THREADS", "lots", NULL};
    struct config cfg;
    char err[512] = "";
    assert_int_equal(config_load(&cfg, lookup, vars, err, sizeof err), -1);
    config_cleanup(&cfg);
    assert_string_equal(err,
                        "HTTP_THREADS=\"lots\" is not valid: expected an integer from 1 to 64");
}

static void test_bools_and_enums(void **state) {
    (void)state;
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "On", NULL};
    static const char *const no[] = {"0", "false", "False", "no", "OFF", NULL};
    struct config cfg;
    for (size_t i = 0; yes[i]; i++) {
        assert_accepted("SEED_DEMO", yes[i], &cfg);
        assert_true(cfg.seed_demo);
        config_cleanup(&cfg);
    }
    for (size_t i = 0; no[i]; i++) {
        assert_accepted("MIGRATE_ON_START", no[i], &cfg);
        assert_false(cfg.migrate_on_start);
        config_cleanup(&cfg);
    }
    assert_accepted("LOG_LEVEL", "Error", &cfg);
    assert_int_equal(cfg.log_level, LOG_ERROR);
    config_cleanup(&cfg);
    assert_accepted("LOG_LEVEL", "warn", &cfg);
    assert_int_equal(cfg.log_level, LOG_WARN);
    config_cleanup(&cfg);
}

static void test_empty_means_default_except_strings(void **state) {
    (void)state;
    const char *vars[] = {"HTTP_PORT", "",           "LOG_LEVEL", "",  "SEED_DEMO",
                          "",          "JWT_ISSUER", "",          NULL};
    struct config cfg;
    char err[512] = "";
    assert_int_equal(config_load(&cfg, lookup, vars, err, sizeof err), 0);
    assert_int_equal(cfg.http_port, 8000);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_false(cfg.seed_demo);
    assert_string_equal(cfg.jwt_issuer, ""); /* an empty string is a value */
    config_cleanup(&cfg);
}

/* Writes text to a new temporary file; returns its path in path (caller unlinks). */
static void write_temp(char *path, size_t pathlen, const char *text) {
    snprintf(path, pathlen, "%s/sluice-unit-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_dotenv_file_and_environment_wins(void **state) {
    (void)state;
    char path[256];
    write_temp(path, sizeof path,
               "# local settings\n"
               "HTTP_PORT=9001\n"
               "export LOG_LEVEL=debug\n"
               "JWT_ISSUER=\"from dotenv\"\n"
               "JWT_ISSUER=later wins\n");
    assert_int_equal(setenv("HTTP_PORT", "9002", 1), 0);
    assert_int_equal(unsetenv("LOG_LEVEL"), 0);
    assert_int_equal(unsetenv("JWT_ISSUER"), 0);
    struct config cfg;
    char err[512] = "";
    int rc = config_load_env(&cfg, path, err, sizeof err);
    unlink(path);
    unsetenv("HTTP_PORT");
    if (rc != 0) fail_msg("config_load_env: %s", err);
    assert_int_equal(cfg.http_port, 9002);      /* the environment wins */
    assert_int_equal(cfg.log_level, LOG_DEBUG); /* .env fills what the environment lacks */
    assert_string_equal(cfg.jwt_issuer, "later wins");
    config_cleanup(&cfg);
}

static void test_dotenv_errors(void **state) {
    (void)state;
    char path[256], err[512] = "";
    struct config cfg;
    write_temp(path, sizeof path, "A=1\n\nB = \"unterminated\n");
    int rc = config_load_env(&cfg, path, err, sizeof err);
    config_cleanup(&cfg);
    unlink(path);
    assert_int_equal(rc, -1);
    char want[300];
    snprintf(want, sizeof want, "%s:3: unterminated", path);
    if (!strstr(err, want)) fail_msg("\"%s\" should contain \"%s\"", err, want);

    /* a bad value from .env is reported like one from the environment */
    assert_int_equal(unsetenv("LOG_FORMAT"), 0);
    write_temp(path, sizeof path, "LOG_FORMAT=yaml\n");
    rc = config_load_env(&cfg, path, err, sizeof err);
    config_cleanup(&cfg);
    unlink(path);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "LOG_FORMAT=\"yaml\""));

    /* a .env file named explicitly must exist */
    rc = config_load_env(&cfg, "/nonexistent/sluice.env", err, sizeof err);
    config_cleanup(&cfg);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "/nonexistent/sluice.env"));
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *p = realloc(buf, cap);
            assert_non_null(p);
            buf = p;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0) break;
    }
    fclose(f);
    return buf;
}

static void test_env_example_is_current(void **state) {
    (void)state;
    char *generated = NULL;
    size_t glen = 0;
    FILE *mem = open_memstream(&generated, &glen);
    assert_non_null(mem);
    config_write_example(mem);
    assert_int_equal(fclose(mem), 0);

    size_t flen = 0;
    char *committed = read_file(SLUICE_SOURCE_DIR "/.env.example", &flen);
    if (!committed) fail_msg("%s/.env.example is missing", SLUICE_SOURCE_DIR);
    if (flen != glen || memcmp(committed, generated, glen) != 0)
        fail_msg(".env.example differs from the config table: regenerate it with "
                 "`sluice config example > .env.example`");
    /* the committed file names no path of this machine */
    assert_null(strstr(generated, SLUICE_SOURCE_DIR));
    free(committed);
    free(generated);
}

static void test_env_example_lists_every_key(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    config_write_example(mem);
    assert_int_equal(fclose(mem), 0);
    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof line, "\n%s=", keys[i].name);
        char commented[128];
        snprintf(commented, sizeof commented, "\n# %s=", keys[i].name);
        if (!strstr(text, line) && !strstr(text, commented))
            fail_msg("%s is missing from .env.example", keys[i].name);
        if (!strstr(text, keys[i].help)) fail_msg("help of %s is missing", keys[i].name);
    }
    free(text);
}

/* The compose keys are in .env.example after sluice's, each with its help and example,
 * and none of them is also a sluice key. */
static void test_env_example_lists_compose_keys(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    config_write_example(mem);
    assert_int_equal(fclose(mem), 0);
    size_t n, nk;
    const struct config_deploy_key *dk = config_deploy_keys(&n);
    const struct config_key *keys = config_keys(&nk);
    const char *section = strstr(text, "---- docker compose");
    assert_non_null(section);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        char line[256];
        snprintf(line, sizeof line, "\n%s=%s\n", dk[i].name, dk[i].example);
        const char *at = strstr(text, line);
        if (!at || at < section) fail_msg("%s is missing from the compose section", dk[i].name);
        if (!strstr(text, dk[i].help)) fail_msg("help of %s is missing", dk[i].name);
        for (size_t j = 0; j < nk; j++)
            if (strcmp(keys[j].name, dk[i].name) == 0) fail_msg("%s is in both tables", dk[i].name);
        /* a secret's example is recognised as a placeholder, and nothing else's is */
        assert_int_equal(config_is_placeholder(dk[i].example, NULL), dk[i].secret);
    }
    /* sluice's secrets with an example have a placeholder there, never a usable secret */
    size_t with_example = 0;
    for (size_t j = 0; j < nk; j++) {
        const char *example = config_example_value(keys[j].name);
        if (!example) continue;
        with_example++;
        char line[256];
        snprintf(line, sizeof line, "\n%s=%s\n", keys[j].name, example);
        if (!strstr(text, line)) fail_msg("%s is not given its example", keys[j].name);
        /* a secret's example holds the mark, or is PII_KEY's 64 zeros (valid hex) */
        if (keys[j].secret)
            assert_true(config_is_placeholder(example, NULL) || strspn(example, "0") == 64);
    }
    assert_int_equal(with_example, 6); /* every example names a key of the table */
    free(text);
}

static void test_local_mode_is_a_loopback_http_host(void **state) {
    (void)state;
    static const char *const local[] = {"127.0.0.1", "127.1.2.3", "::1", "[::1]",
                                        "localhost", "LocalHost", NULL};
    static const char *const remote[] = {"0.0.0.0",   "::", "10.0.0.1", "sluice.example.org",
                                         "128.0.0.1", "",   NULL};
    struct config cfg = {0};
    for (size_t i = 0; local[i]; i++) {
        cfg.http_host = (char *)local[i];
        if (!config_is_local(&cfg)) fail_msg("%s should be local", local[i]);
    }
    for (size_t i = 0; remote[i]; i++) {
        cfg.http_host = (char *)remote[i];
        if (config_is_local(&cfg)) fail_msg("%s should not be local", remote[i]);
    }
    cfg.http_host = NULL;
    assert_false(config_is_local(&cfg));
}

static void test_placeholders(void **state) {
    (void)state;
    assert_true(config_is_placeholder("change-me", NULL));
    assert_true(config_is_placeholder("x-CHANGE-ME-x", NULL));
    assert_true(config_is_placeholder("0000", "0000"));
    assert_false(config_is_placeholder("00001", "0000"));
    assert_false(config_is_placeholder("a real secret", "0000"));
    assert_false(config_is_placeholder("", "0000"));
    assert_false(config_is_placeholder(NULL, "0000"));

    /* sluice's secrets as loaded, then the compose secrets through the lookup */
    const char *vars[] = {"SECRET_KEY", "0123456789abcdef0123456789abcdef-real", NULL};
    struct config cfg;
    char err[256];
    assert_int_equal(config_load(&cfg, lookup, vars, err, sizeof err), 0);
    assert_null(config_placeholder_key(&cfg, lookup, vars));
    config_cleanup(&cfg);

    const char *url[] = {"DATABASE_URL",
                         "postgresql://sluice:change-me-postgres-password@postgres/s", NULL};
    assert_int_equal(config_load(&cfg, lookup, url, err, sizeof err), 0);
    assert_string_equal(config_placeholder_key(&cfg, lookup, url), "DATABASE_URL");
    config_cleanup(&cfg);

    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const char *example = config_example_value(keys[i].name);
        if (!keys[i].secret || !example) continue;
        const char *ex[] = {keys[i].name, example, NULL};
        assert_int_equal(config_load(&cfg, lookup, ex, err, sizeof err), 0);
        const char *found = config_placeholder_key(&cfg, lookup, ex);
        if (!found || strcmp(found, keys[i].name) != 0)
            fail_msg("the example of %s is not taken for a placeholder", keys[i].name);
        config_cleanup(&cfg);
    }

    const char *compose[] = {"MARIADB_PASSWORD", "change-me-mariadb-password", "POSTGRES_USER",
                             "change-me-not-a-secret", NULL};
    assert_int_equal(config_load(&cfg, lookup, compose, err, sizeof err), 0);
    assert_string_equal(config_placeholder_key(&cfg, lookup, compose), "MARIADB_PASSWORD");
    assert_null(config_placeholder_key(&cfg, NULL, NULL));
    config_cleanup(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_well_formed),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_are_read),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_bad_values_name_key_value_and_expectation),
        cmocka_unit_test(test_bools_and_enums),
        cmocka_unit_test(test_empty_means_default_except_strings),
        cmocka_unit_test(test_dotenv_file_and_environment_wins),
        cmocka_unit_test(test_dotenv_errors),
        cmocka_unit_test(test_env_example_is_current),
        cmocka_unit_test(test_env_example_lists_every_key),
        cmocka_unit_test(test_env_example_lists_compose_keys),
        cmocka_unit_test(test_local_mode_is_a_loopback_http_host),
        cmocka_unit_test(test_placeholders),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
