/* body_file: double-buffered body files and their writer threads; see body_file.h.
 * A body_file owns its two buffers, its descriptors and its hash state; the writers own
 * nothing but their queue (files linked through `next`, each queued at most once). */
#include "http/body_file.h"

#include "core/log.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct body_file_writers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct body_file *head, *tail;
    bool stopping; /* no new visits: writers leave once the queue is empty */
    bool joined;   /* the writers are gone: the last file out frees w */
    size_t files;  /* open body files, which point at w */
    pthread_t *threads;
    size_t nthreads;
};

struct body_file {
    struct body_file_writers *w;
    struct body_file_callbacks cb;
    pthread_mutex_t mu;
    int fd, dirfd;
    bool named_tmp;     /* the file has its temporary name tmp_name in dirfd */
    char tmp_name[256]; /* ".<name>.<random>.part" */
    char *name, *path;
    char *buf[2];
    size_t fill[2];
    int cur;      /* the buffer the event thread fills */
    int pending;  /* the buffer handed to the writer, or -1 */
    bool queued;  /* in the writers' queue */
    bool busy;    /* a writer is working on it outside the lock */
    bool waiting; /* the event thread waits for a free buffer */
    bool finishing, done, closed, remove_final;
    int err;
    EVP_MD_CTX *sha;
    struct body_file_result result;
    struct body_file *next;
};

/* ---- the queue -------------------------------------------------------------------- */

/* Called with f->mu held. False when the writers are stopping: nobody will visit f. */
static bool enqueue(struct body_file *f) {
    if (f->queued || f->busy) return true; /* a writer will look at it again */
    struct body_file_writers *w = f->w;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    f->queued = true;
    f->next = NULL;
    if (w->tail)
        w->tail->next = f;
    else
        w->head = f;
    w->tail = f;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

/* ---- file work (writer threads, outside the lock) ------------------------------------ */

static void remove_temporary(struct body_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->named_tmp) unlinkat(f->dirfd, f->tmp_name, 0);
    f->named_tmp = false;
}

static void free_writers(struct body_file_writers *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}

static void destroy(struct body_file *f) {
    struct body_file_writers *w = f->w;
    pthread_mutex_lock(&w->mu);
    bool last = --w->files == 0 && w->joined;
    pthread_mutex_unlock(&w->mu);
    if (last) free_writers(w);
    remove_temporary(f);
    if (f->done && f->remove_final && unlinkat(f->dirfd, f->name, 0) != 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", f->path, strerror(errno));
    if (f->dirfd >= 0) close(f->dirfd);
    EVP_MD_CTX_free(f->sha);
    free(f->buf[0]);
    free(f->buf[1]);
    free(f->name);
    free(f->path);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void random_tmp_name(struct body_file *f) {
    unsigned char raw[8];
    char hex[17];
    randombytes_buf(raw, sizeof raw);
    text_hex(raw, sizeof raw, hex);
    snprintf(f->tmp_name, sizeof f->tmp_name, ".%.200s.%s.part", f->name, hex);
}

/* fsync, name, rename, fsync of the folder; returns 0 or an errno (nothing left). */
static int put_in_place(struct body_file *f) {
    if (fsync(f->fd) != 0) return errno;
    if (!f->named_tmp) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
        random_tmp_name(f);
        if (linkat(AT_FDCWD, proc, f->dirfd, f->tmp_name, AT_SYMLINK_FOLLOW) != 0 &&
            linkat(f->fd, "", f->dirfd, f->tmp_name, AT_EMPTY_PATH) != 0)
            return errno;
        f->named_tmp = true;
    }
    if (renameat(f->dirfd, f->tmp_name, f->dirfd, f->name) != 0) return errno;
    f->named_tmp = false;
    int rc = 0;
    if (fsync(f->dirfd) != 0) rc = errno;
    if (close(f->fd) != 0 && rc == 0) rc = errno;
    f->fd = -1;
    if (rc != 0) {
        unlinkat(f->dirfd, f->name, 0);
        return rc;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(f->sha, md, &mdlen);
    text_hex(md, mdlen, f->result.sha256);
    return 0;
}

/* One visit of a writer to a queued file: writes the pending buffer, then finishes, wakes
 * the event thread or frees the file, as its state says. */
static void visit(struct body_file *f) {
    pthread_mutex_lock(&f->mu);
    f->queued = false;
    f->busy = true;
    for (;;) {
        if (f->closed) {
            pthread_mutex_unlock(&f->mu);
            destroy(f);
            return;
        }
        if (f->pending >= 0 && f->err == 0) {
            int b = f->pending;
            pthread_mutex_unlock(&f->mu);
            int rc = write_all(f->fd, f->buf[b], f->fill[b]);
            if (rc == 0) EVP_DigestUpdate(f->sha, f->buf[b], f->fill[b]);
            pthread_mutex_lock(&f->mu);
            if (rc == 0) f->result.size += f->fill[b];
            f->fill[b] = 0;
            f->pending = -1;
            if (rc != 0) {
                f->err = rc;
                remove_temporary(f);
            }
            continue;
        }
        if (f->finishing && !f->done) {
            int err = f->err;
            if (err == 0 && f->fill[f->cur] > 0) { /* the event thread is suspended */
                f->pending = f->cur;
                f->cur ^= 1;
                continue;
            }
            if (err == 0) {
                pthread_mutex_unlock(&f->mu);
                err = put_in_place(f);
                pthread_mutex_lock(&f->mu);
                if (err != 0) {
                    f->err = err;
                    remove_temporary(f);
                }
            }
            f->done = err == 0;
            f->finishing = false; /* reported once */
            f->busy = false;
            struct body_file_callbacks cb = f->cb;
            pthread_mutex_unlock(&f->mu);
            cb.done(cb.arg, err); /* f may be closed from here on */
            return;
        }
        if (f->waiting) {
            f->waiting = false;
            f->busy = false;
            struct body_file_callbacks cb = f->cb;
            pthread_mutex_unlock(&f->mu);
            cb.wake(cb.arg);
            return;
        }
        f->busy = false;
        pthread_mutex_unlock(&f->mu);
        return;
    }
}

static void *writer_main(void *arg) {
    struct body_file_writers *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        struct body_file *f = w->head;
        if (!f) { /* stopping and nothing left */
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = f->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        visit(f);
    }
}

/* ---- public ------------------------------------------------------------------------ */

struct body_file_writers *body_file_writers_start(size_t nthreads) {
    if (nthreads < 1) nthreads = 1;
    struct body_file_writers *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->threads = calloc(nthreads, sizeof *w->threads);
    if (!w->threads) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (size_t i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, writer_main, w) != 0) break;
        w->nthreads++;
    }
    if (w->nthreads == 0) {
        body_file_writers_stop(w);
        return NULL;
    }
    return w;
}

