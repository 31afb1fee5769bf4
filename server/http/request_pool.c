/* request_pool: ring buffer + mutex/condvar + N threads; see request_pool.h. */
#include "http/request_pool.h"

#include "db/db.h"
#include "http/request.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Process-wide counters for /metrics (request_pool_counts). */
static atomic_long batches_total, requests_total, given_back_total;

struct worker {
    struct request_pool *pool;
    pthread_t thread;
    struct db *db;
    bool started;
};

struct request_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct request **ring;
    size_t cap, head, count, running, idle;
    bool stopping;
    struct worker *workers;
    size_t nworkers;
    request_run_fn run;
    request_flush_fn flush;
    request_done_fn done;
    void *userdata;
};

/* How many of the waiting requests a worker takes: its share, so that idle workers get
 * some too, at most REQUEST_POOL_BATCH. Called with the lock held. */
static size_t batch_size(const struct request_pool *p) {
    size_t share = (p->count + p->idle) / (p->idle + 1);
    if (share < 1) share = 1;
    if (share > REQUEST_POOL_BATCH) share = REQUEST_POOL_BATCH;
    return share < p->count ? share : p->count;
}

/* Puts back, at the head of the queue and in order, as many of the k requests as fit;
 * returns how many went back (the first ones). */
static size_t give_back(struct request_pool *p, struct request **reqs, size_t k) {
    pthread_mutex_lock(&p->mu);
    size_t fit = p->cap - p->count;
    if (fit > k) fit = k;
    p->head = (p->head + p->cap - fit) % p->cap;
    for (size_t i = 0; i < fit; i++) p->ring[(p->head + i) % p->cap] = reqs[i];
    p->count += fit;
    p->running -= fit;
    if (fit) pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&given_back_total, (long)fit);
    return fit;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct request_pool *p = w->pool;
    struct request *batch[REQUEST_POOL_BATCH];
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->count == 0 && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        size_t n = batch_size(p);
        for (size_t i = 0; i < n; i++) {
            batch[i] = p->ring[p->head];
            p->head = (p->head + 1) % p->cap;
        }
        p->count -= n;
        p->running += n;
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_add(&batches_total, 1);
        atomic_fetch_add(&requests_total, (long)n);

        /* Each request may be handed back (and freed by another thread) once run. A
         * batch that turns out slow (a hash, a long query) gives the requests it has not
         * started back to the queue, for idle workers to take. */
        double started = request_clock();
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && request_clock() - started > REQUEST_POOL_SLICE_SECONDS) {
                size_t given = give_back(p, batch + i, n - i);
                for (size_t j = i + given; j < n; j++) p->run(batch[j], w->db, p->userdata);
                n -= given; /* those are no longer running here */
                break;
            }
            p->run(batch[i], w->db, p->userdata);
        }
        p->flush(w->db, p->userdata);
        pthread_mutex_lock(&p->mu);
        p->running -= n;
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

struct request_pool *request_pool_new(size_t nthreads, size_t capacity, const char *db_url,
                                      long statement_timeout_ms, request_run_fn run,
                                      request_flush_fn flush, request_done_fn done,
                                      void *userdata) {
    struct request_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = capacity;
    p->ring = calloc(capacity, sizeof *p->ring);
    p->workers = calloc(nthreads, sizeof *p->workers);
    p->run = run;
    p->flush = flush;
    p->done = done;
    p->userdata = userdata;
    if (!p->ring || !p->workers) {
        request_pool_free(p, NULL);
        return NULL;
    }
    for (size_t i = 0; i < nthreads; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->db = db_new(db_url);
        db_set_statement_timeout(w->db, statement_timeout_ms);
        p->nworkers++;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            request_pool_free(p, NULL);
            return NULL;
        }
        w->started = true;
    }
    return p;
}

bool request_pool_push(struct request_pool *p, struct request *req) {
    pthread_mutex_lock(&p->mu);
    bool ok = !p->stopping && p->count < p->cap;
    if (ok) {
        p->ring[(p->head + p->count) % p->cap] = req;
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void request_pool_counts(long *batches, long *requests, long *given_back) {
    *batches = atomic_load(&batches_total);
    *requests = atomic_load(&requests_total);
    *given_back = atomic_load(&given_back_total);
}

size_t request_pool_busy(struct request_pool *p) {
    pthread_mutex_lock(&p->mu);
    size_t n = p->count + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void request_pool_free(struct request_pool *p, void (*reject)(struct request *req)) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->nworkers; i++)
        if (p->workers[i].started) pthread_join(p->workers[i].thread, NULL);
    /* Threads are gone: what is left in the queue is answered without a worker. */
    while (p->count > 0) {
        struct request *req = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        if (reject) reject(req);
        p->done(req, p->userdata);
    }
    for (size_t i = 0; i < p->nworkers; i++) db_free(p->workers[i].db);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->ring);
    free(p->workers);
    free(p);
}
