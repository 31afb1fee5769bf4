/* jobs: POST /jobs (enqueue: 202 + Location; 200 with the existing job for a dedupe key
 * already held by an unfinished job), GET /jobs (filters kind, status, schedule,
 * created_from, created_before, queue; keyset pagination on id), GET /jobs/{id} (progress,
 * percentage, rate, ETA, counters, last events), GET /jobs/{id}/events (paginated) and
 * POST /jobs/{id}/cancel. Bad kinds and arguments are refused at enqueue with 400
 * naming the field (never a failed job later). Roles are in routes.c. The SQL is in
 * workers/queue.c and workers/job_store.c; JSON texts are built by PostgreSQL; the
 * body (req->json) is borrowed; everything else is freed before returning. */
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "core/text.h"
#include "http/reply.h"
#include "job.h"
#include "job_queues.h"
#include "job_store.h"
#include "queue.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"queued", "running",   "succeeded",
                                       "failed", "cancelled", NULL};

__attribute__((format(printf, 3, 4))) static void bad_field(struct request *req, const char *field,
                                                            const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    reply_problem_with(req, PROBLEM_BAD_REQUEST, json_pack("{s:s}", "field", field), "%s: %s",
                       field, detail);
}

/* A positive id of at most 18 digits, or 0 after answering 404. */
static int64_t path_id(struct request *req) {
    const char *raw = request_param(req, "id");
    int64_t v = 0;
    bool ok = raw && *raw && strlen(raw) <= 18 && raw[0] != '0';
    for (const char *p = raw; ok && *p; p++) {
        if (*p < '0' || *p > '9') ok = false;
        v = v * 10 + (*p - '0');
    }
    if (!ok) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no job with id \"%.40s\"", raw ? raw : "");
        return 0;
    }
    return v;
}

static void reply_job_text(struct request *req, unsigned status, const char *json) {
    reply_bytes(req, status, "application/json", json, strlen(json), false);
}

/* ---- POST /jobs ------------------------------------------------------------------- */

static bool text_member(struct request *req, json_t *v, const char *field, size_t max,
                        const char **out) {
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        bad_field(req, field, "must be a string of 1 to %zu bytes", max);
        return false;
    }
    *out = json_string_value(v);
    for (const char *p = *out; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            bad_field(req, field, "must not contain control characters");
            return false;
        }
    }
    if (strlen(*out) != json_string_length(v)) {
        bad_field(req, field, "must not contain NUL characters");
        return false;
    }
    return true;
}

static bool int_member(struct request *req, json_t *v, const char *field, long min, long max,
                       long *out) {
    if (!v || json_is_null(v)) return true;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        bad_field(req, field, "must be an integer from %ld to %ld", min, max);
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

void api_jobs_create(struct request *req) {
    json_t *body = req->json;
    if (!json_is_object(body)) {
        bad_field(req, "body", "must be a JSON object {\"kind\": ..., \"args\": {...}}");
        return;
    }
    static const char *const members[] = {"kind",         "args",       "run_at", "priority",
                                          "max_attempts", "dedupe_key", NULL};
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        bool known = false;
        for (size_t i = 0; members[i]; i++) known = known || strcmp(key, members[i]) == 0;
        if (!known) {
            bad_field(req, key,
                      "is not a member of a job request (kind, args, run_at, priority, "
                      "max_attempts, dedupe_key)");
            return;
        }
    }
    json_t *jkind = json_object_get(body, "kind");
    if (!json_is_string(jkind)) {
        bad_field(req, "kind", "is required: the name of a job kind");
        return;
    }
    const struct job_kind *kind = job_kind_find(json_string_value(jkind));
    if (!kind) {
        struct textbuf known = {0};
        for (size_t i = 0; i < job_kind_count(); i++)
            textbuf_printf(&known, "%s%s", i ? ", " : "", job_kind_at(i)->name);
        bad_field(req, "kind", "no job kind named \"%.80s\" (kinds: %s)", json_string_value(jkind),
                  known.data ? known.data : "none");
        free(known.data);
        return;
    }
    json_t *args = json_object_get(body, "args");
    if (json_is_null(args)) args = NULL;
    struct job_error err;
    if (job_args_check(kind, args, &err) != 0) {
        bad_field(req, err.field, "%s", err.message);
        return;
    }
    long priority = 0, max_attempts = kind->max_attempts > 0 ? kind->max_attempts : 3;
    const char *run_at = NULL, *dedupe = NULL;
    if (!int_member(req, json_object_get(body, "priority"), "priority", -100, 100, &priority) ||
        !int_member(req, json_object_get(body, "max_attempts"), "max_attempts", 1, 100,
                    &max_attempts) ||
        !text_member(req, json_object_get(body, "run_at"), "run_at", 64, &run_at) ||
        !text_member(req, json_object_get(body, "dedupe_key"), "dedupe_key", 200, &dedupe))
        return;
    struct query_time when;
    if (run_at && !parse_instant(run_at, &when)) {
        bad_field(req, "run_at",
                  "must be an RFC 3339 date-time with an offset, e.g. 2025-01-31T03:00:00Z");
        return;
    }
    char *args_text = args ? json_dumps(args, JSON_COMPACT) : NULL;
    struct queue_new j = {
        .kind = kind->name,
        .args_json = args_text,
        .run_at = run_at ? when.text : NULL,
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
