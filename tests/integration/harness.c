/* harness: implementation of harness.h (databases through libpq, processes through
 * fork/exec, HTTP through libcurl, raw sockets through poll). Every allocation made here
 * is released by the matching cleanup/stop function or handed to the caller as
 * documented in harness.h. */
#include "harness.h"

#include <curl/curl.h>
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

extern char **environ;

/* ---- misc ------------------------------------------------------------------------ */

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int any_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Test programs run in parallel and sluice listens with SO_REUSEPORT: two servers given
 * the same port would share it silently. A port is therefore claimed with a marker file
 * (O_EXCL) under $TMPDIR/sluice-test-ports, reusable once 15 minutes old. */
int free_port(void) {
    const char *tmp = getenv("TMPDIR");
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/sluice-test-ports", tmp && *tmp ? tmp : "/tmp");
    mkdir(dir, 0777);
    int port = -1;
    for (int attempt = 0; attempt < 50; attempt++) {
        port = any_free_port();
        if (port < 0) return -1;
        char path[2200];
        snprintf(path, sizeof path, "%s/%d", dir, port);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            return port;
        }
        struct stat st;
        if (errno == EEXIST && stat(path, &st) == 0 && time(NULL) - st.st_mtime > 900) {
            utime(path, NULL);
            return port;
        }
        if (errno != EEXIST) return port; /* no marker possible: take the port anyway */
    }
    return port;
}

