/* production_util: helpers of the production-data integration tests (test_centres_api,
 * test_sessions_api, test_kpis_api, test_orders_api, test_pagination_walk,
 * test_demo_seed): a started server on a fresh database with an admin, an operator and
 * a viewer logged in, requests that assert their status, problem checks that also
 * check the `field` member, SQL set-up, and a walk over every page of a list. Failures
 * are cmocka failures. struct api_env owns its database, process and tokens
 * (api_env_stop frees them); responses are the caller's to clean up. */
#ifndef SLUICE_TEST_PRODUCTION_UTIL_H
#define SLUICE_TEST_PRODUCTION_UTIL_H

#include "auth_util.h"

#include <jansson.h>
#include <stdbool.h>

struct api_env {
    struct test_db db;
    struct sluice_proc *proc;
    char *admin, *operator_, *viewer; /* access tokens */
};

/* Creates the database, starts sluice with extra_env (may be NULL), logs the admin in
 * and creates + logs in "operator1" (operator) and "viewer1" (viewer). 0 or -1. */
int api_env_start(struct api_env *e, const char *const *extra_env);
void api_env_stop(struct api_env *e);

/* method path as token (NULL: no Authorization) with an optional JSON body; fails the
 * test unless the status is `status`. r must be cleaned up. */
void api_call(struct api_env *e, const char *token, const char *method, const char *path,
              const char *json, long status, struct http_response *r);

/* GET path as token, expecting 200 with a JSON body; returns a new reference to it. */
json_t *api_get_json(struct api_env *e, const char *token, const char *path);

/* Expects an RFC 9457 problem of this status and slug, whose `field` member equals
 * field (NULL: not checked). */
void expect_problem(struct api_env *e, const char *token, const char *method, const char *path,
                    const char *json, long status, const char *slug, const char *field);

/* Runs one SQL statement on the test database; fails the test on error. */
void sql_exec(struct api_env *e, const char *sql);

/* Follows next_cursor from path (which has no cursor) until the last page; calls
 * visit for each item. Checks that next_cursor and the Link header agree on every page.
 * Returns the number of pages. */
int walk_pages(struct api_env *e, const char *token, const char *path,
               void (*visit)(json_t *item, void *arg), void *arg);

/* Known production data for the session and KPI tests, created through the API
 * (centres) and SQL (the rest):
 *   centre TST (PVC, Europe/Paris) sessions:
 *     2025-03-03 (Mon): 100 pieces (rows 1..100), 8 h, waits 1 h, stops 0.5 h,
 *                       2 job profiles, 2 waits, 1 closed stop
 *     2025-03-04 (Tue): 50 pieces, 4 h, waits 0.5 h, stops 0.5 h, 1 wait, 1 open stop
 *     2025-03-10 (Mon): 30 pieces, 2 h, no wait, no stop
 *     2025-04-01 (Tue): 10 pieces, 1 h, waits 0.25 h, no stop, 1 wait
 *   centre NYC (ALU, America/New_York) session 2025-03-04: 20 pieces, 2 h, nothing else
 *   centre EMPTY (HYBRIDE) with no session.
 * Effective hours are duration - waits - stops; rates are consistent with them. */
void production_fixture(struct api_env *e);

/* api_env_start(e, NULL), then production_fixture(e). 0 or -1. */
int production_env_start(struct api_env *e);

/* Integer and string members (borrowed) of a JSON object, failing when absent. */
long long jint(json_t *obj, const char *key);
const char *jstr(json_t *obj, const char *key);
double jnum(json_t *obj, const char *key);

#endif
