/* db_listen: the LISTEN loop; see db_listen.h. The thread owns the struct db (and its
 * PGconn); the subscriptions are guarded by mu, which is also held while a callback
 * runs, so that unsubscribing waits for a callback in progress. */
#include "db/db_listen.h"

#include "db/db_internal.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNEL_MAX 63
#define IDLE_POLL_MS 1000 /* wake-up of an idle loop (nothing arrives: nothing to do) */
#define RETRY_POLL_MS 250 /* while the server is down: asks the backoff gate again */

struct sub {
    bool used;
    bool listening; /* LISTEN holds on the current connection */
    unsigned serial;
    char channel[CHANNEL_MAX + 1];
    db_notify_fn on_notify;
    db_listen_state_fn on_state;
    void *arg;
};

struct db_listen {
    struct db *db; /* the thread's */
    pthread_mutex_t mu;
    struct sub subs[DB_LISTEN_MAX];
    unsigned next_serial;
    int wake[2]; /* [0] polled by the thread, [1] written to wake it */
    atomic_bool stopping;
    pthread_t thread;
    bool started;
};

static void wake(struct db_listen *l) {
    ssize_t w = write(l->wake[1], "x", 1);
    (void)w; /* a full pipe already wakes the thread */
}

/* Waits until fd is readable or the pipe is written (or timeout_ms): 1 readable, 0
 * otherwise, -1 when stopping. fd < 0: the pipe only. */
static int wait_for(struct db_listen *l, int fd, int timeout_ms) {
    struct pollfd p[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
    if (atomic_load(&l->stopping)) return -1;
    if (n > 0 && (p[0].revents & POLLIN)) {
        char buf[64];
        while (read(l->wake[0], buf, sizeof buf) > 0) {
        }
    }
    if (n <= 0) return 0;
    return fd >= 0 && (p[1].revents & (POLLIN | POLLERR | POLLHUP)) ? 1 : 0;
}

static bool any_subscription(struct db_listen *l) {
    pthread_mutex_lock(&l->mu);
    bool any = false;
    for (int i = 0; i < DB_LISTEN_MAX; i++) any = any || l->subs[i].used;
    pthread_mutex_unlock(&l->mu);
    return any;
}

/* The connection is gone: every subscription hears state(false). */
static void lost(struct db_listen *l) {
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < DB_LISTEN_MAX; i++) {
        struct sub *s = &l->subs[i];
        if (!s->used || !s->listening) continue;
        s->listening = false;
        if (s->on_state) s->on_state(false, s->arg);
    }
    pthread_mutex_unlock(&l->mu);
}

/* LISTENs on the channels of subscriptions not yet listening on c, then tells each
 * state(true). False when a LISTEN failed (the connection is then dropped). */
static bool listen_new_channels(struct db_listen *l, PGconn *c) {
    struct {
        int id;
        unsigned serial;
        char channel[CHANNEL_MAX + 1];
    } todo[DB_LISTEN_MAX];
    int n = 0;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < DB_LISTEN_MAX; i++) {
        struct sub *s = &l->subs[i];
        if (!s->used || s->listening) continue;
        todo[n].id = i;
        todo[n].serial = s->serial;
        memcpy(todo[n].channel, s->channel, sizeof s->channel);
        n++;
    }
    pthread_mutex_unlock(&l->mu);
    for (int k = 0; k < n; k++) {
        /* LISTEN takes no parameter: the name (checked to be [a-z0-9_] when subscribing)
         * is quoted as an identifier. */
        char *ident = PQescapeIdentifier(c, todo[k].channel, strlen(todo[k].channel));
        if (!ident) return false;
        char sql[CHANNEL_MAX * 2 + 16];
        snprintf(sql, sizeof sql, "LISTEN %s", ident);
        PQfreemem(ident);
        PGresult *r = db_exec_sql(l->db, sql, 0, NULL);
        if (!r) {
            log_event(LOG_WARN, "LISTEN failed", "channel", todo[k].channel, "error",
                      db_last_error(l->db), (char *)NULL);
            return false;
        }
        PQclear(r);
    }
    pthread_mutex_lock(&l->mu);
    for (int k = 0; k < n; k++) {
        struct sub *s = &l->subs[todo[k].id];
        if (!s->used || s->serial != todo[k].serial) continue; /* gone meanwhile */
        s->listening = true;
        if (s->on_state) s->on_state(true, s->arg);
    }
    pthread_mutex_unlock(&l->mu);
    return true;
}

