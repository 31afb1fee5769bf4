/* audit: the audit log — logins (success, failure, lock-out), user changes and token
 * refusals, with who (actor user id), from which address, when, and the request id.
 * Rows are kept AUDIT_RETENTION_DAYS days: audit_purge deletes older ones (called by
 * the maintenance job). Arguments are borrowed; details is stolen. */
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

/* Deletes rows older than days; *deleted (optional) gets how many. 0 or -1. */
int audit_purge(struct db *db, int days, long *deleted);

#endif
