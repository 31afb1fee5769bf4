/* config: the configuration table (one row per environment variable), its loader and
 * the generators of `.env.example` and `sluice config --help`. */
#include "core/config.h"

#include "core/config_deploy.h"
#include "core/dotenv.h"

#include <sodium.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(struct config, field)
#define NOLIMIT 0, 0, NULL

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};

static const struct config_key keys[] = {
    {"DATABASE_URL", CONFIG_STRING, "postgresql://sluice@127.0.0.1:5432/sluice", NOLIMIT,
     OFF(database_url), true, "PostgreSQL connection URL (libpq syntax)."},
    {"MYSQL_URL", CONFIG_STRING, "mysql://sluice@127.0.0.1:3306/erp", NOLIMIT, OFF(mysql_url), true,
     "MySQL/MariaDB URL of the ERP that order synchronisation reads."},
    {"SECRET_KEY", CONFIG_STRING, NULL, NOLIMIT, OFF(secret_key), true,
     "JWT signing key, at least 32 bytes. Required by `serve`."},
    {"SECRET_KEY_PREVIOUS", CONFIG_STRING, NULL, NOLIMIT, OFF(secret_key_previous), true,
     "Previous signing key, still accepted for verification during a key rotation."},
    {"PII_KEY", CONFIG_STRING, NULL, NOLIMIT, OFF(pii_key), true,
     "64 hex digits: key that encrypts personal data (email, full name) at rest."},
    {"HTTP_HOST", CONFIG_STRING, "127.0.0.1", NOLIMIT, OFF(http_host), false,
     "Address the HTTP server listens on."},
    {"HTTP_PORT", CONFIG_INT, "8000", 1, 65535, NULL, OFF(http_port), false,
     "TCP port of the HTTP server."},
    {"HTTP_THREADS", CONFIG_INT, "2", 1, 64, NULL, OFF(http_threads), false,
     "libmicrohttpd event threads (epoll); they never block."},
    {"REQUEST_WORKERS", CONFIG_INT, "0", 0, 256, NULL, OFF(request_workers), false,
     "Request workers, each with one PostgreSQL connection; each takes the waiting requests "
     "in batches and pipelines their statements. 0: one per CPU this process may use "
     "(affinity, cgroup quota), at least 2 and at most 16."},
    {"REQUEST_STATEMENT_TIMEOUT_MS", CONFIG_INT, "30000", 0, 3600000, NULL,
     OFF(request_statement_timeout_ms), false,
     "Longest a statement of an API request may run (PostgreSQL statement_timeout, lock "
     "waits included); past it the request gets 503 query-timeout. 0: no limit."},
    {"REQUEST_QUEUE", CONFIG_INT, "1024", 1, 1000000, NULL, OFF(request_queue), false,
     "Requests waiting for a worker before new ones get 503."},
    {"WORKER_THREADS", CONFIG_INT, "2", 0, 256, NULL, OFF(worker_threads), false,
     "Job worker threads in `serve`, each with one PostgreSQL connection."},
    {"MAX_BODY_BYTES", CONFIG_INT, "1048576", 1024, 1073741824L, NULL, OFF(max_body_bytes), false,
     "Largest request body accepted; larger ones get 413."},
    {"MAX_HEADER_BYTES", CONFIG_INT, "16384", 2048, 1048576, NULL, OFF(max_header_bytes), false,
     "Memory for a request's line and headers; beyond, 414 or 431."},
    {"HTTP_CONNECTION_TIMEOUT", CONFIG_INT, "30", 1, 3600, NULL, OFF(http_connection_timeout),
     false, "Seconds an idle connection is kept open."},
    {"HTTP_MAX_CONNECTIONS", CONFIG_INT, "1024", 1, 100000, NULL, OFF(http_max_connections), false,
     "Most simultaneous client connections."},
    {"SHUTDOWN_GRACE_SECONDS", CONFIG_INT, "10", 0, 3600, NULL, OFF(shutdown_grace_seconds), false,
     "On SIGTERM, time given to in-flight requests and jobs."},
    {"LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, log_levels, OFF(log_level), false,
     "Least severe level logged: debug, info, warn or error."},
    {"LOG_FORMAT", CONFIG_ENUM, "text", 0, 0, log_formats, OFF(log_format), false,
     "Log lines as text or json."},
    {"CORS_ORIGINS", CONFIG_STRING, "", NOLIMIT, OFF(cors_origins), false,
     "Comma-separated origins allowed by CORS (empty: none; * for any)."},
    {"MIGRATE_ON_START", CONFIG_BOOL, "true", NOLIMIT, OFF(migrate_on_start), false,
     "Whether `serve` applies pending migrations at start-up."},
    {"MIGRATIONS_DIR", CONFIG_STRING, SLUICE_SOURCE_DIR "/migrations", NOLIMIT, OFF(migrations_dir),
     false, "Folder of the numbered SQL migrations."},
    {"ADMIN_USERNAME", CONFIG_STRING, NULL, NOLIMIT, OFF(admin_username), false,
     "First admin, created at start-up when no user exists."},
    {"ADMIN_PASSWORD", CONFIG_STRING, NULL, NOLIMIT, OFF(admin_password), true,
     "Password of the first admin (12 characters or more)."},
    {"ACCESS_TOKEN_EXPIRE_MINUTES", CONFIG_INT, "30", 1, 10080, NULL,
     OFF(access_token_expire_minutes), false, "Lifetime of an access token."},
    {"JWT_ISSUER", CONFIG_STRING, "sluice", NOLIMIT, OFF(jwt_issuer), false,
     "`iss` claim of the tokens."},
    {"JWT_AUDIENCE", CONFIG_STRING, "sluice-api", NOLIMIT, OFF(jwt_audience), false,
     "`aud` claim of the tokens."},
    {"LOGIN_MAX_FAILURES", CONFIG_INT, "5", 1, 1000, NULL, OFF(login_max_failures), false,
     "Failed logins allowed per username and per client address in the window."},
    {"LOGIN_WINDOW_SECONDS", CONFIG_INT, "60", 1, 86400, NULL, OFF(login_window_seconds), false,
     "Window of the failed-login limit."},
    {"PASSWORD_HASH_CONCURRENCY", CONFIG_INT, "2", 1, 64, NULL, OFF(password_hash_concurrency),
     false, "Argon2id hashes computed at once (each takes 64 MiB)."},
    {"AUTH_CACHE_SECONDS", CONFIG_INT, "2", 0, 3600, NULL, OFF(auth_cache_seconds), false,
     "Seconds a token's user (role, enabled) is remembered instead of read from the database "
     "on each request; 0 reads it every time. Changes to users apply at once in every copy "
     "(LISTEN/NOTIFY); this only bounds how long a lost notification (a silently broken "
     "listener connection) can let a disabled user in. Longer: fewer queries, longer risk."},
    {"AUTH_CACHE_ENTRIES", CONFIG_INT, "4096", 4, 1000000, NULL, OFF(auth_cache_entries), false,
     "Users the principal cache (AUTH_CACHE_SECONDS) holds; beyond, the least recently "
     "fetched give way."},
    {"TOKEN_CACHE_ENTRIES", CONFIG_INT, "4096", 0, 1000000, NULL, OFF(token_cache_entries), false,
     "Verified access tokens remembered, so that a token sent again skips the HMAC and the "
     "JSON decoding (its expiry is still checked on every request); 0 verifies every time."},
    {"AUDIT_RETENTION_DAYS", CONFIG_INT, "90", 1, 3650, NULL, OFF(audit_retention_days), false,
     "Days the audit log is kept."},
    {"JOB_LEASE_SECONDS", CONFIG_INT, "30", 2, 3600, NULL, OFF(job_lease_seconds), false,
     "Lease of a running job; renewed while it runs, taken again once expired."},
    {"JOB_RETENTION_DAYS", CONFIG_INT, "30", 1, 3650, NULL, OFF(job_retention_days), false,
     "Days finished jobs and their events are kept."},
    {"JOB_TEST_KINDS", CONFIG_BOOL, "false", NOLIMIT, OFF(job_test_kinds), false,
     "Whether the test-only job kinds (test.sleep, test.fail, test.count) exist."},
    {"SCHEDULE_TZ", CONFIG_STRING, "Europe/Paris", NOLIMIT, OFF(schedule_tz), false,
     "Time zone of the cron schedules."},
    {"SCHEDULES", CONFIG_STRING, "maintenance.prune=0 3 * * *", NOLIMIT, OFF(schedules), false,
     "Default schedules: `name=cron expression` separated by `;`."},
    {"SEED_DEMO", CONFIG_BOOL, "false", NOLIMIT, OFF(seed_demo), false,
     "Whether `serve` loads the demo data set (./scripts/run turns it on)."},
};

