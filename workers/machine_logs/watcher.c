/* watcher: inotify on LOG_ROOT → one deduplicated machine_logs.ingest per centre (see
 * watcher.h). One thread: poll on the inotify descriptor and a stop pipe; each batch of
 * events is reduced to the set of folders that got a LOG file, then one enqueue per
 * folder's centre. The files it did not see arrive (there at start, or in a folder moved
 * in whole) are queued too: one enqueue per folder at start and per folder added. */
#include "machine_logs/watcher.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "machine_logs/ingest_queue.h"
#include "machine_logs/logparse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FOLDERS 1024

struct log_watcher {
    const struct config *c;
    int fd, stop[2];
    int root_wd;
    struct {
        int wd;
        char name[256];
    } folders[MAX_FOLDERS];
    size_t nfolders;
    struct db *db;
    pthread_t thread;
};

static struct db_stmt q_centre_of =
    DB_STMT("SELECT code FROM centre_usinage WHERE log_folder = $1 AND actif");

/* Watches a folder of LOG_ROOT. True when it was added (not watched before). */
static bool watch_folder(struct log_watcher *w, const char *name) {
    if (name[0] == '.' || w->nfolders == MAX_FOLDERS) return false;
    for (size_t i = 0; i < w->nfolders; i++)
        if (strcmp(w->folders[i].name, name) == 0) return false;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", w->c->log_root, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    int wd = inotify_add_watch(w->fd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd < 0) {
        log_warn("LOG_WATCH: cannot watch %s: %s", path, strerror(errno));
        return false;
    }
    w->folders[w->nfolders].wd = wd;
    snprintf(w->folders[w->nfolders].name, sizeof w->folders[0].name, "%s", name);
    w->nfolders++;
    return true;
}

/* Queues the ingest of the centre whose folder is `folder` (nothing for other folders). */
static void enqueue_for(struct log_watcher *w, const char *folder) {
    const char *v[] = {folder};
    PGresult *r = db_exec(w->db, &q_centre_of, 1, v);
    if (!r) {
        log_warn("LOG_WATCH: %s: %s", folder, db_last_error(w->db));
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return; /* a folder of no (active) centre: the ingest job reports those */
    }
    char code[64];
    snprintf(code, sizeof code, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    struct ml_enqueue how = {.code = code,
                             .delay_seconds = w->c->log_watch_delay_seconds,
                             .origin = "schedule",
                             .schedule = "LOG_WATCH"};
    int64_t id = 0;
    bool existing = false;
    if (ml_enqueue_ingest(w->db, &how, &id, &existing) == 0) {
        if (!existing) log_info("LOG_WATCH: %s: ingest queued as job %lld", code, (long long)id);
    } else {
        log_warn("LOG_WATCH: %s: cannot queue the ingest: %s", code, db_last_error(w->db));
    }
}

static void *watch_thread(void *arg) {
    struct log_watcher *w = arg;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    /* files already there when watching began: no event will tell of them (the ingest
     * reads only what is new, so a run for nothing costs little) */
    for (size_t i = 0; i < w->nfolders; i++) enqueue_for(w, w->folders[i].name);
    db_reset_after_use(w->db);
    for (;;) {
        struct pollfd p[2] = {{w->fd, POLLIN, 0}, {w->stop[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        bool hit[MAX_FOLDERS] = {false};
        ssize_t n;
        while ((n = read(w->fd, buf, sizeof buf)) > 0) {
            for (char *q = buf; q < buf + n;) {
                const struct inotify_event *e = (const struct inotify_event *)q;
                q += sizeof *e + e->len;
                if (e->len == 0) continue;
                if (e->wd == w->root_wd) {
                    /* a folder created or moved in: its files (moved in with it, or written
                     * before the watch) are queued too */
                    if ((e->mask & IN_ISDIR) && watch_folder(w, e->name))
                        hit[w->nfolders - 1] = true;
                    continue;
                }
                if (!logparse_wanted_name(e->name)) continue;
                for (size_t i = 0; i < w->nfolders; i++)
                    if (w->folders[i].wd == e->wd) hit[i] = true;
            }
        }
        for (size_t i = 0; i < w->nfolders; i++)
            if (hit[i]) enqueue_for(w, w->folders[i].name);
        db_reset_after_use(w->db);
    }
    return NULL;
}

struct log_watcher *log_watcher_start(const struct config *c, char *err, size_t errlen) {
    struct log_watcher *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->c = c;
    w->stop[0] = w->stop[1] = -1;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0 || pipe2(w->stop, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "LOG_WATCH: inotify: %s", strerror(errno));
        goto fail;
    }
    w->root_wd = inotify_add_watch(w->fd, c->log_root, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (w->root_wd < 0) {
        snprintf(err, errlen, "LOG_WATCH: cannot watch LOG_ROOT \"%.200s\": %s", c->log_root,
                 strerror(errno));
        goto fail;
    }
    DIR *d = opendir(c->log_root);
    struct dirent *e;
    while (d && (e = readdir(d))) watch_folder(w, e->d_name);
    if (d) closedir(d);
    w->db = db_new(c->database_url);
    if (!w->db || pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
        snprintf(err, errlen, "LOG_WATCH: cannot start its thread");
        goto fail;
    }
    return w;
fail:
    if (w->fd >= 0) close(w->fd);
    if (w->stop[0] >= 0) close(w->stop[0]), close(w->stop[1]);
    db_free(w->db);
    free(w);
    return NULL;
}

void log_watcher_stop(struct log_watcher *w) {
    if (!w) return;
    if (write(w->stop[1], "x", 1) < 0) log_warn("LOG_WATCH: stop: %s", strerror(errno));
    pthread_join(w->thread, NULL);
    close(w->fd);
    close(w->stop[0]);
    close(w->stop[1]);
    db_free(w->db);
    free(w);
}
