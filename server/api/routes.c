/* routes: every endpoint of sluice and who may call it. The OpenAPI document
 * (openapi/, bundled to openapi.json) describes exactly these: tests/openapi (ctest
 * openapi_routes) fails when a route and its operation or x-sluice-role differ. */
#include "api/routes.h"

#include "api/handlers.h"

static const struct route routes[] = {
    /* method  pattern                 handler          role          flags */
    {"GET", "/", api_root, ROLE_PUBLIC, ROUTE_INLINE},
    {"GET", "/healthz", api_healthz, ROLE_PUBLIC, ROUTE_INLINE},
    {"GET", "/readyz", api_readyz, ROLE_PUBLIC, 0},
    {"GET", "/metrics", api_metrics, ROLE_PUBLIC, 0},
    {"GET", "/openapi.json", api_openapi, ROLE_PUBLIC, ROUTE_INLINE},
    {"GET", "/docs", api_docs_page, ROLE_PUBLIC, ROUTE_INLINE},
    {"GET", "/docs/{asset}", api_docs_asset, ROLE_PUBLIC, ROUTE_INLINE},
};

const struct route *api_routes(size_t *count) {
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