char *make_temp_dir(const char *prefix) {
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             prefix ? prefix : "sluice-test");
    if (!mkdtemp(path)) return NULL;
    return strdup(path);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void remove_tree(const char *path) {
    if (path && *path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return n == len && rc == 0 ? 0 : -1;
}

char *read_file_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 4096 + 1 > cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* ---- leftovers ---------------------------------------------------------------------
 * A failed cmocka assertion jumps out of a test without its clean-up: the processes and
 * databases still registered here are killed and dropped when the program exits. */

#define MAX_LEFTOVERS 64
static pthread_mutex_t leftovers_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live_pids[MAX_LEFTOVERS];
static char live_dbs[MAX_LEFTOVERS][64];
static pthread_once_t leftovers_once = PTHREAD_ONCE_INIT;
static void drop_db_named(const char *name);

static void clean_leftovers(void) {
    for (size_t i = 0; i < MAX_LEFTOVERS; i++) {
        if (live_pids[i] > 0) {
            kill(live_pids[i], SIGKILL);
            waitpid(live_pids[i], NULL, 0);
            live_pids[i] = 0;
        }
    }
    for (size_t i = 0; i < MAX_LEFTOVERS; i++) {
        if (live_dbs[i][0]) {
            drop_db_named(live_dbs[i]);
            live_dbs[i][0] = '\0';
        }
    }
}

static void register_atexit(void) { atexit(clean_leftovers); }

static void track_pid(pid_t pid, bool add) {
    pthread_once(&leftovers_once, register_atexit);
    pthread_mutex_lock(&leftovers_lock);
    for (size_t i = 0; i < MAX_LEFTOVERS; i++) {
        if (add ? live_pids[i] == 0 : live_pids[i] == pid) {
            live_pids[i] = add ? pid : 0;
            break;
        }
    }
    pthread_mutex_unlock(&leftovers_lock);
}

static void track_db(const char *name, bool add) {
    pthread_once(&leftovers_once, register_atexit);
    pthread_mutex_lock(&leftovers_lock);
    for (size_t i = 0; i < MAX_LEFTOVERS; i++) {
        if (add ? live_dbs[i][0] == '\0' : strcmp(live_dbs[i], name) == 0) {
            if (add)
                snprintf(live_dbs[i], sizeof live_dbs[i], "%s", name);
            else
                live_dbs[i][0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&leftovers_lock);
}

/* ---- databases ------------------------------------------------------------------- */

static const char *admin_url(void) {
    const char *u = getenv("SLUICE_TEST_PG_ADMIN_URL");
    return u && *u ? u : NULL;
}

/* url with its database name replaced by name (URL form postgres[ql]://...). */
static int url_with_dbname(const char *url, const char *name, char *out, size_t outlen) {
    const char *scheme = strstr(url, "://");
    if (!scheme) return -1;
    const char *auth = scheme + 3;
    const char *slash = strchr(auth, '/');
    const char *query = strchr(auth, '?');
    if (query && slash && query < slash) slash = NULL;
    int n;
    if (!slash) {
        size_t authlen = query ? (size_t)(query - url) : strlen(url);
        n = snprintf(out, outlen, "%.*s/%s%s", (int)authlen, url, name, query ? query : "");
    } else {
        const char *rest = strchr(slash, '?');
        n = snprintf(out, outlen, "%.*s/%s%s", (int)(slash - url), url, name, rest ? rest : "");
    }
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int admin_exec(const char *sql) {
    const char *url = admin_url();
    if (!url) {
        fprintf(stderr, "harness: SLUICE_TEST_PG_ADMIN_URL is not set\n");
        return -1;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect to %s: %s", url, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc) fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

int testdb_create(struct test_db *db) {
    static unsigned counter;
    memset(db, 0, sizeof *db);
    if (!admin_url()) {
        fprintf(stderr, "harness: SLUICE_TEST_PG_ADMIN_URL is not set\n");
        return -1;
    }
    /* The name is made of our own digits only: no input reaches the SQL text. */
    snprintf(db->name, sizeof db->name, "sluice_test_%ld_%u_%ld", (long)getpid(), ++counter,
             (long)time(NULL) % 100000);
    if (url_with_dbname(admin_url(), db->name, db->url, sizeof db->url) != 0) {
        fprintf(stderr, "harness: cannot derive a URL from SLUICE_TEST_PG_ADMIN_URL\n");
        db->name[0] = '\0';
        return -1;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db->name);
    if (admin_exec(sql) != 0) {
        db->name[0] = '\0';
        return -1;
    }
    track_db(db->name, true);
    return 0;
}

static void drop_db_named(const char *name) {
    char sql[4200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    admin_exec(sql);
}

void testdb_drop(struct test_db *db) {
    if (!db || !db->name[0]) return;
    drop_db_named(db->name);
    track_db(db->name, false);
    db->name[0] = '\0';
}

char *testdb_query(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, sql);
    char *out = NULL;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK) {
        out = strdup(PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    } else if (st == PGRES_COMMAND_OK) {
        out = strdup("");
    } else {
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

/* ---- environment ------------------------------------------------------------------ */

struct env {
    char **v;
    size_t n, cap;
};

static void env_set(struct env *e, const char *kv) {
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

static void env_setf(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void env_setf(struct env *e, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    env_set(e, buf);
}

static void env_free(struct env *e) {
    for (size_t i = 0; i < e->n; i++) free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* Pass-through of the few host variables a child legitimately needs. */
static void env_inherit(struct env *e) {
    static const char *const keep[] = {
        "PATH",         "TMPDIR",          "ASAN_OPTIONS", "UBSAN_OPTIONS",
        "LSAN_OPTIONS", "LD_LIBRARY_PATH", "HOME",         NULL};
    for (size_t i = 0; keep[i]; i++) {
        const char *v = getenv(keep[i]);
        if (v) env_setf(e, "%s=%s", keep[i], v);
    }
}

static void env_base(struct env *e, const char *database_url, int port) {
    env_inherit(e);
    if (database_url) env_setf(e, "DATABASE_URL=%s", database_url);
    env_set(e, "HTTP_HOST=127.0.0.1");
    if (port > 0) env_setf(e, "HTTP_PORT=%d", port);
    env_set(e, "SECRET_KEY=" TEST_SECRET_KEY);
    env_set(e, "PII_KEY=" TEST_PII_KEY);
    env_set(e, "LOG_LEVEL=debug");
    const char *src = getenv("SLUICE_SOURCE_DIR");
    env_setf(e, "MIGRATIONS_DIR=%s/migrations", src && *src ? src : SLUICE_SOURCE_DIR);
    env_set(e, "ADMIN_USERNAME=" TEST_ADMIN_USER);
    env_set(e, "ADMIN_PASSWORD=" TEST_ADMIN_PASSWORD);
    env_set(e, "WORKER_THREADS=2");
}

static const char *sluice_bin(void) {
    const char *b = getenv("SLUICE_TEST_BIN");
#ifdef SLUICE_TEST_DEFAULT_BIN
    if (!b || !*b) b = SLUICE_TEST_DEFAULT_BIN;
#endif
    return b && *b ? b : NULL;
}

/* ---- the server process -------------------------------------------------------------- */

struct sluice_proc {
    pid_t pid;
    int port;
    int status; /* exit status once reaped */
    bool reaped;
    char log[4096];
};

pid_t sluice_pid(const struct sluice_proc *p) { return p->pid; }
int sluice_port(const struct sluice_proc *p) { return p->port; }
const char *sluice_log_path(const struct sluice_proc *p) { return p->log; }

char *sluice_log_read(const struct sluice_proc *p) { return read_file_all(p->log, NULL); }

void sluice_log_dump(const struct sluice_proc *p) {
    char *log = sluice_log_read(p);
    fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", p->log, log ? log : "(none)\n");
    free(log);
}

static int decode_status(int st) {
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
        p->status = decode_status(st);
        track_pid(p->pid, false);
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

static pid_t spawn(char *const argv[], char **envp, const char *workdir, int out_fd) {
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
    const char *bin = sluice_bin();
    if (!bin) {
        fprintf(stderr, "harness: SLUICE_TEST_BIN is not set\n");
        return NULL;
    }
    struct sluice_proc *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->port = free_port();
    log_path(p->log, sizeof p->log);
    struct env e = {0};
    env_base(&e, database_url, p->port);
    for (size_t i = 0; extra_env && extra_env[i]; i++) env_set(&e, extra_env[i]);
    /* An HTTP_PORT given in extra_env wins: read it back. */
    for (size_t i = 0; i < e.n; i++)
        if (strncmp(e.v[i], "HTTP_PORT=", 10) == 0) p->port = atoi(e.v[i] + 10);
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "harness: cannot open %s: %s\n", p->log, strerror(errno));
        env_free(&e);
        free(p);
        return NULL;
    }
    char *argv[] = {(char *)bin, "serve", NULL};
    p->pid = spawn(argv, e.v, workdir, fd);
    close(fd);
    env_free(&e);
    if (p->pid < 0) {
        free(p);
        return NULL;
    }
    track_pid(p->pid, true);
    if (!wait_ready) return p;
    double deadline = now_ms() + 20000.0;
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
    fprintf(stderr, "harness: sluice did not answer GET /healthz on port %d within 20 s\n",
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
    track_pid(p->pid, false);
    free(p);
    return rc;
}

int sluice_stop(struct sluice_proc *p, int sig) { return sluice_stop_timeout(p, sig, 30); }

/* ---- HTTP ------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

struct growbuf {
    char *data;
    size_t len, cap;
};

static int grow_append(struct growbuf *b, const char *data, size_t len) {
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    return grow_append(ud, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct growbuf *b = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) b->len = 0; /* a new (final?) block */
    return grow_append(b, ptr, n) == 0 ? n : 0;
}

const char *http_header(struct http_response *r, const char *name) {
    if (!r->headers) return NULL;
    size_t nlen = strlen(name);
    for (const char *line = r->headers; *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end) end = line + strlen(line);
        if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            snprintf(r->header_buf, sizeof r->header_buf, "%.*s", (int)(ve - v), v);
            return r->header_buf;
        }
        line = *end ? end + 2 : end;
    }
    return NULL;
}

static bool is_json_ctype(const char *ct) {
    if (!ct) return false;
    size_t n = strcspn(ct, "; ");
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

static void parse_json_body(struct http_response *r) {
    const char *ct = http_header(r, "Content-Type");
    if (is_json_ctype(ct) && r->body) r->json = json_loadb(r->body, r->len, 0, NULL);
}

static atomic_bool recording_off;

void http_recording(bool on) { atomic_store(&recording_off, !on); }

void http_record(const char *method, const char *path, long status, const char *content_type,
                 const char *body, size_t len) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const char *dir = getenv("SLUICE_TEST_RESPONSES_DIR");
    if (!dir || !*dir || atomic_load(&recording_off)) return;
    size_t plen = strcspn(path, "?");
    json_t *jbody = NULL;
    if (is_json_ctype(content_type) && body) jbody = json_loadb(body, len, 0, NULL);
    if (!jbody) jbody = body ? json_stringn_nocheck(body, len) : json_null();
    if (!jbody) jbody = json_string("(body not UTF-8)");
    json_t *line =
        json_pack("{s:s,s:s%,s:I,s:s?,s:o}", "method", method, "path", path, plen, "status",
                  (json_int_t)status, "content_type", content_type, "body", jbody);
    if (!line) return;
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text) return;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.jsonl", dir, program_invocation_short_name);
    pthread_mutex_lock(&lock);
    mkdir(dir, 0755);
    FILE *f = fopen(file, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    pthread_mutex_unlock(&lock);
    free(text);
}

int http_do_port(int port, const char *method, const char *path, const char *const *headers,
                 const char *body, size_t len, struct http_response *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    size_t ulen = strlen(path) + 64;
    char *url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(c);
        return -1;
    }
    snprintf(url, ulen, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = NULL;
    bool has_expect = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        if (strncasecmp(headers[i], "Expect:", 7) == 0) has_expect = true;
    }
    if (!has_expect) hl = curl_slist_append(hl, "Expect:");
    struct growbuf b = {0}, h = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    out->body = b.data ? b.data : strdup("");
    out->len = b.len;
    out->headers = h.data ? h.data : strdup("");
    if (rc != CURLE_OK) {
        out->status = 0;
        return -1;
    }
    parse_json_body(out);
    const char *ct = http_header(out, "Content-Type");
    char ctcopy[256];
    snprintf(ctcopy, sizeof ctcopy, "%s", ct ? ct : "");
    http_record(method, path, out->status, ct ? ctcopy : NULL, out->body, out->len);
    return 0;
}

int http_do(struct sluice_proc *p, const char *method, const char *path, const char *const *headers,
            const char *body, size_t len, struct http_response *out) {
    return http_do_port(p->port, method, path, headers, body, len, out);
}

int http_get(struct sluice_proc *p, const char *path, struct http_response *out) {
    return http_do(p, "GET", path, NULL, NULL, 0, out);
}

void http_response_cleanup(struct http_response *r) {
    if (!r) return;
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* ---- raw sockets ----------------------------------------------------------------- */

int raw_connect_port(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_connect(struct sluice_proc *p) { return raw_connect_port(p->port); }

int raw_send(int fd, const void *data, size_t len) {
    const char *d = data;
    while (len > 0) {
        ssize_t n = send(fd, d, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        d += n;
        len -= (size_t)n;
    }
    return 0;
}

int raw_send_str(int fd, const char *s) { return raw_send(fd, s, strlen(s)); }

/* Reads into b until pred says stop, EOF or the deadline. 1: EOF seen, 0: pred, -1. */
static int read_until(int fd, struct growbuf *b, double deadline, size_t want_total,
                      bool want_headers) {
    for (;;) {
        if (want_headers && b->data && strstr(b->data, "\r\n\r\n")) return 0;
        if (!want_headers && b->len >= want_total) return 0;
        int left = (int)(deadline - now_ms());
        if (left <= 0) return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -1;
        char buf[8192];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return b->len ? 1 : -1; /* ECONNRESET after a full answer */
        if (n == 0) return 1;
        if (grow_append(b, buf, (size_t)n) != 0) return -1;
    }
}

int raw_read_response(int fd, int timeout_ms, struct http_response *out) {
    memset(out, 0, sizeof *out);
    double deadline = now_ms() + timeout_ms;
    struct growbuf b = {0};
    int rc = read_until(fd, &b, deadline, 0, true);
    char *end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
    if (!end) {
        free(b.data);
        (void)rc;
        return -1;
    }
    size_t hlen = (size_t)(end - b.data) + 4;
    out->headers = strndup(b.data, hlen);
    if (sscanf(b.data, "HTTP/%*d.%*d %ld", &out->status) != 1) out->status = 0;
    const char *cl = http_header(out, "Content-Length");
    if (cl) {
        size_t want = hlen + strtoul(cl, NULL, 10);
        if (b.len < want) read_until(fd, &b, deadline, want, false);
        size_t blen = b.len > hlen ? b.len - hlen : 0;
        if (blen > want - hlen) blen = want - hlen;
        out->body = strndup(b.data + hlen, blen);
        out->len = blen;
    } else {
        if (rc != 1) read_until(fd, &b, deadline, (size_t)-1, false);
        out->body = strdup(b.data + hlen);
        out->len = b.len - hlen;
    }
    free(b.data);
    parse_json_body(out);
    return 0;
}

/* ---- problem+json checks ----------------------------------------------------------- */

const char *problem_check(struct http_response *r, long expected, const char *slug) {
    static char msg[1024];
    if (r->status != expected) {
        snprintf(msg, sizeof msg, "status %ld, expected %ld; body: %.300s", r->status, expected,
                 r->body ? r->body : "");
        return msg;
    }
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/problem+json", 24) != 0) {
        snprintf(msg, sizeof msg, "Content-Type %s, expected application/problem+json",
                 ct ? ct : "(none)");
        return msg;
    }
    if (!json_is_object(r->json)) return "the body is not a JSON object";
    const char *type = json_string_value(json_object_get(r->json, "type"));
    const char *title = json_string_value(json_object_get(r->json, "title"));
    const char *detail = json_string_value(json_object_get(r->json, "detail"));
    json_t *status = json_object_get(r->json, "status");
    if (!type || !*type) return "no \"type\"";
    if (slug) {
        char want[128];
        snprintf(want, sizeof want, "/problems/%s", slug);
        size_t tl = strlen(type), wl = strlen(want);
        if (tl < wl || strcmp(type + tl - wl, want) != 0) {
            snprintf(msg, sizeof msg, "type \"%s\", expected .../problems/%s", type, slug);
            return msg;
        }
    }
    if (!title || !*title) return "no \"title\"";
    if (!detail || !*detail) return "no \"detail\"";
    if (!json_is_integer(status) || json_integer_value(status) != expected)
        return "\"status\" member differs from the HTTP status";
    const char *rid = json_string_value(json_object_get(r->json, "request_id"));
    if (!rid || !*rid) return "no \"request_id\"";
    char hdr[256];
    const char *h = http_header(r, "X-Request-Id");
    snprintf(hdr, sizeof hdr, "%s", h ? h : "");
    if (strcmp(rid, hdr) != 0) {
        snprintf(msg, sizeof msg, "request_id \"%s\" differs from X-Request-Id \"%s\"", rid, hdr);
        return msg;
    }
    return NULL;
}

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

/* ---- auth and CLI -------------------------------------------------------------------- */

char *test_login(struct sluice_proc *p, const char *user, const char *pass) {
    pthread_once(&curl_once, curl_init_once);
    char *u = curl_easy_escape(NULL, user, 0);
    char *pw = curl_easy_escape(NULL, pass, 0);
    char body[1024];
    snprintf(body, sizeof body, "grant_type=password&username=%s&password=%s", u ? u : "",
             pw ? pw : "");
    curl_free(u);
    curl_free(pw);
    static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct http_response r;
    char *token = NULL;
    if (http_do(p, "POST", "/token", hdrs, body, strlen(body), &r) == 0 && r.status == 200) {
        const char *t = json_string_value(json_object_get(r.json, "access_token"));
        if (t) token = strdup(t);
    }
    if (!token)
        fprintf(stderr, "harness: login of %s failed: %ld %.300s\n", user, r.status,
                r.body ? r.body : "");
    http_response_cleanup(&r);
    return token;
}

int run_sluice_cli_in(const char *database_url, const char *const *args,
                      const char *const *extra_env, const char *workdir, bool base_env,
                      char **output) {
    if (output) *output = NULL;
    const char *bin = sluice_bin();
    if (!bin) {
        fprintf(stderr, "harness: SLUICE_TEST_BIN is not set\n");
        return -1;
    }
    struct env e = {0};
    if (base_env) {
        env_base(&e, database_url, 0);
    } else {
        env_inherit(&e);
        if (database_url) env_setf(&e, "DATABASE_URL=%s", database_url);
    }
    for (size_t i = 0; extra_env && extra_env[i]; i++) env_set(&e, extra_env[i]);
    size_t nargs = 0;
    while (args && args[nargs]) nargs++;
    char **argv = calloc(nargs + 2, sizeof *argv);
    argv[0] = (char *)bin;
    for (size_t i = 0; i < nargs; i++) argv[i + 1] = (char *)args[i];
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        env_free(&e);
        free(argv);
        return -1;
    }
    pid_t pid = spawn(argv, e.v, workdir, pfd[1]);
    close(pfd[1]);
    env_free(&e);
    free(argv);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    struct growbuf b = {0};
    double deadline = now_ms() + 120000.0;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        struct pollfd p = {pfd[0], POLLIN, 0};
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        char buf[4096];
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        grow_append(&b, buf, (size_t)n);
    }
    close(pfd[0]);
    int st = 0;
    if (now_ms() >= deadline) kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (output)
        *output = b.data ? b.data : strdup("");
    else
        free(b.data);
    return decode_status(st);
}

int run_sluice_cli(const char *database_url, const char *const *args, const char *const *extra_env,
                   char **output) {
    return run_sluice_cli_in(database_url, args, extra_env, NULL, true, output);
}
