/* server: libmicrohttpd lifecycle and the access handler's state machine:
 *   NEW → (route, headers checked) → READING (body counted, capped) →
 *   inline handler or SUSPENDED in the request pool → REPLY_READY → SENT.
 * Each struct request is allocated on the first callback and freed in on_completed. */
#include "http/server.h"

#include "core/log.h"
#include "core/text.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/oauth_reply.h"
#include "http/reply.h"
#include "http/request_pool.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum state { ST_NEW, ST_READING, ST_SUSPENDED, ST_REPLY_READY, ST_SENT };

struct http_server {
    struct http_server_options opts;
    struct MHD_Daemon *daemon;
    struct request_pool *pool;
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
    return req->route && (req->route->flags & (ROUTE_JSON_BODY | ROUTE_FORM_BODY | ROUTE_RAW_BODY));
}

static void reply_too_large(struct http_server *s, struct request *req) {
    if (req->route->flags & ROUTE_OAUTH) {
        reply_oauth_error(req, 413, "invalid_request",
                          "the request body is larger than %ld bytes (MAX_BODY_BYTES)",
                          s->opts.max_body_bytes);
        return;
    }
    reply_problem_with(req, PROBLEM_PAYLOAD_TOO_LARGE,
                       json_pack("{s:I}", "max_bytes", (json_int_t)s->opts.max_body_bytes),
                       "the request body is larger than %ld bytes (MAX_BODY_BYTES)",
                       s->opts.max_body_bytes);
}

static bool append_body(struct http_server *s, struct request *req, const char *data, size_t len) {
    if (req->body_too_large) return true;
    if (req->body_len + len > (size_t)s->opts.max_body_bytes) {
        req->body_too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return true;
    }
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

static void run_on_worker(struct request *req, struct db *db, void *userdata) {
    struct http_server *s = userdata;
    req->db = db;
    if (req->route->role > ROLE_PUBLIC) {
        if (!s->opts.authorize) {
            reply_header(req, "WWW-Authenticate", "Bearer");
            reply_problem(req, PROBLEM_UNAUTHORIZED, "this route needs a bearer token");
        } else if (s->opts.authorize(req, req->route->role)) {
            req->route->handler(req);
        }
    } else {
        req->route->handler(req);
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

/* The body is complete: run the handler here or hand the request to the pool. */
static enum MHD_Result body_complete(struct http_server *s, struct request *req) {
    if (req->body_too_large) {
        reply_too_large(s, req);
        return send_reply(s, req);
    }
    if ((req->route->flags & ROUTE_JSON_BODY) && !parse_json_body(req)) return send_reply(s, req);
    if (req->route->flags & ROUTE_INLINE) {
        req->route->handler(req);
        return send_reply(s, req);
    }
    req->state = ST_SUSPENDED;
    MHD_suspend_connection(req->conn);
    if (!request_pool_push(s->pool, req)) {
        reply_header(req, "Retry-After", "1");
        reply_problem(req, PROBLEM_UNAVAILABLE, "too many requests are waiting (REQUEST_QUEUE)");
        req->state = ST_REPLY_READY;
        MHD_resume_connection(req->conn);
    }
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

/* First callback: everything that can be decided from the request line and headers.
 * Returns true when a reply is ready. */
static bool on_headers(struct http_server *s, struct request *req, const char *url) {
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
    if (!wants_body(req)) return false;
    if (!check_content_type(req)) return true;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->opts.max_body_bytes) {
        reply_too_large(s, req);
        return true;
    }
    return false;
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
        req->started = request_clock();
        snprintf(req->method, sizeof req->method, "%s", method);
        req->path = strdup(url);
        req->authorization = dup_header(conn, "Authorization");
        req->content_type = dup_header(conn, "Content-Type");
        req->origin = dup_header(conn, "Origin");
        set_request_id(req);
        set_client_addr(req);
        if (on_headers(s, req, url)) return send_reply(s, req);
        req->state = ST_READING;
        return MHD_YES;
    }
    switch (req->state) {
    case ST_READING:
        if (*upload_data_size > 0) {
            bool keep = wants_body(req) ? append_body(s, req, upload_data, *upload_data_size)
                                        : true; /* a body nobody asked for is discarded */
            *upload_data_size = 0;
            return keep ? MHD_YES : MHD_NO;
        }
        return body_complete(s, req);
    case ST_REPLY_READY: return send_reply(s, req);
    case ST_SUSPENDED: /* spurious call while suspended: nothing to do */
        *upload_data_size = 0;
        return MHD_YES;
    default: *upload_data_size = 0; return MHD_YES;
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
        free(s);
        return NULL;
    }
    s->pool = request_pool_new((size_t)opts->workers, (size_t)opts->queue, opts->database_url,
                               opts->statement_timeout_ms, run_on_worker, flush_on_worker,
                               resume_request, s);
    if (!s->pool) {
        snprintf(err, errlen, "cannot start the request workers");
        freeaddrinfo(ai);
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
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                 mhd_logger, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)opts->threads,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opts->connection_timeout,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_connections,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address of this host?)",
                 opts->host, opts->port);
        request_pool_free(s->pool, NULL);
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
    /* Every suspended connection must be resumed before MHD_stop_daemon. */
    request_pool_free(s->pool, reject_unavailable);
    s->pool = NULL;
    deadline = request_clock() + 1.0;
    while (atomic_load(&s->in_flight) > 0 && request_clock() < deadline) usleep(5000);
    MHD_stop_daemon(s->daemon);
    free(s);
}
