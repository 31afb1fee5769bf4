/* jobs: POST /jobs (enqueue: 202 + Location; 200 with the existing job for a dedupe key
 * already held by an unfinished job), GET /jobs (filters kind, status, schedule,
 * created_from, created_before, queue; keyset pagination on id), GET /jobs/{id} (progress,
 * percentage, rate, ETA, counters, last events), GET /jobs/{id}/events (paginated) and
 * POST /jobs/{id}/cancel. Bad kinds and arguments are refused at enqueue with 422
 * naming the field (api/body_fields.h, as every body; never a failed job later). Roles are in
 * routes.c. The SQL is in workers/queue.c and workers/job_store.c; JSON texts are built by
 * PostgreSQL; the body (req->json) is borrowed; everything else is freed before returning. */
#include "api/body_fields.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "core/text.h"
#include "http/reply.h"
#include "job.h"
#include "job_queues.h"
#include "job_store.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"queued", "running",   "succeeded",
                                       "failed", "cancelled", NULL};

/* A job id in the path, or 0 after answering 404. */
static int64_t path_id(struct request *req) {
    const char *raw = request_param(req, "id");
    int64_t v = 0;
    if (!text_parse_id(raw, &v)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no job with id \"%.40s\"", raw ? raw : "");
        return 0;
    }
    return v;
}

static void reply_job_text(struct request *req, unsigned status, const char *json) {
    reply_json_text(req, status, json, strlen(json));
}

/* ---- POST /jobs ------------------------------------------------------------------- */

enum { F_KIND, F_ARGS, F_RUN_AT, F_PRIORITY, F_MAX_ATTEMPTS, F_DEDUPE, F_COUNT };

static const struct field_spec job_fields[F_COUNT] = {
    [F_KIND] = {.name = "kind", .type = FIELD_TEXT, .required = true, .min_len = 1, .max_len = 64},
    [F_ARGS] = {.name = "args", .type = FIELD_OBJECT, .nullable = true},
    [F_RUN_AT] = {.name = "run_at", .type = FIELD_INSTANT, .nullable = true},
    [F_PRIORITY] =
        {.name = "priority", .type = FIELD_INT, .nullable = true, .min = -100, .max = 100},
    [F_MAX_ATTEMPTS] =
        {.name = "max_attempts", .type = FIELD_INT, .nullable = true, .min = 1, .max = 100},
    [F_DEDUPE] =
        {.name = "dedupe_key", .type = FIELD_TEXT, .nullable = true, .min_len = 1, .max_len = 200},
};

/* The kind named by the body, or NULL after adding a failure naming the known kinds. */
static const struct job_kind *find_kind(const char *name, struct field_errors *errs) {
    const struct job_kind *kind = job_kind_find(name);
    if (kind) return kind;
    struct textbuf known = {0};
    for (size_t i = 0; i < job_kind_count(); i++) {
        if (i) textbuf_put(&known, ", ", 2);
        textbuf_put(&known, job_kind_at(i)->name, strlen(job_kind_at(i)->name));
    }
    body_fields_fail_rule(errs, "kind", "names no job kind: \"%.80s\" (kinds: %.200s)", name,
                          known.data ? known.data : "none");
    free(known.data);
    return NULL;
}

void api_jobs_create(struct request *req) {
    struct field_value f[F_COUNT];
    struct field_errors errs = {0};
    bool ok = body_fields_check(req->json, "", job_fields, F_COUNT, f, &errs);
    const struct job_kind *kind = f[F_KIND].text ? find_kind(f[F_KIND].text, &errs) : NULL;
    json_t *args = f[F_ARGS].present && !f[F_ARGS].is_null ? f[F_ARGS].json : NULL;
    if (kind && !job_args_collect(kind, args, &errs)) ok = false;
    if (!ok || !kind) {
        body_fields_reply(req, &errs);
        return;
    }
    long priority = f[F_PRIORITY].present && !f[F_PRIORITY].is_null ? f[F_PRIORITY].integer : 0;
    long max_attempts = kind->max_attempts > 0 ? kind->max_attempts : 3;
    if (f[F_MAX_ATTEMPTS].present && !f[F_MAX_ATTEMPTS].is_null)
        max_attempts = (long)f[F_MAX_ATTEMPTS].integer;
    const char *run_at = f[F_RUN_AT].is_null ? NULL : f[F_RUN_AT].text;
    const char *dedupe = f[F_DEDUPE].is_null ? NULL : f[F_DEDUPE].text;
    char *args_text = args ? json_dumps(args, JSON_COMPACT) : NULL;
    struct queue_new j = {
        .kind = kind->name,
        .args_json = args_text,
        .run_at = run_at,
        .priority = (int)priority,
        .max_attempts = (int)max_attempts,
        .dedupe_key = dedupe,
        .origin = "api",
        .created_by = req->auth.authenticated ? req->auth.user_id : 0,
    };
    int64_t id = 0;
    bool existing = false;
    char *json = NULL;
    if (queue_enqueue(req->db, &j, &id, &existing) != 0 ||
        job_store_get(req->db, id, 0, &json) != 0 || !json) {
        reply_db_error(req, "enqueue a job");
    } else {
        char location[48];
        snprintf(location, sizeof location, "/jobs/%lld", (long long)id);
        reply_header(req, "Location", location);
        reply_job_text(req, existing ? 200 : 202, json);
    }
    free(json);
    free(args_text);
}

/* ---- GET /jobs -------------------------------------------------------------------- */

