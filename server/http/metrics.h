/* metrics: request counters by route and status and a request-duration histogram,
 * rendered in the Prometheus text format. Lock-free atomics; the store is a process
 * global sized once by metrics_init and never freed. Other modules add their own
 * lines through metrics_add_source. */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include "core/text.h"
#include "http/router.h"

#include <stddef.h>

struct db;

/* Route i of the table is route index i; nroutes stands for "unmatched". */
void metrics_init(const struct route *routes, size_t nroutes);
void metrics_observe(size_t route_index, unsigned status, double seconds);

/* Appends the HTTP metrics. */
void metrics_render_http(struct textbuf *out);

/* Extra sections (jobs, database...), called in order by the /metrics handler with the
 * worker's database connection (may be down). */
typedef void (*metrics_source_fn)(struct textbuf *out, struct db *db);
void metrics_add_source(metrics_source_fn fn);
void metrics_render_sources(struct textbuf *out, struct db *db);

#endif