const struct config_key *config_keys(size_t *count) {
    *count = sizeof keys / sizeof keys[0];
    return keys;
}

static int set_error(char *err, size_t errlen, const struct config_key *k, const char *value,
                     const char *expected) {
    snprintf(err, errlen, "%s=\"%s\" is not valid: expected %s", k->name,
             k->secret ? "(hidden)" : value, expected);
    return -1;
}

static int parse_bool(const char *v, bool *out) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

static int load_key(struct config *cfg, const struct config_key *k, const char *value, char *err,
                    size_t errlen) {
    char *field = (char *)cfg + k->offset;
    char expected[256];
    switch (k->type) {
    case CONFIG_STRING: {
        char **s = (char **)(void *)field;
        free(*s);
        *s = value ? strdup(value) : NULL;
        return 0;
    }
    case CONFIG_INT: {
        errno = 0;
        char *end = NULL;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0' || n < k->min || n > k->max) {
            snprintf(expected, sizeof expected, "an integer from %ld to %ld", k->min, k->max);
            return set_error(err, errlen, k, value, expected);
        }
        *(long *)(void *)field = n;
        return 0;
    }
    case CONFIG_BOOL:
        if (parse_bool(value, (bool *)(void *)field) != 0)
            return set_error(err, errlen, k, value, "true or false");
        return 0;
    case CONFIG_ENUM:
        for (long i = 0; k->choices[i]; i++) {
            if (strcasecmp(value, k->choices[i]) == 0) {
                *(long *)(void *)field = i;
                return 0;
            }
        }
        expected[0] = '\0';
        strcat(expected, "one of ");
        for (size_t i = 0; k->choices[i]; i++) {
            if (i) strcat(expected, ", ");
            strncat(expected, k->choices[i], sizeof expected - strlen(expected) - 3);
        }
        return set_error(err, errlen, k, value, expected);
    }
    return -1;
}

