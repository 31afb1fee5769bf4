/* db_internal: the fields of struct db, for the files of server/db/ only (db.c,
 * db_copy.c, ...). Every other module holds a struct db * made by db_new and goes
 * through the functions of db.h. A struct db owns its url and PGconn. */
#ifndef SLUICE_DB_INTERNAL_H
#define SLUICE_DB_INTERNAL_H

#include "db/db.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_pending {
    db_result_fn fn;
    void *arg;
    int id;            /* statement id */
    bool prepare_sent; /* a PREPARE for it precedes the statement in the pipeline */
};

struct db {
    char *url;
    PGconn *conn;
    uint64_t prepared[DB_MAX_STATEMENTS / 64];
    struct db_pending pending[DB_PIPELINE_MAX]; /* sent, result not yet read (FIFO) */
    size_t npending;
    size_t pending_bytes;
    atomic_bool down;          /* the last attempt to reach the server failed */
    char error[512];           /* last error message */
    char sqlstate[8];          /* SQLSTATE of the last failed statement */
    long statement_timeout_ms; /* set on each new connection when > 0 */
    unsigned long generation;  /* connections opened so far (tells a reopened one apart) */
};

#endif
