/* serve: `sluice serve` — migrate (unless told not to), start the HTTP server, wait
 * for SIGINT/SIGTERM, stop gracefully and exit 0. Signals are blocked in every thread
 * and taken synchronously here with sigwait. */
#include "api/routes.h"
#include "app.h"
#include "auth/auth_setup.h"
#include "auth/bearer.h"
#include "auth/audit_refusals.h"
#include "auth/principal_cache.h"
#include "auth/principal_listener.h"
#include "auth/token_cache.h"
#include "auth/user_bootstrap.h"
#include "cli/commands.h"
#include "core/config_deploy.h"
#include "core/cpus.h"
#include "core/log.h"
#include "db/db_listen.h"
#include "db/migrate.h"
#include "http/server.h"
#include "machine_logs/watcher.h"
#include "runtime.h"
#include "uploads/upload_store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int migrate_at_start(struct app *a) {
    struct db *db = db_new(a->config.database_url);
    char err[1024];
    int rc = -1;
    /* The database may start after us (docker-compose): wait up to 30 s for it. */
    for (int i = 0; i < 30 && !db_conn(db); i++) {
        if (i == 0) log_warn("waiting for the database: %s", db_last_error(db));
        sleep(1);
    }
    if (!db_conn(db)) {
        log_error("database unreachable: %s", db_last_error(db));
    } else if (migrate_apply(db, &a->migrations, err, sizeof err) != 0) {
        log_error("migrations: %s", err);
    } else {
        rc = 0;
    }
    db_free(db);
    return rc;
}

/* The first admin (ADMIN_USERNAME/ADMIN_PASSWORD) when no user exists. A bad value
 * stops the start (-1); a database problem is logged and serving goes on. */
static int bootstrap_admin(struct app *a) {
    struct db *db = db_new(a->config.database_url);
    char err[1024];
    int rc = user_bootstrap_admin(db, a->config.admin_username, a->config.admin_password, err,
                                  sizeof err);
    db_free(db);
    if (rc == -1) {
        log_error("%s", err);
        return -1;
    }
    if (rc != 0) log_warn("%s", err);
    return 0;
}

static const char *getenv_lookup(const char *name, void *ud) {
    (void)ud;
    return getenv(name);
}

