/* metrics: see metrics.h. */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTATUS 600
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof bounds / sizeof bounds[0])

struct route_stats {
    atomic_ulong by_status[NSTATUS];
    atomic_ulong buckets[NBUCKETS + 1]; /* last: +Inf */
    atomic_ulong sum_us;
};

static const struct route *table;
static size_t ntable;
static struct route_stats *stats; /* ntable + 1 */
static metrics_source_fn sources[8];
static size_t nsources;

void metrics_init(const struct route *routes, size_t nroutes) {
    table = routes;
    ntable = nroutes;
    if (!stats) stats = calloc(nroutes + 1, sizeof *stats);
}

void metrics_observe(size_t i, unsigned status, double seconds) {
    if (!stats) return;
    if (i > ntable) i = ntable;
    struct route_stats *s = &stats[i];
    if (status < NSTATUS) atomic_fetch_add(&s->by_status[status], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > bounds[b]) b++;
    atomic_fetch_add(&s->buckets[b], 1);
    atomic_fetch_add(&s->sum_us, (unsigned long)(seconds * 1e6));
}

static void labels(size_t i, const char **method, const char **route) {
    if (i < ntable) {
        *method = table[i].method;
        *route = table[i].pattern;
    } else {
        *method = "";
        *route = "unmatched";
    }
}

void metrics_render_http(struct textbuf *out) {
    textbuf_printf(out, "# HELP sluice_http_requests_total HTTP requests by route and status.\n"
                        "# TYPE sluice_http_requests_total counter\n");
    for (size_t i = 0; stats && i <= ntable; i++) {
        const char *m, *r;
        labels(i, &m, &r);
        for (unsigned st = 0; st < NSTATUS; st++) {
            unsigned long n = atomic_load(&stats[i].by_status[st]);
            if (n)
                textbuf_printf(
                    out,
                    "sluice_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %lu\n", m,
                    r, st, n);
        }
    }
    textbuf_printf(out, "# HELP sluice_http_request_duration_seconds Time from the first byte "
                        "of a request to the end of its response.\n"
                        "# TYPE sluice_http_request_duration_seconds histogram\n");
    for (size_t i = 0; stats && i <= ntable; i++) {
        const char *m, *r;
        labels(i, &m, &r);
        unsigned long cum = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) cum += atomic_load(&stats[i].buckets[b]);
        if (cum == 0) continue;
        unsigned long acc = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            acc += atomic_load(&stats[i].buckets[b]);
            textbuf_printf(out,
                           "sluice_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                           "le=\"%g\"} %lu\n",
                           m, r, bounds[b], acc);
        }
        textbuf_printf(
            out,
            "sluice_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} "
            "%lu\n"
            "sluice_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
            "sluice_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %lu\n",
            m, r, cum, m, r, (double)atomic_load(&stats[i].sum_us) / 1e6, m, r, cum);
    }
}

void metrics_add_source(metrics_source_fn fn) {
    if (nsources < sizeof sources / sizeof sources[0]) sources[nsources++] = fn;
}

void metrics_render_sources(struct textbuf *out, struct db *db) {
    for (size_t i = 0; i < nsources; i++) sources[i](out, db);
}
