/* request_pool: a bounded queue of suspended requests and the worker threads that run
 * their handlers, each thread owning one struct db (one PostgreSQL connection). A worker
 * takes the requests waiting in batches (its share of the queue, at most
 * REQUEST_POOL_BATCH), runs each, then calls `flush` once for the batch: statements the
 * handlers sent in pipeline mode (db_send) go to PostgreSQL together and come back in
 * one round trip. A batch whose requests take longer than REQUEST_POOL_SLICE_SECONDS to
 * start (a password hash, a long KPI query) puts the ones it has not started back at the
 * head of the queue, so one slow request does not hold up the others. The pool never owns a
 * request: it borrows it from the queue until `run` or `flush` hands it back. */
#ifndef SLUICE_REQUEST_POOL_H
#define SLUICE_REQUEST_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct request;
struct db;
struct request_pool;

#define REQUEST_POOL_BATCH 16
/* A batch still starting requests after this long gives the rest back to the queue. */
#define REQUEST_POOL_SLICE_SECONDS 0.002

/* Runs one request on a worker; the request is handed back to the event threads by it,
 * at once or from `flush` (when its reply waits for a pipelined statement). */
typedef void (*request_run_fn)(struct request *req, struct db *db, void *userdata);
/* After each batch: finishes what the batch left pending on db. */
typedef void (*request_flush_fn)(struct db *db, void *userdata);
/* Hands a request that never ran back to the event threads (see request_pool_free). */
typedef void (*request_done_fn)(struct request *req, void *userdata);

/* statement_timeout_ms: see db_set_statement_timeout (0: none). */
struct request_pool *request_pool_new(size_t nthreads, size_t capacity, const char *db_url,
                                      long statement_timeout_ms, request_run_fn run,
                                      request_flush_fn flush, request_done_fn done, void *userdata);

/* False when the queue is full or the pool is stopping: the caller answers 503. */
bool request_pool_push(struct request_pool *pool, struct request *req);

/* Since start, in every pool of the process: batches taken, requests taken (a request
 * given back and taken again counts twice), requests given back. */
void request_pool_counts(long *batches, long *requests, long *given_back);

/* Requests waiting or running. */
size_t request_pool_busy(struct request_pool *pool);

/* Stops the workers after their current request; requests still queued are handed to
 * `reject` then `done`. Joins the threads and frees the pool. NULL is accepted. */
void request_pool_free(struct request_pool *pool, void (*reject)(struct request *req));

#endif
