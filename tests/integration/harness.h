/* harness: what integration tests need to drive the real `sluice` binary against a real
 * PostgreSQL: throwaway databases, a started server on a free port, HTTP through libcurl
 * (with optional response recording for OpenAPI validation), raw sockets for malformed
 * requests, login and CLI runs.
 *
 * Environment read: SLUICE_TEST_PG_ADMIN_URL (superuser URL, CREATE DATABASE),
 * SLUICE_TEST_BIN (the sluice binary), SLUICE_SOURCE_DIR (migrations), and optionally
 * SLUICE_TEST_RESPONSES_DIR (record every http_do as one JSON line) and
 * SLUICE_TEST_LOG_DIR (where server logs go; default: the working directory).
 *
 * Memory: structs returned by the start functions are owned by the caller and released by the
 * matching stop/cleanup; strings returned as `char *` are malloc'd and freed by the
 * caller; const-char-pointer results are borrowed (see each function). Servers and
 * databases a failed assertion left behind are killed and dropped when the program
 * exits (atexit).
 *
 * Implemented one section per file: harness_db.c (databases), harness_proc.c (the server
 * process, a test group's server), harness_http.c (HTTP, problem+json checks), harness_raw.c
 * (raw sockets), harness_cli.c (auth and CLI), harness_misc.c (misc, leftovers); what they
 * share is in harness_internal.h. */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- databases ------------------------------------------------------------------- */

struct test_db {
    char name[64]; /* sluice_test_<pid>_<n>: digits and underscores only */
    char url[512]; /* SLUICE_TEST_PG_ADMIN_URL with dbname replaced */
};

/* Creates a fresh database; 0 on success, -1 (message on stderr). */
int testdb_create(struct test_db *db);
/* Drops it (WITH (FORCE)); harmless on a db that was never created. */
void testdb_drop(struct test_db *db);

/* Runs one SQL statement (no parameters) on a database URL; returns the first column of
 * the first row as a malloc'd string ("" when no rows), or NULL on error (printed). */
char *testdb_query(const char *url, const char *sql);

/* Runs `$SLUICE_TEST_PG_CTL action` (e.g. "stop -m fast", "start"): controls the test
 * PostgreSQL server. The exit status (0: done; printed when not). */
int testdb_pg_ctl(const char *action);

/* ---- the server process -------------------------------------------------------------- */

struct sluice_proc;

/* Test key material handed to every started process. */
#define TEST_SECRET_KEY "test-secret-key-0123456789abcdefghijklmnopqrstuv" /* 48 chars */
#define TEST_PII_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define TEST_ADMIN_USER "admin"
#define TEST_ADMIN_PASSWORD "admin-password-123"

/* Starts `sluice serve` with the base environment (DATABASE_URL, HTTP_HOST, HTTP_PORT on
 * a free port, SECRET_KEY, PII_KEY, LOG_LEVEL=debug, MIGRATIONS_DIR, ADMIN_*,
 * WORKER_THREADS=2) overridden/extended by extra_env ("KEY=VALUE", NULL-terminated,
 * may be NULL). Waits until GET /healthz answers 200 (20 s); on failure prints the log
 * and returns NULL. */
struct sluice_proc *sluice_start(const char *database_url, const char *const *extra_env);

/* Like sluice_start with a working directory (NULL: inherit), and args after `serve`. */
struct sluice_proc *sluice_start_in(const char *database_url, const char *const *extra_env,
                                    const char *workdir, bool wait_ready);

/* Sends sig (0: none), waits up to timeout_s seconds for the exit, frees p. Returns the
 * exit status, 128+signal when killed by a signal, or -1 on timeout (then SIGKILLs). */
int sluice_stop_timeout(struct sluice_proc *p, int sig, int timeout_s);
/* sluice_stop_timeout(p, sig, 30). */
int sluice_stop(struct sluice_proc *p, int sig);

pid_t sluice_pid(const struct sluice_proc *p);
int sluice_port(const struct sluice_proc *p);
const char *sluice_log_path(const struct sluice_proc *p); /* borrowed */
/* The whole log file as a malloc'd string (NULL if unreadable). */
char *sluice_log_read(const struct sluice_proc *p);
/* Prints the log to stderr (for failure diagnostics). */
void sluice_log_dump(const struct sluice_proc *p);
/* Whether the process is still running (not reaped). */
bool sluice_alive(struct sluice_proc *p);

/* ---- a test group's server ------------------------------------------------------- */

/* Creates a fresh database into *db and starts sluice on it (sluice_start with
 * extra_env) into *proc. 0, or -1 (said on stderr; what was made is left for
 * test_server_stop). */
int test_server_start(struct test_db *db, const char *const *extra_env, struct sluice_proc **proc);

/* Stops *proc with SIGTERM (when started) and sets it NULL, then drops db. 0, or -1 when
 * the server did not exit with status 0 (the status is printed). */
int test_server_stop(struct test_db *db, struct sluice_proc **proc);

