/* conn_guard: deadlines for slow clients, per connection. A connection waiting for a
 * request head must complete it within HTTP_HEADER_TIMEOUT of connecting (or of the end
 * of its previous request); a connection sending a body must bring at least
 * HTTP_BODY_MIN_RATE bytes per second over each CONN_GUARD_WINDOW-second window (time
 * spent waiting for sluice itself does not count). A sweeper thread cuts the ones that
 * fall behind (shutdown of the socket: libmicrohttpd then closes the connection).
 * libmicrohttpd's own timeout (HTTP_CONNECTION_TIMEOUT) only sees idleness, which one
 * byte now and then defeats.
 *
 * A struct conn_watch is created and freed on the connection's event thread
 * (conn_guard_open/close, from libmicrohttpd's connection notifications; the socket is
 * closed after conn_guard_close, so the sweeper never touches a reused descriptor); the
 * phase setters may be called from any thread. The guard owns its watches. */
#ifndef SLUICE_CONN_GUARD_H
#define SLUICE_CONN_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#define CONN_GUARD_WINDOW 10.0 /* seconds over which a body's rate is measured */

struct conn_guard;
struct conn_watch;

/* header_timeout: seconds (> 0); body_min_rate: bytes/s (0: no rate check). NULL when the
 * sweeper cannot start. */
struct conn_guard *conn_guard_start(double header_timeout, long body_min_rate);
/* Stops the sweeper and frees the guard (every watch must be closed). NULL is accepted. */
void conn_guard_stop(struct conn_guard *g);

/* A new connection on socket fd: waiting for its first head. NULL when out of memory
 * (the connection is then unguarded). */
struct conn_watch *conn_guard_open(struct conn_guard *g, int fd);
void conn_guard_close(struct conn_guard *g, struct conn_watch *w);

/* Phases (w may be NULL: nothing happens). */
void conn_watch_head(struct conn_watch *w);   /* waiting for a request head, from now */
void conn_watch_body(struct conn_watch *w);   /* waiting for the client's body bytes */
void conn_watch_server(struct conn_watch *w); /* waiting for sluice, or sending the reply */
void conn_watch_bytes(struct conn_watch *w, size_t n); /* body bytes arrived */

/* A NUL byte was decoded in the request line (path or query) of the current request;
 * cleared by conn_watch_head. */
void conn_watch_set_nul(struct conn_watch *w);
bool conn_watch_nul(const struct conn_watch *w);

/* Since start, in every guard of the process: connections cut while sending a head, and
 * while sending a body too slowly. */
void conn_guard_counts(long *head_cut, long *body_cut);

#endif
