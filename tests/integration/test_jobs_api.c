/* test_jobs_api: the job system through the API of one real server (JOB_TEST_KINDS=true):
 * POST /jobs refusing bad kinds and arguments with 422 naming the field (and creating
 * nothing), 401/403 by role; an enqueued job followed to its end (progress, counters,
 * result, events); GET /jobs filters and keyset pages; dedupe keys; cancellation of
 * queued and running jobs; retries with exponential backoff, failure after
 * max_attempts, permanent failure; GET/PATCH /schedules; maintenance.prune deleting only
 * what is old, in batches; the /metrics lines. The group owns the database and server. */
#include "jobs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct test_db db;
static struct sluice_proc *proc;
static char *admin, *viewer;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"JOB_TEST_KINDS=true", "JOB_LEASE_SECONDS=2",
                                      "LOGIN_MAX_FAILURES=1000", NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    admin = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    if (!admin) return -1;
    viewer = create_user_login(proc, admin, "vic", "viewer-password-1", "viewer", NULL);
    return viewer ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(admin);
    free(viewer);
    return test_server_stop(&db, &proc);
}

static long call(const char *method, const char *path, const char *token, const char *json,
                 struct http_response *r) {
    assert_int_equal(bearer_do(proc, method, path, token, json, r), 0);
    return r->status;
}

/* POST /jobs json → 422 naming field (as every body, api/body_fields.h); no job is
 * created. */
static void expect_refused(const char *json, const char *field) {
    long before = db_long(db.url, "SELECT count(*) FROM jobs");
    struct http_response r;
    call("POST", "/jobs", admin, json, &r);
    assert_problem(&r, 422, "validation");
    const char *got = json_string_value(json_object_get(r.json, "field"));
    if (!got || strcmp(got, field) != 0)
        fail_msg("%s: field %s, expected %s (%s)", json, got ? got : "(none)", field, r.body);
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs"), before);
}

static void enqueue_refusals(void **state) {
    (void)state;
    expect_refused("{}", "kind");
    expect_refused("{\"kind\": 3}", "kind");
    expect_refused("{\"kind\": \"no.such.kind\"}", "kind");
    expect_refused("{\"kind\": \"test.sleep\"}", "args.ms");
    expect_refused("{\"kind\": \"test.sleep\", \"args\": {}}", "args.ms");
    expect_refused("{\"kind\": \"test.sleep\", \"args\": {\"ms\": \"10\"}}", "args.ms");
    expect_refused("{\"kind\": \"test.sleep\", \"args\": {\"ms\": -1}}", "args.ms");
    expect_refused("{\"kind\": \"test.sleep\", \"args\": {\"ms\": 1, \"mss\": 1}}", "args.mss");
    expect_refused("{\"kind\": \"test.sleep\", \"args\": [1]}", "args");
    expect_refused("{\"kind\": \"test.count\", \"args\": {\"ignore_every\": 1, "
                   "\"error_every\": 1}}",
                   "args.error_every");
    expect_refused("{\"kind\": \"test.count\", \"priority\": 101}", "priority");
    expect_refused("{\"kind\": \"test.count\", \"max_attempts\": 0}", "max_attempts");
    expect_refused("{\"kind\": \"test.count\", \"run_at\": \"tomorrow\"}", "run_at");
    expect_refused("{\"kind\": \"test.count\", \"run_at\": \"2025-01-01T00:00:00\"}", "run_at");
    expect_refused("{\"kind\": \"test.count\", \"dedupe_key\": \"\"}", "dedupe_key");
    expect_refused("{\"kind\": \"test.count\", \"colour\": \"red\"}", "colour");
    expect_refused("[1]", "body");

    struct http_response r;
    call("POST", "/jobs", NULL, "{\"kind\": \"test.count\"}", &r);
    assert_problem(&r, 401, "unauthorized");
    http_response_cleanup(&r);
    call("POST", "/jobs", viewer, "{\"kind\": \"test.count\"}", &r);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
}

