/* request: the one context of an HTTP request, created on libmicrohttpd's first
 * callback and freed in its completion callback (http/server.c). Everything in it is
 * owned by it. Handlers read the request through the getters below (all returned
 * pointers are borrowed from the request) and answer through http/reply.h. */
#ifndef SLUICE_REQUEST_H
#define SLUICE_REQUEST_H

#include "http/router.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct body_file;
struct body_file_callbacks;
struct body_file_result;
struct body_file_writers;
struct conn_watch;
struct db;
struct http_server;
struct db_stmt;
struct pg_result; /* libpq's PGresult */
struct request;
struct MHD_Connection;

/* Builds the reply of a request from its statement's result (NULL when the statement
 * failed: answer with reply_db_error). ctx is the handler's, passed to request_query_then. */
typedef void (*request_render_fn)(struct request *req, const struct pg_result *res, void *ctx);

struct header {
    char *name, *value;
};

struct reply {
    unsigned status; /* 0: no reply yet */
    char *body;      /* owned unless body_static */
    size_t len;
    bool body_static;         /* body points at static memory */
    const char *content_type; /* static string */
    struct header headers[8]; /* owned */
    size_t nheaders;
};

/* Who is calling, filled by the auth middleware for protected routes. */
struct principal {
    int64_t user_id;
    int role; /* enum role */
    char username[128];
    bool authenticated;
};

struct kv {
    char *key, *value;
};

struct request {
    /* Set in the event thread before the handler runs; read-only afterwards. */
    struct MHD_Connection *conn;
    const struct route *route; /* NULL when unmatched */
    char method[16];
    char *path;
    struct kv params[ROUTER_MAX_PARAMS];
    size_t nparams;
    struct kv *query;
    size_t nquery;
    char *authorization;
    char *content_type;
    char *origin;
    char request_id[129];
    char client_addr[64];
    char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len, body_cap;
    bool body_too_large;
    unsigned long long body_seen;  /* body bytes received (kept or not) */
    unsigned long long body_limit; /* MAX_BODY_BYTES, or the stream route's limit */
    int body_error;                /* errno that stopped a streamed body, 0 */
    json_t *json;                  /* parsed body of ROUTE_JSON_BODY routes, owned */
    double started;                /* monotonic seconds */

    /* Set by the worker that runs the handler. */
    struct db *db;
    struct principal auth;

    /* ROUTE_STREAM_BODY: the body's file (request_stream_to), and the route's own state
     * from `prepare` to the handler (request_set_ctx). */
    struct body_file *stream;
    struct body_file_writers *stream_writers;           /* borrowed from the server */
    const struct body_file_callbacks *stream_callbacks; /* the server's, arg unset */
    bool stream_handled;                                /* the handler ran with the file in place */
    void *ctx;
    void (*ctx_free)(void *ctx);
    int phase;                  /* private to http/server.c */
    struct http_server *server; /* private to http/server.c */
    struct conn_watch *watch;   /* the connection's slow-client watch (http/conn_guard.h) */

    /* A reply that waits for a pipelined statement (request_query_then). */
    request_render_fn render;
    void *render_ctx;
    void (*render_ctx_free)(void *ctx);
    bool deferred;

    /* The answer, built by the handler (any thread), sent by the event thread. */
    struct reply reply;
    int state; /* private to http/server.c */
};

/* Path parameter by name, or NULL. */
const char *request_param(const struct request *req, const char *name);

/* First query parameter of that name, or NULL; *count (optional) gets how many. */
const char *request_query(const struct request *req, const char *name, size_t *count);

/* For a handler whose reply needs one statement: sends stmt with values (copied at once)
 * on the worker's connection in pipeline mode, with the statements of the other requests
 * the worker is running, and returns; the handler returns right after. Once the result
 * is in, render(req, result, ctx) builds the reply and ctx_free(ctx) (NULL: nothing) frees
 * ctx. When nothing could be sent, render runs before this returns, with NULL. */
void request_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                        const char *const *values, request_render_fn render, void *ctx,
                        void (*ctx_free)(void *ctx));

/* In the `prepare` step of a ROUTE_STREAM_BODY route: the body goes to the file `name`
 * (see body_file_name_ok) in the existing folder `dir`. Returns 0, or -1 after replying
 * (500 when the file cannot be made, naming dir and the reason). */
int request_stream_to(struct request *req, const char *dir, const char *name);

/* In the handler of a ROUTE_STREAM_BODY route: the body's file, durably in place (path,
 * size, sha256), borrowed from the request. The file is removed after the reply unless
 * the handler answered 2xx. */
const struct body_file_result *request_stream_file(const struct request *req);

/* Keeps ctx with the request (e.g. from `prepare` to the handler); ctx_free(ctx) (NULL:
 * nothing) runs when the request is freed or when another ctx replaces it. */
void request_set_ctx(struct request *req, void *ctx, void (*ctx_free)(void *ctx));

/* Monotonic clock in seconds. */
double request_clock(void);

#endif
