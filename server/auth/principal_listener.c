/* principal_listener: LISTEN sluice_user_changed → principal_cache_invalidate; see
 * principal_listener.h. The thread owns its PGconn; the struct (with the copied url and
 * the wake-up pipe) is owned by whoever started it, freed by principal_listener_stop. */
#include "auth/principal_listener.h"

#include "auth/principal_cache.h"
#include "core/log.h"

#include <libpq-fe.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNEL "sluice_user_changed"
#define RETRY_MS 1000
#define CONNECT_TIMEOUT_MS 5000

struct principal_listener {
    char *url;
    int wake[2]; /* [0] polled by the thread, [1] written by stop */
    atomic_bool stopping;
    pthread_t thread;
};

/* Waits until fd is ready for events or the wake-up pipe is written (or timeout_ms);
 * 1 ready, 0 timeout, -1 stopping or error. fd < 0: only the pipe. */
static int wait_fd(struct principal_listener *l, int fd, short events, int timeout_ms) {
    struct pollfd p[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = events}};
    int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
    if (atomic_load(&l->stopping)) return -1;
    if (n < 0) return errno == EINTR ? 0 : -1;
    if (n == 0) return 0;
    return fd >= 0 && (p[1].revents & (events | POLLERR | POLLHUP)) ? 1 : 0;
}

/* Connects without blocking on libpq, so that stop stays prompt. NULL on failure. */
static PGconn *connect_async(struct principal_listener *l) {
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {l->url, "sluice-listener", NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c || PQstatus(c) == CONNECTION_BAD) goto fail;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int waited = 0;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) goto fail;
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int w = wait_fd(l, PQsocket(c), ev, 100);
        if (w < 0) goto fail;
        if (w == 0 && (waited += 100) >= CONNECT_TIMEOUT_MS) goto fail;
        if (w == 1) st = PQconnectPoll(c);
    }
    return c;
fail:
    if (c && !atomic_load(&l->stopping))
        log_event(LOG_WARN, "user change listener: cannot connect", "error", PQerrorMessage(c),
                  (char *)NULL);
    if (c) PQfinish(c);
    return NULL;
}

static bool listen_on(PGconn *c) {
    PGresult *r = PQexec(c, "LISTEN " CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        log_event(LOG_WARN, "user change listener: LISTEN failed", "error", PQerrorMessage(c),
                  (char *)NULL);
    PQclear(r);
    return ok && PQsetnonblocking(c, 1) == 0;
}

/* Reads what arrived; false when the connection broke. */
static bool drain(PGconn *c) {
    if (!PQconsumeInput(c)) return false;
    PGnotify *n;
    while ((n = PQnotifies(c))) {
        char *end = NULL;
        long long id = strtoll(n->extra, &end, 10);
        if (end != n->extra && *end == '\0' && id > 0)
            principal_cache_invalidate((int64_t)id);
        else
            principal_cache_flush(); /* not ours to parse: forget everything */
        PQfreemem(n);
    }
    return PQstatus(c) == CONNECTION_OK;
}

static void *run(void *arg) {
    struct principal_listener *l = arg;
    bool announced_loss = false;
    while (!atomic_load(&l->stopping)) {
        PGconn *c = connect_async(l);
        if (c && listen_on(c)) {
            /* From here on every change is heard; what happened before is forgotten. */
            principal_cache_suspend(false);
            principal_cache_flush();
            log_event(LOG_DEBUG, "user change listener: listening", (char *)NULL);
            announced_loss = false;
            while (wait_fd(l, PQsocket(c), POLLIN, 1000) >= 0)
                if (!drain(c)) break;
        }
        principal_cache_suspend(true);
        if (c) PQfinish(c);
        if (atomic_load(&l->stopping)) break;
        if (!announced_loss)
            log_event(LOG_WARN, "user change listener: disconnected; caching paused", (char *)NULL);
        announced_loss = true;
        (void)wait_fd(l, -1, 0, RETRY_MS);
    }
    return NULL;
}

struct principal_listener *principal_listener_start(const char *database_url) {
    struct principal_listener *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->url = strdup(database_url ? database_url : "");
    if (!l->url || pipe(l->wake) != 0) {
        free(l->url);
        free(l);
        return NULL;
    }
    fcntl(l->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(l->wake[1], F_SETFD, FD_CLOEXEC);
    atomic_init(&l->stopping, false);
    principal_cache_suspend(true); /* until LISTEN holds */
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->url);
        free(l);
        return NULL;
    }
    return l;
}

void principal_listener_stop(struct principal_listener *l) {
    if (!l) return;
    atomic_store(&l->stopping, true);
    ssize_t w = write(l->wake[1], "x", 1);
    (void)w;
    pthread_join(l->thread, NULL);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->url);
    free(l);
}
