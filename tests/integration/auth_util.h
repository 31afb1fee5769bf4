/* auth_util: helpers shared by the authentication integration tests (test_auth_*.c,
 * test_users_*.c): form posts to /token, bearer requests, user creation through the API,
 * checks of RFC 6749 error answers and one-number SQL queries. Responses are the
 * caller's to clean up; strings returned are malloc'd. */
#ifndef SLUICE_TEST_AUTH_UTIL_H
#define SLUICE_TEST_AUTH_UTIL_H

#include "harness.h"

/* POST /token with Content-Type application/x-www-form-urlencoded and body (len bytes),
 * plus one extra header (e.g. "Authorization: Basic Og==", may be NULL). 0 or -1. */
int token_post(struct sluice_proc *p, const char *body, size_t len, const char *extra_header,
               struct http_response *r);

/* method path with `Authorization: Bearer token` (token NULL: no header) and an optional
 * JSON body. 0 or -1. */
int bearer_do(struct sluice_proc *p, const char *method, const char *path, const char *token,
              const char *json, struct http_response *r);

/* Same with a raw Authorization header value (NULL: none). */
int auth_header_do(struct sluice_proc *p, const char *method, const char *path,
                   const char *authorization, const char *json, struct http_response *r);

/* POST /users as admin_token; the new id, or -1 (the answer is printed). */
long create_user(struct sluice_proc *p, const char *admin_token, const char *username,
                 const char *password, const char *role);

/* create_user, then logs the new user in: its access token (malloc'd), or NULL. *id
 * (may be NULL) gets the new id. */
char *create_user_login(struct sluice_proc *p, const char *admin_token, const char *username,
                        const char *password, const char *role, long *id);

/* NULL when r is an RFC 6749 §5.2 error answer with this status and error code (JSON
 * with error and error_description strings, Cache-Control: no-store), else a static
 * message saying what differs. */
const char *oauth_error_check(struct http_response *r, long status, const char *error);

/* The first column of the first row of sql as a number (-1 on error). */
long db_long(const char *url, const char *sql);

#endif
