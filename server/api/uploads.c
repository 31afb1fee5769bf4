/* uploads: POST /uploads (a streamed body: uploads_prepare reserves the id and names the
 * file UPLOAD_DIR/<id>; api_uploads_create records it once it is in place), GET
 * /uploads/{id} and DELETE /uploads/{id}. JSON is built by PostgreSQL. The id reserved
 * by prepare travels to the handler in req->ctx (malloc'd, freed with the request). */
#include "core/json_out.h"
#include "api/handlers.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "app.h"
#include "db/db.h"
#include "http/body_file.h"
#include "http/reply.h"
#include "uploads/upload_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPLOAD_JSON                                                                                \
    "json_build_object('id', u.id, 'size', u.size, 'sha256', u.sha256, 'filename', u.filename,"    \
    " 'content_type', u.content_type, 'created_by', u.created_by,"                                 \
    " 'created_at', " JSON_SQL_UTC("u.created_at") ", 'expires_at', "                              \
                                                   "" JSON_SQL_UTC("u.expires_at") ")::text"

static struct db_stmt q_reserve =
    DB_STMT("SELECT nextval(pg_get_serial_sequence('uploads', 'id'))");

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO uploads AS u (id, size, sha256, filename, content_type, created_by,"
            " expires_at) VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6::bigint,"
            " now() + make_interval(hours => $7::int)) RETURNING " UPLOAD_JSON);

static struct db_stmt q_get = DB_STMT(
    "SELECT " UPLOAD_JSON " FROM uploads u WHERE u.id = $1::bigint AND u.expires_at > now()");

static struct db_stmt q_delete = DB_STMT("DELETE FROM uploads WHERE id = $1::bigint RETURNING id");

/* What prepare hands to the handler. */
struct upload_ctx {
    char id[24];
    const char *filename; /* borrowed from the request's query */
};

/* The {id} of the path as digits (at most 18, no leading zero), or NULL after a 404. */
static const char *path_upload_id(struct request *req) {
    const char *raw = request_param(req, "id");
    size_t n = raw ? strspn(raw, "0123456789") : 0;
    if (!raw || n == 0 || n > 18 || raw[n] != '\0' || raw[0] == '0') {
        reply_problem(req, PROBLEM_NOT_FOUND, "no upload with id \"%.40s\"", raw ? raw : "");
        return NULL;
    }
    return raw;
}

/* POST /uploads, before the body: checks the query, reserves the id, opens the file. */
void uploads_prepare(struct request *req) {
    static const char *const allowed[] = {"filename", NULL};
    const char *filename = NULL;
    if (!query_check_names(req, allowed, NULL) || !query_text(req, "filename", 255, &filename))
        return;
    if (req->content_type && strlen(req->content_type) > 255) {
        reply_problem(req, PROBLEM_BAD_REQUEST, "the Content-Type header is longer than 255 bytes");
        return;
    }
    PGresult *r = db_exec(req->db, &q_reserve, 0, NULL);
    if (!r) {
        reply_db_error(req, "reserve an upload id");
        return;
    }
    struct upload_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        PQclear(r);
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    snprintf(ctx->id, sizeof ctx->id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    ctx->filename = filename;
    request_set_ctx(req, ctx, free);
    request_stream_to(req, app_get()->config.upload_dir, ctx->id);
}

/* POST /uploads, once the body is in place: the row, then 201. */
void api_uploads_create(struct request *req) {
    const struct upload_ctx *ctx = req->ctx;
    const struct body_file_result *f = request_stream_file(req);
    char size[24], by[24], hours[24];
    snprintf(size, sizeof size, "%" PRIu64, f->size);
    snprintf(by, sizeof by, "%lld", (long long)req->auth.user_id);
    snprintf(hours, sizeof hours, "%ld", app_get()->config.upload_retention_hours);
    const char *ct = req->content_type && *req->content_type ? req->content_type : NULL;
    const char *v[] = {ctx->id, size, f->sha256, ctx->filename, ct, by, hours};
    PGresult *r = db_exec(req->db, &q_insert, 7, v);
    if (!r) {
        reply_db_error(req, "record an upload"); /* the file goes with the error reply */
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/uploads/%s", ctx->id);
    reply_json_text(req, 201, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    reply_header(req, "Location", location);
    PQclear(r);
}

void api_upload_get(struct request *req) {
    const char *id = path_upload_id(req);
    if (!id) return;
    const char *v[] = {id};
    row_query_then(req, &q_get, 1, v, "get an upload", "no upload with this id");
}

void api_upload_delete(struct request *req) {
    const char *id = path_upload_id(req);
    if (!id) return;
    const char *v[] = {id};
    PGresult *r = db_exec(req->db, &q_delete, 1, v);
    if (!r) {
        reply_db_error(req, "delete an upload");
        return;
    }
    bool found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no upload with id %s", id);
        return;
    }
    char path[4096];
    if (upload_store_path(&app_get()->config, strtoll(id, NULL, 10), path, sizeof path) &&
        unlink(path) != 0 && errno != ENOENT)
        reply_problem(req, PROBLEM_INTERNAL, "upload %s: its row is deleted, its file not: %s", id,
                      strerror(errno));
    else
        reply_bytes(req, 204, NULL, "", 0, true);
}
