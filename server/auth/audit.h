/* audit: the audit log — logins (success, failure, lock-out), user changes and token
 * refusals, with who (actor user id), from which address, when, and the request id.
 * Rows are kept AUDIT_RETENTION_DAYS days: the maintenance.prune job deletes older ones
 * in batches with audit_purge. Arguments are borrowed; details is stolen. */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

#include "db/db.h"

#include <jansson.h>
#include <stdint.h>

struct request;

struct audit_entry {
    int64_t actor_id;        /* 0: nobody known (anonymous caller, CLI, start-up) */
    const char *action;      /* "login.success", "user.create", ... */
    const char *target;      /* "user:42" or NULL */
    const char *client_addr; /* NULL for the CLI and start-up */
    const char *request_id;  /* NULL outside a request */
    json_t *details;         /* stolen; NULL for {} */
};

/* Writes one row. 0, or -1 on a database error. */
int audit_write(struct db *db, struct audit_entry *e);

/* audit_write with the request's caller (req->auth), address, id and connection. */
int audit_request(struct request *req, const char *action, const char *target, json_t *details);

/* Deletes at most batch (>= 1) rows written before the cut-off `before` (timestamptz
 * text), oldest first, in one statement; *deleted (optional) gets how many (fewer than
 * batch: none are left). 0, or -1 on a database error. */
int audit_purge(struct db *db, const char *before, long batch, long *deleted);

#endif
