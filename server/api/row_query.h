/* row_query: the end of a handler that answers one row's JSON (built by PostgreSQL in
 * column 0) or 404, with its statement pipelined (request_query_then). Strings are
 * copied; nothing of the caller's stack is kept. */
#ifndef SLUICE_ROW_QUERY_H
#define SLUICE_ROW_QUERY_H

#include "http/request.h"

/* Runs stmt with values, then answers 200 with column 0 of the first row, 404
 * /problems/not-found with the detail not_found when there is no row, or
 * reply_db_error(req, what) (what is static). */
void row_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                    const char *const *values, const char *what, const char *not_found);

#endif
