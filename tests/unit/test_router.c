/* Unit tests of http/router.c: path parameters, trailing slash, 404 vs 405, HEAD as GET,
 * the Allow header, empty segments and the parameter limit. The route table is static;
 * matches borrow from it and from the path strings of each test. */
#include "http/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct route table[] = {
    {"GET", "/", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/healthz", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/centres", NULL, ROLE_VIEWER, 0, NULL},
    {"POST", "/centres", NULL, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"GET", "/centres/{code}", NULL, ROLE_VIEWER, 0, NULL},
    {"PUT", "/centres/{code}", NULL, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"DELETE", "/centres/{code}", NULL, ROLE_ADMIN, 0, NULL},
    {"GET", "/centres/{code}/sessions/{id}", NULL, ROLE_VIEWER, 0, NULL},
    {"GET", "/docs/openapi", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/docs/{asset}", NULL, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"POST", "/p/{a}/{b}/{c}/{d}", NULL, ROLE_PUBLIC, 0, NULL},
    {"POST", "/q/{a}/{b}/{c}/{d}/{e}", NULL, ROLE_PUBLIC, 0, NULL},
};
#define NROUTES (sizeof table / sizeof table[0])

static enum router_result match(const char *method, const char *path, struct route_match *m) {
    return router_match(table, NROUTES, method, path, m);
}

/* The parameter named name, as a NUL-terminated copy in buf, or NULL if absent. */
static const char *param(const struct route_match *m, const char *name, char *buf, size_t n) {
    for (size_t i = 0; i < m->nparams; i++) {
        const struct route_param *p = &m->params[i];
        if (p->name_len == strlen(name) && memcmp(p->name, name, p->name_len) == 0) {
            assert_true(p->value_len < n);
            memcpy(buf, p->value, p->value_len);
            buf[p->value_len] = '\0';
            return buf;
        }
    }
    return NULL;
}

