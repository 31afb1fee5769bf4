/* fuzz_router: drives router_match and router_allow with a method and a path taken from
 * the input ("METHOD /path", split at the first space; without a space the whole input
 * is the path and the method is GET), against a table shaped like the real one
 * (server/api/routes.c plus the resources to come). Checks the invariants callers rely
 * on and traps on a violation. The NUL-terminated copies are owned here. */
#include "http/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct route table[] = {
    {"GET", "/", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/healthz", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/readyz", NULL, ROLE_PUBLIC, 0, NULL},
    {"GET", "/metrics", NULL, ROLE_PUBLIC, 0, NULL},
    {"GET", "/openapi.json", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/docs", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/docs/{asset}", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"POST", "/token", NULL, ROLE_PUBLIC, ROUTE_FORM_BODY, NULL},
    {"GET", "/users", NULL, ROLE_ADMIN, 0, NULL},
    {"POST", "/users", NULL, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"GET", "/users/me", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/users/{id}", NULL, ROLE_ADMIN, 0, NULL},
    {"PATCH", "/users/{id}", NULL, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"DELETE", "/users/{id}", NULL, ROLE_ADMIN, 0, NULL},
    {"GET", "/centres", NULL, ROLE_VIEWER, 0, NULL},
    {"POST", "/centres", NULL, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/centres/{code}", NULL, ROLE_VIEWER, 0, NULL},
    {"PUT", "/centres/{code}", NULL, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"DELETE", "/centres/{code}", NULL, ROLE_ADMIN, 0, NULL},
    {"GET", "/centres/{code}/sessions", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/centres/{code}/sessions/{id}", NULL, ROLE_VIEWER, 0, NULL},
    {"POST", "/centres/{code}/patients", NULL, ROLE_OPERATOR, ROUTE_RAW_BODY, NULL},
    {"GET", "/orders", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/orders/{id}", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/jobs", NULL, ROLE_VIEWER, 0, NULL},
    {"POST", "/jobs", NULL, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/jobs/{id}", NULL, ROLE_VIEWER, 0, NULL},
    {"POST", "/jobs/{id}/cancel", NULL, ROLE_OPERATOR, 0, NULL},
    {"GET", "/jobs/{id}/events", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/a/{p1}/{p2}/{p3}/{p4}", NULL, ROLE_PUBLIC, 0, NULL},
    {"GET", "/b/{p1}/{p2}/{p3}/{p4}/{p5}", NULL, ROLE_PUBLIC, 0, NULL}, /* over the limit */
};
#define NROUTES (sizeof table / sizeof table[0])

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

/* Whether the comma-separated list holds method as a whole word. */
static bool allow_has(const char *allow, const char *method) {
    size_t ml = strlen(method);
    if (ml == 0) return false;
    for (const char *q = allow; (q = strstr(q, method)) != NULL; q++)
        if ((q == allow || q[-1] == ' ') && (q[ml] == ',' || q[ml] == '\0')) return true;
    return false;
}

static void check_match(const char *method, const char *path) {
    struct route_match m;
    enum router_result r = router_match(table, NROUTES, method, path, &m);
    size_t plen = strlen(path);
    char allow[256];
    router_allow(table, NROUTES, path, allow, sizeof allow);
    switch (r) {
    case ROUTER_FOUND:
        CHECK(m.route >= table && m.route < table + NROUTES);
        CHECK(strcmp(m.route->method, method) == 0 ||
              (strcmp(method, "HEAD") == 0 && strcmp(m.route->method, "GET") == 0));
        CHECK(m.nparams <= ROUTER_MAX_PARAMS);
        for (size_t i = 0; i < m.nparams; i++) {
            const struct route_param *p = &m.params[i];
            /* values are non-empty slices of the path holding no slash */
            CHECK(p->value >= path && p->value + p->value_len <= path + plen);
            CHECK(p->value_len > 0 && !memchr(p->value, '/', p->value_len));
            /* names are the {name} of the pattern */
            CHECK(p->name > m.route->pattern && p->name[-1] == '{' && p->name[p->name_len] == '}');
        }
        CHECK(allow_has(allow, m.route->method));
        break;
    case ROUTER_METHOD_NOT_ALLOWED:
        CHECK(m.route == NULL);
        CHECK(allow[0] != '\0');
        /* OPTIONS is answered by the server before routing, from the Allow list */
        CHECK(strcmp(method, "OPTIONS") == 0 || !allow_has(allow, method));
        break;
    case ROUTER_NOT_FOUND:
        CHECK(m.route == NULL);
        CHECK(allow[0] == '\0');
        break;
    default: CHECK(false);
    }
    /* every method the Allow header lists (but the implied HEAD and OPTIONS) is routed */
    for (size_t i = 0; i < NROUTES; i++) {
        if (!allow_has(allow, table[i].method)) continue;
        struct route_match other;
        CHECK(router_match(table, NROUTES, table[i].method, path, &other) == ROUTER_FOUND);
    }
    /* a small buffer is terminated, never overflowed, and lists only allowed methods */
    char small[16];
    router_allow(table, NROUTES, path, small, sizeof small);
    CHECK(memchr(small, '\0', sizeof small) != NULL);
    for (char *tok = small; *tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        CHECK(allow_has(allow, tok));
        if (!comma) break;
        CHECK(comma[1] == ' ');
        tok = comma + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *input = malloc(size + 1);
    if (!input) return 0;
    memcpy(input, data, size);
    input[size] = '\0'; /* the router takes C strings: a NUL ends the path early */
    char *space = memchr(input, ' ', size);
    const char *method = "GET", *path = input;
    if (space) {
        *space = '\0';
        method = input;
        path = space + 1;
    }
    check_match(method, path);
    /* the same path with the other usual methods */
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) check_match(methods[i], path);
    free(input);
    return 0;
}