/* ---- HTTP ------------------------------------------------------------------------ */

struct http_response {
    long status; /* 0 when the request failed at the transport level */
    char *body;  /* NUL-terminated, owned */
    size_t len;
    json_t *json;          /* parsed when Content-Type is JSON (or problem+json), owned */
    char *headers;         /* raw header block of the final response, owned */
    char header_buf[1024]; /* storage behind http_header's result */
};

/* Sends one request to 127.0.0.1:<port><path>. headers: "Name: value" strings,
 * NULL-terminated (may be NULL). body may be NULL (then len is ignored). Returns 0 when
 * a response arrived (any status), -1 on transport error. out must be cleaned up. */
int http_do(struct sluice_proc *p, const char *method, const char *path, const char *const *headers,
            const char *body, size_t len, struct http_response *out);
/* Same, to an explicit port (e.g. after the process stopped). */
int http_do_port(int port, const char *method, const char *path, const char *const *headers,
                 const char *body, size_t len, struct http_response *out);
/* GET shortcut. */
int http_get(struct sluice_proc *p, const char *path, struct http_response *out);

/* Value of a response header (case-insensitive name, surrounding spaces trimmed), or
 * NULL. The result lives in r->header_buf: valid until the next http_header call on r. */
const char *http_header(struct http_response *r, const char *name);

void http_response_cleanup(struct http_response *r);

/* Records one exchange (only when SLUICE_TEST_RESPONSES_DIR is set); raw-socket tests
 * call it after parsing a raw response so their answers are validated too. */
void http_record(const char *method, const char *path, long status, const char *content_type,
                 const char *body, size_t len);

/* Turns recording off/on for this process (default on). For exchanges whose answer is
 * not sluice's own (e.g. libmicrohttpd's built-in refusals), so the OpenAPI validator is
 * not fed them; say why at the call site. */
void http_recording(bool on);

/* ---- raw sockets ----------------------------------------------------------------- */

/* A connected TCP socket to the server, or -1. */
int raw_connect(struct sluice_proc *p);
int raw_connect_port(int port);
/* Writes all bytes; 0 or -1 (e.g. EPIPE/ECONNRESET). */
int raw_send(int fd, const void *data, size_t len);
int raw_send_str(int fd, const char *s);
/* Reads one HTTP/1.1 response (headers + Content-Length body, or until close) within
 * timeout_ms, parsed into out (status, headers, body, json). 0 or -1. */
int raw_read_response(int fd, int timeout_ms, struct http_response *out);

/* ---- problem+json checks ----------------------------------------------------------- */

/* Checks r is an RFC 9457 problem: status == expected, Content-Type
 * application/problem+json, "type" ends with "/problems/<slug>" (slug may be NULL),
 * title and detail non-empty strings, "status" equal, request_id equal to X-Request-Id.
 * Returns NULL when all holds, else a static message naming what failed. */
const char *problem_check(struct http_response *r, long expected, const char *slug);

/* Fails the running cmocka test, naming the line and the body, unless problem_check(r,
 * status, slug) holds. For files that include <cmocka.h>. */
#define assert_problem(r, status, slug)                                                            \
    do {                                                                                           \
        const char *why_ = problem_check((r), (status), (slug));                                   \
        if (why_) fail_msg("line %d: %s (%.300s)", __LINE__, why_, (r)->body ? (r)->body : "");    \
    } while (0)

/* ---- auth and CLI -------------------------------------------------------------------- */

/* POST /token (password grant); the access token (malloc'd) or NULL. */
char *test_login(struct sluice_proc *p, const char *user, const char *pass);

/* Runs `sluice args...` (args NULL-terminated, not including "sluice") with the base
 * environment plus extra_env, in workdir (NULL: inherit), capturing stdout+stderr into
 * *output (malloc'd, may be NULL). Returns the exit status (128+sig if killed, -1 on
 * failure to run). Times out after 120 s. */
int run_sluice_cli(const char *database_url, const char *const *args, const char *const *extra_env,
                   char **output);
int run_sluice_cli_in(const char *database_url, const char *const *args,
                      const char *const *extra_env, const char *workdir, bool base_env,
                      char **output);

/* ---- misc ------------------------------------------------------------------------ */


/* A free TCP port on 127.0.0.1 (bind 0, read, close), not handed out by another test
 * program in the last 15 minutes. */
int free_port(void);
/* Monotonic milliseconds. */
double now_ms(void);
/* Creates a temp dir (mkdtemp under $TMPDIR or /tmp); malloc'd path or NULL. */
char *make_temp_dir(const char *prefix);
/* rm -rf of a dir made by make_temp_dir. */
void remove_tree(const char *path);
/* Writes a whole file; 0 or -1. */
int write_file(const char *path, const char *data, size_t len);
/* Reads a whole file, malloc'd NUL-terminated, or NULL. */
char *read_file_all(const char *path, size_t *len);

#endif
