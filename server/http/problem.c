/* problem: the table of error types and the body builder; see problem.h. */
#include "http/problem.h"

#include "core/text.h"

#include <stdio.h>

static const struct problem_info table[PROBLEM_COUNT_] = {
    [PROBLEM_BAD_REQUEST] = {"bad-request", 400, "Bad Request"},
    [PROBLEM_INVALID_JSON] = {"invalid-json", 400, "Malformed JSON body"},
    [PROBLEM_VALIDATION] = {"validation", 422, "Invalid field"},
    [PROBLEM_UNAUTHORIZED] = {"unauthorized", 401, "Authentication required"},
    [PROBLEM_FORBIDDEN] = {"forbidden", 403, "Insufficient role"},
    [PROBLEM_NOT_FOUND] = {"not-found", 404, "Not Found"},
    [PROBLEM_METHOD_NOT_ALLOWED] = {"method-not-allowed", 405, "Method Not Allowed"},
    [PROBLEM_CONFLICT] = {"conflict", 409, "Conflict"},
    [PROBLEM_PAYLOAD_TOO_LARGE] = {"payload-too-large", 413, "Request body too large"},
    [PROBLEM_URI_TOO_LONG] = {"uri-too-long", 414, "Request URI too long"},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", 415, "Unsupported Content-Type"},
    [PROBLEM_TOO_MANY_REQUESTS] = {"too-many-requests", 429, "Too Many Requests"},
    [PROBLEM_HEADERS_TOO_LARGE] = {"headers-too-large", 431, "Request headers too large"},
    [PROBLEM_INTERNAL] = {"internal", 500, "Internal Server Error"},
    [PROBLEM_INSUFFICIENT_STORAGE] = {"insufficient-storage", 507, "Insufficient Storage"},
    [PROBLEM_UNAVAILABLE] = {"unavailable", 503, "Service Unavailable"},
    [PROBLEM_DB_UNAVAILABLE] = {"database-unavailable", 503, "Database unavailable"},
    [PROBLEM_NOT_READY] = {"not-ready", 503, "Not ready"},
    [PROBLEM_QUERY_TIMEOUT] = {"query-timeout", 503, "Query took too long"},
};

const struct problem_info *problem_info(enum problem_type type) {
    if ((unsigned)type >= PROBLEM_COUNT_) type = PROBLEM_INTERNAL;
    return &table[type];
}

json_t *problem_body(enum problem_type type, const char *detail, const char *instance,
                     const char *request_id) {
    const struct problem_info *info = problem_info(type);
    char uri[96];
    snprintf(uri, sizeof uri, "/problems/%s", info->slug);
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(uri));
    json_object_set_new(body, "title", json_string(info->title));
    json_object_set_new(body, "status", json_integer(info->status));
    if (detail) json_object_set_new(body, "detail", text_json_string_lossy(detail));
    if (instance) json_object_set_new(body, "instance", text_json_string_lossy(instance));
    if (request_id) json_object_set_new(body, "request_id", text_json_string_lossy(request_id));
    return body;
}
