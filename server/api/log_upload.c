/* log_upload: PUT /centres/{code}/log-files/{name} — a LOG file sent over HTTP instead of
 * SFTP. A streamed body (http/body_file.h): log_upload_prepare decides everything before
 * the body is read (404 unknown centre, 409 inactive centre, 422 bad name, 415 other
 * Content-Types) and streams it to a nameless file in LOG_ROOT/<log_folder>/, renamed over
 * <name> once complete and fsynced; api_log_file_put then queues the centre's ingest
 * (machine_logs/ingest_queue.h, shared with the watcher) and answers 202 with that job.
 * What prepare learns travels to the handler in req->ctx (malloc'd, freed with the
 * request); the PGresults are cleared before returning. */
#include "api/centres.h"
#include "api/handlers.h"
#include "api/query_params.h"
#include "app.h"
#include "core/text.h"
#include "db/db.h"
#include "http/body_file.h"
#include "http/reply.h"
#include "machine_logs/ingest_queue.h"
#include "machine_logs/logparse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define LOG_NAME_MAX 255

static struct db_stmt q_centre =
    DB_STMT("SELECT log_folder, actif FROM centre_usinage WHERE code = $1");

struct log_upload_ctx {
    char code[CENTRE_CODE_MAX + 1];
    const char *name; /* borrowed from the request's path */
};

/* Why name cannot be a LOG file name of a centre's folder, or NULL when it can. */
static const char *bad_name(const char *name) {
    size_t n = strlen(name);
    if (n > LOG_NAME_MAX) return "at most 255 bytes";
    if (strchr(name, '/')) return "a plain file name, without '/'";
    if (name[0] == '.') return "must not start with '.' (hidden names are never read)";
    if (!text_utf8_valid(name, n)) return "must be UTF-8";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return "must not hold control characters";
    if (!logparse_wanted_name(name))
        return "a LOG file name ending in .LOG, not .tmp or .part (e.g. 20250528.LOG)";
    return NULL;
}

/* application/octet-stream or text/plain (any parameters), or none at all (RFC 9110
 * 8.3: then the body is taken as application/octet-stream). */
static bool accepted_type(const char *ct) {
    if (!ct || !*ct) return true;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return (n == 24 && strncasecmp(ct, "application/octet-stream", n) == 0) ||
           (n == 10 && strncasecmp(ct, "text/plain", n) == 0);
}

/* mkdir that accepts an existing folder; false after answering 500. */
static bool ensure_dir(struct request *req, const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return true;
    reply_problem(req, PROBLEM_INTERNAL, "cannot create the folder %s: %s", path, strerror(errno));
    return false;
}

void log_upload_prepare(struct request *req) {
    static const char *const allowed[] = {NULL};
    const char *raw = request_param(req, "code");
    const char *name = request_param(req, "name");
    struct log_upload_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    request_set_ctx(req, ctx, free);
    if (!raw || !centre_code_normalize(raw, ctx->code)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%.64s\"", raw ? raw : "");
        return;
    }
    if (!query_check_names(req, allowed, NULL)) return;
    const char *v[] = {ctx->code};
    PGresult *r = db_exec(req->db, &q_centre, 1, v);
    if (!r) {
        reply_db_error(req, "find the centre");
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"", ctx->code);
        return;
    }
    const struct config *cfg = &app_get()->config;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", cfg->log_root, PQgetvalue(r, 0, 0));
    bool active = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (!active) {
        reply_problem(req, PROBLEM_CONFLICT,
                      "centre %s is inactive: its LOG files are not read (PATCH it active first)",
                      ctx->code);
        return;
    }
    const char *why = name ? bad_name(name) : "missing";
    if (why) {
        reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "name"),
                           "name: %s (got \"%.80s%s\")", why, name ? name : "",
                           name && strlen(name) > 80 ? "..." : "");
        return;
    }
    if (!accepted_type(req->content_type)) {
        reply_problem_with(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                           json_pack("{s:s}", "expected", "application/octet-stream"),
                           "Content-Type \"%.100s\" is not accepted here: send the file's bytes"
                           " as application/octet-stream or text/plain",
                           req->content_type);
        return;
    }
    if (!ensure_dir(req, cfg->log_root) || !ensure_dir(req, dir)) return;
    ctx->name = name;
    request_stream_to(req, dir, name);
}

void api_log_file_put(struct request *req) {
    const struct log_upload_ctx *ctx = req->ctx;
    const struct body_file_result *f = request_stream_file(req);
    struct ml_enqueue how = {.code = ctx->code,
                             .origin = "api",
                             .created_by = req->auth.authenticated ? req->auth.user_id : 0};
    int64_t id = 0;
    bool existing = false;
    if (ml_enqueue_ingest(req->db, &how, &id, &existing) != 0) {
        reply_db_error(req, "queue the ingest of an uploaded LOG file");
        return;
    }
    char url[48];
    snprintf(url, sizeof url, "/jobs/%lld", (long long)id);
    json_t *body =
        json_pack("{s:I,s:s,s:s,s:b,s:{s:s,s:s,s:I,s:s}}", "id", (json_int_t)id, "url", url, "kind",
                  "machine_logs.ingest", "reused", existing, "file", "centre", ctx->code, "name",
                  ctx->name, "size", (json_int_t)f->size, "sha256", f->sha256);
    if (!body) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    reply_json(req, 202, body);
    reply_header(req, "Location", url);
}
