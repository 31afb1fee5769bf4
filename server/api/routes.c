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
    {"POST", "/token", api_token, ROLE_PUBLIC, ROUTE_RAW_BODY | ROUTE_OAUTH}, /* form: token.c */
    {"POST", "/users", api_users_create, ROLE_ADMIN, ROUTE_JSON_BODY},
    {"GET", "/users", api_users_list, ROLE_ADMIN, 0},
    {"GET", "/users/me", api_users_me, ROLE_VIEWER, 0},
    {"GET", "/users/{id}", api_users_get, ROLE_ADMIN, 0},
    {"PATCH", "/users/{id}", api_users_update, ROLE_ADMIN, ROUTE_JSON_BODY},
    {"DELETE", "/users/{id}", api_users_delete, ROLE_ADMIN, 0},
    {"GET", "/centres", api_centres_list, ROLE_VIEWER, 0},
    {"POST", "/centres", api_centres_create, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/centres/{code}", api_centre_get, ROLE_VIEWER, 0},
    {"PATCH", "/centres/{code}", api_centre_patch, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/centres/{code}/kpis", api_centre_kpis, ROLE_VIEWER, 0},
    {"GET", "/centres/{code}/log-files", api_log_files_list, ROLE_VIEWER, 0},
    {"GET", "/centres/{code}/log-files/{name}", api_log_file_get, ROLE_VIEWER, 0},
    {"GET", "/centres/{code}/log-rejects", api_log_rejects_list, ROLE_VIEWER, 0},
    {"GET", "/kpis", api_kpis_compare, ROLE_VIEWER, 0},
    {"GET", "/sessions", api_sessions_list, ROLE_VIEWER, 0},
    {"GET", "/sessions/{id}", api_session_get, ROLE_VIEWER, 0},
    {"GET", "/sessions/{id}/pieces", api_session_pieces, ROLE_VIEWER, 0},
    {"GET", "/commandes-volets", api_orders_list, ROLE_VIEWER, 0},
    {"POST", "/commandes-volets", api_orders_create, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/commandes-volets/{numero}", api_order_get, ROLE_VIEWER, 0},
    {"POST", "/jobs", api_jobs_create, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/jobs", api_jobs_list, ROLE_VIEWER, 0},
    {"GET", "/jobs/{id}", api_job_get, ROLE_VIEWER, 0},
    {"GET", "/jobs/{id}/events", api_job_events, ROLE_VIEWER, 0},
    {"POST", "/jobs/{id}/cancel", api_job_cancel, ROLE_OPERATOR, 0},
    {"GET", "/sync-runs", api_sync_runs_list, ROLE_VIEWER, 0},
    {"GET", "/sync-runs/{id}", api_sync_run_get, ROLE_VIEWER, 0},
    {"GET", "/schedules", api_schedules_list, ROLE_VIEWER, 0},
    {"PATCH", "/schedules/{name}", api_schedule_patch, ROLE_ADMIN, ROUTE_JSON_BODY},
    {"GET", "/patients", api_patients_list, ROLE_VIEWER, 0},
    {"POST", "/patients", api_patients_create, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/patients/{id}", api_patient_get, ROLE_VIEWER, 0},
    {"PATCH", "/patients/{id}", api_patient_patch, ROLE_OPERATOR, ROUTE_JSON_BODY},
    {"GET", "/patients/{id}/data", api_patient_data, ROLE_VIEWER, 0},
    {"GET", "/parameters", api_parameters_list, ROLE_VIEWER, 0},
    {"POST", "/parameters", api_parameters_create, ROLE_ADMIN, ROUTE_JSON_BODY},
    {"GET", "/parameters/{id}", api_parameter_get, ROLE_VIEWER, 0},
    {"PATCH", "/parameters/{id}", api_parameter_patch, ROLE_ADMIN, ROUTE_JSON_BODY},
};

const struct route *api_routes(size_t *count) {
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
