/* server_internal: what the files of the HTTP server share, for server/http/ only.
 *   server.c            libmicrohttpd's callbacks (the state machine below) and lifecycle
 *   request_head.c      what the request line and headers decide (event thread)
 *   request_body.c      the body: counted, buffered or streamed to a body_file
 *   request_dispatch.c  the request pool's side: authorize, prepare, handler, pipeline
 * A struct request belongs to its connection's event thread except while suspended in
 * the request pool (a worker owns it until it resumes the connection). */
#ifndef SLUICE_SERVER_INTERNAL_H
#define SLUICE_SERVER_INTERNAL_H

#include "http/request.h"
#include "http/server.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

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

static inline bool wants_body(const struct request *req) {
    return req->route && (req->route->flags & ROUTE_BODY_KINDS);
}

static inline bool is_stream(const struct request *req) {
    return req->route && (req->route->flags & ROUTE_STREAM_BODY);
}

/* request_head.c */
void head_identify(struct request *req);
bool head_decide(struct http_server *s, struct request *req, const char *url, const char *head);
bool head_origin_allowed(const struct http_server *s, const char *origin);
size_t head_unescape(void *cls, struct MHD_Connection *conn, char *s);

/* request_body.c */
extern const struct body_file_callbacks body_stream_callbacks;
void body_reply_too_large(struct request *req);
enum MHD_Result body_take(struct request *req, const char *data, size_t *size);
enum MHD_Result body_complete(struct http_server *s, struct request *req);

/* request_dispatch.c */
void dispatch_push(struct http_server *s, struct request *req, enum phase phase, bool suspend);
void dispatch_run(struct request *req, struct db *db, void *userdata);
void dispatch_flush(struct db *db, void *userdata);
void dispatch_resume(struct request *req, void *userdata);
void dispatch_reject_unavailable(struct request *req);

/* server.c */
enum MHD_Result server_send_reply(struct http_server *s, struct request *req);

#endif
