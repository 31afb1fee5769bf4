/* harness_proc: the `sluice serve` process (harness.h "the server process" and "a test
 * group's server"): the child environment, fork/exec, the log file, readiness through GET
 * /healthz, stop with a timeout; also used by harness_cli.c (environment, spawn, status).
 *
 * Memory: struct sluice_proc is calloc'd by sluice_start_in and freed by
 * sluice_stop_timeout (or on a failed start); its log path is stored inline. A struct env
 * owns its malloc'd "KEY=VALUE" strings and array until harness_env_free. */
#include "harness_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- environment ------------------------------------------------------------------ */

void harness_env_set(struct env *e, const char *kv) {
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, klen) == 0 && e->v[i][klen] == '=') {
            free(e->v[i]);
            if (eq) {
                e->v[i] = strdup(kv);
            } else { /* "KEY" without '=' removes it */
                e->v[i] = e->v[--e->n];
                e->v[e->n] = NULL;
            }
            return;
        }
    }
    if (!eq) return;
    if (e->n + 2 > e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = strdup(kv);
    e->v[e->n] = NULL;
}

void harness_env_setf(struct env *e, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    harness_env_set(e, buf);
}

void harness_env_free(struct env *e) {
    for (size_t i = 0; i < e->n; i++) free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* Pass-through of the few host variables a child legitimately needs. */
void harness_env_inherit(struct env *e) {
    static const char *const keep[] = {
        "PATH",         "TMPDIR",          "ASAN_OPTIONS", "UBSAN_OPTIONS",
        "LSAN_OPTIONS", "LD_LIBRARY_PATH", "HOME",         NULL};
    for (size_t i = 0; keep[i]; i++) {
        const char *v = getenv(keep[i]);
        if (v) harness_env_setf(e, "%s=%s", keep[i], v);
    }
}

void harness_env_base(struct env *e, const char *database_url, int port) {
    harness_env_inherit(e);
    if (database_url) harness_env_setf(e, "DATABASE_URL=%s", database_url);
    harness_env_set(e, "HTTP_HOST=127.0.0.1");
    if (port > 0) harness_env_setf(e, "HTTP_PORT=%d", port);
    harness_env_set(e, "SECRET_KEY=" TEST_SECRET_KEY);
    harness_env_set(e, "PII_KEY=" TEST_PII_KEY);
    harness_env_set(e, "LOG_LEVEL=debug");
    const char *src = getenv("SLUICE_SOURCE_DIR");
    harness_env_setf(e, "MIGRATIONS_DIR=%s/migrations", src && *src ? src : SLUICE_SOURCE_DIR);
    harness_env_set(e, "ADMIN_USERNAME=" TEST_ADMIN_USER);
    harness_env_set(e, "ADMIN_PASSWORD=" TEST_ADMIN_PASSWORD);
    harness_env_set(e, "JOB_QUEUES=default:2,ingest:2");
}

const char *harness_sluice_bin(void) {
    const char *b = getenv("SLUICE_TEST_BIN");
#ifdef SLUICE_TEST_DEFAULT_BIN
    if (!b || !*b) b = SLUICE_TEST_DEFAULT_BIN;
#endif
    return b && *b ? b : NULL;
}

/* ---- the server process -------------------------------------------------------------- */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

pid_t sluice_pid(const struct sluice_proc *p) { return p->pid; }
int sluice_port(const struct sluice_proc *p) { return p->port; }
const char *sluice_log_path(const struct sluice_proc *p) { return p->log; }

char *sluice_log_read(const struct sluice_proc *p) { return read_file_all(p->log, NULL); }

void sluice_log_dump(const struct sluice_proc *p) {
    char *log = sluice_log_read(p);
    fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", p->log, log ? log : "(none)\n");
    free(log);
}

int harness_decode_status(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

bool sluice_alive(struct sluice_proc *p) {
    if (p->reaped) return false;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->reaped = true;
        p->status = harness_decode_status(st);
        harness_track_pid(p->pid, false);
        return false;
    }
    return true;
}

static void log_path(char *out, size_t outlen) {
    static unsigned counter;
    const char *dir = getenv("SLUICE_TEST_LOG_DIR");
    char cwd[2048];
    if (!dir || !*dir) dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
    snprintf(out, outlen, "%s/%s-%ld-%u.log", dir, program_invocation_short_name, (long)getpid(),
             ++counter);
}

pid_t harness_spawn(char *const argv[], char **envp, const char *workdir, int out_fd) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        if (out_fd > 2) close(out_fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        if (devnull > 2) close(devnull);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (workdir && chdir(workdir) != 0) _exit(126);
    execve(argv[0], argv, envp);
    fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

struct sluice_proc *sluice_start_in(const char *database_url, const char *const *extra_env,
                                    const char *workdir, bool wait_ready) {
    const char *bin = harness_sluice_bin();
    if (!bin) {
        fprintf(stderr, "harness: SLUICE_TEST_BIN is not set\n");
        return NULL;
    }
    struct sluice_proc *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->port = free_port();
    log_path(p->log, sizeof p->log);
    struct env e = {0};
    harness_env_base(&e, database_url, p->port);
    for (size_t i = 0; extra_env && extra_env[i]; i++) harness_env_set(&e, extra_env[i]);
    /* An HTTP_PORT given in extra_env wins: read it back. */
    for (size_t i = 0; i < e.n; i++)
        if (strncmp(e.v[i], "HTTP_PORT=", 10) == 0) p->port = atoi(e.v[i] + 10);
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "harness: cannot open %s: %s\n", p->log, strerror(errno));
        harness_env_free(&e);
        free(p);
        return NULL;
    }
    char *argv[] = {(char *)bin, "serve", NULL};
    p->pid = harness_spawn(argv, e.v, workdir, fd);
    close(fd);
    harness_env_free(&e);
    if (p->pid < 0) {
        free(p);
        return NULL;
    }
    harness_track_pid(p->pid, true);
    if (!wait_ready) return p;
    double deadline = now_ms() + 60000.0; /* generous: the suite runs on loaded machines */
    while (now_ms() < deadline) {
        if (!sluice_alive(p)) {
            fprintf(stderr, "harness: sluice exited with status %d before answering\n", p->status);
            sluice_log_dump(p);
            free(p);
            return NULL;
        }
        struct http_response r;
        if (http_do_port(p->port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200) {
            http_response_cleanup(&r);
            return p;
        }
        http_response_cleanup(&r);
        sleep_ms(50);
    }
    fprintf(stderr, "harness: sluice did not answer GET /healthz on port %d within 60 s\n",
            p->port);
    sluice_log_dump(p);
    sluice_stop_timeout(p, SIGKILL, 5);
    return NULL;
}

struct sluice_proc *sluice_start(const char *database_url, const char *const *extra_env) {
    return sluice_start_in(database_url, extra_env, NULL, true);
}

int sluice_stop_timeout(struct sluice_proc *p, int sig, int timeout_s) {
    if (!p) return -1;
    if (!p->reaped && sig) kill(p->pid, sig);
    double deadline = now_ms() + timeout_s * 1000.0;
    while (sluice_alive(p) && now_ms() < deadline) sleep_ms(10);
    int rc;
    if (p->reaped) {
        rc = p->status;
    } else {
        fprintf(stderr, "harness: pid %ld still running after %d s: SIGKILL\n", (long)p->pid,
                timeout_s);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        rc = -1;
    }
    harness_track_pid(p->pid, false);
    free(p);
    return rc;
}

int sluice_stop(struct sluice_proc *p, int sig) { return sluice_stop_timeout(p, sig, 30); }

/* ---- a test group's server ------------------------------------------------------- */

int test_server_start(struct test_db *db, const char *const *extra_env, struct sluice_proc **proc) {
    *proc = NULL;
    if (testdb_create(db) != 0) return -1;
    *proc = sluice_start(db->url, extra_env);
    return *proc ? 0 : -1;
}

int test_server_stop(struct test_db *db, struct sluice_proc **proc) {
    int rc = *proc ? sluice_stop(*proc, SIGTERM) : 0;
    if (rc != 0) fprintf(stderr, "server exit status %d\n", rc);
    *proc = NULL;
    testdb_drop(db);
    return rc == 0 ? 0 : -1;
}
