/* problem: RFC 9457 problem details. Every error type sluice answers with is listed
 * once in problem.c (type → status → title); openapi/openapi.json mirrors that table. */
#ifndef SLUICE_PROBLEM_H
#define SLUICE_PROBLEM_H

#include <jansson.h>

enum problem_type {
    PROBLEM_BAD_REQUEST,
    PROBLEM_INVALID_JSON,
    PROBLEM_VALIDATION,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_FORBIDDEN,
    PROBLEM_NOT_FOUND,
    PROBLEM_METHOD_NOT_ALLOWED,
    PROBLEM_CONFLICT,
    PROBLEM_PAYLOAD_TOO_LARGE,
    PROBLEM_URI_TOO_LONG,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_TOO_MANY_REQUESTS,
    PROBLEM_HEADERS_TOO_LARGE,
    PROBLEM_INTERNAL,
    PROBLEM_INSUFFICIENT_STORAGE,
    PROBLEM_UNAVAILABLE,
    PROBLEM_DB_UNAVAILABLE,
    PROBLEM_NOT_READY,
    PROBLEM_QUERY_TIMEOUT,
    PROBLEM_COUNT_
};

struct problem_info {
    const char *slug; /* type URI is "/problems/<slug>" */
    unsigned status;
    const char *title;
};

const struct problem_info *problem_info(enum problem_type type);

/* Builds the body {type, title, status, detail, instance, request_id}; new reference. */
json_t *problem_body(enum problem_type type, const char *detail, const char *instance,
                     const char *request_id);

#endif