/* status=a,b (or repeated) into a text[] literal of known statuses. */
static bool status_filter(struct request *req, char *out, size_t outlen) {
    out[0] = '\0';
    struct textbuf lit = {0};
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, "status") != 0) continue;
        const char *p = req->query[i].value;
        do {
            size_t n = strcspn(p, ",");
            size_t k = 0;
            while (statuses[k] && !(strlen(statuses[k]) == n && strncmp(statuses[k], p, n) == 0))
                k++;
            if (!statuses[k]) {
                query_bad(req, "status",
                          "status must be a comma-separated list of queued, running, succeeded, "
                          "failed, cancelled");
                free(lit.data);
                return false;
            }
            textbuf_printf(&lit, "%s%s", lit.len ? "," : "{", statuses[k]);
            p += n + (p[n] == ',');
        } while (*p);
    }
    if (lit.len) snprintf(out, outlen, "%s}", lit.data);
    free(lit.data);
    return true;
}

static bool instant_param(struct request *req, const char *name, struct query_time *t,
                          const char **out) {
    const char *v = NULL;
    *out = NULL;
    if (!query_text(req, name, 64, &v)) return false;
    if (!v) return true;
    if (!parse_instant(v, t)) {
        query_bad(req, name,
                  "%s must be an RFC 3339 date-time with an offset, e.g. "
                  "2025-01-31T03:00:00Z",
                  name);
        return false;
    }
    *out = t->text;
    return true;
}

void api_jobs_list(struct request *req) {
    static const char *const allowed[] = {"limit",  "cursor",   "sort",         "kind",
                                          "status", "schedule", "created_from", "created_before",
                                          "queue",  NULL};
    static const char *const repeatable[] = {"status", NULL};
    static const struct page_sort sorts[] = {{"-id", 1, {PAGE_KEY_INT}}, {"id", 1, {PAGE_KEY_INT}}};
    struct job_filter f = {0};
    char status_lit[128];
    struct query_time from, before;
    struct page pg;
    if (!query_check_names(req, allowed, repeatable) || !query_text(req, "kind", 64, &f.kind) ||
        !query_text(req, "schedule", 64, &f.schedule) ||
        !query_text(req, "queue", JOB_QUEUE_NAME_MAX, &f.queue) ||
        !status_filter(req, status_lit, sizeof status_lit) ||
        !instant_param(req, "created_from", &from, &f.created_from) ||
        !instant_param(req, "created_before", &before, &f.created_before) ||
        !page_parse(req, sorts, 2, &pg))
        return;
    f.statuses = status_lit[0] ? status_lit : NULL;
    PGresult *r = job_store_list(req->db, &f, pg.sort_index == 1, page_key(&pg, 0, NULL), pg.fetch);
    if (!r) {
        reply_db_error(req, "list jobs");
    } else {
        page_reply_result(req, &pg, r, 1, (const int[]){0});
        PQclear(r);
    }
    page_cleanup(&pg);
}

/* ---- GET /jobs/{id}, GET /jobs/{id}/events ---------------------------------------- */

void api_job_get(struct request *req) {
    int64_t id = path_id(req);
    if (!id) return;
    char *json = NULL;
    if (job_store_get(req->db, id, JOB_STORE_LAST_EVENTS, &json) != 0)
        reply_db_error(req, "get a job");
    else if (!json)
        reply_problem(req, PROBLEM_NOT_FOUND, "no job with id %lld", (long long)id);
    else
        reply_job_text(req, 200, json);
    free(json);
}

void api_job_events(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", NULL};
    static const struct page_sort sorts[] = {{"seq", 1, {PAGE_KEY_INT}}};
    int64_t id = path_id(req);
    struct page pg;
    if (!id || !query_check_names(req, allowed, NULL) || !page_parse(req, sorts, 1, &pg)) return;
    int exists = job_store_exists(req->db, id);
    PGresult *r =
        exists == 1 ? job_store_events(req->db, id, page_key(&pg, 0, NULL), pg.fetch) : NULL;
    if (exists == 0) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no job with id %lld", (long long)id);
    } else if (!r) {
        reply_db_error(req, "list job events");
    } else {
        page_reply_result(req, &pg, r, 1, (const int[]){0});
    }
    if (r) PQclear(r);
    page_cleanup(&pg);
}

/* ---- POST /jobs/{id}/cancel ------------------------------------------------------- */

void api_job_cancel(struct request *req) {
    int64_t id = path_id(req);
    if (!id) return;
    char who[160], status[16] = "";
    snprintf(who, sizeof who, "user %s", req->auth.authenticated ? req->auth.username : "?");
    enum job_cancel_result result;
    char *json = NULL;
    if (job_store_cancel(req->db, id, who, &result, status) != 0) {
        reply_db_error(req, "cancel a job");
        return;
    }
    switch (result) {
    case JOB_CANCEL_NOT_FOUND:
        reply_problem(req, PROBLEM_NOT_FOUND, "no job with id %lld", (long long)id);
        return;
    case JOB_CANCEL_FINISHED:
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "job_status", status),
                           "job %lld has already finished (%s): nothing to cancel", (long long)id,
                           status);
        return;
    case JOB_CANCEL_DONE:
    case JOB_CANCEL_REQUESTED:
        if (job_store_get(req->db, id, JOB_STORE_LAST_EVENTS, &json) != 0 || !json)
            reply_db_error(req, "get a job");
        else
            reply_job_text(req, result == JOB_CANCEL_DONE ? 200 : 202, json);
        free(json);
        return;
    }
}
