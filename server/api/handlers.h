/* handlers: the handler functions of every resource file, for the route table. */
#ifndef SLUICE_HANDLERS_H
#define SLUICE_HANDLERS_H

#include "http/request.h"

/* health.c */
void api_healthz(struct request *req);
void api_readyz(struct request *req);
/* metrics.c */
void api_metrics(struct request *req);
/* token.c */
void api_token(struct request *req);
/* users.c */
void api_users_create(struct request *req);
void api_users_list(struct request *req);
void api_users_me(struct request *req);
void api_users_get(struct request *req);
void api_users_update(struct request *req);
void api_users_delete(struct request *req);
/* centres.c */
void api_centres_list(struct request *req);
void api_centres_create(struct request *req);
void api_centre_get(struct request *req);
void api_centre_patch(struct request *req);
/* kpis.c */
void api_centre_kpis(struct request *req);
void api_kpis_compare(struct request *req);
/* sessions.c */
void api_sessions_list(struct request *req);
void api_session_get(struct request *req);
void api_session_pieces(struct request *req);

/* log_files.c: what machine-log ingestion read, and the lines it rejected */
void api_log_files_list(struct request *req);
void api_log_file_get(struct request *req);
/* log_upload.c (PUT streams its body: log_upload_prepare is its `prepare`) */
void log_upload_prepare(struct request *req);
void api_log_file_put(struct request *req);
void api_log_rejects_list(struct request *req);
/* orders.c */
void api_orders_list(struct request *req);
void api_orders_create(struct request *req);
void api_order_get(struct request *req);
/* jobs.c */
void api_jobs_create(struct request *req);
void api_jobs_list(struct request *req);
void api_job_get(struct request *req);
/* sync_runs.c: the history of orders.sync */
void api_sync_runs_list(struct request *req);
void api_sync_run_get(struct request *req);
void api_job_events(struct request *req);
void api_job_cancel(struct request *req);
/* schedules.c */
void api_schedules_list(struct request *req);
void api_schedule_patch(struct request *req);
/* uploads.c (POST /uploads streams its body: uploads_prepare is its `prepare`) */
void uploads_prepare(struct request *req);
void api_uploads_create(struct request *req);
void api_upload_get(struct request *req);
void api_upload_delete(struct request *req);
/* docs.c */
void api_openapi(struct request *req);
void api_docs_page(struct request *req);
void api_docs_asset(struct request *req);
void api_root(struct request *req);

/* patients.c */
void api_patients_list(struct request *req);
void api_patients_create(struct request *req);
void api_patient_get(struct request *req);
void api_patient_patch(struct request *req);
void api_patient_data(struct request *req);
/* parameters.c */
void api_parameters_list(struct request *req);
void api_parameters_create(struct request *req);
void api_parameter_get(struct request *req);
void api_parameter_patch(struct request *req);

#endif
