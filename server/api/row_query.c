/* row_query: see row_query.h. The context (what, a copy of not_found) lives on the heap
 * from the call until the reply is rendered. */
#include "api/row_query.h"

#include "http/reply.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

struct row_query {
    const char *what;
    char not_found[]; /* the 404 detail */
};

static void render_row(struct request *req, const PGresult *r, void *ctx) {
    struct row_query *q = ctx;
    if (!r)
        reply_db_error(req, q->what);
    else if (PQntuples(r) == 0)
        reply_problem(req, PROBLEM_NOT_FOUND, "%s", q->not_found);
    else
        reply_bytes(req, 200, "application/json", PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0),
                    false);
}

void row_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                    const char *const *values, const char *what, const char *not_found) {
    size_t n = strlen(not_found);
    struct row_query *q = malloc(sizeof *q + n + 1);
    if (!q) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    q->what = what;
    memcpy(q->not_found, not_found, n + 1);
    request_query_then(req, stmt, nparams, values, render_row, q, free);
}
