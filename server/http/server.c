/* server: libmicrohttpd lifecycle and the access handler's state machine:
 *   NEW → (route, headers checked: 404/405/415/413 by Content-Length)
 *     → [a protected route with a body, or a stream route: AUTHORIZING, suspended in the
 *        request pool: authorize, then `prepare` for a stream; a refusal is sent without
 *        reading the body → BODY_READY on resume]
 *     → READING (body counted against its limit; buffered, or streamed to a body_file
 *        whose writer suspends/resumes the connection)
 *     → inline handler, or SUSPENDED in the request pool (for a stream: once the writer
 *       has put the file in place) → REPLY_READY → SENT.
 * This file holds libmicrohttpd's callbacks and the server's start and stop; the head's
 * decisions are in request_head.c, the body in request_body.c, the workers' side in
 * request_dispatch.c (server_internal.h). Each struct request is allocated on the first
 * callback and freed in on_completed, with everything it holds. */
#include "http/server_internal.h"

#include "core/config.h"
#include "core/log.h"
#include "http/body_file.h"
#include "http/conn_guard.h"
#include "http/metrics.h"
#include "http/reply.h"
#include "http/request_pool.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t http_server_in_flight(const struct http_server *s) {
    return atomic_load(&((struct http_server *)s)->in_flight);
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

/* ---- sending ------------------------------------------------------------------- */

enum MHD_Result server_send_reply(struct http_server *s, struct request *req) {
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
    if (head_origin_allowed(s, req->origin)) {
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
        req->stream_callbacks = &body_stream_callbacks;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        req->watch = ci ? ci->socket_context : NULL;
        conn_watch_body(req->watch); /* the head is in */
        req->started = request_clock();
        req->body_limit = (unsigned long long)s->opts.max_body_bytes;
        snprintf(req->method, sizeof req->method, "%s", method);
        req->path = strdup(url);
        head_identify(req);
        if (head_decide(s, req, url, method)) return server_send_reply(s, req);
        if (authorize_before_body(req)) { /* no body byte is read before the answer */
            dispatch_push(s, req, PHASE_BEFORE_BODY, true);
            return MHD_YES;
        }
        req->state = ST_READING;
        return MHD_YES;
    }
    switch (req->state) {
    case ST_BODY_READY: /* resumed after authorization: libmicrohttpd asks again */
        req->state = ST_READING;
        if (*upload_data_size > 0) return body_take(req, upload_data, upload_data_size);
        return MHD_YES;
    case ST_READING:
        if (*upload_data_size > 0) return body_take(req, upload_data, upload_data_size);
        return body_complete(s, req);
    case ST_REPLY_READY: return server_send_reply(s, req);
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
                               opts->statement_timeout_ms, dispatch_run, dispatch_flush,
                               dispatch_resume, s);
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
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, head_unescape,
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
    request_pool_free(s->pool, dispatch_reject_unavailable);
    s->pool = NULL;
    deadline = request_clock() + 1.0;
    while (atomic_load(&s->in_flight) > 0 && request_clock() < deadline) usleep(5000);
    MHD_stop_daemon(s->daemon); /* every connection closed: no watch left */
    conn_guard_stop(s->guard);
    free(s->stream_limits);
    free(s);
}
