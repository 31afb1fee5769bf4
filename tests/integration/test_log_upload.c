/* test_log_upload: PUT /centres/{code}/log-files/{name} (issue 10 point 7) through the
 * running server, with LOG_WATCH off (so only the job named by the answer reads files) and
 * MAX_LOG_UPLOAD_BYTES = 1 MiB:
 *   - an upload lands in LOG_ROOT/<log_folder>/ byte for byte (the folder is created), the
 *     answer is 202 with the ingest job (id, url, Location) and that job derives the day;
 *   - a longer version of the same file: the job reads only the new lines;
 *   - different bytes under the same name: the file is re-derived, nothing duplicated;
 *   - 413 from Content-Length alone and from a chunked body passing the limit, an
 *     interrupted upload: nothing left in the folder, an older file of that name intact;
 *   - the centre's ingest still queued is reused; one already running is not;
 *   - 422 naming `name` for names the ingest would never read, 404 for an unknown centre,
 *     409 for an inactive one, 415 for other Content-Types, 403 for a viewer — all
 *     answered before any body byte is sent.
 * Responses are recorded for the OpenAPI validation. The group owns the server, its
 * database and LOG_ROOT. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIMIT (1024 * 1024)
#define FOLDER "UPL1 (PVC)"

static struct api_env env;
static char *root;
static char env_root[4200];
static char dir[4400];

#define LIT(s) s, sizeof(s) - 1

static int group_setup(void **state) {
    (void)state;
    root = make_temp_dir("sluice-logupload");
    if (!root) return -1;
    snprintf(env_root, sizeof env_root, "LOG_ROOT=%s", root);
    snprintf(dir, sizeof dir, "%s/" FOLDER, root);
    const char *extra[] = {env_root, "LOG_WATCH=false", "MAX_LOG_UPLOAD_BYTES=1048576", NULL};
    if (api_env_start(&env, extra) != 0) return -1;
    char *ok = testdb_query(env.db.url,
                            "INSERT INTO centre_usinage (code, nom, type_cu, log_folder, actif)"
                            " VALUES ('UPL1', 'Centre UPL1', 'PVC', '" FOLDER "', true),"
                            " ('OFF1', 'Centre OFF1', 'PVC', 'OFF1 (PVC)', false) RETURNING 1");
    bool done = ok != NULL;
    free(ok);
    return done ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    api_env_stop(&env);
    remove_tree(root);
    free(root);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static long long qi(const char *sql) {
    char *v = testdb_query(env.db.url, sql);
    if (!v) fail_msg("SQL failed: %s", sql);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Waits (up to 60 s) for job id to end; fails unless it succeeded. */
static void wait_job(long long id) {
    char sql[128], *got = NULL;
    snprintf(sql, sizeof sql, "SELECT status FROM jobs WHERE id = %lld", id);
    for (int i = 0; i < 600; i++) {
        free(got);
        got = testdb_query(env.db.url, sql);
        if (got && (strcmp(got, "succeeded") == 0 || strcmp(got, "failed") == 0 ||
                    strcmp(got, "cancelled") == 0))
            break;
        usleep(100 * 1000);
    }
    char copy[64];
    snprintf(copy, sizeof copy, "%s", got ? got : "(error)");
    free(got);
    if (strcmp(copy, "succeeded") != 0) fail_msg("job %lld: %s", id, copy);
}

/* Entries of the centre's folder, hidden ones included (0 when it does not exist). */
static int dir_entries(void) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* PUT of a whole body as the operator with this Content-Type line ("Content-Type:" sends
 * none); the response must be cleaned up. */
static void put(const char *token, const char *path, const char *type_line, const char *body,
                size_t len, struct http_response *r) {
    char auth[1024];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *const hdr[] = {auth, type_line, NULL};
    assert_int_equal(http_do(env.proc, "PUT", path, hdr, body, len, r), 0);
}

/* Uploads body as name, expects 202 and returns the job id after it succeeded. */
static long long upload(const char *name, const char *body, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "/centres/UPL1/log-files/%s", name);
    struct http_response r;
    put(env.operator_, path, "Content-Type: text/plain; charset=ISO-8859-1", body, len, &r);
    if (r.status != 202) fail_msg("PUT %s: %ld %.400s", path, r.status, r.body);
    long long id = jint(r.json, "id");
    char url[64];
    snprintf(url, sizeof url, "/jobs/%lld", id);
    assert_string_equal(jstr(r.json, "url"), url);
    assert_string_equal(http_header(&r, "Location"), url);
    assert_string_equal(jstr(r.json, "kind"), "machine_logs.ingest");
    json_t *file = json_object_get(r.json, "file");
    assert_string_equal(jstr(file, "centre"), "UPL1");
    assert_string_equal(jstr(file, "name"), name);
    assert_int_equal(jint(file, "size"), (long long)len);
    assert_int_equal(strlen(jstr(file, "sha256")), 64);
    http_response_cleanup(&r);
    wait_job(id);
    /* in place byte for byte, nothing else left in the folder */
    char p[4600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t got = 0;
    char *stored = read_file_all(p, &got);
    assert_non_null(stored);
    assert_int_equal(got, len);
    assert_memory_equal(stored, body, len);
    free(stored);
    return id;
}

