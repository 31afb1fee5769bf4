/* routes: every endpoint of sluice and who may call it. The OpenAPI document
 * (openapi/, bundled to openapi.json) describes exactly these: tests/openapi (ctest
 * openapi_routes) fails when a route and its operation or x-sluice-role differ. */
#include "api/routes.h"

#include "api/handlers.h"

/* Streamed bodies (ROUTE_STREAM_BODY): the config key of the limit and the step that
 * runs after authorization, before any body byte is read (see http/router.h). */
static const struct route_stream upload_stream = {"MAX_UPLOAD_BYTES", uploads_prepare};
static const struct route_stream log_file_stream = {"MAX_LOG_UPLOAD_BYTES", log_upload_prepare};

static const struct route routes[] = {
    /* method, pattern, handler, role, flags (ROUTE_INLINE; the body kind: ROUTE_JSON_BODY,
     * ROUTE_FORM_BODY, ROUTE_RAW_BODY or ROUTE_STREAM_BODY), stream (stream routes) */
    {"GET", "/", api_root, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/healthz", api_healthz, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/readyz", api_readyz, ROLE_PUBLIC, 0, NULL},
    {"GET", "/metrics", api_metrics, ROLE_PUBLIC, 0, NULL},
    {"GET", "/openapi.json", api_openapi, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/docs", api_docs_page, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"GET", "/docs/{asset}", api_docs_asset, ROLE_PUBLIC, ROUTE_INLINE, NULL},
    {"POST", "/token", api_token, ROLE_PUBLIC, ROUTE_RAW_BODY | ROUTE_OAUTH,
     NULL}, /* form: token.c */
    {"POST", "/users", api_users_create, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"GET", "/users", api_users_list, ROLE_ADMIN, 0, NULL},
    {"GET", "/users/me", api_users_me, ROLE_VIEWER, 0, NULL},
    {"GET", "/users/{id}", api_users_get, ROLE_ADMIN, 0, NULL},
    {"PATCH", "/users/{id}", api_users_update, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"DELETE", "/users/{id}", api_users_delete, ROLE_ADMIN, 0, NULL},
    {"GET", "/centres", api_centres_list, ROLE_VIEWER, 0, NULL},
    {"POST", "/centres", api_centres_create, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/centres/{code}", api_centre_get, ROLE_VIEWER, 0, NULL},
    {"PATCH", "/centres/{code}", api_centre_patch, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/centres/{code}/kpis", api_centre_kpis, ROLE_VIEWER, 0, NULL},
    {"GET", "/centres/{code}/log-files", api_log_files_list, ROLE_VIEWER, 0, NULL},
    {"GET", "/centres/{code}/log-files/{name}", api_log_file_get, ROLE_VIEWER, 0, NULL},
    {"PUT", "/centres/{code}/log-files/{name}", api_log_file_put, ROLE_OPERATOR, ROUTE_STREAM_BODY,
     &log_file_stream},
    {"GET", "/centres/{code}/log-rejects", api_log_rejects_list, ROLE_VIEWER, 0, NULL},
    {"GET", "/kpis", api_kpis_compare, ROLE_VIEWER, 0, NULL},
    {"GET", "/sessions", api_sessions_list, ROLE_VIEWER, 0, NULL},
    {"GET", "/sessions/{id}", api_session_get, ROLE_VIEWER, 0, NULL},
    {"GET", "/sessions/{id}/pieces", api_session_pieces, ROLE_VIEWER, 0, NULL},
    {"GET", "/commandes-volets", api_orders_list, ROLE_VIEWER, 0, NULL},
    {"POST", "/commandes-volets", api_orders_create, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/commandes-volets/{numero}", api_order_get, ROLE_VIEWER, 0, NULL},
    {"POST", "/jobs", api_jobs_create, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/jobs", api_jobs_list, ROLE_VIEWER, 0, NULL},
    {"GET", "/jobs/{id}", api_job_get, ROLE_VIEWER, 0, NULL},
    {"GET", "/jobs/{id}/events", api_job_events, ROLE_VIEWER, 0, NULL},
    {"POST", "/jobs/{id}/cancel", api_job_cancel, ROLE_OPERATOR, 0, NULL},
    {"POST", "/uploads", api_uploads_create, ROLE_OPERATOR, ROUTE_STREAM_BODY, &upload_stream},
    {"GET", "/uploads/{id}", api_upload_get, ROLE_OPERATOR, 0, NULL},
    {"DELETE", "/uploads/{id}", api_upload_delete, ROLE_OPERATOR, 0, NULL},
    {"GET", "/sync-runs", api_sync_runs_list, ROLE_VIEWER, 0, NULL},
    {"GET", "/sync-runs/{id}", api_sync_run_get, ROLE_VIEWER, 0, NULL},
    {"GET", "/schedules", api_schedules_list, ROLE_VIEWER, 0, NULL},
    {"PATCH", "/schedules/{name}", api_schedule_patch, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"GET", "/patients", api_patients_list, ROLE_VIEWER, 0, NULL},
    {"POST", "/patients", api_patients_create, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/patients/{id}", api_patient_get, ROLE_VIEWER, 0, NULL},
    {"PATCH", "/patients/{id}", api_patient_patch, ROLE_OPERATOR, ROUTE_JSON_BODY, NULL},
    {"GET", "/patients/{id}/data", api_patient_data, ROLE_VIEWER, 0, NULL},
    {"GET", "/parameters", api_parameters_list, ROLE_VIEWER, 0, NULL},
    {"POST", "/parameters", api_parameters_create, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
    {"GET", "/parameters/{id}", api_parameter_get, ROLE_VIEWER, 0, NULL},
    {"PATCH", "/parameters/{id}", api_parameter_patch, ROLE_ADMIN, ROUTE_JSON_BODY, NULL},
};

const struct route *api_routes(size_t *count) {
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