void body_file_writers_stop(struct body_file_writers *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < w->nthreads; i++) pthread_join(w->threads[i], NULL);
    /* Files still open point at w: the last one closed frees it. */
    pthread_mutex_lock(&w->mu);
    w->joined = true;
    bool unused = w->files == 0;
    pthread_mutex_unlock(&w->mu);
    if (unused) free_writers(w);
}

bool body_file_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 255 || name[0] == '.') return false;
    return strchr(name, '/') == NULL;
}

struct body_file *body_file_open(struct body_file_writers *w, const char *dir, const char *name,
                                 const struct body_file_callbacks *cb) {
    if (!body_file_name_ok(name)) {
        errno = EINVAL;
        return NULL;
    }
    struct body_file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->w = w;
    pthread_mutex_lock(&w->mu);
    w->files++;
    pthread_mutex_unlock(&w->mu);
    f->cb = *cb;
    f->fd = f->dirfd = -1;
    f->pending = -1;
    pthread_mutex_init(&f->mu, NULL);
    size_t plen = strlen(dir) + strlen(name) + 2;
    f->name = strdup(name);
    f->path = malloc(plen);
    f->buf[0] = malloc(BODY_FILE_BUFFER);
    f->buf[1] = malloc(BODY_FILE_BUFFER);
    f->sha = EVP_MD_CTX_new();
    if (!f->name || !f->path || !f->buf[0] || !f->buf[1] || !f->sha ||
        EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL) != 1) {
        destroy(f);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(f->path, plen, "%s/%s", dir, name);
    f->result.path = f->path;
    f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd >= 0) f->fd = openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
    if (f->dirfd >= 0 && f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        random_tmp_name(f); /* no O_TMPFILE here: a hidden name, removed on failure */
        f->fd = openat(f->dirfd, f->tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
        f->named_tmp = f->fd >= 0;
    }
    if (f->fd < 0) {
        int e = errno;
        destroy(f);
        errno = e;
        return NULL;
    }
    return f;
}

/* Hands the full buffer to a writer; false (f->err set) when the writers are stopping. */
static bool hand_over(struct body_file *f) {
    f->pending = f->cur;
    f->cur ^= 1;
    if (enqueue(f)) return true;
    f->err = ESHUTDOWN;
    return false;
}

size_t body_file_put(struct body_file *f, const char *data, size_t len, int *err) {
    pthread_mutex_lock(&f->mu);
    if (f->err) {
        *err = f->err;
        pthread_mutex_unlock(&f->mu);
        return 0;
    }
    size_t taken = 0;
    while (taken < len) {
        size_t space = BODY_FILE_BUFFER - f->fill[f->cur];
        if (space == 0) {
            if (f->pending >= 0) { /* both full: wait for the writer */
                f->waiting = true;
                f->cb.suspend(f->cb.arg);
                break;
            }
            if (!hand_over(f)) break;
            continue;
        }
        size_t n = len - taken < space ? len - taken : space;
        memcpy(f->buf[f->cur] + f->fill[f->cur], data + taken, n);
        f->fill[f->cur] += n;
        taken += n;
    }
    if (f->err == 0 && f->fill[f->cur] == BODY_FILE_BUFFER && f->pending < 0)
        hand_over(f); /* start writing at once */
    *err = f->err;
    pthread_mutex_unlock(&f->mu);
    return *err ? 0 : taken;
}

void body_file_finish(struct body_file *f) {
    pthread_mutex_lock(&f->mu);
    f->finishing = true;
    f->cb.suspend(f->cb.arg);
    if (!enqueue(f)) {
        f->finishing = false;
        f->err = ESHUTDOWN;
        pthread_mutex_unlock(&f->mu);
        f->cb.done(f->cb.arg, ESHUTDOWN);
        return;
    }
    pthread_mutex_unlock(&f->mu);
}

const struct body_file_result *body_file_result(const struct body_file *f) {
    return f->done ? &f->result : NULL;
}

void body_file_close(struct body_file *f, bool remove_final) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->closed = true;
    f->remove_final = remove_final;
    if (enqueue(f)) { /* a writer frees it: closing a large file may take a while */
        pthread_mutex_unlock(&f->mu);
        return;
    }
    pthread_mutex_unlock(&f->mu);
    destroy(f);
}