int config_load(struct config *cfg, config_lookup_fn lookup, void *userdata, char *err,
                size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct config_key *k = &keys[i];
        const char *v = lookup(k->name, userdata);
        if (v == NULL || (*v == '\0' && k->type != CONFIG_STRING)) v = k->default_value;
        if (v == NULL) continue;
        if (load_key(cfg, k, v, err, errlen) != 0) return -1;
    }
    return 0;
}

/* .env values, kept as a small list for the lookup below. */
struct dotenv_values {
    char **pairs; /* key, value, key, value, ... owned */
    size_t n, cap;
};

static int collect(const char *key, const char *value, void *ud) {
    struct dotenv_values *dv = ud;
    if (dv->n + 2 > dv->cap) {
        size_t cap = dv->cap ? dv->cap * 2 : 32;
        char **p = realloc(dv->pairs, cap * sizeof *p);
        if (!p) return 1;
        dv->pairs = p;
        dv->cap = cap;
    }
    dv->pairs[dv->n++] = strdup(key);
    dv->pairs[dv->n++] = strdup(value);
    return 0;
}

static const char *env_then_dotenv(const char *name, void *ud) {
    const char *v = getenv(name);
    if (v) return v;
    struct dotenv_values *dv = ud;
    const char *found = NULL;
    for (size_t i = 0; i + 1 < dv->n; i += 2)
        if (dv->pairs[i] && strcmp(dv->pairs[i], name) == 0) found = dv->pairs[i + 1];
    return found; /* the last assignment wins */
}

