/* server: the HTTP front: libmicrohttpd (internal thread pool + epoll) whose event
 * threads never block. Requests are routed, their bodies read and checked, then
 * either answered in place (ROUTE_INLINE) or suspended and handed to the request
 * pool; the pool's worker builds the reply and resumes the connection.
 * The server borrows the route table and options for its whole life. */
#ifndef SLUICE_HTTP_SERVER_H
#define SLUICE_HTTP_SERVER_H

#include "http/request.h"
#include "http/router.h"

#include <stdbool.h>
#include <stddef.h>

struct config;

struct http_server_options {
    const char *host;
    int port;
    int threads;
    int workers;
    int queue;
    long max_body_bytes;
    long max_header_bytes;
    int connection_timeout;
    int max_connections;
    int max_connections_per_ip; /* 0: no limit */
    int header_timeout;         /* seconds to send a request head */
    long body_min_rate;         /* bytes/s a body must bring (0: no limit) */
    const char *cors_origins;   /* comma-separated, "*" for any, "" for none */
    const char *database_url;
    long statement_timeout_ms; /* of the request workers' statements; 0: none */
    const struct route *routes;
    size_t nroutes;
    const struct config *config; /* stream routes' limits are looked up by key here */
    /* Checks the caller of a protected route; returns false after setting a 401/403
     * reply. Runs on a request worker (it may use req->db). */
    bool (*authorize)(struct request *req, int required_role);
};

struct http_server;

struct http_server *http_server_start(const struct http_server_options *opts, char *err,
                                      size_t errlen);

/* Stops accepting, waits up to grace_seconds for requests in flight, answers what is
 * still queued with 503, then stops the daemon and frees everything. */
void http_server_stop(struct http_server *s, int grace_seconds);

/* Requests currently being processed (for tests and shutdown). */
size_t http_server_in_flight(const struct http_server *s);

#endif
