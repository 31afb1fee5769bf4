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

struct db;
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
    json_t *json;   /* parsed body of ROUTE_JSON_BODY routes, owned */
    double started; /* monotonic seconds */

    /* Set by the worker that runs the handler. */
    struct db *db;
    struct principal auth;

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

/* Monotonic clock in seconds. */
double request_clock(void);

#endif
