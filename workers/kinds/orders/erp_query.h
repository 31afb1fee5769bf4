/* erp_query: the ERP query of orders.sync, read from ERP_ORDERS_QUERY_FILE at each run
 * (so an operator's edit applies to the next run without a restart). The text is
 * bounded (ERP_QUERY_MAX_BYTES) and trimmed of trailing spaces and semicolons, which
 * libmariadb would send as a second, empty statement. The returned text is malloc'd,
 * owned by the caller. */
#ifndef SLUICE_ERP_QUERY_H
#define SLUICE_ERP_QUERY_H

#include <stddef.h>

#define ERP_QUERY_MAX_BYTES (256 * 1024)

/* Reads and trims the query at path; NULL with err ("ERP_ORDERS_QUERY_FILE <path>: ...")
 * when it cannot be read, is too long, holds a NUL byte or is empty. */
char *erp_query_load(const char *path, char *err, size_t errlen);

/* Trims trailing white space and ';' of s[0..len) in place; returns the new length. */
size_t erp_query_trim(char *s, size_t len);

#endif
