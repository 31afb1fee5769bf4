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
/* In the order of enum mdb_ssl_mode after MDB_SSL_UNSET (db/mdb_url.h). */
static const char *const mysql_ssl_modes[] = {"disabled",  "preferred",       "required",
                                              "verify-ca", "verify-identity", NULL};
static const char *const log_after_ingest[] = {"keep", "archive", "delete", NULL};

static const struct config_key keys[] = {
    {"DATABASE_URL", CONFIG_STRING, "postgresql://sluice@127.0.0.1:5432/sluice", NOLIMIT,
     OFF(database_url), true, "PostgreSQL connection URL (libpq syntax)."},
    {"MYSQL_URL", CONFIG_STRING, "mysql://sluice@127.0.0.1:3306/erp", NOLIMIT, OFF(mysql_url), true,
     "MySQL/MariaDB URL of the ERP that order synchronisation reads "
     "(`mysql://user:password@host:port/database?ssl-mode=...&ssl-ca=...`; percent-encode "
     "special characters; the account needs only SELECT)."},
    {"MYSQL_SSL_MODE", CONFIG_ENUM, "preferred", 0, 0, mysql_ssl_modes, OFF(mysql_ssl_mode), false,
     "TLS to the ERP when MYSQL_URL has no ssl-mode: disabled, preferred, required, verify-ca "
     "or verify-identity (the last two need MYSQL_SSL_CA)."},
    {"MYSQL_SSL_CA", CONFIG_STRING, NULL, NOLIMIT, OFF(mysql_ssl_ca), false,
     "CA certificate file (PEM) that verifies the ERP's server when MYSQL_URL has no ssl-ca."},
    {"MYSQL_CONNECT_TIMEOUT_SECONDS", CONFIG_INT, "10", 1, 3600, NULL,
     OFF(mysql_connect_timeout_seconds), false, "Longest wait to connect to the ERP."},
    {"MYSQL_READ_TIMEOUT_SECONDS", CONFIG_INT, "600", 1, 3600, NULL,
     OFF(mysql_read_timeout_seconds), false,
     "Longest wait for the ERP to send the next bytes of a result (the first row of a slow "
     "query included)."},
    {"ERP_ORDERS_QUERY_FILE", CONFIG_STRING, SLUICE_SOURCE_DIR "/queries/erp_orders.sql", NOLIMIT,
     OFF(erp_orders_query_file), false,
     "The SELECT that orders.sync runs on the ERP (read at each run; its columns are named "
     "numero_commande, extension, status, date_modification, coffre, gestion_en_stock)."},
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
    {"DB_RECONNECT_MIN_MS", CONFIG_INT, "100", 1, 60000, NULL, OFF(db_reconnect_min_ms), false,
     "Once PostgreSQL is found unreachable, wait this long before the next connection attempt "
     "(one at a time for the whole process; meanwhile requests get 503 at once)."},
    {"DB_RECONNECT_MAX_MS", CONFIG_INT, "5000", 1, 600000, NULL, OFF(db_reconnect_max_ms), false,
     "The wait between connection attempts doubles after each failure up to this (a "
     "restarted PostgreSQL is seen again within about this long)."},
    {"JOB_QUEUES", CONFIG_STRING, "default:2,ingest:2", NOLIMIT, OFF(job_queues), false,
     "Job queues this `serve` process works on, with their worker threads (each with one "
     "PostgreSQL connection): `name:threads` separated by `,`. A job kind names its queue "
     "(`default` or `ingest` today), so long ingestions never hold up the other jobs. Empty: "
     "no job runs in this process (it still schedules). Replaces WORKER_THREADS."},
    {"MAX_BODY_BYTES", CONFIG_INT, "1048576", 1024, 1073741824L, NULL, OFF(max_body_bytes), false,
     "Largest request body accepted; larger ones get 413."},
    {"MAX_HEADER_BYTES", CONFIG_INT, "16384", 2048, 1048576, NULL, OFF(max_header_bytes), false,
     "Memory for a request's line and headers; beyond, 414 or 431."},
    {"HTTP_CONNECTION_TIMEOUT", CONFIG_INT, "30", 1, 3600, NULL, OFF(http_connection_timeout),
     false, "Seconds an idle connection is kept open."},
    {"HTTP_MAX_CONNECTIONS", CONFIG_INT, "1024", 1, 100000, NULL, OFF(http_max_connections), false,
     "Most simultaneous client connections."},
    {"HTTP_MAX_CONNECTIONS_PER_IP", CONFIG_INT, "256", 0, 100000, NULL,
     OFF(http_max_connections_per_ip), false,
     "Most simultaneous connections from one client address (beyond, new ones are closed at "
     "once), so that one address cannot take every connection; 0: no limit (behind a reverse "
     "proxy every client has the proxy's address: set it above the proxy's pool, or 0)."},
    {"HTTP_HEADER_TIMEOUT", CONFIG_INT, "10", 1, 3600, NULL, OFF(http_header_timeout), false,
     "Seconds a client has to send a whole request head, counted from the connection (or "
     "the end of its previous request on a kept-alive connection); past it the connection "
     "is closed, however steadily bytes trickle in."},
    {"HTTP_BODY_MIN_RATE", CONFIG_INT, "1024", 0, 1073741824L, NULL, OFF(http_body_min_rate), false,
     "Least bytes per second a request body must bring, over each 10-second window in which "
     "sluice waits for it (time spent waiting for sluice itself does not count); slower "
     "bodies are cut. 0: no limit."},
    {"MAX_UPLOAD_BYTES", CONFIG_INT, "2147483648", 1024, 1099511627776L, NULL,
     OFF(max_upload_bytes), false,
     "Largest body of POST /uploads; it streams to disk (never held in memory); larger "
     "ones get 413."},
    {"UPLOAD_DIR", CONFIG_STRING, "uploads", NOLIMIT, OFF(upload_dir), false,
     "Folder of the uploaded files (POST /uploads); created at start-up when missing."},
    {"UPLOAD_RETENTION_HOURS", CONFIG_INT, "24", 1, 87600, NULL, OFF(upload_retention_hours), false,
     "Hours an upload is kept; maintenance.prune deletes older ones (row and file)."},
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
     "Failed logins allowed per (username, client address) in LOGIN_WINDOW_SECONDS; then 429 "
     "for that pair only."},
    {"LOGIN_WINDOW_SECONDS", CONFIG_INT, "60", 1, 86400, NULL, OFF(login_window_seconds), false,
     "Window of LOGIN_MAX_FAILURES."},
    {"LOGIN_USER_MAX_FAILURES", CONFIG_INT, "50", 1, 1000000, NULL, OFF(login_user_max_failures),
     false,
     "Failed logins per username (from every address) in LOGIN_USER_WINDOW_SECONDS past which "
     "each next attempt from an address that never logged in as that user waits 1 s, 2 s, 4 "
     "s... (up to LOGIN_MAX_DELAY_SECONDS) after the last failure: no hard lock."},
    {"LOGIN_ADDRESS_MAX_FAILURES", CONFIG_INT, "100", 1, 1000000, NULL,
     OFF(login_address_max_failures), false,
     "Failed logins per client address (for every username) in LOGIN_USER_WINDOW_SECONDS past "
     "which that address gets 429, except for users who logged in from it before."},
    {"LOGIN_USER_WINDOW_SECONDS", CONFIG_INT, "3600", 1, 604800, NULL,
     OFF(login_user_window_seconds), false,
     "Window of LOGIN_USER_MAX_FAILURES and LOGIN_ADDRESS_MAX_FAILURES."},
    {"LOGIN_MAX_DELAY_SECONDS", CONFIG_INT, "60", 1, 86400, NULL, OFF(login_max_delay_seconds),
     false, "Longest delay between attempts on a username past LOGIN_USER_MAX_FAILURES."},
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
    {"AUDIT_REFUSAL_WINDOW_SECONDS", CONFIG_INT, "60", 1, 86400, NULL,
     OFF(audit_refusal_window_seconds), false,
     "Refused bearer tokens are audited as one row per client address and reason over this "
     "window: the first at once, the count when the window closes."},
    {"AUDIT_REFUSAL_KEYS", CONFIG_INT, "1024", 1, 1000000, NULL, OFF(audit_refusal_keys), false,
     "(address, reason) groups of refused tokens counted at once (rounded up to a multiple of "
     "8); refusals that find no room share one row per reason and window, without an address."},
    {"JOB_LEASE_SECONDS", CONFIG_INT, "30", 2, 3600, NULL, OFF(job_lease_seconds), false,
     "Lease of a running job; renewed while it runs, taken again once expired."},
    {"JOB_STATEMENT_TIMEOUT_MS", CONFIG_INT, "0", 0, 86400000L, NULL, OFF(job_statement_timeout_ms),
     false,
     "Longest a statement of a job worker may run (PostgreSQL statement_timeout); a job "
     "whose statement passes it gets the error (and retries as its kind decides). 0: no "
     "limit. Cancelling a job interrupts its running statement either way."},
    {"JOB_RETENTION_DAYS", CONFIG_INT, "30", 1, 3650, NULL, OFF(job_retention_days), false,
     "Days finished jobs and their events are kept."},
    {"JOB_TEST_KINDS", CONFIG_BOOL, "false", NOLIMIT, OFF(job_test_kinds), false,
     "Whether the test-only job kinds (test.*: sleep, ingest, fail, count, fenced, sql_sleep) "
     "exist."},
    {"SCHEDULE_TZ", CONFIG_STRING, "Europe/Paris", NOLIMIT, OFF(schedule_tz), false,
     "Time zone of the cron schedules."},
    {"SCHEDULES", CONFIG_STRING,
     "maintenance.prune=0 3 * * *;machine_logs.ingest=0 11 * * *;orders.sync=0 9,14 * * *", NOLIMIT,
     OFF(schedules), false,
     "Schedules, separated by `;`, each `NAME=CRON [KIND [ARGS]]`: CRON has five fields "
     "(or @daily, @hourly, ...), KIND defaults to NAME, ARGS is a JSON object of the kind's "
     "arguments (default {}); see docs/jobs.md."},
    {"SEED_DEMO", CONFIG_BOOL, "false", NOLIMIT, OFF(seed_demo), false,
     "Whether `serve` loads the demo data set (./scripts/run turns it on)."},
    {"LOG_ROOT", CONFIG_STRING, "logs", NOLIMIT, OFF(log_root), false,
     "Folder of the centres' LOG folders (one per centre, named as its log_folder), e.g. the "
     "SFTP drop; relative to the working folder unless absolute."},
    {"LOG_WATCH", CONFIG_BOOL, "true", NOLIMIT, OFF(log_watch), false,
     "Whether `serve` watches LOG_ROOT (inotify) and queues one machine_logs.ingest per centre "
     "shortly after a LOG file is written or moved in."},
    {"LOG_WATCH_DELAY_SECONDS", CONFIG_INT, "2", 0, 3600, NULL, OFF(log_watch_delay_seconds), false,
     "Delay between a watched file change and its ingest (a burst of files gives one job)."},
    {"LOG_AFTER_INGEST", CONFIG_ENUM, "keep", 0, 0, log_after_ingest, OFF(log_after_ingest), false,
     "What happens to a LOG file once read whole and its day is over: keep, archive (moved to "
     "archive/YYYY-MM/ in its folder) or delete."},
    {"MAX_LOG_UPLOAD_BYTES", CONFIG_INT, "536870912", 1024, 68719476736L, NULL,
     OFF(max_log_upload_bytes), false,
     "Largest LOG file accepted by PUT /centres/{code}/log-files/{name}; larger ones get 413."},
    {"LOG_MAX_LINE_BYTES", CONFIG_INT, "65536", 256, 16777216, NULL, OFF(log_max_line_bytes), false,
     "Longest LOG line read; a longer one is rejected (its first bytes kept)."},
    {"LOG_CHUNK_BYTES", CONFIG_INT, "4194304", 4096, 268435456, NULL, OFF(log_chunk_bytes), false,
     "Bytes of a LOG file read and committed per transaction (bounds the ingest's memory)."},
    {"IMPORT_DIR", CONFIG_STRING, "imports", NOLIMIT, OFF(import_dir), false,
     "Folder of the files a queued job may read by path (e.g. patient_data.insert csv=NAME); "
     "paths outside it are refused. `sluice jobs run` may read any path."},
    {"DASHMED_MYSQL_URL", CONFIG_STRING, NULL, NOLIMIT, OFF(dashmed_mysql_url), true,
     "MySQL/MariaDB URL of DashMed's own database, written by patient_data.insert "
     "target=mysql."},
    {"CSV_MAX_RECORD_BYTES", CONFIG_INT, "65536", 256, 16777216, NULL, OFF(csv_max_record_bytes),
     false, "Longest CSV record (line) a load accepts; a longer one is an error row."},
    {"PATIENT_DATA_BATCH_ROWS", CONFIG_INT, "200000", 1000, 100000000, NULL,
     OFF(patient_data_batch_rows), false,
     "Rows per committed batch of a bulk patient_data.insert (COPY); each batch commits with "
     "the load's position in the file."},
};

