/* request_dispatch: the request pool's side of a request: authorization (and a stream
 * route's `prepare`) before the body, the handler, and the pipelined statement of
 * request_query_then; the request is handed back by resuming its connection. A worker
 * owns a request from dispatch_run until it resumes it. */
#include "http/server_internal.h"

#include "db/db.h"
#include "http/body_file.h"
#include "http/conn_guard.h"
#include "http/reply.h"
#include "http/request_pool.h"

/* The reply is built: hand the request back to its event thread. req may be freed by
 * that thread from here on. */
static void finish_on_worker(struct request *req) {
    db_reset_after_use(req->db);
    req->db = NULL;
    req->state = ST_REPLY_READY;
    MHD_resume_connection(req->conn);
}

/* Whether the caller may use the route (a reply is set when not). */
static bool authorized(struct http_server *s, struct request *req) {
    if (req->route->role <= ROLE_PUBLIC || req->auth.authenticated) return true;
    if (!s->opts.authorize) {
        reply_header(req, "WWW-Authenticate", "Bearer");
        reply_problem(req, PROBLEM_UNAUTHORIZED, "this route needs a bearer token");
        return false;
    }
    return s->opts.authorize(req, req->route->role);
}

/* Before the body: authorization, then a stream route's `prepare`. The connection is
 * resumed with a reply (the body is never read) or ready for its body. */
static void before_body_on_worker(struct http_server *s, struct request *req) {
    if (authorized(s, req) && is_stream(req)) {
        req->stream_writers = s->writers;
        req->route->stream->prepare(req);
        if (!req->stream && req->reply.status == 0)
            reply_problem(req, PROBLEM_INTERNAL, "the route chose no file for the body");
        if (req->stream && req->reply.status != 0) { /* refused after all */
            body_file_close(req->stream, true);
            req->stream = NULL;
        }
    }
    db_reset_after_use(req->db);
    req->db = NULL;
    req->state = req->reply.status ? ST_REPLY_READY : ST_BODY_READY;
    if (req->state == ST_BODY_READY) conn_watch_body(req->watch);
    MHD_resume_connection(req->conn);
}

void dispatch_run(struct request *req, struct db *db, void *userdata) {
    struct http_server *s = userdata;
    req->db = db;
    switch ((enum phase)req->phase) {
    case PHASE_BEFORE_BODY: before_body_on_worker(s, req); return;
    case PHASE_STREAM_DONE:
        req->stream_handled = true;
        req->route->handler(req);
        break;
    case PHASE_HANDLER:
        if (authorized(s, req)) req->route->handler(req);
        break;
    }
    if (!req->deferred) finish_on_worker(req); /* else: from on_query_result */
}

/* The pipelined statement of a request (request_query_then) is back. */
static void on_query_result(struct db *db, PGresult *res, void *arg) {
    struct request *req = arg;
    req->db = db;
    req->render(req, res, req->render_ctx);
    if (req->render_ctx_free) req->render_ctx_free(req->render_ctx);
    req->render_ctx = NULL;
    finish_on_worker(req);
}

void request_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                        const char *const *values, request_render_fn render, void *ctx,
                        void (*ctx_free)(void *ctx)) {
    req->render = render;
    req->render_ctx = ctx;
    req->render_ctx_free = ctx_free;
    if (db_send(req->db, stmt, nparams, values, on_query_result, req)) {
        req->deferred = true;
        return;
    }
    render(req, NULL, ctx);
    if (ctx_free) ctx_free(ctx);
    req->render_ctx = NULL;
}

void dispatch_flush(struct db *db, void *userdata) {
    (void)userdata;
    while (db_pending(db) > 0) db_drain(db); /* a render may have sent again */
    db_reset_after_use(db);
}

void dispatch_resume(struct request *req, void *userdata) {
    (void)userdata;
    MHD_resume_connection(req->conn);
}

void dispatch_reject_unavailable(struct request *req) {
    reply_header(req, "Retry-After", "1");
    reply_problem(req, PROBLEM_UNAVAILABLE, "the server is shutting down");
    req->state = ST_REPLY_READY;
}

/* Suspends the request and hands it to the pool for `phase`; when the queue is full it
 * answers 503 at once. Event thread, or a writer thread on a suspended request. */
void dispatch_push(struct http_server *s, struct request *req, enum phase phase, bool suspend) {
    req->phase = (int)phase;
    req->state = phase == PHASE_BEFORE_BODY ? ST_AUTHORIZING : ST_SUSPENDED;
    conn_watch_server(req->watch);
    if (suspend) MHD_suspend_connection(req->conn);
    if (!request_pool_push(s->pool, req)) {
        reply_header(req, "Retry-After", "1");
        reply_problem(req, PROBLEM_UNAVAILABLE, "too many requests are waiting (REQUEST_QUEUE)");
        req->state = ST_REPLY_READY;
        MHD_resume_connection(req->conn);
    }
}