/* Hands every notification libpq has read to the subscriptions of its channel. */
static void dispatch(struct db_listen *l, PGconn *c) {
    PGnotify *note;
    while ((note = PQnotifies(c)) != NULL) {
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < DB_LISTEN_MAX; i++) {
            struct sub *s = &l->subs[i];
            if (s->used && s->listening && strcmp(s->channel, note->relname) == 0)
                s->on_notify(note->relname, note->extra ? note->extra : "", s->arg);
        }
        pthread_mutex_unlock(&l->mu);
        PQfreemem(note);
    }
}

static void *run(void *arg) {
    struct db_listen *l = arg;
    bool connected = false; /* LISTENs were issued on the connection of generation gen */
    unsigned long gen = 0;
    while (!atomic_load(&l->stopping)) {
        if (!connected && !any_subscription(l)) {
            if (wait_for(l, -1, IDLE_POLL_MS) < 0) break;
            continue;
        }
        /* Through the backoff gate: NULL at once while the server is known down. */
        PGconn *c = db_conn(l->db);
        if (connected && (!c || l->db->generation != gen)) {
            connected = false;
            lost(l);
        }
        if (!c) {
            if (wait_for(l, -1, RETRY_POLL_MS) < 0) break;
            continue;
        }
        if (!connected) {
            connected = true;
            gen = l->db->generation;
        }
        if (!listen_new_channels(l, c)) {
            db_disconnect(l->db);
            connected = false;
            lost(l);
            if (wait_for(l, -1, RETRY_POLL_MS) < 0) break;
            continue;
        }
        dispatch(l, c); /* what arrived while LISTEN ran */
        int w = wait_for(l, PQsocket(c), IDLE_POLL_MS);
        if (w < 0) break;
        if (w == 1) {
            if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
                log_event(LOG_WARN, "LISTEN connection lost", "error", PQerrorMessage(c),
                          (char *)NULL);
                db_disconnect(l->db); /* db_conn reopens it, through the gate */
                connected = false;
                lost(l);
                continue;
            }
            dispatch(l, c);
        }
    }
    return NULL;
}

struct db_listen *db_listen_new(const char *url) {
    struct db_listen *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    if (pipe(l->wake) != 0) {
        free(l);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(l->wake[i], F_SETFD, FD_CLOEXEC);
        fcntl(l->wake[i], F_SETFL, fcntl(l->wake[i], F_GETFL) | O_NONBLOCK);
    }
    pthread_mutex_init(&l->mu, NULL);
    atomic_init(&l->stopping, false);
    l->db = db_new(url);
    return l;
}

int db_listen_start(struct db_listen *l) {
    if (!l || l->started) return -1;
    if (pthread_create(&l->thread, NULL, run, l) != 0) return -1;
    l->started = true;
    return 0;
}

static bool channel_valid(const char *channel) {
    size_t n = channel ? strlen(channel) : 0;
    if (n == 0 || n > CHANNEL_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((channel[i] >= 'a' && channel[i] <= 'z') ||
              (channel[i] >= '0' && channel[i] <= '9') || channel[i] == '_'))
            return false;
    return true;
}

int db_listen_subscribe(struct db_listen *l, const char *channel, db_notify_fn on_notify,
                        db_listen_state_fn on_state, void *arg) {
    if (!l || !on_notify || !channel_valid(channel)) return -1;
    int id = -1;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < DB_LISTEN_MAX && id < 0; i++) {
        if (l->subs[i].used) continue;
        struct sub *s = &l->subs[i];
        *s = (struct sub){.used = true,
                          .serial = ++l->next_serial,
                          .on_notify = on_notify,
                          .on_state = on_state,
                          .arg = arg};
        snprintf(s->channel, sizeof s->channel, "%s", channel);
        id = i;
    }
    pthread_mutex_unlock(&l->mu);
    if (id >= 0) wake(l); /* LISTEN now */
    return id;
}

void db_listen_unsubscribe(struct db_listen *l, int id) {
    if (!l || id < 0 || id >= DB_LISTEN_MAX) return;
    pthread_mutex_lock(&l->mu);
    l->subs[id].used = false;
    l->subs[id].listening = false;
    pthread_mutex_unlock(&l->mu);
}

void db_listen_free(struct db_listen *l) {
    if (!l) return;
    if (l->started) {
        atomic_store(&l->stopping, true);
        wake(l);
        pthread_join(l->thread, NULL);
    }
    db_free(l->db);
    close(l->wake[0]);
    close(l->wake[1]);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
