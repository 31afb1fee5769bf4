/* json_out_bench: the cost of the one response writer (core/json_out.h) on a list page
 * as PostgreSQL's json_build_object writes it (spaces around ':' and ',', numbers with
 * trailing zeros), next to two figures measured in the same run on the same bytes:
 * memcpy (the ceiling: copying the page at all) and jansson's json_loadb (what any writer
 * that re-serialises would at least pay). Built and run by bench/json; prints one table.
 * Memory: every buffer is freed before exit. */
#define _POSIX_C_SOURCE 200809L
#include "core/json_out.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int items = argc > 1 ? atoi(argv[1]) : 50, reps = argc > 2 ? atoi(argv[2]) : 2000;
    struct textbuf in = {0};
    textbuf_put(&in, "[", 1);
    for (int i = 0; i < items; i++)
        textbuf_printf(&in,
                       "%s{\"id\" : %d, \"code\" : \"DEM%02d\", \"nom\" : \"Centre %d\", "
                       "\"type_cu\" : \"PVC\", \"description\" : null, \"actif\" : true, "
                       "\"time_zone\" : \"Europe/Paris\", \"created_at\" : "
                       "\"2025-01-15T08:30:00Z\", \"hours\" : 7.9310, \"rate\" : 81.25}",
                       i ? ", " : "", i, i % 100, i);
    textbuf_put(&in, "]", 1);
    volatile size_t sink = 0;
    double t0 = now_s();
    for (int r = 0; r < reps; r++) {
        char *copy = malloc(in.len);
        memcpy(copy, in.data, in.len);
        sink += (size_t)copy[in.len / 2];
        free(copy);
    }
    double t_copy = now_s() - t0;
    t0 = now_s();
    size_t out_len = 0;
    for (int r = 0; r < reps; r++) {
        struct textbuf o = {0};
        if (json_out_append(&o, in.data, in.len) != 0) return 1;
        out_len = o.len;
        free(o.data);
    }
    double t_out = now_s() - t0;
    t0 = now_s();
    for (int r = 0; r < reps; r++) {
        json_t *v = json_loadb(in.data, in.len, 0, NULL);
        if (!v) return 1;
        json_decref(v);
    }
    double t_jansson = now_s() - t0;
    printf("page: %d items, %zu bytes in, %zu bytes out; %d rounds\n", items, in.len, out_len,
           reps);
    printf("%-22s %10s %12s %10s\n", "", "MB/s", "us/page", "x memcpy");
    const char *names[] = {"memcpy (ceiling)", "json_out_append", "jansson json_loadb"};
    double t[] = {t_copy, t_out, t_jansson};
    for (int k = 0; k < 3; k++)
        printf("%-22s %10.1f %12.1f %10.1f\n", names[k], (double)in.len * reps / t[k] / 1e6,
               t[k] / reps * 1e6, t[k] / t_copy);
    free(in.data);
    return sink == (size_t)-1;
}
