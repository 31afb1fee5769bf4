/* conn_guard: a list of watches under one mutex, scanned by a sweeper thread every
 * 250 ms; see conn_guard.h. */
#include "http/conn_guard.h"

#include "core/log.h"
#include "http/request.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

enum phase { PH_HEAD, PH_BODY, PH_SERVER, PH_CUT };

struct conn_watch {
    struct conn_guard *g;
    int fd;
    int phase;         /* enum phase; under g->mu */
    double since;      /* start of the head deadline or of the body window; under g->mu */
    atomic_long bytes; /* body bytes in the current window */
    atomic_bool nul;
    struct conn_watch *prev, *next;
};

struct conn_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct conn_watch *head;
    double header_timeout;
    long body_min_rate;
    bool stopping;
    pthread_t sweeper;
};

static atomic_long head_cuts, body_cuts;

static void cut(struct conn_watch *w, atomic_long *counter) {
    shutdown(w->fd, SHUT_RDWR);
    w->phase = PH_CUT;
    atomic_fetch_add(counter, 1);
}

static void sweep(struct conn_guard *g) {
    double now = request_clock();
    double window_min = (double)g->body_min_rate * CONN_GUARD_WINDOW;
    pthread_mutex_lock(&g->mu);
    for (struct conn_watch *w = g->head; w; w = w->next) {
        if (w->phase == PH_HEAD && now - w->since > g->header_timeout) {
            cut(w, &head_cuts);
        } else if (w->phase == PH_BODY && g->body_min_rate > 0 &&
                   now - w->since >= CONN_GUARD_WINDOW) {
            if ((double)atomic_load(&w->bytes) < window_min) {
                cut(w, &body_cuts);
            } else {
                w->since = now;
                atomic_store(&w->bytes, 0);
            }
        }
    }
    pthread_mutex_unlock(&g->mu);
}

static void *sweeper_main(void *arg) {
    struct conn_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g->stopping) break;
        pthread_mutex_unlock(&g->mu);
        sweep(g);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

struct conn_guard *conn_guard_start(double header_timeout, long body_min_rate) {
    struct conn_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->header_timeout = header_timeout;
    g->body_min_rate = body_min_rate;
    if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
        free(g);
        return NULL;
    }
    return g;
}

void conn_guard_stop(struct conn_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->sweeper, NULL);
    while (g->head) { /* none should be left; free them anyway */
        struct conn_watch *w = g->head;
        g->head = w->next;
        free(w);
    }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

struct conn_watch *conn_guard_open(struct conn_guard *g, int fd) {
    struct conn_watch *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->g = g;
    w->fd = fd;
    w->phase = PH_HEAD;
    w->since = request_clock();
    pthread_mutex_lock(&g->mu);
    w->next = g->head;
    if (g->head) g->head->prev = w;
    g->head = w;
    pthread_mutex_unlock(&g->mu);
    return w;
}

void conn_guard_close(struct conn_guard *g, struct conn_watch *w) {
    if (!w) return;
    pthread_mutex_lock(&g->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next) w->next->prev = w->prev;
    pthread_mutex_unlock(&g->mu);
    free(w);
}

static void set_phase(struct conn_watch *w, enum phase p) {
    if (!w) return;
    pthread_mutex_lock(&w->g->mu);
    if (w->phase != PH_CUT) {
        w->phase = p;
        w->since = request_clock();
        atomic_store(&w->bytes, 0);
    }
    pthread_mutex_unlock(&w->g->mu);
}

void conn_watch_head(struct conn_watch *w) {
    if (w) atomic_store(&w->nul, false);
    set_phase(w, PH_HEAD);
}

void conn_watch_body(struct conn_watch *w) { set_phase(w, PH_BODY); }

void conn_watch_server(struct conn_watch *w) { set_phase(w, PH_SERVER); }

void conn_watch_bytes(struct conn_watch *w, size_t n) {
    if (w) atomic_fetch_add(&w->bytes, (long)n);
}

void conn_watch_set_nul(struct conn_watch *w) {
    if (w) atomic_store(&w->nul, true);
}

bool conn_watch_nul(const struct conn_watch *w) {
    return w && atomic_load(&((struct conn_watch *)w)->nul);
}

void conn_guard_counts(long *head_cut, long *body_cut) {
    *head_cut = atomic_load(&head_cuts);
    *body_cut = atomic_load(&body_cuts);
}
