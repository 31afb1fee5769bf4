/* test_log_files_api: machine logs through the running server — the LOG_WATCH watcher
 * (a file renamed into a centre's folder is ingested without any call, a burst of files
 * gives one queued job, a folder moved in whole with its file is ingested, a file that
 * came while sluice was stopped is read at start), POST /jobs with the
 * unknown-folder report in the job's events, and the visibility endpoints GET
 * /centres/{code}/log-files, /log-files/{name}, /log-rejects?file= and the source files of GET
 * /sessions/{id}, with their 400/404 answers. Responses are recorded for the OpenAPI validation.
 * The group owns the server, its database and LOG_ROOT. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct api_env env;
static char *root;
static char env_root[4200];
static const char *server_env[] = {env_root, "LOG_WATCH_DELAY_SECONDS=0", NULL};

#define LIT(s) s, sizeof(s) - 1

static int group_setup(void **state) {
    (void)state;
    root = make_temp_dir("sluice-logroot");
    if (!root) return -1;
    snprintf(env_root, sizeof env_root, "LOG_ROOT=%s", root);
    return api_env_start(&env, server_env);
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    remove_tree(root);
    free(root);
    return 0;
}

static void put_file(const char *folder, const char *name, const char *data, size_t len) {
    char tmp[4600], path[4600];
    snprintf(tmp, sizeof tmp, "%s/%s/.%s.part", root, folder, name);
    snprintf(path, sizeof path, "%s/%s/%s", root, folder, name);
    assert_int_equal(write_file(tmp, data, len), 0);
    assert_int_equal(rename(tmp, path), 0); /* moved into place, as SFTP clients do */
}

/* Waits (up to 30 s) until sql's first value equals want. */
static void wait_for(const char *sql, const char *want) {
    char *got = NULL;
    for (int i = 0; i < 300; i++) {
        free(got);
        got = testdb_query(env.db.url, sql);
        if (got && strcmp(got, want) == 0) break;
        usleep(100 * 1000);
    }
    char copy[512];
    snprintf(copy, sizeof copy, "%s", got ? got : "(error)");
    bool ok = got && strcmp(got, want) == 0;
    free(got);
    if (!ok) fail_msg("%s: %s, expected %s", sql, copy, want);
}

static const char day[] = "20250528 06:00:00|@MachineStart\n"
                          "20250528 06:01:00|@StukUitgevoerd: p1\n"
                          "2025052 06:03:30|@StukUitgevoerd: bad\n"
                          "20250528 06:04:00|@Alarm: E1\n"
                          "20250528 06:05:00|@Alarm: E2\n"
                          "20250528 07:00:00|@StukUitgevoerd: p2\n";

/* Creates centre code (PVC) whose log_folder is "code (PVC)". */
static void create_centre(const char *code) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"code\": \"%s\", \"nom\": \"Centre %s\", \"type_cu\": \"PVC\","
             " \"log_folder\": \"%s (PVC)\"}",
             code, code, code);
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/centres", body, 201, &r);
    http_response_cleanup(&r);
}

