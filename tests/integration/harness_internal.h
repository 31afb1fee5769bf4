/* harness_internal: what the harness_*.c files share and tests do not see (tests include
 * harness.h only): the layout of struct sluice_proc, the growable buffer, the leftovers
 * registry, the child environment and process helpers, libcurl's one-time initialisation
 * and JSON body parsing. Everything here is prefixed harness_ and defined in the file named
 * beside it.
 *
 * Memory: a struct growbuf's data is malloc'd, owned by the holder of the growbuf; a
 * struct env owns its malloc'd "KEY=VALUE" strings and NULL-terminated array until
 * harness_env_free; the other helpers allocate nothing the caller keeps. */
#ifndef SLUICE_TEST_HARNESS_INTERNAL_H
#define SLUICE_TEST_HARNESS_INTERNAL_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A started `sluice serve` (harness_proc.c). */
struct sluice_proc {
    pid_t pid;
    int port;
    int status; /* exit status once reaped */
    bool reaped;
    char log[4096];
};

/* ---- growable buffer (harness_misc.c) --------------------------------------------- */

struct growbuf {
    char *data;
    size_t len, cap;
};

/* Appends len bytes and keeps data NUL-terminated; 0, or -1 when out of memory. */
int harness_grow_append(struct growbuf *b, const char *data, size_t len);

/* ---- leftovers (harness_misc.c; databases dropped by harness_db.c) ------------------ */

/* Registers (add) or forgets a child pid / a database name to clean up at exit. */
void harness_track_pid(pid_t pid, bool add);
void harness_track_db(const char *name, bool add);
/* DROP DATABASE IF EXISTS "name" WITH (FORCE) through the admin URL (harness_db.c). */
void harness_drop_db_named(const char *name);

/* ---- child environment and processes (harness_proc.c) ------------------------------ */

struct env {
    char **v;
    size_t n, cap;
};

/* Sets "KEY=VALUE" (replacing KEY); "KEY" without '=' removes it. */
void harness_env_set(struct env *e, const char *kv);
void harness_env_setf(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void harness_env_free(struct env *e);
/* Pass-through of the few host variables a child legitimately needs. */
void harness_env_inherit(struct env *e);
/* harness_env_inherit plus the base variables of harness.h's sluice_start (HTTP_PORT only
 * when port > 0, DATABASE_URL only when non-NULL). */
void harness_env_base(struct env *e, const char *database_url, int port);
/* SLUICE_TEST_BIN, else this build's binary, else NULL. */
const char *harness_sluice_bin(void);
/* fork + execve with stdin from /dev/null and stdout+stderr to out_fd (when >= 0), in
 * workdir (when non-NULL); the child's pid, or -1. */
pid_t harness_spawn(char *const argv[], char **envp, const char *workdir, int out_fd);
/* A waitpid status as the exit status, 128+signal, or -1. */
int harness_decode_status(int st);

/* ---- HTTP (harness_http.c) ---------------------------------------------------------- */

/* curl_global_init, once per process. */
void harness_curl_init(void);
/* Parses r->body into r->json when the Content-Type is JSON. */
void harness_parse_json_body(struct http_response *r);

#endif
