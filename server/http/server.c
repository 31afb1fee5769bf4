/* server: libmicrohttpd lifecycle and the access handler's state machine:
 *   NEW → (route, headers checked: 404/405/415/413 by Content-Length)
 *     → [a protected route with a body, or a stream route: AUTHORIZING, suspended in the
 *        request pool: authorize, then `prepare` for a stream; a refusal is sent without
 *        reading the body → BODY_READY on resume]
 *     → READING (body counted against its limit; buffered, or streamed to a body_file
 *        whose writer suspends/resumes the connection)
 *     → inline handler, or SUSPENDED in the request pool (for a stream: once the writer
 *       has put the file in place) → REPLY_READY → SENT.
 * Each struct request is allocated on the first callback and freed in on_completed. */
#include "http/server.h"

#include "core/config.h"
#include "core/log.h"
#include "core/text.h"
#include "db/db.h"
#include "http/body_file.h"
#include "http/conn_guard.h"
#include "http/head_check.h"
#include "http/metrics.h"
#include "http/oauth_reply.h"
#include "http/reply.h"
#include "http/request_pool.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum state {
    ST_NEW,
    ST_AUTHORIZING, /* suspended: authorization (and prepare) before the body */
    ST_BODY_READY,  /* authorized: the next call (without data) starts the body */
    ST_READING,
    ST_SUSPENDED, /* in the request pool, or the writer is finishing the body's file */
    ST_REPLY_READY,
    ST_SENT
};

/* What a request worker does with a request. */
enum phase { PHASE_HANDLER, PHASE_BEFORE_BODY, PHASE_STREAM_DONE };

struct http_server {
    struct http_server_options opts;
    struct MHD_Daemon *daemon;
    struct request_pool *pool;
    struct body_file_writers *writers;
    struct conn_guard *guard;
    unsigned long long *stream_limits; /* per route; 0 for non-stream routes */
    atomic_size_t in_flight;
    size_t max_uri_bytes;
};

size_t http_server_in_flight(const struct http_server *s) {
    return atomic_load(&((struct http_server *)s)->in_flight);
}

/* ---- request set-up (event thread) ---------------------------------------------- */

static char *dup_header(struct MHD_Connection *c, const char *name) {
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? strdup(v) : NULL;
}

static bool valid_request_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':';
        if (!ok) return false;
    }
    return true;
}

static void set_request_id(struct request *req) {
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && valid_request_id(given)) {
        snprintf(req->request_id, sizeof req->request_id, "%s", given);
        return;
    }
    unsigned char raw[12];
    randombytes_buf(raw, sizeof raw);
    text_hex(raw, sizeof raw, req->request_id);
}

static void set_client_addr(struct request *req) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->client_addr, sizeof req->client_addr, "unknown");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->client_addr, sizeof req->client_addr);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->client_addr, sizeof req->client_addr);
}

struct collect_ctx {
    struct request *req;
    size_t bytes;
    size_t cap;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    struct collect_ctx *cc = cls;
    struct request *req = cc->req;
    cc->bytes += strlen(key) + (value ? strlen(value) : 0) + 2;
    if (req->nquery == cc->cap) {
        size_t cap = cc->cap ? cc->cap * 2 : 8;
        struct kv *p = realloc(req->query, cap * sizeof *p);
        if (!p) return MHD_NO;
        req->query = p;
        cc->cap = cap;
    }
    req->query[req->nquery].key = strdup(key);
    req->query[req->nquery].value = strdup(value ? value : "");
    req->nquery++;
    return MHD_YES;
}

static enum MHD_Result count_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static void request_free(struct request *req) {
    if (!req) return;
    free(req->path);
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    for (size_t i = 0; i < req->nquery; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    free(req->query);
    free(req->authorization);
    free(req->content_type);
    free(req->origin);
    free(req->body);
    json_decref(req->json);
    /* The file stays only when the route's handler took it (answered 2xx). */
    bool keep = req->stream_handled && req->reply.status >= 200 && req->reply.status < 300;
    body_file_close(req->stream, !keep);
    if (req->ctx_free && req->ctx) req->ctx_free(req->ctx);
    reply_cleanup(&req->reply);
    free(req);
}

/* ---- CORS ---------------------------------------------------------------------- */

static bool origin_allowed(const struct http_server *s, const char *origin) {
    const char *list = s->opts.cors_origins;
    if (!origin || !list || !*list) return false;
    if (strcmp(list, "*") == 0) return true;
    size_t olen = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *trim = end;
        while (trim > p && trim[-1] == ' ') trim--;
        if ((size_t)(trim - p) == olen && strncmp(p, origin, olen) == 0) return true;
        p = end;
    }
    return false;
}

