/* reply: how handlers answer. Each call replaces the status and body in req->reply
 * (headers accumulate); the event thread turns it into a libmicrohttpd response. */
#ifndef SLUICE_REPLY_H
#define SLUICE_REPLY_H

#include "http/problem.h"
#include "http/request.h"

#include <jansson.h>

/* JSON body; steals body. Written by core/json_out.h (compact, plain numbers). */
void reply_json(struct request *req, unsigned status, json_t *body);

/* JSON body from JSON text (e.g. built by PostgreSQL), rewritten by json_out_append:
 * compact, plain numbers. Copied; 500 if the text is not JSON. Every JSON answer goes
 * through this or reply_json, never reply_bytes. */
void reply_json_text(struct request *req, unsigned status, const char *json, size_t len);

/* Problem+json with a printf-style detail. */
void reply_problem(struct request *req, enum problem_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Problem+json with extra members (e.g. "errors", "field", "line"); steals extra. */
void reply_problem_with(struct request *req, enum problem_type type, json_t *extra, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

/* Any bytes; copied unless is_static (then borrowed for the life of the program). */
void reply_bytes(struct request *req, unsigned status, const char *content_type, const char *body,
                 size_t len, bool is_static);

/* Adds a header (copied). */
void reply_header(struct request *req, const char *name, const char *value);

/* The database failed: 503 when the connection is lost, 500 otherwise (logged). */
void reply_db_error(struct request *req, const char *what);

/* Frees what the reply owns; leaves it empty. */
void reply_cleanup(struct reply *reply);

#endif
