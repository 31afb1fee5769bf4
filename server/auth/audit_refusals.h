/* audit_refusals: refused bearer tokens go to the audit log aggregated, so that a
 * client sending bad tokens as fast as it can cannot flood the table. Refusals are
 * grouped by (client address, reason) over AUDIT_REFUSAL_WINDOW_SECONDS: the first of a
 * group is written at once (action "token.refused", the request's id, method and path,
 * details.count 1), the following ones are only counted in memory, and when the window
 * closes the row's details get the final count and the time of the last one (one UPDATE).
 * At most AUDIT_REFUSAL_KEYS groups are open at once; refusals of a group that finds no
 * room are folded into one group per reason without an address (client_addr NULL,
 * details.other_addresses true). So one address causes at most two statements per
 * reason and window, and all addresses together at most two per open group and window.
 * Every refusal is also counted in /metrics (sluice_auth_token_refusals_total{reason}).
 *
 * A flusher thread with its own struct db closes the windows; audit_refusals_stop writes
 * what is still open. Without audit_refusals_start (CLI, tests of the store), every
 * refusal is written as a row of its own. The table is owned here; arguments are
 * borrowed. Thread-safe. */
#ifndef SLUICE_AUDIT_REFUSALS_H
#define SLUICE_AUDIT_REFUSALS_H

#include <stdint.h>

struct request;

/* Why a token was refused: the code names the group (and the metric label). */
enum refusal_code {
    REFUSAL_MALFORMED,
    REFUSAL_BAD_ALGORITHM,
    REFUSAL_UNKNOWN_KEY,
    REFUSAL_BAD_SIGNATURE,
    REFUSAL_EXPIRED,
    REFUSAL_NOT_YET_VALID,
    REFUSAL_BAD_ISSUER,
    REFUSAL_BAD_AUDIENCE,
    REFUSAL_BAD_CLAIMS,
    REFUSAL_USER_GONE,
    REFUSAL_USER_DISABLED,
    REFUSAL_REVOKED, /* issued before the user's credentials or status changed */
    REFUSAL_INSUFFICIENT_ROLE,
    REFUSAL_CODES
};

/* "bad_signature", ... (static). */
const char *refusal_code_name(enum refusal_code code);

/* Starts the flusher (and registers the /metrics source). window_seconds >= 1,
 * max_keys >= 1. 0, or -1 (out of memory, no thread: refusals are then written one by
 * one). */
int audit_refusals_start(const char *database_url, long window_seconds, long max_keys);
/* Closes every open window (writes the counts) and stops the flusher. Harmless when not
 * started. */
void audit_refusals_stop(void);

/* Records one refusal of req's token: user_id (0: none known), reason (the sentence the
 * client was told). Runs on a request worker (req->db). */
void audit_refusals_note(struct request *req, int64_t user_id, enum refusal_code code,
                         const char *reason);

/* Refusals since start-up with this code. */
long audit_refusals_count(enum refusal_code code);

#endif