/* ---- sending ------------------------------------------------------------------- */

static enum MHD_Result send_reply(struct http_server *s, struct request *req) {
    struct reply *r = &req->reply;
    if (r->status == 0) reply_problem(req, PROBLEM_INTERNAL, "no reply was produced");
    struct MHD_Response *resp;
    if (r->body_static) {
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (resp) r->body = NULL; /* the response owns it now */
    }
    if (!resp) return MHD_NO;
    if (r->content_type) MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    if (origin_allowed(s, req->origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                                strcmp(s->opts.cors_origins, "*") == 0 ? "*" : req->origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-Id, Location, Link, Retry-After, WWW-Authenticate");
    }
    req->state = ST_SENT;
    conn_watch_server(req->watch); /* a slow reader: HTTP_CONNECTION_TIMEOUT */
    enum MHD_Result ok = MHD_queue_response(req->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- body checks ----------------------------------------------------------------- */

/* Compares the media type of a Content-Type value (parameters ignored). */
static bool media_type_is(const char *ct, const char *type) {
    if (!ct) return false;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return n == strlen(type) && strncasecmp(ct, type, n) == 0;
}

static bool is_json_type(const char *ct) {
    if (!ct) return false;
    if (media_type_is(ct, "application/json")) return true;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/", 12) == 0;
}

/* 415 when the route expects a body type the request does not declare. */
static bool check_content_type(struct request *req) {
    unsigned f = req->route->flags;
    if (!(f & ROUTE_BODY_KINDS)) return true;
    if (f & ROUTE_JSON_BODY && !is_json_type(req->content_type)) {
        reply_problem_with(
            req, PROBLEM_UNSUPPORTED_MEDIA_TYPE, json_pack("{s:s}", "expected", "application/json"),
            "Content-Type %s%s%s is not accepted here: send application/json",
            req->content_type ? "\"" : "", req->content_type ? req->content_type : "(none)",
            req->content_type ? "\"" : "");
        return false;
    }
    if (f & ROUTE_FORM_BODY &&
        !media_type_is(req->content_type, "application/x-www-form-urlencoded")) {
        reply_problem_with(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                           json_pack("{s:s}", "expected", "application/x-www-form-urlencoded"),
                           "Content-Type %s is not accepted here: send "
                           "application/x-www-form-urlencoded",
                           req->content_type ? req->content_type : "(none)");
        return false;
    }
    return true;
}

static bool wants_body(const struct request *req) {
    return req->route && (req->route->flags & ROUTE_BODY_KINDS);
}

static bool is_stream(const struct request *req) {
    return req->route && (req->route->flags & ROUTE_STREAM_BODY);
}

/* The config key that sets the body limit of the request's route. */
static const char *limit_key(const struct request *req) {
    return is_stream(req) ? req->route->stream->limit_key : "MAX_BODY_BYTES";
}

static void reply_too_large(struct request *req) {
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

/* ---- handlers ---------------------------------------------------------------- */

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

static void run_on_worker(struct request *req, struct db *db, void *userdata) {
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

static void flush_on_worker(struct db *db, void *userdata) {
    (void)userdata;
    while (db_pending(db) > 0) db_drain(db); /* a render may have sent again */
    db_reset_after_use(db);
}

static void resume_request(struct request *req, void *userdata) {
    (void)userdata;
    MHD_resume_connection(req->conn);
}

static void reject_unavailable(struct request *req) {
    reply_header(req, "Retry-After", "1");
    reply_problem(req, PROBLEM_UNAVAILABLE, "the server is shutting down");
    req->state = ST_REPLY_READY;
}

/* Suspends the request and hands it to the pool for `phase`; when the queue is full it
 * answers 503 at once. Event thread, or a writer thread on a suspended request. */
static void push_to_pool(struct http_server *s, struct request *req, enum phase phase,
                         bool suspend) {
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
    push_to_pool(req->server, req, PHASE_STREAM_DONE, false);
}

static const struct body_file_callbacks stream_callbacks = {
    .suspend = stream_suspend, .wake = stream_wake, .done = stream_done, .arg = NULL};

/* Body bytes arrived: counted against the limit, kept (buffer or file) unless the body
 * is already refused. Returns MHD_NO to drop the connection (out of memory). */
static enum MHD_Result take_body(struct request *req, const char *data, size_t *size) {
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
static enum MHD_Result body_complete(struct http_server *s, struct request *req) {
    conn_watch_server(req->watch);
    if (req->body_too_large) {
        reply_too_large(req);
        return send_reply(s, req);
    }
    if (req->body_error) {
        reply_stream_error(req, req->body_error);
        return send_reply(s, req);
    }
    if (req->stream) { /* the writer finishes the file, then stream_done */
        req->state = ST_SUSPENDED;
        body_file_finish(req->stream);
        return MHD_YES;
    }
    if ((req->route->flags & ROUTE_JSON_BODY) && !parse_json_body(req)) return send_reply(s, req);
    if (req->route->flags & ROUTE_INLINE) {
        req->route->handler(req);
        return send_reply(s, req);
    }
    push_to_pool(s, req, PHASE_HANDLER, true);
    return MHD_YES;
}

static void answer_options(struct http_server *s, struct request *req) {
    char allow[128];
    router_allow(s->opts.routes, s->opts.nroutes, req->path, allow, sizeof allow);
    if (!allow[0]) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no resource at %.200s", req->path);
        return;
    }
    reply_bytes(req, 204, NULL, "", 0, true);
    reply_header(req, "Allow", allow);
    if (origin_allowed(s, req->origin)) {
        reply_header(req, "Access-Control-Allow-Methods", allow);
        reply_header(req, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, X-Request-Id");
        reply_header(req, "Access-Control-Max-Age", "600");
    }
}

/* ---- NUL bytes and repeated headers ----------------------------------------------- */

struct field_list {
    struct head_field f[64];
    size_t n;
    size_t authorization; /* how many Authorization headers */
    bool overflow;
};

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    (void)key_size;
    struct field_list *l = cls;
    if (strcasecmp(key, "Authorization") == 0) l->authorization++;
    if (l->n == sizeof l->f / sizeof l->f[0]) {
        l->overflow = true;
        return MHD_YES;
    }
    l->f[l->n++] = (struct head_field){key, value ? value : "", value ? value_size : 0};
    return MHD_YES;
}

/* 400 for a NUL byte in the path or the query (%00: seen while decoding them), or hidden
 * in a header value, and for a repeated Authorization header. Returns true when a reply
 * is ready. head: the request line as libmicrohttpd handed it (the start of the head). */
static bool refuse_bad_head(struct request *req, const char *head) {
    if (conn_watch_nul(req->watch)) {
        reply_problem(req, PROBLEM_BAD_REQUEST,
                      "the path or the query holds a NUL byte (%%00): refused");
        return true;
    }
    struct field_list l = {.n = 0};
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, collect_field, &l);
    if (l.authorization > 1) {
        reply_problem(req, PROBLEM_BAD_REQUEST,
                      "%zu Authorization headers: send one Authorization header", l.authorization);
        return true;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t which = 0;
    if (ci && head && head_hidden_nul(head, ci->header_size, l.f, l.n, &which)) {
        reply_problem_with(req, PROBLEM_BAD_REQUEST, json_pack("{s:s}", "field", l.f[which].name),
                           "the value of the %.100s header holds a NUL byte: refused",
                           l.f[which].name);
        return true;
    }
    return false;
}

/* Decodes %XX in place as libmicrohttpd does, noting a decoded NUL for refuse_bad_head
 * (the caller only sees C strings, cut at the NUL). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    char *w = s;
    bool nul = false;
    for (const char *r = s; *r;) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], '\0'};
            char v = (char)strtol(hex, NULL, 16);
            nul = nul || v == '\0';
            *w++ = v;
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    if (nul) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci) conn_watch_set_nul(ci->socket_context);
    }
    return (size_t)(w - s);
}

/* Connections come and go: each gets its slow-client watch (http/conn_guard.h). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    struct http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? conn_guard_open(s->guard, ci->connect_fd) : NULL;
    } else {
        conn_guard_close(s->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* First callback: everything that can be decided from the request line and headers.
 * Returns true when a reply is ready. */
static bool on_headers(struct http_server *s, struct request *req, const char *url,
                       const char *head) {
    if (refuse_bad_head(req, head)) return true;
    struct collect_ctx cc = {req, 0, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, &cc);
    size_t header_bytes = 0;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_headers, &header_bytes);
    if (strlen(url) + cc.bytes > s->max_uri_bytes) {
        reply_problem(req, PROBLEM_URI_TOO_LONG, "the request URI is longer than %zu bytes",
                      s->max_uri_bytes);
        return true;
    }
    if (header_bytes > (size_t)s->opts.max_header_bytes) {
        reply_problem(req, PROBLEM_HEADERS_TOO_LARGE,
                      "the request headers take more than %ld bytes (MAX_HEADER_BYTES)",
                      s->opts.max_header_bytes);
        return true;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        answer_options(s, req);
        return true;
    }
    struct route_match m;
    switch (router_match(s->opts.routes, s->opts.nroutes, req->method, url, &m)) {
    case ROUTER_NOT_FOUND:
        reply_problem(req, PROBLEM_NOT_FOUND, "no resource at %.200s", url);
        return true;
    case ROUTER_METHOD_NOT_ALLOWED: {
        char allow[128];
        router_allow(s->opts.routes, s->opts.nroutes, url, allow, sizeof allow);
        reply_header(req, "Allow", allow);
        reply_problem(req, PROBLEM_METHOD_NOT_ALLOWED, "%s is not allowed on %s (allowed: %s)",
                      req->method, url, allow);
        return true;
    }
    case ROUTER_FOUND: break;
    }
    req->route = m.route;
    req->nparams = m.nparams;
    for (size_t i = 0; i < m.nparams; i++) {
        req->params[i].key = strndup(m.params[i].name, m.params[i].name_len);
        req->params[i].value = strndup(m.params[i].value, m.params[i].value_len);
    }
    req->body_limit = is_stream(req) ? s->stream_limits[req->route - s->opts.routes]
                                     : (unsigned long long)s->opts.max_body_bytes;
    if (!check_content_type(req)) return true;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > req->body_limit) {
        reply_too_large(req);
        return true;
    }
    return false;
}

/* Whether the request is authorized (and prepared) before its body is read. */
static bool authorize_before_body(const struct request *req) {
    return is_stream(req) || (wants_body(req) && req->route->role > ROLE_PUBLIC);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    struct http_server *s = cls;
    struct request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req) return MHD_NO;
        *con_cls = req;
        atomic_fetch_add(&s->in_flight, 1);
        req->conn = conn;
        req->server = s;
        req->stream_callbacks = &stream_callbacks;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        req->watch = ci ? ci->socket_context : NULL;
        conn_watch_body(req->watch); /* the head is in */
        req->started = request_clock();
        req->body_limit = (unsigned long long)s->opts.max_body_bytes;
        snprintf(req->method, sizeof req->method, "%s", method);
        req->path = strdup(url);
        req->authorization = dup_header(conn, "Authorization");
        req->content_type = dup_header(conn, "Content-Type");
        req->origin = dup_header(conn, "Origin");
        set_request_id(req);
        set_client_addr(req);
        if (on_headers(s, req, url, method)) return send_reply(s, req);
        if (authorize_before_body(req)) { /* no body byte is read before the answer */
            push_to_pool(s, req, PHASE_BEFORE_BODY, true);
            return MHD_YES;
        }
        req->state = ST_READING;
        return MHD_YES;
    }
    switch (req->state) {
    case ST_BODY_READY: /* resumed after authorization: libmicrohttpd asks again */
        req->state = ST_READING;
        if (*upload_data_size > 0) return take_body(req, upload_data, upload_data_size);
        return MHD_YES;
    case ST_READING:
        if (*upload_data_size > 0) return take_body(req, upload_data, upload_data_size);
        return body_complete(s, req);
    case ST_REPLY_READY: return send_reply(s, req);
    default: /* a call while suspended: nothing to do, nothing consumed */ return MHD_YES;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    struct http_server *s = cls;
    struct request *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    double dt = request_clock() - req->started;
    unsigned status = req->state == ST_SENT ? req->reply.status : 0;
    size_t route_index = req->route ? (size_t)(req->route - s->opts.routes) : s->opts.nroutes;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && status == 0) status = 499;
    metrics_observe(route_index, status, dt);
    char shown[208];
    snprintf(shown, sizeof shown, "%.200s", req->path);
    log_access(req->method, req->route ? req->route->pattern : shown, status, req->reply.len,
               dt * 1000.0, req->request_id, req->client_addr);
    conn_watch_head(req->watch); /* a kept-alive connection waits for its next head */
    request_free(req);
    atomic_fetch_sub(&s->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt,
                                                             va_list ap) {
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = '\0';
    log_event(LOG_WARN, "libmicrohttpd", "detail", msg, (char *)NULL);
}

/* ---- lifecycle --------------------------------------------------------------------- */

struct http_server *http_server_start(const struct http_server_options *opts, char *err,
                                      size_t errlen) {
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->opts = *opts;
    s->max_uri_bytes = (size_t)opts->max_header_bytes / 2;
    s->stream_limits = calloc(opts->nroutes ? opts->nroutes : 1, sizeof *s->stream_limits);
    if (!s->stream_limits) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < opts->nroutes; i++) {
        const struct route *r = &opts->routes[i];
        if (!(r->flags & ROUTE_STREAM_BODY)) continue;
        long limit = 0;
        if (!r->stream || !r->stream->prepare || !opts->config ||
            config_int(opts->config, r->stream->limit_key, &limit) != 0 || limit <= 0) {
            snprintf(err, errlen, "route %s %s: a stream body needs `prepare` and a limit key",
                     r->method, r->pattern);
            free(s->stream_limits);
            free(s);
            return NULL;
        }
        s->stream_limits[i] = (unsigned long long)limit;
    }
    metrics_init(opts->routes, opts->nroutes);

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", opts->port);
    int gai = getaddrinfo(opts->host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "HTTP_HOST=%s: %s", opts->host, gai_strerror(gai));
        free(s->stream_limits);
        free(s);
        return NULL;
    }
    s->writers = body_file_writers_start((size_t)opts->threads);
    s->guard =
        conn_guard_start(opts->header_timeout > 0 ? opts->header_timeout : 10, opts->body_min_rate);
    s->pool = request_pool_new((size_t)opts->workers, (size_t)opts->queue, opts->database_url,
                               opts->statement_timeout_ms, run_on_worker, flush_on_worker,
                               resume_request, s);
    if (!s->pool || !s->writers || !s->guard) {
        snprintf(err, errlen, "cannot start the request workers");
        freeaddrinfo(ai);
        request_pool_free(s->pool, NULL);
        body_file_writers_stop(s->writers);
        conn_guard_stop(s->guard);
        free(s->stream_limits);
        free(s);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* Room for the head plus the first body bytes. A head beyond this gets libmicrohttpd's
     * own 414/431 (HTML); between MAX_HEADER_BYTES and this, sluice answers problem+json.
     * Kept small on purpose: libmicrohttpd clears the pool for every request. */
    size_t memory = (size_t)opts->max_header_bytes + 16384;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)opts->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opts->connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(opts->max_connections_per_ip > 0 ? opts->max_connections_per_ip : 0),
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address of this host?)",
                 opts->host, opts->port);
        request_pool_free(s->pool, NULL);
        body_file_writers_stop(s->writers);
        conn_guard_stop(s->guard);
        free(s->stream_limits);
        free(s);
        return NULL;
    }
    return s;
}

void http_server_stop(struct http_server *s, int grace_seconds) {
    if (!s) return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double deadline = request_clock() + grace_seconds;
    while (atomic_load(&s->in_flight) > 0 && request_clock() < deadline) usleep(10000);
    if (atomic_load(&s->in_flight) > 0)
        log_warn("grace period over: %zu request(s) still in flight", atomic_load(&s->in_flight));
    /* Every suspended connection must be resumed before MHD_stop_daemon: the writers
     * finish the buffers they hold (waking their connections; bodies still arriving
     * then fail), then the pool answers what waits in its queue. */
    body_file_writers_stop(s->writers);
    s->writers = NULL;
    request_pool_free(s->pool, reject_unavailable);
    s->pool = NULL;
    deadline = request_clock() + 1.0;
    while (atomic_load(&s->in_flight) > 0 && request_clock() < deadline) usleep(5000);
    MHD_stop_daemon(s->daemon); /* every connection closed: no watch left */
    conn_guard_stop(s->guard);
    free(s->stream_limits);
    free(s);
}