static void enqueue_and_follow(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(call("POST", "/jobs", admin,
                          "{\"kind\": \"test.count\", \"args\": {\"n\": 50, \"ignore_every\": 10,"
                          " \"error_every\": 7}}",
                          &r),
                     202);
    long id = (long)json_integer_value(json_object_get(r.json, "id"));
    char location[64], path[64];
    snprintf(location, sizeof location, "/jobs/%ld", id);
    assert_string_equal(http_header(&r, "Location"), location);
    assert_string_equal(json_string_value(json_object_get(r.json, "kind")), "test.count");
    assert_string_equal(json_string_value(json_object_get(r.json, "origin")), "api");
    http_response_cleanup(&r);
    assert_true(job_wait_status(db.url, id, "succeeded", 30));

    snprintf(path, sizeof path, "/jobs/%ld", id);
    assert_int_equal(call("GET", path, viewer, NULL, &r), 200);
    json_t *p = json_object_get(r.json, "progress"), *c = json_object_get(r.json, "counters");
    assert_int_equal(json_integer_value(json_object_get(p, "done")), 50);
    assert_int_equal(json_integer_value(json_object_get(p, "total")), 50);
    assert_string_equal(json_string_value(json_object_get(p, "unit")), "items");
    assert_true(json_number_value(json_object_get(p, "percentage")) == 100.0);
    /* 50 items: 5 multiples of 10 ignored; multiples of 7 not of 10 (7 of them) errors. */
    assert_int_equal(json_integer_value(json_object_get(c, "ignored")), 5);
    assert_int_equal(json_integer_value(json_object_get(c, "errors")), 7);
    assert_int_equal(json_integer_value(json_object_get(c, "ok")), 38);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "result"), "counted")), 50);
    assert_int_equal(json_integer_value(json_object_get(r.json, "attempt")), 1);
    assert_true(json_is_integer(json_object_get(r.json, "created_by")));
    assert_true(json_is_array(json_object_get(r.json, "events")));
    assert_true(json_is_null(json_object_get(r.json, "lease")));
    assert_true(json_is_string(json_object_get(r.json, "finished_at")));
    http_response_cleanup(&r);
}

