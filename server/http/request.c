/* request: getters of struct request; see request.h. */
#include "http/request.h"

#include <string.h>
#include <time.h>

const char *request_param(const struct request *req, const char *name) {
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, name) == 0) return req->params[i].value;
    return NULL;
}

const char *request_query(const struct request *req, const char *name, size_t *count) {
    const char *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, name) != 0) continue;
        if (!first) first = req->query[i].value;
        n++;
    }
    if (count) *count = n;
    return first;
}

double request_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