static void watcher_ingests_without_a_call(void **state) {
    (void)state;
    create_centre("WAT1");
    char dir[4600];
    snprintf(dir, sizeof dir, "%s/WAT1 (PVC)", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    usleep(300 * 1000); /* the watcher adds the new folder */
    put_file("WAT1 (PVC)", "20250528.LOG", LIT(day));
    wait_for("SELECT total_pieces FROM session_production s JOIN centre_usinage c"
             " ON c.id = s.centre_usinage_id WHERE c.code = 'WAT1'",
             "2");
    /* a burst of files: one job per centre at a time */
    for (int i = 1; i <= 5; i++) {
        char name[32], line[80];
        snprintf(name, sizeof name, "2025060%d.LOG", i);
        int n = snprintf(line, sizeof line, "2025060%d 08:00:00|@StukUitgevoerd: x\n", i);
        put_file("WAT1 (PVC)", name, line, (size_t)n);
    }
    wait_for("SELECT count(*) FROM log_file f JOIN centre_usinage c ON c.id = f.centre_usinage_id"
             " WHERE c.code = 'WAT1' AND f.byte_offset > 0",
             "6");
    char *n =
        testdb_query(env.db.url, "SELECT count(*) FROM jobs WHERE kind = 'machine_logs.ingest'"
                                 " AND args->>'centre' = 'WAT1'");
    assert_non_null(n);
    long jobs = strtol(n, NULL, 10);
    free(n);
    assert_true(jobs >= 2 && jobs <= 7); /* deduplicated while queued, never one per event */
}

/* A folder moved into LOG_ROOT whole, its LOG file in it: no event tells of the file, the
 * folder's arrival queues its centre's ingest. */
static void watcher_folder_moved_in(void **state) {
    (void)state;
    create_centre("WAT2");
    char stage[4600], file[4700], dir[4600];
    snprintf(stage, sizeof stage, "%s/.staging", root);
    assert_int_equal(mkdir(stage, 0755), 0);
    snprintf(file, sizeof file, "%s/20250528.LOG", stage);
    assert_int_equal(write_file(file, LIT(day)), 0);
    snprintf(dir, sizeof dir, "%s/WAT2 (PVC)", root);
    assert_int_equal(rename(stage, dir), 0);
    wait_for("SELECT total_pieces FROM session_production s JOIN centre_usinage c"
             " ON c.id = s.centre_usinage_id WHERE c.code = 'WAT2'",
             "2");
}

/* Files that arrived while sluice was stopped raise no event: at start the watcher
 * queues an ingest for every centre folder, so they are read without any call. */
static void watcher_reads_what_came_while_stopped(void **state) {
    (void)state;
    create_centre("WAT3");
    assert_int_equal(sluice_stop(env.proc, SIGTERM), 0);
    env.proc = NULL;
    char dir[4600], file[4700];
    snprintf(dir, sizeof dir, "%s/WAT3 (PVC)", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(file, sizeof file, "%s/20250528.LOG", dir);
    assert_int_equal(write_file(file, LIT(day)), 0);
    env.proc = sluice_start(env.db.url, server_env);
    assert_non_null(env.proc);
    wait_for("SELECT total_pieces FROM session_production s JOIN centre_usinage c"
             " ON c.id = s.centre_usinage_id WHERE c.code = 'WAT3'",
             "2");
}

static void visibility(void **state) {
    (void)state;
    json_t *page = api_get_json(&env, env.viewer, "/centres/WAT1/log-files?limit=2");
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *f = json_array_get(items, 0);
    assert_string_equal(jstr(f, "name"), "20250528.LOG");
    assert_int_equal(jint(f, "size"), (long long)sizeof day - 1);
    assert_int_equal(jint(f, "offset"), (long long)sizeof day - 1);
    assert_int_equal(jint(f, "lines"), 6);
    assert_int_equal(jint(f, "rejected_lines"), 1);
    assert_int_equal(jint(f, "unknown_events"), 2);
    assert_int_equal(jint(f, "non_event_lines"), 0);
    assert_string_equal(jstr(f, "date_production"), "2025-05-28");
    assert_true(json_is_string(json_object_get(page, "next_cursor")));
    json_decref(page);

    json_t *one = api_get_json(&env, env.viewer, "/centres/wat1/log-files/20250528.LOG");
    assert_int_equal(jint(json_object_get(one, "unknown_event_names"), "Alarm"), 2);
    json_t *sessions = json_object_get(one, "sessions");
    assert_int_equal(json_array_size(sessions), 1);
    long long sid = jint(json_array_get(sessions, 0), "id");
    json_decref(one);

    json_t *rej = api_get_json(&env, env.viewer, "/centres/WAT1/log-rejects?file=20250528.LOG");
    json_t *ri = json_array_get(json_object_get(rej, "items"), 0);
    assert_int_equal(jint(ri, "line"), 3);
    assert_string_equal(jstr(ri, "raw"), "2025052 06:03:30|@StukUitgevoerd: bad");
    assert_non_null(strstr(jstr(ri, "reason"), "bad timestamp"));
    json_decref(rej);

    char path[64];
    snprintf(path, sizeof path, "/sessions/%lld", sid);
    json_t *s = api_get_json(&env, env.viewer, path);
    json_t *src = json_object_get(s, "source_files");
    assert_int_equal(json_array_size(src), 1);
    assert_string_equal(json_string_value(json_array_get(src, 0)), "20250528.LOG");
    json_decref(s);

    expect_problem(&env, env.viewer, "GET", "/centres/NOPE/log-files", NULL, 404, "not-found",
                   NULL);
    expect_problem(&env, env.viewer, "GET", "/centres/WAT1/log-files/20990101.LOG", NULL, 404,
                   "not-found", NULL);
    expect_problem(&env, env.viewer, "GET", "/centres/NOPE/log-rejects", NULL, 404, "not-found",
                   NULL);
    expect_problem(&env, env.viewer, "GET", "/centres/WAT1/log-files?sort=size", NULL, 400,
                   "bad-request", "sort");
    expect_problem(&env, env.viewer, "GET", "/centres/WAT1/log-rejects?bogus=1", NULL, 400,
                   "bad-request", "bogus");
    expect_problem(&env, NULL, "GET", "/centres/WAT1/log-files", NULL, 401, "unauthorized", NULL);
}

static void unknown_folder_reported(void **state) {
    (void)state;
    char dir[4600];
    snprintf(dir, sizeof dir, "%s/Inconnu (ALU)", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    struct http_response r;
    api_call(&env, env.operator_, "POST", "/jobs", "{\"kind\": \"machine_logs.ingest\"}", 202, &r);
    long long id = jint(r.json, "id");
    http_response_cleanup(&r);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT status FROM jobs WHERE id = %lld", id);
    wait_for(sql, "succeeded");
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld/events", id);
    json_t *ev = api_get_json(&env, env.viewer, path);
    char *text = json_dumps(ev, 0);
    assert_non_null(strstr(text, "folder \\\"Inconnu (ALU)\\\" under LOG_ROOT matches no centre"));
    free(text);
    json_decref(ev);
    snprintf(path, sizeof path, "/jobs/%lld", id);
    json_t *job = api_get_json(&env, env.viewer, path);
    json_t *result = json_object_get(job, "result");
    assert_non_null(json_object_get(result, "pieces"));
    assert_non_null(json_object_get(result, "rejected_lines"));
    json_decref(job);
    /* a bad argument is a 422 naming it (as every other body field) */
    expect_problem(&env, env.operator_, "POST", "/jobs",
                   "{\"kind\": \"machine_logs.ingest\", \"args\": {\"file\": \"x.LOG\"}}", 422,
                   NULL, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(watcher_ingests_without_a_call),
        cmocka_unit_test(watcher_folder_moved_in),
        cmocka_unit_test(watcher_reads_what_came_while_stopped),
        cmocka_unit_test(visibility),
        cmocka_unit_test(unknown_folder_reported),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