/* A request head to PUT path with a bearer token (NULL: none) and one more header line. */
static void head(char *buf, size_t n, const char *path, const char *token, const char *more) {
    char auth[1024] = "";
    if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    snprintf(buf, n,
             "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/octet-stream\r\n"
             "%s\r\n",
             path, auth, more);
}

/* Sends only a head announcing a large body; the answer must come without the body. */
static void refused_without_body(const char *token, const char *path, long status, const char *slug,
                                 const char *field) {
    int fd = raw_connect(env.proc);
    assert_true(fd >= 0);
    char h[4096];
    head(h, sizeof h, path, token, "Content-Length: 900000\r\n");
    assert_int_equal(raw_send_str(fd, h), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 5000, &r), 0);
    assert_problem(&r, status, slug);
    if (field) assert_string_equal(jstr(r.json, "field"), field);
    http_record("PUT", path, r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
}

/* ---- tests -------------------------------------------------------------------------- */

static const char day[] = "20250528 06:00:00|@MachineStart\r\n"
                          "20250528 06:01:00|@StukUitgevoerd: p1\r\n"
                          "2025052 06:03:30|@StukUitgevoerd: bad\r\n"
                          "20250528 06:30:00|@StukUitgevoerd: p2\r\n"
                          "20250528 07:00:00|@StukUitgevoerd: p3\r\n";

static const char more[] = "20250528 07:10:00|@MachineWait: 60 sec\r\n"
                           "20250528 08:00:00|@StukUitgevoerd: p4\r\n";

static const char other[] = "20250528 09:00:00|@StukUitgevoerd: q1\n"
                            "20250528 10:00:00|@StukUitgevoerd: q2\n";

#define PIECES                                                                                     \
    "SELECT count(*) FROM piece_production p JOIN session_production s ON s.id = p.session_id"     \
    " JOIN centre_usinage c ON c.id = s.centre_usinage_id WHERE c.code = 'UPL1'"
#define TOTAL                                                                                      \
    "SELECT total_pieces FROM session_production s JOIN centre_usinage c"                          \
    " ON c.id = s.centre_usinage_id WHERE c.code = 'UPL1' AND date_production = '2025-05-28'"
#define REG(col)                                                                                   \
    "SELECT " col " FROM log_file f JOIN centre_usinage c ON c.id = f.centre_usinage_id"           \
    " WHERE c.code = 'UPL1' AND f.name = '20250528.LOG'"

static void upload_is_ingested(void **state) {
    (void)state;
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0); /* the upload creates the centre's folder */
    long long id = upload("20250528.LOG", LIT(day));
    assert_int_equal(dir_entries(), 1);
    assert_int_equal(qi(TOTAL), 3);
    assert_int_equal(qi(PIECES), 3);
    assert_int_equal(qi(REG("rejected_lines")), 1);
    assert_int_equal(qi(REG("byte_offset")), (long long)sizeof day - 1);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT (result->>'pieces')::int FROM jobs WHERE id = %lld", id);
    assert_int_equal(qi(sql), 3);
    snprintf(sql, sizeof sql,
             "SELECT created_by IS NOT NULL AND origin = 'api' FROM jobs"
             " WHERE id = %lld",
             id);
    char *by = testdb_query(env.db.url, sql);
    assert_non_null(by);
    assert_string_equal(by, "t");
    free(by);
}

static void longer_version_reads_only_new_lines(void **state) {
    (void)state;
    char body[sizeof day + sizeof more];
    memcpy(body, day, sizeof day - 1);
    memcpy(body + sizeof day - 1, more, sizeof more);
    long long id = upload("20250528.LOG", body, sizeof day + sizeof more - 2);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT (result->>'lines')::int FROM jobs WHERE id = %lld", id);
    assert_int_equal(qi(sql), 2); /* only the two new lines were read */
    assert_int_equal(qi(TOTAL), 4);
    assert_int_equal(qi(PIECES), 4);
    assert_int_equal(qi(REG("rereads")), 0);
    assert_int_equal(qi(REG("lines")), 7);
    assert_int_equal(qi("SELECT count(*) FROM periode_attente"), 1);
}