const struct config_key *config_keys(size_t *count) {
    *count = sizeof keys / sizeof keys[0];
    return keys;
}

int config_int(const struct config *cfg, const char *name, long *out) {
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].type != CONFIG_INT || strcmp(keys[i].name, name) != 0) continue;
        *out = *(const long *)(const void *)((const char *)cfg + keys[i].offset);
        return 0;
    }
    return -1;
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

int config_read_dotenv(const char *path, bool required, dotenv_fn fn, void *ud, char *err,
                       size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (!required) return 0;
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    int rc = 0;
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
        if (dotenv_parse(buf, len, fn, ud, &de) != 0) {
            snprintf(err, errlen, "%s:%zu: %s", path, de.line, de.reason ? de.reason : "?");
            rc = -1;
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

int config_load_env(struct config *cfg, const char *dotenv_path, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg); /* safe to config_cleanup even if .env fails */
    struct dotenv_values dv = {0};
    const char *path = dotenv_path ? dotenv_path : ".env";
    int rc = config_read_dotenv(path, dotenv_path != NULL, collect, &dv, err, errlen);
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
        if (strncmp(def, SLUICE_SOURCE_DIR "/", sizeof SLUICE_SOURCE_DIR) == 0) {
            /* machine-specific: named relative to the source tree */
            fprintf(out, "| `%s` | `%s` of the source tree | %s |\n", k->name,
                    def + sizeof SLUICE_SOURCE_DIR, k->help);
            continue;
        }
        fprintf(out, "| `%s` | %s%s%s | %s |\n", k->name, *def && *def != '(' ? "`" : "",
                *def ? def : "(empty)", *def && *def != '(' ? "`" : "", k->help);
    }
}