static int check_secrets(const struct config *c) {
    /* The secrets of .env.example are placeholders: fine on a loopback address, refused
     * wherever others can reach the API (compose hands sluice its whole .env, so the
     * database passwords are checked too). */
    const char *placeholder = config_placeholder_key(c, getenv_lookup, NULL);
    if (placeholder && !config_is_local(c)) {
        fprintf(stderr,
                "sluice: configuration error: %s still holds the placeholder of .env.example "
                "(\"" CONFIG_PLACEHOLDER_MARK "...\"); set a real secret: HTTP_HOST=%s is not a "
                "loopback address, so this is not local mode\n",
                placeholder, c->http_host ? c->http_host : "");
        return -1;
    }
    if (placeholder)
        log_warn("%s holds the placeholder of .env.example: accepted in local mode only "
                 "(HTTP_HOST=%s)",
                 placeholder, c->http_host);
    if (!c->secret_key || strlen(c->secret_key) < 32) {
        fprintf(stderr, "sluice: configuration error: SECRET_KEY must be set and at least 32 "
                        "bytes long (e.g. `openssl rand -base64 48`)\n");
        return -1;
    }
    if (c->secret_key_previous && *c->secret_key_previous && strlen(c->secret_key_previous) < 32) {
        fprintf(stderr, "sluice: configuration error: SECRET_KEY_PREVIOUS must be at least 32 "
                        "bytes long when set\n");
        return -1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: sluice serve [--no-migrate]\n\n"
             "Serves the REST API on HTTP_HOST:HTTP_PORT and runs the job workers until\n"
             "SIGINT or SIGTERM, then stops accepting, lets requests in flight finish within\n"
             "SHUTDOWN_GRACE_SECONDS and exits 0. Pending migrations are applied first\n"
             "unless --no-migrate is given or MIGRATE_ON_START=false.");
        return 0;
    }
    int migrate = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-migrate") == 0) {
            migrate = 0;
        } else {
            fprintf(stderr, "sluice serve: unknown option \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    struct config *c = &a->config;
    int rc = 1;
    char err[1024];
    if (check_secrets(c) != 0) {
        config_cleanup(c);
        return 2;
    }
    if (auth_setup(c, true, err, sizeof err) != 0) {
        fprintf(stderr, "sluice: configuration error: %s\n", err);
        config_cleanup(c);
        return 2;
    }
    if (jobs_runtime_prepare(c, err, sizeof err) != 0) {
        fprintf(stderr, "sluice: configuration error: %s\n", err);
        config_cleanup(c);
        return 2;
    }
    if (upload_store_dir_ready(c, err, sizeof err) != 0) {
        fprintf(stderr, "sluice: configuration error: %s\n", err);
        config_cleanup(c);
        return 2;
    }
    if (migrate_scan(c->migrations_dir, &a->migrations, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }
    if (migrate && c->migrate_on_start && migrate_at_start(a) != 0) goto out;
    /* Demo data (SEED_DEMO=true): a failure is logged, the API is served anyway. */
    if (c->seed_demo) (void)cli_seed_demo(c->database_url);
    if (bootstrap_admin(a) != 0) goto out;
    upload_store_sweep_at_start(c); /* files left by a crash (uploads/upload_store.h) */

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t nroutes;
    const struct route *routes = api_routes(&nroutes);
    long workers = c->request_workers;
    if (workers == 0) { /* one per core: a batch keeps its core busy (see request_pool.h) */
        workers = cpus_usable();
        if (workers < 2) workers = 2;
        if (workers > 16) workers = 16; /* each is a PostgreSQL connection */
    }
    struct http_server_options opts = {
        .host = c->http_host,
        .port = (int)c->http_port,
        .threads = (int)c->http_threads,
        .workers = (int)workers,
        .queue = (int)c->request_queue,
        .max_body_bytes = c->max_body_bytes,
        .max_header_bytes = c->max_header_bytes,
        .connection_timeout = (int)c->http_connection_timeout,
        .max_connections = (int)c->http_max_connections,
        .max_connections_per_ip = (int)c->http_max_connections_per_ip,
        .header_timeout = (int)c->http_header_timeout,
        .body_min_rate = c->http_body_min_rate,
        .cors_origins = c->cors_origins,
        .database_url = c->database_url,
        .statement_timeout_ms = c->request_statement_timeout_ms,
        .routes = routes,
        .nroutes = nroutes,
        .config = c,
        .authorize = bearer_authorize,
    };
    /* One LISTEN loop for the process (db/db_listen.h): the user cache (kept right by
     * auth/principal_listener.h) and the job pool subscribe to it. */
    struct db_listen *loop = db_listen_new(c->database_url);
    if (!loop || db_listen_start(loop) != 0) {
        log_error("cannot start the LISTEN loop");
        db_listen_free(loop);
        goto out;
    }
    int user_sub = -1;
    if (principal_cache_init(c->auth_cache_entries, c->auth_cache_seconds) != 0)
        log_warn("user cache: out of memory; every request reads its user");
    if (principal_cache_enabled() && (user_sub = principal_listener_attach(loop)) < 0)
        log_warn("user cache: the user change listener could not subscribe; caching is off");
    if (token_cache_init(c->token_cache_entries) != 0)
        log_warn("token cache: out of memory; every request verifies its token in full");
    if (audit_refusals_start(c->database_url, c->audit_refusal_window_seconds,
                             c->audit_refusal_keys) != 0)
        log_warn("refused tokens: out of memory; each is audited as a row of its own");
    struct http_server *server = http_server_start(&opts, err, sizeof err);
    if (!server) {
        log_error("%s", err);
        principal_listener_detach(loop, user_sub);
        db_listen_free(loop);
        goto out;
    }
    struct jobs_runtime *jobs = jobs_runtime_start(c, loop, err, sizeof err);
    if (!jobs) {
        log_error("%s", err);
        http_server_stop(server, 0);
        principal_listener_detach(loop, user_sub);
        db_listen_free(loop);
        goto out;
    }
    /* LOG_WATCH: new LOG files queue their centre's ingest (a failure is logged). */
    struct log_watcher *watcher = NULL;
    if (c->log_watch && !(watcher = log_watcher_start(c, err, sizeof err)))
        log_warn("%s; LOG files are read by the schedule and uploads only", err);
    char port[16], nworkers[16];
    snprintf(port, sizeof port, "%ld", c->http_port);
    snprintf(nworkers, sizeof nworkers, "%ld", workers);
    log_event(LOG_INFO, "listening", "host", c->http_host, "port", port, "request_workers",
              nworkers, "version", SLUICE_VERSION, (char *)NULL);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_event(LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", (char *)NULL);
    /* Jobs stop claiming at once; HTTP and running jobs share the grace period. */
    log_watcher_stop(watcher);
    jobs_runtime_begin_stop(jobs);
    double stop_started = request_clock();
    http_server_stop(server, (int)c->shutdown_grace_seconds);
    jobs_runtime_stop(jobs, (double)c->shutdown_grace_seconds - (request_clock() - stop_started));
    principal_listener_detach(loop, user_sub);
    db_listen_free(loop);
    log_event(LOG_INFO, "stopped", (char *)NULL);
    rc = 0;
out:
    audit_refusals_stop(); /* after the HTTP server: writes the counts still open */
    principal_cache_shutdown();
    token_cache_shutdown();
    migrate_set_cleanup(&a->migrations);
    config_cleanup(c);
    return rc;
}
