/* router: matches (method, path) against a static route table whose patterns hold
 * `{name}` segments. Pure: no I/O, no allocation; matches point into the path. */
#ifndef SLUICE_ROUTER_H
#define SLUICE_ROUTER_H

#include <stddef.h>

struct request;
typedef void (*route_handler)(struct request *req);

/* Who may call a route. The single place permissions are enforced is
 * http/server.c (run_on_worker, through the server's authorize hook), from this field. */
enum role { ROLE_PUBLIC = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

enum route_flags {
    ROUTE_INLINE = 1u << 0,      /* cheap, no database: runs in the event thread */
    ROUTE_JSON_BODY = 1u << 1,   /* expects application/json, parsed before the handler */
    ROUTE_FORM_BODY = 1u << 2,   /* expects application/x-www-form-urlencoded */
    ROUTE_RAW_BODY = 1u << 3,    /* any body (e.g. CSV upload), kept as bytes */
    ROUTE_OAUTH = 1u << 4,       /* OAuth 2.0 endpoint: a too-large body (413) is answered in
                                    RFC 6749 §5.2 form, not problem+json */
    ROUTE_STREAM_BODY = 1u << 5, /* any body, streamed to a file (see struct route_stream);
                                    needs `stream` */
};

/* The body kinds: ROUTE_JSON_BODY, ROUTE_FORM_BODY and ROUTE_RAW_BODY are buffered in
 * memory up to MAX_BODY_BYTES; ROUTE_STREAM_BODY goes to disk as it arrives, up to the
 * route's own limit. A route without a body kind reads a body only to discard it (up to
 * MAX_BODY_BYTES). Protected routes with a body are authorized before any body byte is
 * read. */
#define ROUTE_BODY_KINDS (ROUTE_JSON_BODY | ROUTE_FORM_BODY | ROUTE_RAW_BODY | ROUTE_STREAM_BODY)

/* A streamed body (ROUTE_STREAM_BODY). After the headers: 413 when Content-Length is
 * over the limit; authorization; then `prepare` on a request worker (it may use req->db)
 * chooses where the body goes with request_stream_to(), or replies (404, 422...) and the
 * body is never read. The body is then written as it arrives to a temporary file in that
 * folder (bounded memory, the event threads never wait for the disk), counted against
 * the limit (413), fsynced and renamed to its final name; only then does the route's
 * `handler` run on a request worker, with request_stream_file() (path, size, sha256).
 * A body that does not arrive whole (disconnect, timeout, limit, disk error) leaves no
 * file. See HACKING.md "Streamed uploads". */
struct route_stream {
    const char *limit_key; /* config key of the largest body in bytes, e.g. "MAX_UPLOAD_BYTES" */
    route_handler prepare;
};

struct route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/centres/{code}", no trailing slash */
    route_handler handler;
    int role;       /* enum role */
    unsigned flags; /* enum route_flags; the body kind is one of ROUTE_BODY_KINDS */
    const struct route_stream *stream; /* ROUTE_STREAM_BODY routes only, else NULL */
};

#define ROUTER_MAX_PARAMS 4

struct route_param {
    const char *name; /* borrowed from the pattern, name_len bytes */
    size_t name_len;
    const char *value; /* borrowed from the path, value_len bytes */
    size_t value_len;
};

struct route_match {
    const struct route *route; /* borrowed from the table */
    size_t nparams;
    struct route_param params[ROUTER_MAX_PARAMS];
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

/* Matches path (no query string; one trailing slash is ignored). HEAD matches GET. */
enum router_result router_match(const struct route *table, size_t n, const char *method,
                                const char *path, struct route_match *m);

/* Writes the methods allowed on path, e.g. "GET, HEAD, POST", to buf. */
void router_allow(const struct route *table, size_t n, const char *path, char *buf, size_t buflen);

#endif
