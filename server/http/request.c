/* request: getters of struct request and the stream helpers; see request.h. */
#include "http/request.h"

#include "http/body_file.h"
#include "http/reply.h"

#include <errno.h>
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

int request_stream_to(struct request *req, const char *dir, const char *name) {
    if (req->stream || !req->stream_writers || !req->stream_callbacks) {
        reply_problem(req, PROBLEM_INTERNAL, "this request does not stream its body");
        return -1;
    }
    struct body_file_callbacks cb = *req->stream_callbacks;
    cb.arg = req;
    req->stream = body_file_open(req->stream_writers, dir, name, &cb);
    if (!req->stream) {
        reply_problem(req, PROBLEM_INTERNAL, "cannot create the file of the body in %s: %s", dir,
                      strerror(errno));
        return -1;
    }
    return 0;
}

const struct body_file_result *request_stream_file(const struct request *req) {
    return req->stream ? body_file_result(req->stream) : NULL;
}

void request_set_ctx(struct request *req, void *ctx, void (*ctx_free)(void *ctx)) {
    if (req->ctx_free && req->ctx) req->ctx_free(req->ctx);
    req->ctx = ctx;
    req->ctx_free = ctx_free;
}