int config_load_env(struct config *cfg, const char *dotenv_path, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg); /* safe to config_cleanup even if .env fails */
    struct dotenv_values dv = {0};
    const char *path = dotenv_path ? dotenv_path : ".env";
    FILE *f = fopen(path, "rb");
    int rc = 0;
    if (f) {
        char *buf = malloc(1 << 20);
        size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
        if (!buf) {
            snprintf(err, errlen, "%s: out of memory", path);
            rc = -1;
        } else if (!feof(f)) {
            snprintf(err, errlen, "%s: larger than 1 MiB", path);
            rc = -1;
        } else {
            struct dotenv_error de = {0};
            if (dotenv_parse(buf, len, collect, &dv, &de) != 0) {
                snprintf(err, errlen, "%s:%zu: %s", path, de.line, de.reason ? de.reason : "?");
                rc = -1;
            }
        }
        free(buf);
        fclose(f);
    } else if (dotenv_path) {
        snprintf(err, errlen, "%s: cannot open", path);
        rc = -1;
    }
    if (rc == 0) rc = config_load(cfg, env_then_dotenv, &dv, err, errlen);
    for (size_t i = 0; i < dv.n; i++) free(dv.pairs[i]);
    free(dv.pairs);
    return rc;
}

void config_cleanup(struct config *cfg) {
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].type != CONFIG_STRING) continue;
        char **s = (char **)(void *)((char *)cfg + keys[i].offset);
        if (*s && keys[i].secret) sodium_memzero(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void config_write_example(FILE *out) {
    fputs("# sluice configuration: every key with its default or an example value, then the\n"
          "# keys of docker-compose.yaml. Generated by `sluice config example`; the real\n"
          "# environment wins over this file. For docker compose: copy it to .env and\n"
          "# replace every `change-me` value (see the README's deployment section).\n",
          out);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct config_key *k = &keys[i];
        fprintf(out, "\n# %s\n", k->help);
        /* A default inside the build's source tree is machine-specific: the committed
         * .env.example names it relative to the tree and leaves the key commented out. */
        const char *example = config_example_value(k->name);
        if (example) {
            /* A deployment's value (docker-compose.yaml reads the same file) or a
             * placeholder: the default goes in the comment. */
            fprintf(out, "# Default: %s\n%s=%s\n", k->default_value ? k->default_value : "(unset)",
                    k->name, example);
        } else if (k->default_value &&
                   strncmp(k->default_value, SLUICE_SOURCE_DIR "/", sizeof SLUICE_SOURCE_DIR) == 0)
            fprintf(out, "# Default: %s in the source tree sluice was built from.\n# %s=\n",
                    k->default_value + sizeof SLUICE_SOURCE_DIR, k->name);
        else if (k->default_value)
            fprintf(out, "%s=%s\n", k->name, k->default_value);
        else
            fprintf(out, "# %s=\n", k->name);
    }
    config_deploy_write_example(out);
}

void config_write_help(FILE *out) {
    fputs("Configuration (environment variables, or a .env file in the working folder):\n\n", out);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct config_key *k = &keys[i];
        fprintf(out, "  %-28s %s\n  %-28s default: %s\n", k->name, k->help, "",
                k->default_value ? (k->default_value[0] ? k->default_value : "(empty)")
                                 : "(unset)");
    }
}

void config_write_markdown(FILE *out) {
    fputs("| key | default | meaning |\n| --- | --- | --- |\n", out);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct config_key *k = &keys[i];
        const char *def = k->default_value ? k->default_value : "(unset)";
        if (k->offset == offsetof(struct config, migrations_dir))
            def = "`migrations/` of the source tree";
        fprintf(out, "| `%s` | %s%s%s | %s |\n", k->name, *def && *def != '(' ? "`" : "",
                *def ? def : "(empty)", *def && *def != '(' ? "`" : "", k->help);
    }
}
