/* reply: builders of req->reply; see reply.h. */
#include "http/reply.h"

#include "core/json_out.h"
#include "core/log.h"
#include "db/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_body(struct reply *r, unsigned status, const char *ctype, char *body, size_t len,
                     bool is_static) {
    if (r->body && !r->body_static) free(r->body);
    r->status = status;
    r->content_type = ctype;
    r->body = body;
    r->len = len;
    r->body_static = is_static;
}

static void set_internal_error(struct request *req) {
    static const char oom[] = "{\"type\":\"/problems/internal\",\"title\":\"Internal "
                              "Server Error\",\"status\":500}";
    set_body(&req->reply, 500, "application/problem+json", (char *)oom, sizeof oom - 1, true);
}

static void set_json(struct request *req, unsigned status, const char *ctype, json_t *body) {
    size_t len = 0;
    char *text = json_out_dump(body, &len);
    json_decref(body);
    if (!text) {
        set_internal_error(req);
        return;
    }
    set_body(&req->reply, status, ctype, text, len, false);
}

void reply_json(struct request *req, unsigned status, json_t *body) {
    set_json(req, status, "application/json", body);
}

void reply_json_text(struct request *req, unsigned status, const char *json, size_t len) {
    struct textbuf b = {0};
    if (json_out_append(&b, json, len) != 0 || !b.data) {
        log_event(LOG_ERROR, "reply is not JSON", "request_id", req->request_id, (char *)NULL);
        free(b.data);
        set_internal_error(req);
        return;
    }
    set_body(&req->reply, status, "application/json", b.data, b.len, false);
}

__attribute__((format(printf, 4, 0))) static void
problem_v(struct request *req, enum problem_type type, json_t *extra, const char *fmt, va_list ap) {
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    json_t *body = problem_body(type, detail, req->path, req->request_id);
    if (extra) {
        json_object_update(body, extra);
        json_decref(extra);
    }
    set_json(req, problem_info(type)->status, "application/problem+json", body);
}

void reply_problem(struct request *req, enum problem_type type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, type, NULL, fmt, ap);
    va_end(ap);
}

void reply_problem_with(struct request *req, enum problem_type type, json_t *extra, const char *fmt,
                        ...) {
    va_list ap;
    va_start(ap, fmt);
    problem_v(req, type, extra, fmt, ap);
    va_end(ap);
}

void reply_bytes(struct request *req, unsigned status, const char *content_type, const char *body,
                 size_t len, bool is_static) {
    char *copy = (char *)body;
    if (!is_static) {
        copy = malloc(len ? len : 1);
        if (!copy) {
            reply_problem(req, PROBLEM_INTERNAL, "out of memory");
            return;
        }
        memcpy(copy, body, len);
    }
    set_body(&req->reply, status, content_type, copy, len, is_static);
}

void reply_header(struct request *req, const char *name, const char *value) {
    struct reply *r = &req->reply;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            free(r->headers[i].value);
            r->headers[i].value = strdup(value);
            return;
        }
    }
    if (r->nheaders == sizeof r->headers / sizeof r->headers[0]) return;
    r->headers[r->nheaders].name = strdup(name);
    r->headers[r->nheaders].value = strdup(value);
    r->nheaders++;
}

void reply_db_error(struct request *req, const char *what) {
    if (req->db && db_is_down(req->db)) {
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_DB_UNAVAILABLE, "the database is unreachable; retry later");
        return;
    }
    if (req->db && strcmp(db_sqlstate(req->db), "57014") == 0) { /* query_canceled */
        log_event(LOG_WARN, "statement timeout", "what", what, "request_id", req->request_id,
                  (char *)NULL);
        reply_header(req, "Retry-After", "5");
        reply_problem(req, PROBLEM_QUERY_TIMEOUT,
                      "the database took longer than REQUEST_STATEMENT_TIMEOUT_MS to %s; narrow "
                      "the request (a shorter date range, a smaller limit) or retry later",
                      what);
        return;
    }
    log_event(LOG_ERROR, "database error", "what", what, "error",
              req->db ? db_last_error(req->db) : "no connection", "request_id", req->request_id,
              (char *)NULL);
    reply_problem(req, PROBLEM_INTERNAL, "a database operation failed (request %s)",
                  req->request_id);
}

void reply_cleanup(struct reply *r) {
    if (r->body && !r->body_static) free(r->body);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    memset(r, 0, sizeof *r);
}
