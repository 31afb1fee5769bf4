/* openapi_routes: the route table (api_routes(), server/api/routes.c) and the bundled
 * OpenAPI document (openapi.json of the build tree, path given as argv[1]) describe the
 * same API: every route has its operation with the same x-sluice-role and every
 * operation has its route; the security, request body and error responses each route
 * implies are documented. All mismatches are printed, then the test fails once. The
 * document is owned by the test state; everything else is borrowed from it or the table. */
#include "api/routes.h"

#include <ctype.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

static const char *doc_path;

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace"};
static const char *const role_names[] = {"public", "viewer", "operator", "admin"};

struct check {
    json_t *doc;
    int failures;
};

static void mismatch(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct check *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("openapi_routes: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    c->failures++;
}

static const char *role_name(int role) {
    if (role < 0 || role >= (int)(sizeof role_names / sizeof role_names[0])) return "?";
    return role_names[role];
}

/* The operation of (METHOD, pattern) in the document, or NULL; borrowed. */
static json_t *operation(json_t *doc, const char *method, const char *pattern) {
    char lower[16];
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)method[i]);
    lower[i] = '\0';
    return json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), lower);
}

static bool has_response(json_t *op, const char *status) {
    return json_object_get(json_object_get(op, "responses"), status) != NULL;
}

/* The security requirements that apply to op (its own, else the document's). */
static json_t *effective_security(json_t *doc, json_t *op) {
    json_t *s = json_object_get(op, "security");
    return s ? s : json_object_get(doc, "security");
}

static bool has_body_type(json_t *op, const char *media) {
    return json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"), media) !=
           NULL;
}

static void check_route(struct check *c, const struct route *r) {
    char where[256];
    snprintf(where, sizeof where, "%s %s", r->method, r->pattern);
    json_t *op = operation(c->doc, r->method, r->pattern);
    if (!op) {
        mismatch(c, "%s (route table) has no operation in the document: add it to openapi/paths/",
                 where);
        return;
    }
    const char *doc_role = json_string_value(json_object_get(op, "x-sluice-role"));
    if (!doc_role) {
        mismatch(c, "%s: the operation has no x-sluice-role (the route's role is %s)", where,
                 role_name(r->role));
    } else if (strcmp(doc_role, role_name(r->role)) != 0) {
        mismatch(c, "%s: x-sluice-role is %s in the document but %s in the route table", where,
                 doc_role, role_name(r->role));
    }

    json_t *security = effective_security(c->doc, op);
    size_t nsec = json_array_size(security);
    if (r->role == ROLE_PUBLIC && nsec != 0)
        mismatch(c, "%s: public route but the operation requires security (say `security: []`)",
                 where);
    if (r->role != ROLE_PUBLIC && nsec == 0)
        mismatch(c, "%s: role %s needs a token but the operation has no security requirement",
                 where, role_name(r->role));
    if (r->role != ROLE_PUBLIC && !has_response(op, "401"))
        mismatch(c, "%s: role %s but no 401 response documented", where, role_name(r->role));
    if (r->role > ROLE_VIEWER && !has_response(op, "403"))
        mismatch(c, "%s: role %s but no 403 response documented", where, role_name(r->role));

    bool body = r->flags & ROUTE_BODY_KINDS;
    bool doc_body = json_object_get(op, "requestBody") != NULL;
    if (body && !doc_body) mismatch(c, "%s: the route reads a body but no requestBody", where);
    if (!body && doc_body)
        mismatch(c, "%s: requestBody documented but the route reads none", where);
    if ((r->flags & ROUTE_JSON_BODY) && !has_body_type(op, "application/json"))
        mismatch(c, "%s: JSON body route but requestBody has no application/json", where);
    if ((r->flags & ROUTE_FORM_BODY) && !has_body_type(op, "application/x-www-form-urlencoded"))
        mismatch(c,
                 "%s: form body route but requestBody has no "
                 "application/x-www-form-urlencoded",
                 where);
    if (body && !has_response(op, "413"))
        mismatch(c, "%s: reads a body but no 413 response documented", where);
    if ((r->flags & (ROUTE_JSON_BODY | ROUTE_FORM_BODY)) && !has_response(op, "415"))
        mismatch(c, "%s: checks the Content-Type but no 415 response documented", where);
    if ((r->flags & ROUTE_JSON_BODY) && !has_response(op, "400"))
        mismatch(c, "%s: parses JSON but no 400 (invalid-json) response documented", where);
    if ((r->flags & ROUTE_STREAM_BODY) && !has_response(op, "507"))
        mismatch(c, "%s: streams its body to disk but no 507 (disk full) documented", where);
    if (!(r->flags & ROUTE_INLINE) && !has_response(op, "503"))
        mismatch(c, "%s: runs on the request pool but no 503 (unavailable) documented", where);
}

static bool route_exists(const struct route *routes, size_t n, const char *method,
                         const char *pattern) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(routes[i].method, method) == 0 && strcmp(routes[i].pattern, pattern) == 0)
            return true;
    return false;
}

static int setup(void **state) {
    static struct check c;
    json_error_t e;
    c.doc = json_load_file(doc_path, 0, &e);
    if (!c.doc) {
        fprintf(stderr, "openapi_routes: cannot read %s: %s (line %d)\n", doc_path, e.text, e.line);
        return -1;
    }
    c.failures = 0;
    *state = &c;
    return 0;
}

static int teardown(void **state) {
    struct check *c = *state;
    json_decref(c->doc);
    return 0;
}

static void every_route_is_documented(void **state) {
    struct check *c = *state;
    size_t n;
    const struct route *routes = api_routes(&n);
    assert_true(n > 0);
    c->failures = 0;
    for (size_t i = 0; i < n; i++) check_route(c, &routes[i]);
    assert_int_equal(c->failures, 0);
}

static void every_operation_has_a_route(void **state) {
    struct check *c = *state;
    size_t n;
    const struct route *routes = api_routes(&n);
    json_t *paths = json_object_get(c->doc, "paths");
    assert_true(json_object_size(paths) > 0);
    c->failures = 0;
    const char *pattern;
    json_t *item;
    json_object_foreach(paths, pattern, item) {
        for (size_t m = 0; m < sizeof http_methods / sizeof http_methods[0]; m++) {
            if (!json_object_get(item, http_methods[m])) continue;
            if (!route_exists(routes, n, http_methods[m], pattern))
                mismatch(c, "%s %s is documented but not in the route table (server/api/routes.c)",
                         http_methods[m], pattern);
        }
    }
    assert_int_equal(c->failures, 0);
}

int main(int argc, char **argv) {
    doc_path = argc > 1 ? argv[1] : "openapi.json";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented),
        cmocka_unit_test(every_operation_has_a_route),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
