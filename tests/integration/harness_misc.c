/* harness_misc: the small helpers of harness.h's "misc" section (clock, free ports, temp
 * dirs, whole-file I/O), the growable buffer the other harness files read into, and the
 * leftovers registry: processes and databases still alive when the program exits (a failed
 * cmocka assertion skips its clean-up) are killed and dropped by an atexit handler.
 *
 * Memory: make_temp_dir and read_file_all return malloc'd strings the caller frees; a
 * growbuf's data is malloc'd and belongs to whoever holds the growbuf (it frees it or hands
 * it on); the registry holds copies (pids, database names) in static arrays. */
#include "harness_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

/* ---- misc ------------------------------------------------------------------------ */

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
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

long proc_rss_kib(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    char *s = read_file_all(path, NULL);
    long kib = -1;
    const char *p = s ? strstr(s, "VmRSS:") : NULL;
    if (p) kib = strtol(p + 6, NULL, 10);
    free(s);
    return kib;
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

/* ---- growable buffer ---------------------------------------------------------------- */

int harness_grow_append(struct growbuf *b, const char *data, size_t len) {
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

/* ---- leftovers ---------------------------------------------------------------------
 * A failed cmocka assertion jumps out of a test without its clean-up: the processes and
 * databases still registered here are killed and dropped when the program exits. */

#define MAX_LEFTOVERS 64
static pthread_mutex_t leftovers_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live_pids[MAX_LEFTOVERS];
static char live_dbs[MAX_LEFTOVERS][64];
static pthread_once_t leftovers_once = PTHREAD_ONCE_INIT;

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
            harness_drop_db_named(live_dbs[i]);
            live_dbs[i][0] = '\0';
        }
    }
}

static void register_atexit(void) { atexit(clean_leftovers); }

void harness_track_pid(pid_t pid, bool add) {
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

void harness_track_db(const char *name, bool add) {
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
