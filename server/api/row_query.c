/* row_query: see row_query.h. The context (what, cols, a copy of not_found) lives on the
 * heap from the call until the reply is rendered. */
#include "api/row_query.h"

#include "http/reply.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

struct row_query {
    const char *what;
    const struct json_col *cols; /* NULL: column 0 is the JSON */
    size_t ncols;
    char not_found[]; /* the 404 detail */
};

static void render_row(struct request *req, const PGresult *r, void *ctx) {
    struct row_query *q = ctx;
    if (!r) {
        reply_db_error(req, q->what);
    } else if (PQntuples(r) == 0) {
        reply_problem(req, PROBLEM_NOT_FOUND, "%s", q->not_found);
    } else if (!q->cols) {
        reply_json_text(req, 200, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    } else {
        struct textbuf b = {0};
        json_row_append(&b, r, 0, 0, q->cols, q->ncols);
        if (b.data)
            reply_json_text(req, 200, b.data, b.len);
        else
            reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        free(b.data);
    }
}

void row_query_cols_then(struct request *req, struct db_stmt *stmt, int nparams,
                         const char *const *values, const struct json_col *cols, size_t ncols,
                         const char *what, const char *not_found) {
    size_t n = strlen(not_found);
    struct row_query *q = malloc(sizeof *q + n + 1);
    if (!q) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    q->what = what;
    q->cols = cols;
    q->ncols = ncols;
    memcpy(q->not_found, not_found, n + 1);
    request_query_then(req, stmt, nparams, values, render_row, q, free);
}

void row_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                    const char *const *values, const char *what, const char *not_found) {
    row_query_cols_then(req, stmt, nparams, values, NULL, 0, what, not_found);
}