static void list_filters_and_pages(void **state) {
    (void)state;
    long ids[5];
    for (int i = 0; i < 5; i++) {
        ids[i] =
            job_post(proc, admin, "{\"kind\": \"test.fail\", \"args\": {\"permanent\": true}}");
        assert_true(ids[i] > 0);
    }
    for (int i = 0; i < 5; i++) assert_true(job_wait_status(db.url, ids[i], "failed", 30));
    /* Newest first, two at a time, following next_cursor. */
    char path[512] = "/jobs?kind=test.fail&status=failed&limit=2";
    long seen[16];
    size_t nseen = 0;
    for (int page = 0; page < 8; page++) {
        struct http_response r;
        assert_int_equal(call("GET", path, viewer, NULL, &r), 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.json, "items"), i, item) {
            assert_true(nseen < 16);
            seen[nseen++] = (long)json_integer_value(json_object_get(item, "id"));
            assert_string_equal(json_string_value(json_object_get(item, "status")), "failed");
            assert_null(json_object_get(item, "events"));
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        if (json_is_null(next)) {
            http_response_cleanup(&r);
            break;
        }
        assert_non_null(http_header(&r, "Link"));
        snprintf(path, sizeof path, "/jobs?kind=test.fail&status=failed&limit=2&cursor=%s",
                 json_string_value(next));
        http_response_cleanup(&r);
    }
    assert_int_equal(nseen, 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(seen[i], ids[4 - i]);
    /* Oldest first; status lists; a repeated status parameter. */
    struct http_response r;
    assert_int_equal(
        call("GET", "/jobs?kind=test.fail&sort=id&status=queued,failed", viewer, NULL, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "items"), 0), "id")),
                     ids[0]);
    http_response_cleanup(&r);
    assert_int_equal(
        call("GET", "/jobs?kind=test.fail&status=succeeded&status=running", viewer, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    http_response_cleanup(&r);
    assert_int_equal(
        call("GET", "/jobs?created_from=2000-01-01T00:00:00Z&kind=test.fail", viewer, NULL, &r),
        200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 5);
    http_response_cleanup(&r);
    assert_int_equal(call("GET", "/jobs?created_before=2000-01-01T00:00:00Z", viewer, NULL, &r),
                     200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    http_response_cleanup(&r);

    static const char *const bad[][2] = {
        {"/jobs?status=done", "status"}, {"/jobs?created_from=yesterday", "created_from"},
        {"/jobs?limit=0", "limit"},      {"/jobs?cursor=%21%21", "cursor"},
        {"/jobs?sort=kind", "sort"},     {"/jobs?colour=red", "colour"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call("GET", bad[i][0], viewer, NULL, &r);
        assert_problem(&r, 400, "bad-request");
        assert_string_equal(json_string_value(json_object_get(r.json, "field")), bad[i][1]);
        http_response_cleanup(&r);
    }
    static const char *const missing[] = {"/jobs/abc", "/jobs/0", "/jobs/999999999",
                                          "/jobs/999999999/events"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        call("GET", missing[i], viewer, NULL, &r);
        assert_problem(&r, 404, "not-found");
        http_response_cleanup(&r);
    }
    call("POST", "/jobs/999999999/cancel", admin, NULL, &r);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
}

static long cancel(long id, struct http_response *r) {
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/cancel", id);
    return call("POST", path, admin, NULL, r);
}

static void dedupe(void **state) {
    (void)state;
    const char *body = "{\"kind\": \"test.count\", \"run_at\": \"2099-01-01T00:00:00Z\","
                       " \"dedupe_key\": \"nightly-import\"}";
    struct http_response r;
    assert_int_equal(call("POST", "/jobs", admin, body, &r), 202);
    long first = (long)json_integer_value(json_object_get(r.json, "id"));
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "queued");
    http_response_cleanup(&r);
    /* The same key while the first is unfinished: that job, nothing created. */
    long before = db_long(db.url, "SELECT count(*) FROM jobs");
    assert_int_equal(call("POST", "/jobs", admin, body, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "id")), first);
    char location[64];
    snprintf(location, sizeof location, "/jobs/%ld", first);
    assert_string_equal(http_header(&r, "Location"), location);
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs"), before);
    /* Once it is finished, the key is free again. */
    assert_int_equal(cancel(first, &r), 200);
    http_response_cleanup(&r);
    assert_int_equal(call("POST", "/jobs", admin, body, &r), 202);
    long second = (long)json_integer_value(json_object_get(r.json, "id"));
    assert_true(second != first);
    http_response_cleanup(&r);
    assert_int_equal(cancel(second, &r), 200);
    http_response_cleanup(&r);
}

static void cancel_queued(void **state) {
    (void)state;
    long id = job_post(proc, admin,
                       "{\"kind\": \"test.count\", \"run_at\": "
                       "\"2099-01-01T00:00:00+02:00\"}");
    assert_true(id > 0);
    struct http_response r;
    call("POST", "/jobs/1/cancel", viewer, NULL, &r);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
    assert_int_equal(cancel(id, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "cancelled");
    assert_true(json_is_true(json_object_get(r.json, "cancel_requested")));
    assert_true(json_is_string(json_object_get(r.json, "finished_at")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "attempt")), 0); /* never ran */
    http_response_cleanup(&r);
    cancel(id, &r);
    assert_problem(&r, 409, "conflict");
    assert_string_equal(json_string_value(json_object_get(r.json, "job_status")), "cancelled");
    http_response_cleanup(&r);

    /* The cancellation is an event of the job; times to the second in UTC, as every
     * resource's. */
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld/events?limit=10", id);
    assert_int_equal(call("GET", path, viewer, NULL, &r), 200);
    json_t *events = json_object_get(r.json, "items");
    assert_true(json_array_size(events) >= 1);
    json_t *first = json_array_get(events, 0);
    assert_non_null(strstr(json_string_value(json_object_get(first, "message")), "cancelled"));
    const char *at = json_string_value(json_object_get(first, "at"));
    assert_non_null(at);
    assert_int_equal(strlen(at), 20); /* 2025-01-31T03:00:00Z */
    assert_int_equal(at[19], 'Z');
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    http_response_cleanup(&r);
}

static void cancel_running(void **state) {
    (void)state;
    long id = job_post(proc, admin,
                       "{\"kind\": \"test.sleep\", \"args\": {\"ms\": 120000, "
                       "\"steps\": 1200}}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "running", 30));
    struct http_response r;
    assert_int_equal(cancel(id, &r), 202);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "running");
    assert_true(json_is_true(json_object_get(r.json, "cancel_requested")));
    http_response_cleanup(&r);
    /* The worker hears it and the job stops at its next step (100 ms), well before its
     * two minutes. */
    assert_true(job_wait_status(db.url, id, "cancelled", 30));
    char path[64];
    snprintf(path, sizeof path, "/jobs/%ld", id);
    assert_int_equal(call("GET", path, viewer, NULL, &r), 200);
    json_t *p = json_object_get(r.json, "progress");
    assert_true(json_integer_value(json_object_get(p, "done")) < 1200);
    char *text = json_dumps(json_object_get(r.json, "events"), 0);
    assert_non_null(strstr(text, "cancellation requested by user admin"));
    assert_non_null(strstr(text, "cancelled after"));
    free(text);
    http_response_cleanup(&r);
}

/* A worker whose lease was taken (here by hand: another owner, the next attempt) stops
 * its job and changes nothing: neither its progress nor its end reach the row. */
static void lost_lease_changes_nothing(void **state) {
    (void)state;
    long id = job_post(proc, admin,
                       "{\"kind\": \"test.sleep\", \"args\": {\"ms\": 4000, "
                       "\"steps\": 40}}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "running", 30));
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET lease_owner = 'thief/1/w1', attempt = attempt + 1,"
             " lease_expires_at = now() + interval '1 hour', progress_done = 0"
             " WHERE id = %ld AND status = 'running'",
             id);
    free(testdb_query(db.url, sql));
    /* The keeper's next renewal finds the lease gone and the job is asked to stop. */
    double deadline = now_ms() + 30000;
    bool noticed = false;
    while (!noticed && now_ms() < deadline) {
        char *log = sluice_log_read(proc);
        noticed = log && strstr(log, "job lease lost: its outcome is discarded");
        free(log);
        if (!noticed) pause_ms(50);
    }
    assert_true(noticed);
    char *v = job_column(db.url, id,
                         "status || ' ' || lease_owner || ' ' || attempt || ' ' || progress_done"
                         " || ' ' || (result IS NULL) || ' ' || (finished_at IS NULL)");
    assert_string_equal(v, "running thief/1/w1 2 0 true true");
    free(v);
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL,"
             " lease_expires_at = NULL WHERE id = %ld",
             id);
    free(testdb_query(db.url, sql));
}