static void test_static_routes(void **state) {
    (void)state;
    struct route_match m;
    assert_int_equal(match("GET", "/healthz", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[1]);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match("GET", "/", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[0]);
    assert_int_equal(match("POST", "/centres", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[3]);
    /* a literal segment wins when it comes first in the table */
    assert_int_equal(match("GET", "/docs/openapi", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[8]);
    /* prefixes and extensions of a pattern are other paths */
    assert_int_equal(match("GET", "/health", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/healthzz", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/healthz/x", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/HEALTHZ", &m), ROUTER_NOT_FOUND);
}

static void test_params(void **state) {
    (void)state;
    struct route_match m;
    char buf[64];
    assert_int_equal(match("GET", "/centres/LYON-1", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[4]);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(param(&m, "code", buf, sizeof buf), "LYON-1");

    assert_int_equal(match("GET", "/centres/PAR/sessions/42", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[7]);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(param(&m, "code", buf, sizeof buf), "PAR");
    assert_string_equal(param(&m, "id", buf, sizeof buf), "42");
    assert_null(param(&m, "asset", buf, sizeof buf));

    /* values are raw bytes of the path: percent-encoding is left to the handler */
    assert_int_equal(match("DELETE", "/centres/a%2Fb", &m), ROUTER_FOUND);
    assert_string_equal(param(&m, "code", buf, sizeof buf), "a%2Fb");

    /* the values point into the path given */
    const char *path = "/docs/swagger-ui.css";
    assert_int_equal(match("GET", path, &m), ROUTER_FOUND);
    assert_ptr_equal(m.params[0].value, path + strlen("/docs/"));
    assert_int_equal(m.params[0].value_len, strlen("swagger-ui.css"));
}

static void test_trailing_slash(void **state) {
    (void)state;
    struct route_match m;
    char buf[64];
    assert_int_equal(match("GET", "/centres/", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[2]);
    assert_int_equal(match("GET", "/healthz/", &m), ROUTER_FOUND);
    assert_int_equal(match("GET", "/centres/ABC/", &m), ROUTER_FOUND);
    assert_string_equal(param(&m, "code", buf, sizeof buf), "ABC");
    assert_int_equal(match("GET", "/centres/ABC/sessions/7/", &m), ROUTER_FOUND);
    assert_string_equal(param(&m, "id", buf, sizeof buf), "7");
    /* only one trailing slash is forgiven */
    assert_int_equal(match("GET", "/healthz//", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/centres//", &m), ROUTER_NOT_FOUND);
}

static void test_not_found_vs_method_not_allowed(void **state) {
    (void)state;
    struct route_match m;
    assert_int_equal(match("GET", "/nowhere", &m), ROUTER_NOT_FOUND);
    assert_null(m.route);
    assert_int_equal(match("POST", "/nowhere", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("POST", "/healthz", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_null(m.route);
    assert_int_equal(match("PATCH", "/centres/X", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(match("DELETE", "/centres", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(match("DELETE", "/centres/", &m), ROUTER_METHOD_NOT_ALLOWED);
    /* methods are case-sensitive (RFC 9110 §9.1) */
    assert_int_equal(match("get", "/healthz", &m), ROUTER_METHOD_NOT_ALLOWED);
    /* not a path */
    assert_int_equal(match("GET", "", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "healthz", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "*", &m), ROUTER_NOT_FOUND);
}

static void test_head_is_get(void **state) {
    (void)state;
    struct route_match m;
    char buf[64];
    assert_int_equal(match("HEAD", "/healthz", &m), ROUTER_FOUND);
    assert_ptr_equal(m.route, &table[1]);
    assert_int_equal(match("HEAD", "/centres/X/sessions/1", &m), ROUTER_FOUND);
    assert_string_equal(param(&m, "code", buf, sizeof buf), "X");
    /* HEAD stands in for GET only */
    assert_int_equal(match("HEAD", "/p/1/2/3/4", &m), ROUTER_METHOD_NOT_ALLOWED);
    /* and GET does not stand in for HEAD-less others */
    assert_int_equal(match("GET", "/p/1/2/3/4", &m), ROUTER_METHOD_NOT_ALLOWED);
}

/* Splits an Allow value on ", " and checks it holds exactly the methods of want (a
 * NULL-terminated list), each once. */
static void assert_allow(const char *path, const char *const *want) {
    char allow[128];
    router_allow(table, NROUTES, path, allow, sizeof allow);
    size_t nwant = 0;
    while (want[nwant]) nwant++;
    size_t seen = 0;
    bool found[16] = {false};
    assert_true(nwant <= 16);
    const char *p = allow;
    while (*p) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool known = false;
        for (size_t i = 0; i < nwant; i++) {
            if (strlen(want[i]) == len && memcmp(want[i], p, len) == 0) {
                if (found[i]) fail_msg("Allow for %s repeats %s: \"%s\"", path, want[i], allow);
                found[i] = known = true;
            }
        }
        if (!known) fail_msg("Allow for %s has an unexpected method: \"%s\"", path, allow);
        seen++;
        p += len;
        if (end) p += 2;
    }
    if (seen != nwant)
        fail_msg("Allow for %s is \"%s\" (%zu methods expected)", path, allow, nwant);
}

static void test_allow(void **state) {
    (void)state;
    assert_allow("/healthz", (const char *const[]){"GET", "HEAD", "OPTIONS", NULL});
    assert_allow("/healthz/", (const char *const[]){"GET", "HEAD", "OPTIONS", NULL});
    assert_allow("/centres", (const char *const[]){"GET", "POST", "HEAD", "OPTIONS", NULL});
    assert_allow("/centres/X",
                 (const char *const[]){"GET", "PUT", "DELETE", "HEAD", "OPTIONS", NULL});
    /* two GET routes match /docs/openapi: GET is listed once */
    assert_allow("/docs/openapi", (const char *const[]){"GET", "HEAD", "OPTIONS", NULL});
    /* no GET route: no HEAD */
    assert_allow("/p/1/2/3/4", (const char *const[]){"POST", "OPTIONS", NULL});
    /* unknown path: empty */
    assert_allow("/nowhere", (const char *const[]){NULL});
    assert_allow("", (const char *const[]){NULL});

    /* the order is the table's, then HEAD, then OPTIONS */
    char allow[64];
    router_allow(table, NROUTES, "/centres", allow, sizeof allow);
    assert_string_equal(allow, "GET, POST, HEAD, OPTIONS");
}

static void test_allow_small_buffer(void **state) {
    (void)state;
    /* too small a buffer truncates at a method boundary, never overflows */
    char allow[12];
    memset(allow, 'x', sizeof allow);
    router_allow(table, NROUTES, "/centres/X", allow, sizeof allow);
    assert_true(memchr(allow, '\0', sizeof allow) != NULL);
    assert_string_equal(allow, "GET, PUT");

    char one[1] = {'x'};
    router_allow(table, NROUTES, "/centres/X", one, sizeof one);
    assert_int_equal(one[0], '\0');

    char none[1] = {'x'};
    router_allow(table, NROUTES, "/centres/X", none, 0);
    assert_int_equal(none[0], 'x');
}

static void test_empty_segments(void **state) {
    (void)state;
    struct route_match m;
    /* a parameter never matches an empty segment */
    assert_int_equal(match("GET", "/centres//sessions/1", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/centres/X/sessions/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/docs/", &m), ROUTER_NOT_FOUND);
    /* doubled slashes are not collapsed */
    assert_int_equal(match("GET", "//healthz", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/centres//X", &m), ROUTER_NOT_FOUND);
}

static void test_param_limit(void **state) {
    (void)state;
    struct route_match m;
    char buf[64];
    assert_int_equal(match("POST", "/p/1/2/3/4", &m), ROUTER_FOUND);
    assert_int_equal(m.nparams, ROUTER_MAX_PARAMS);
    assert_string_equal(param(&m, "a", buf, sizeof buf), "1");
    assert_string_equal(param(&m, "d", buf, sizeof buf), "4");
    /* a pattern with more parameters than ROUTER_MAX_PARAMS is refused, not overflowed */
    assert_int_equal(match("POST", "/q/1/2/3/4/5", &m), ROUTER_NOT_FOUND);
    assert_int_equal(m.nparams, 0);
    assert_null(m.route);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_routes),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_not_found_vs_method_not_allowed),
        cmocka_unit_test(test_head_is_get),
        cmocka_unit_test(test_allow),
        cmocka_unit_test(test_allow_small_buffer),
        cmocka_unit_test(test_empty_segments),
        cmocka_unit_test(test_param_limit),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
