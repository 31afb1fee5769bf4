/* bearer: the authorisation middleware (RFC 6750) plugged into
 * http_server_options.authorize. The route table's role is the one place a permission
 * is declared; this checks it: no bearer token → 401 `WWW-Authenticate: Bearer
 * realm="sluice"`; a malformed Authorization header → 400 error="invalid_request"; a
 * bad, expired or revoked token (user deleted or disabled) → 401 error="invalid_token";
 * a valid token whose user's role (as stored now, viewer < operator < admin) is below
 * the route's → 403 error="insufficient_scope". Bodies are problem+json. Refusals of a
 * presented token are audited. On success req->auth describes the caller. */
#ifndef SLUICE_BEARER_H
#define SLUICE_BEARER_H

#include "http/request.h"

#include <stdbool.h>

/* Runs on a request worker (uses req->db). False after setting the refusal reply. */
bool bearer_authorize(struct request *req, int required_role);

#endif