/* The delay of the "retry in X s" event of attempt n, or -1. */
static double retry_delay(long id, int attempt) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT substring(message FROM 'retry in ([0-9.]+) s') FROM job_events"
             " WHERE job_id = %ld AND message LIKE 'attempt %d of %%'",
             id, attempt);
    char *v = testdb_query(db.url, sql);
    double d = v && *v ? strtod(v, NULL) : -1;
    free(v);
    return d;
}

static void retries_with_backoff(void **state) {
    (void)state;
    /* Fails twice, succeeds at the third attempt; test kinds back off from 0.5 s. */
    long id = job_post(proc, admin, "{\"kind\": \"test.fail\", \"args\": {\"times\": 2}}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "succeeded", 30));
    char *v = job_column(db.url, id, "attempt::text || ' ' || last_error");
    assert_string_equal(v, "3 test failure (attempt 2)");
    free(v);
    /* Exponential with equal jitter: attempt 1 waits [0.25, 0.5), attempt 2 [0.5, 1). */
    double d1 = retry_delay(id, 1), d2 = retry_delay(id, 2);
    assert_true(d1 >= 0.25 && d1 <= 0.5);
    assert_true(d2 >= 0.5 && d2 <= 1.0);

    /* Out of attempts: failed, with the error kept. */
    id = job_post(proc, admin,
                  "{\"kind\": \"test.fail\", \"args\": {\"times\": 9, \"message\":"
                  " \"disk full\"}, \"max_attempts\": 2}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "failed", 30));
    v = job_column(db.url, id, "attempt::text || ' ' || last_error");
    assert_string_equal(v, "2 disk full (attempt 2)");
    free(v);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM job_events WHERE job_id = %ld AND message LIKE "
             "'%%no attempt left%%'",
             id);
    assert_int_equal(db_long(db.url, sql), 1);
    /* A permanent failure is not retried. */
    id = job_post(proc, admin, "{\"kind\": \"test.fail\", \"args\": {\"permanent\": true}}");
    assert_true(job_wait_status(db.url, id, "failed", 30));
    v = job_column(db.url, id, "attempt::text");
    assert_string_equal(v, "1");
    free(v);
}

/* The same mistake in any JSON body gets the same answer (api/body_fields.h): 422
 * /problems/validation naming the member, with the list of errors. */
static void same_mistake_same_answer(void **state) {
    (void)state;
    static const char *const targets[][2] = {
        {"POST", "/jobs"},
        {"POST", "/users"},
        {"POST", "/centres"},
        {"POST", "/commandes-volets"},
        {"PATCH", "/schedules/maintenance.prune"},
        {"PATCH", "/users/1"},
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct http_response r;
        call(targets[i][0], targets[i][1], admin, "{\"bogus\": 1}", &r);
        if (r.status != 422)
            fail_msg("%s %s: %ld, expected 422: %s", targets[i][0], targets[i][1], r.status,
                     r.body);
        assert_problem(&r, 422, "validation");
        assert_string_equal(json_string_value(json_object_get(r.json, "field")), "bogus");
        json_t *errors = json_object_get(r.json, "errors");
        assert_true(json_array_size(errors) >= 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                            "bogus");
        http_response_cleanup(&r);
    }
}

static void schedules_api(void **state) {
    (void)state;
    struct http_response r;
    assert_int_equal(call("GET", "/schedules", viewer, NULL, &r), 200);
    /* the default schedules, in name order; find maintenance.prune among them */
    json_t *items = json_object_get(r.json, "items"), *s = NULL;
    assert_true(json_array_size(items) >= 3);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(json_string_value(json_object_get(it, "name")), "maintenance.prune") == 0)
            s = it;
    }
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(s, "cron")), "0 3 * * *");
    assert_string_equal(json_string_value(json_object_get(s, "time_zone")), "Europe/Paris");
    assert_true(json_is_string(json_object_get(s, "next_fire_at")));
    http_response_cleanup(&r);

    const char *path = "/schedules/maintenance.prune";
    call("PATCH", path, viewer, "{\"enabled\": false}", &r);
    assert_problem(&r, 403, "forbidden");
    http_response_cleanup(&r);
    static const char *const invalid[][2] = {
        {"{\"cron\": \"0 3 * *\"}", "cron"},
        {"{\"cron\": \"0 3 31 2 *\"}", "cron"},
        {"{\"cron\": 3}", "cron"},
        {"{\"enabled\": \"no\"}", "enabled"},
        {"{\"args\": {\"batch_size\": 1}}", "args.batch_size"},
        {"{\"args\": {\"size\": 100}}", "args.size"},
        {"{\"args\": 5}", "args"},
        {"{\"owner\": \"me\"}", "owner"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        call("PATCH", path, admin, invalid[i][0], &r);
        assert_problem(&r, 422, "validation");
        assert_string_equal(json_string_value(json_object_get(r.json, "field")), invalid[i][1]);
        http_response_cleanup(&r);
    }
    assert_int_equal(call("PATCH", path, admin,
                          "{\"cron\": \"30 2 * * mon-fri\", \"args\": {\"batch_size\": 500}}", &r),
                     200);
    assert_string_equal(json_string_value(json_object_get(r.json, "cron")), "30 2 * * mon-fri");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "args"), "batch_size")), 500);
    http_response_cleanup(&r);
    assert_int_equal(call("PATCH", path, admin, "{\"enabled\": false}", &r), 200);
    assert_true(json_is_false(json_object_get(r.json, "enabled")));
    assert_true(json_is_null(json_object_get(r.json, "next_fire_at")));
    http_response_cleanup(&r);
    assert_int_equal(call("PATCH", path, admin, "{\"enabled\": true}", &r), 200);
    http_response_cleanup(&r);
    call("PATCH", "/schedules/nope", admin, "{\"enabled\": true}", &r);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = "
                                     "'schedule.update' AND target = 'schedule:maintenance.prune'"),
                     3);
}

