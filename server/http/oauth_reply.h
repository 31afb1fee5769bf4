/* oauth_reply: errors in the form of RFC 6749 §5.2, for the token endpoint (which does
 * not answer problem+json): {"error": code, "error_description": text} with
 * Cache-Control: no-store and Pragma: no-cache. Writes req->reply like reply.h. */
#ifndef SLUICE_OAUTH_REPLY_H
#define SLUICE_OAUTH_REPLY_H

#include "http/request.h"

/* error is an RFC 6749 code ("invalid_request", "invalid_grant", ...); the description
 * is printf-formatted. */
void reply_oauth_error(struct request *req, unsigned status, const char *error, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

#endif