static void different_bytes_are_rederived(void **state) {
    (void)state;
    upload("20250528.LOG", LIT(other));
    assert_int_equal(qi(REG("rereads")), 1);
    assert_int_equal(qi(REG("lines")), 2);
    assert_int_equal(qi(REG("rejected_lines")), 0);
    assert_int_equal(qi(TOTAL), 2);
    assert_int_equal(qi(PIECES), 2);
    assert_int_equal(qi("SELECT count(*) FROM periode_attente"), 0);
    assert_int_equal(qi("SELECT count(*) FROM log_reject"), 0);
    assert_int_equal(qi("SELECT count(DISTINCT numero_piece) FROM piece_production"), 2);
    assert_int_equal(dir_entries(), 1);
}

static void too_large_leaves_nothing(void **state) {
    (void)state;
    int before = dir_entries();
    const char *path = "/centres/UPL1/log-files/20250601.LOG";
    /* by Content-Length: answered from the head */
    int fd = raw_connect(env.proc);
    assert_true(fd >= 0);
    char h[4096];
    head(h, sizeof h, path, env.operator_, "Content-Length: 2097152\r\n");
    assert_int_equal(raw_send_str(fd, h), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 5000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    assert_int_equal(jint(r.json, "max_bytes"), LIMIT);
    assert_non_null(strstr(jstr(r.json, "detail"), "MAX_LOG_UPLOAD_BYTES"));
    http_record("PUT", path, r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
    /* chunked, passing the limit while it arrives */
    fd = raw_connect(env.proc);
    assert_true(fd >= 0);
    head(h, sizeof h, path, env.operator_, "Transfer-Encoding: chunked\r\n");
    assert_int_equal(raw_send_str(fd, h), 0);
    (void)raw_send_chunked(fd, 'a', 65536, 48); /* 3 MiB */
    assert_int_equal(raw_read_response(fd, 10000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    assert_int_equal(jint(r.json, "max_bytes"), LIMIT);
    http_record("PUT", path, r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
    usleep(200 * 1000);
    assert_int_equal(dir_entries(), before);
    char p[4600];
    struct stat st;
    snprintf(p, sizeof p, "%s/20250601.LOG", dir);
    assert_int_not_equal(stat(p, &st), 0);
}

static void interrupted_upload_leaves_nothing(void **state) {
    (void)state;
    int before = dir_entries();
    char p[4600];
    snprintf(p, sizeof p, "%s/20250528.LOG", dir);
    for (int round = 0; round < 2; round++) {
        int fd = raw_connect(env.proc);
        assert_true(fd >= 0);
        char h[4096];
        head(h, sizeof h, "/centres/UPL1/log-files/20250528.LOG", env.operator_,
             round ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 900000\r\n");
        assert_int_equal(raw_send_str(fd, h), 0);
        char block[300000];
        memset(block, 'z', sizeof block);
        if (round) assert_int_equal(raw_send_str(fd, "493e0\r\n"), 0);
        assert_int_equal(raw_send(fd, block, sizeof block), 0);
        usleep(300 * 1000); /* the server holds the nameless file now */
        close(fd);
        bool clean = false;
        for (int i = 0; i < 100 && !clean; i++) {
            usleep(50 * 1000);
            clean = dir_entries() == before;
        }
        if (!clean) fail_msg("round %d: %d entries in %s", round, dir_entries(), dir);
        /* the file of that name is the one uploaded before, untouched */
        size_t len = 0;
        char *stored = read_file_all(p, &len);
        assert_non_null(stored);
        assert_int_equal(len, sizeof other - 1);
        assert_memory_equal(stored, other, len);
        free(stored);
    }
}

static void refusals_before_the_body(void **state) {
    (void)state;
    int before = dir_entries();
    long long jobs = qi("SELECT count(*) FROM jobs");
    refused_without_body(env.viewer, "/centres/UPL1/log-files/20250602.LOG", 403, "forbidden",
                         NULL);
    refused_without_body(NULL, "/centres/UPL1/log-files/20250602.LOG", 401, "unauthorized", NULL);
    refused_without_body(env.operator_, "/centres/NOPE/log-files/20250602.LOG", 404, "not-found",
                         NULL);
    refused_without_body(env.operator_, "/centres/OFF1/log-files/20250602.LOG", 409, "conflict",
                         NULL);
    refused_without_body(env.operator_, "/centres/UPL1/log-files/.20250602.LOG", 422, "validation",
                         "name");
    refused_without_body(env.operator_, "/centres/UPL1/log-files/notes.txt", 422, "validation",
                         "name");
    refused_without_body(env.operator_, "/centres/UPL1/log-files/20250602.LOG.part", 422,
                         "validation", "name");
    refused_without_body(env.operator_, "/centres/UPL1/log-files/a%0Ab.LOG", 422, "validation",
                         "name");
    char longname[400];
    memset(longname, 'x', 252);
    memcpy(longname + 252, ".LOG", 5); /* 256 bytes */
    char path[600];
    snprintf(path, sizeof path, "/centres/UPL1/log-files/%s", longname);
    refused_without_body(env.operator_, path, 422, "validation", "name");
    /* a name holding '/' (even written %2F) is a longer path: no such resource */
    refused_without_body(env.operator_, "/centres/UPL1/log-files/..%2F20250602.LOG", 404,
                         "not-found", NULL);
    /* a body that is not the file's bytes */
    struct http_response r;
    put(env.operator_, "/centres/UPL1/log-files/20250602.LOG", "Content-Type: application/json",
        LIT("{\"lines\": []}"), &r);
    assert_problem(&r, 415, "unsupported-media-type");
    assert_string_equal(jstr(r.json, "expected"), "application/octet-stream");
    http_response_cleanup(&r);
    assert_int_equal(dir_entries(), before);
    assert_int_equal(qi("SELECT count(*) FROM jobs"), jobs);
}

/* The centre's ingest still queued is the one named (reused); one already running is not:
 * it gives up its dedupe key and a new job is queued. */
static void queued_job_reused_running_not(void **state) {
    (void)state;
    long long queued = qi("INSERT INTO jobs (kind, args, run_at, dedupe_key, queue)"
                          " VALUES ('machine_logs.ingest', '{\"centre\": \"UPL1\"}',"
                          " now() + interval '1 day', 'machine_logs.ingest:UPL1', 'nobody')"
                          " RETURNING id");
    struct http_response r;
    put(env.operator_, "/centres/UPL1/log-files/20250604.LOG", "Content-Type: text/plain",
        LIT("20250604 06:00:00|@StukUitgevoerd: a\n"), &r);
    assert_int_equal(r.status, 202);
    assert_int_equal(jint(r.json, "id"), queued);
    assert_true(json_is_true(json_object_get(r.json, "reused")));
    http_response_cleanup(&r);
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = 'running', attempt = 1, lease_owner = 'elsewhere/1/w1',"
             " lease_expires_at = now() + interval '1 hour', started_at = now()"
             " WHERE id = %lld RETURNING 1",
             queued);
    assert_int_equal(qi(sql), 1);
    put(env.operator_, "/centres/UPL1/log-files/20250604.LOG", "Content-Type: text/plain",
        LIT("20250604 06:00:00|@StukUitgevoerd: a\n20250604 07:00:00|@StukUitgevoerd: b\n"), &r);
    assert_int_equal(r.status, 202);
    long long fresh = jint(r.json, "id");
    assert_true(fresh != queued);
    assert_true(json_is_false(json_object_get(r.json, "reused")));
    http_response_cleanup(&r);
    snprintf(sql, sizeof sql, "SELECT dedupe_key IS NULL FROM jobs WHERE id = %lld", queued);
    char *released = testdb_query(env.db.url, sql);
    assert_non_null(released);
    assert_string_equal(released, "t");
    free(released);
    wait_job(fresh);
    assert_int_equal(qi("SELECT lines FROM log_file WHERE name = '20250604.LOG'"), 2);
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL,"
             " lease_expires_at = NULL WHERE id = %lld RETURNING 1",
             queued);
    assert_int_equal(qi(sql), 1);
}

/* A name of exactly 255 bytes and no Content-Type at all (taken as octet-stream). */
static void longest_name_without_type(void **state) {
    (void)state;
    char name[256];
    memset(name, '7', 251);
    memcpy(name + 251, ".log", 5);
    char path[600];
    snprintf(path, sizeof path, "/centres/upl1/log-files/%s", name);
    struct http_response r;
    put(env.operator_, path, "Content-Type:", LIT("20250603 06:00:00|@StukUitgevoerd: n\n"), &r);
    if (r.status != 202) fail_msg("%ld %.400s", r.status, r.body);
    long long id = jint(r.json, "id");
    http_response_cleanup(&r);
    wait_job(id);
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT lines FROM log_file WHERE name = '%s' AND date_production IS NULL", name);
    assert_int_equal(qi(sql), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upload_is_ingested),
        cmocka_unit_test(longer_version_reads_only_new_lines),
        cmocka_unit_test(different_bytes_are_rederived),
        cmocka_unit_test(too_large_leaves_nothing),
        cmocka_unit_test(interrupted_upload_leaves_nothing),
        cmocka_unit_test(refusals_before_the_body),
        cmocka_unit_test(longest_name_without_type),
        cmocka_unit_test(queued_job_reused_running_not),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