static void prune(void **state) {
    (void)state;
    char *ok = testdb_query(db.url,
                            "WITH old AS (INSERT INTO jobs (kind, status, created_at, finished_at)"
                            "  SELECT 'test.count', 'succeeded', now() - interval '40 days',"
                            "  now() - interval '40 days' FROM generate_series(1, 25) RETURNING id)"
                            " INSERT INTO job_events (job_id, seq, level, message)"
                            " SELECT id, s, 'info', 'old' FROM old, generate_series(1, 2) s");
    assert_non_null(ok);
    free(ok);
    ok = testdb_query(db.url, "INSERT INTO audit_log (at, action) SELECT now() - interval "
                              "'100 days', 'test.old' FROM generate_series(1, 15);"
                              "INSERT INTO login_failures (key, at) SELECT '\\x00'::bytea, "
                              "now() - interval '1 day' FROM generate_series(1, 5);"
                              "INSERT INTO login_failures (key) VALUES ('\\x01'::bytea)");
    assert_non_null(ok);
    free(ok);
    long jobs_before = db_long(db.url, "SELECT count(*) FROM jobs");
    long audit_before = db_long(db.url, "SELECT count(*) FROM audit_log");
    long id = job_post(proc, admin,
                       "{\"kind\": \"maintenance.prune\", \"args\": "
                       "{\"batch_size\": 10}}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "succeeded", 60));
    char *result = job_column(db.url, id, "result::text");
    json_t *res = json_loads(result, 0, NULL);
    free(result);
    assert_int_equal(json_integer_value(json_object_get(res, "jobs")), 25);
    assert_int_equal(json_integer_value(json_object_get(res, "job_events")), 50);
    assert_int_equal(json_integer_value(json_object_get(res, "audit_log")), 15);
    assert_int_equal(json_integer_value(json_object_get(res, "login_failures")), 5);
    json_decref(res);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM jobs"), jobs_before + 1 - 25);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM audit_log WHERE action = 'test.old'"),
                     0);
    assert_true(db_long(db.url, "SELECT count(*) FROM audit_log") >= audit_before - 15);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM login_failures"), 1);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM job_events WHERE message = 'old'"), 0);
    /* Progress ended at its total; every deleted row counted as ok. */
    char *v = job_column(db.url, id,
                         "progress_done || '/' || progress_total || ' ' || count_ok || ' ' || "
                         "progress_unit");
    assert_string_equal(v, "95/95 95 rows");
    free(v);
}

