/* config: the whole configuration of sluice as one plain struct, loaded from the
 * environment (optionally a `.env` file; the real environment wins) through one table
 * (config.c) that also prints the help and generates `.env.example`. Strings in
 * struct config are owned by it and freed by config_cleanup. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include "core/dotenv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct config {
    char *database_url;
    char *mysql_url;
    long mysql_ssl_mode; /* index in disabled, preferred, required, verify-ca, verify-identity */
    char *mysql_ssl_ca;
    long mysql_connect_timeout_seconds;
    long mysql_read_timeout_seconds;
    char *erp_orders_query_file;
    char *secret_key;
    char *secret_key_previous;
    char *pii_key;
    char *http_host;
    long http_port;
    long http_threads;
    long request_workers;
    long request_statement_timeout_ms;
    long request_queue;
    long db_reconnect_min_ms;
    long db_reconnect_max_ms;
    char *job_queues;
    long job_statement_timeout_ms;
    long max_body_bytes;
    long max_header_bytes;
    long http_connection_timeout;
    long http_max_connections;
    long http_max_connections_per_ip;
    long http_header_timeout;
    long http_body_min_rate;
    long max_upload_bytes;
    char *upload_dir;
    long upload_retention_hours;
    long shutdown_grace_seconds;
    long log_level;  /* enum log_level */
    long log_format; /* enum log_format */
    char *cors_origins;
    bool migrate_on_start;
    char *migrations_dir;
    char *admin_username;
    char *admin_password;
    long access_token_expire_minutes;
    char *jwt_issuer;
    char *jwt_audience;
    long login_max_failures;
    long login_window_seconds;
    long login_user_max_failures;
    long login_address_max_failures;
    long login_user_window_seconds;
    long login_max_delay_seconds;
    long password_hash_concurrency;
    long auth_cache_seconds;
    long auth_cache_entries;
    long token_cache_entries;
    long audit_retention_days;
    long audit_refusal_window_seconds;
    long audit_refusal_keys;
    long job_lease_seconds;
    long job_retention_days;
    bool job_test_kinds;
    char *schedule_tz;
    char *schedules;
    bool seed_demo;
    char *log_root;
    bool log_watch;
    long log_watch_delay_seconds;
    long log_after_ingest; /* enum config_log_after */
    long max_log_upload_bytes;
    long log_max_line_bytes;
    long log_chunk_bytes;
    char *import_dir;
    char *dashmed_mysql_url;
    long csv_max_record_bytes;
    long patient_data_batch_rows;
};

enum config_log_after { LOG_AFTER_KEEP, LOG_AFTER_ARCHIVE, LOG_AFTER_DELETE };

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL, CONFIG_ENUM };

struct config_key {
    const char *name;
    enum config_type type;
    const char *default_value;  /* NULL: unset by default */
    long min, max;              /* CONFIG_INT bounds */
    const char *const *choices; /* CONFIG_ENUM: NULL-terminated; value = index */
    size_t offset;
    bool secret; /* never printed */
    const char *help;
};

/* The table; borrowed, static. */
const struct config_key *config_keys(size_t *count);

/* Looks a variable up: the real environment first, then the .env values given to
 * config_load. Returns a borrowed string or NULL. */
typedef const char *(*config_lookup_fn)(const char *name, void *userdata);

/* Fills cfg from lookup. On a bad value, writes "KEY=value: expected ..." to err and
 * returns -1 (cfg is then safe to config_cleanup). */
int config_load(struct config *cfg, config_lookup_fn lookup, void *userdata, char *err,
                size_t errlen);

/* Reads the .env file at path (at most 1 MiB) and calls fn for each assignment, in file
 * order (core/dotenv.h). A missing file is an error only when required. 0, or -1 with
 * "path:line: reason" in err (or fn's non-zero value). */
int config_read_dotenv(const char *path, bool required, dotenv_fn fn, void *ud, char *err,
                       size_t errlen);

/* Loads from getenv() and, if present, the .env file at dotenv_path (NULL: "./.env"). */
int config_load_env(struct config *cfg, const char *dotenv_path, char *err, size_t errlen);

void config_cleanup(struct config *cfg);

/* The value of the CONFIG_INT key called name (e.g. a stream route's limit key); -1 (and
 * *out untouched) when no such integer key exists. */
int config_int(const struct config *cfg, const char *name, long *out);

/* Writes `.env.example` (every key, its comment and its default) to out. */
void config_write_example(FILE *out);

/* Writes the keys as a Markdown table (for the README). */
void config_write_markdown(FILE *out);

/* Writes a table of keys, defaults and descriptions for `sluice config --help`. */
void config_write_help(FILE *out);

#endif
