/* request_body: a request's body, as libmicrohttpd hands it over: counted against the
 * route's limit (413), buffered for JSON and forms (then parsed: 400 naming where), or
 * streamed to a body_file whose writer thread suspends and resumes the connection. The
 * buffer and the file belong to the request (server.c frees them). */
#include "http/server_internal.h"

#include "core/log.h"
#include "http/body_file.h"
#include "http/conn_guard.h"
#include "http/oauth_reply.h"
#include "http/reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The config key that sets the body limit of the request's route. */
static const char *limit_key(const struct request *req) {
    return is_stream(req) ? req->route->stream->limit_key : "MAX_BODY_BYTES";
}

void body_reply_too_large(struct request *req) {
    if (req->route && (req->route->flags & ROUTE_OAUTH)) {
        reply_oauth_error(req, 413, "invalid_request",
                          "the request body is larger than %llu bytes (%s)", req->body_limit,
                          limit_key(req));
        return;
    }
    reply_problem_with(req, PROBLEM_PAYLOAD_TOO_LARGE,
                       json_pack("{s:I}", "max_bytes", (json_int_t)req->body_limit),
                       "the request body is larger than %llu bytes (%s)", req->body_limit,
                       limit_key(req));
}

/* The body passed its limit: what was kept is dropped, the rest is read and discarded so
 * that the client can read the 413 at the end. */
static void body_over_limit(struct request *req) {
    req->body_too_large = true;
    free(req->body);
    req->body = NULL;
    req->body_len = req->body_cap = 0;
    body_file_close(req->stream, true);
    req->stream = NULL;
}

static bool append_body(struct request *req, const char *data, size_t len) {
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len + 1) cap *= 2;
        char *p = realloc(req->body, cap);
        if (!p) return false;
        req->body = p;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return true;
}

static bool parse_json_body(struct request *req) {
    if (req->body_len == 0) {
        reply_problem(req, PROBLEM_INVALID_JSON,
                      "the request body is empty: a JSON document "
                      "is expected");
        return false;
    }
    json_error_t e;
    req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!req->json) {
        reply_problem_with(
            req, PROBLEM_INVALID_JSON,
            json_pack("{s:i,s:i,s:i}", "line", e.line, "column", e.column, "position", e.position),
            "malformed JSON at line %d, column %d: %s", e.line, e.column, e.text);
        return false;
    }
    return true;
}

/* ---- streamed bodies (body_file callbacks) ------------------------------------------ */

static void stream_suspend(void *arg) {
    struct request *req = arg;
    conn_watch_server(req->watch); /* the client waits for the disk: not its fault */
    MHD_suspend_connection(req->conn);
}

static void stream_wake(void *arg) {
    struct request *req = arg;
    conn_watch_body(req->watch);
    MHD_resume_connection(req->conn);
}

static void reply_stream_error(struct request *req, int err) {
    if (err == ENOSPC || err == EDQUOT) {
        reply_problem(req, PROBLEM_INSUFFICIENT_STORAGE,
                      "no room left to store the request body: %s", strerror(err));
    } else if (err == ESHUTDOWN) {
        reply_header(req, "Retry-After", "1");
        reply_problem(req, PROBLEM_UNAVAILABLE, "the server is shutting down");
    } else {
        reply_problem(req, PROBLEM_INTERNAL, "the request body could not be stored: %s",
                      strerror(err));
    }
}

/* The writer is done with the body's file: in place (hand the request to its handler)
 * or failed (answer). */
static void stream_done(void *arg, int err) {
    struct request *req = arg;
    if (err != 0) {
        log_warn("request %s: body not stored: %s", req->request_id, strerror(err));
        reply_stream_error(req, err);
        req->state = ST_REPLY_READY;
        MHD_resume_connection(req->conn);
        return;
    }
    dispatch_push(req->server, req, PHASE_STREAM_DONE, false);
}

const struct body_file_callbacks body_stream_callbacks = {
    .suspend = stream_suspend, .wake = stream_wake, .done = stream_done, .arg = NULL};

/* Body bytes arrived: counted against the limit, kept (buffer or file) unless the body
 * is already refused. Returns MHD_NO to drop the connection (out of memory). */
enum MHD_Result body_take(struct request *req, const char *data, size_t *size) {
    size_t len = *size;
    conn_watch_bytes(req->watch, len);
    if (!req->body_too_large && !req->body_error && req->body_seen + len > req->body_limit)
        body_over_limit(req);
    if (req->body_too_large || req->body_error || !wants_body(req)) { /* discarded */
        req->body_seen += len;
        *size = 0;
        return MHD_YES;
    }
    if (req->stream) {
        int err = 0;
        size_t taken = body_file_put(req->stream, data, len, &err);
        if (err) { /* the file is gone; the rest is discarded, the end answers */
            req->body_error = err;
            body_file_close(req->stream, true);
            req->stream = NULL;
            taken = len;
        }
        req->body_seen += taken;
        *size = len - taken; /* the rest comes again once the writer has resumed us */
        return MHD_YES;
    }
    req->body_seen += len;
    *size = 0;
    return append_body(req, data, len) ? MHD_YES : MHD_NO;
}

/* The body is complete: run the handler here or hand the request to the pool. */
enum MHD_Result body_complete(struct http_server *s, struct request *req) {
    conn_watch_server(req->watch);
    if (req->body_too_large) {
        body_reply_too_large(req);
        return server_send_reply(s, req);
    }
    if (req->body_error) {
        reply_stream_error(req, req->body_error);
        return server_send_reply(s, req);
    }
    if (req->stream) { /* the writer finishes the file, then stream_done */
        req->state = ST_SUSPENDED;
        body_file_finish(req->stream);
        return MHD_YES;
    }
    if ((req->route->flags & ROUTE_JSON_BODY) && !parse_json_body(req))
        return server_send_reply(s, req);
    if (req->route->flags & ROUTE_INLINE) {
        req->route->handler(req);
        return server_send_reply(s, req);
    }
    dispatch_push(s, req, PHASE_HANDLER, true);
    return MHD_YES;
}
