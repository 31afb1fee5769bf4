/* row_query: the end of a handler that answers one row's JSON or 404, with its statement
 * pipelined (request_query_then). The row is either JSON text built by PostgreSQL in
 * column 0, or plain columns written by json_row (api/json_row.h) from the resource's
 * declaration, as its list writes them. Strings are copied; cols must be static;
 * nothing of the caller's stack is kept. */
#ifndef SLUICE_ROW_QUERY_H
#define SLUICE_ROW_QUERY_H

#include "api/json_row.h"
#include "http/request.h"

/* Runs stmt with values, then answers 200 with column 0 of the first row, 404
 * /problems/not-found with the detail not_found when there is no row, or
 * reply_db_error(req, what) (what is static). */
void row_query_then(struct request *req, struct db_stmt *stmt, int nparams,
                    const char *const *values, const char *what, const char *not_found);

/* The same, the 200 body being the first row's columns 0..ncols-1 written as cols[]
 * declares (json_row_append). */
void row_query_cols_then(struct request *req, struct db_stmt *stmt, int nparams,
                         const char *const *values, const struct json_col *cols, size_t ncols,
                         const char *what, const char *not_found);

#endif