static void metrics(void **state) {
    (void)state;
    assert_true(metric_value(proc, "sluice_jobs{queue=\"default\",kind=\"test.count\","
                                   "status=\"succeeded\"}") >= 1);
    assert_true(metric_value(proc, "sluice_jobs{queue=\"default\",kind=\"test.fail\","
                                   "status=\"failed\"}") >= 5);
    assert_true(metric_value(proc, "sluice_jobs_queue_depth{queue=\"default\"}") >= 0);
    assert_true(metric_value(proc, "sluice_jobs_oldest_queued_age_seconds{queue=\"ingest\"}") >= 0);
    assert_true(metric_value(proc, "sluice_jobs_finished_total{kind=\"test.fail\",status="
                                   "\"queued\"}") >= 2);
    assert_true(metric_value(proc, "sluice_job_duration_seconds_count{kind=\"test.count\"}") >= 1);
    assert_true(metric_value(proc, "sluice_scheduler_ticks_total") >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enqueue_refusals),
        cmocka_unit_test(enqueue_and_follow),
        cmocka_unit_test(list_filters_and_pages),
        cmocka_unit_test(dedupe),
        cmocka_unit_test(cancel_queued),
        cmocka_unit_test(cancel_running),
        cmocka_unit_test(lost_lease_changes_nothing),
        cmocka_unit_test(retries_with_backoff),
        cmocka_unit_test(schedules_api),
        cmocka_unit_test(same_mistake_same_answer),
        cmocka_unit_test(prune),
        cmocka_unit_test(metrics),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
