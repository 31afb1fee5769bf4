/* test_uploads: streamed request bodies (http/body_file.c) through POST /uploads, and
 * GET/DELETE /uploads/{id}: the body lands in UPLOAD_DIR/<id> with its size and SHA-256,
 * a 1 GiB body streams with the server's RSS flat, a refused caller gets its answer before
 * sending any body byte (and nothing is stored), 413 comes from Content-Length alone and
 * from a chunked body passing MAX_UPLOAD_BYTES, a cut connection leaves no file (no name,
 * no open descriptor) and no row; orphan files (temporary files of a crashed upload,
 * files whose row is gone), once older than UPLOAD_ORPHAN_GRACE_SECONDS, are removed by
 * maintenance.prune and at start-up, and nothing else is. The group owns the database, the server
 * and the upload folder; each test closes its sockets and frees what it allocates. */
#include "auth_util.h"
#include "harness.h"
#include "jobs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_LIMIT (1024 * 1024) /* the second server's MAX_UPLOAD_BYTES */

static struct test_db db;
static struct sluice_proc *proc;
static char *upload_dir;
static char *token;

static int group_setup(void **state) {
    (void)state;
    upload_dir = make_temp_dir("sluice-uploads");
    if (!upload_dir) return -1;
    char env_dir[512];
    snprintf(env_dir, sizeof env_dir, "UPLOAD_DIR=%s", upload_dir);
    const char *const env[] = {env_dir, NULL};
    if (test_server_start(&db, env, &proc) != 0) return -1;
    token = test_login(proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    return token ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    free(token);
    int rc = test_server_stop(&db, &proc);
    if (upload_dir) remove_tree(upload_dir);
    free(upload_dir);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* Entries of the upload folder (hidden temporary names included). */
static int dir_entries(void) {
    DIR *d = opendir(upload_dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* Descriptors of the server that point into the upload folder (a nameless O_TMPFILE
 * shows as "<dir>/#<inode> (deleted)"). */
static int open_in_dir(void) {
    char fddir[64];
    snprintf(fddir, sizeof fddir, "/proc/%ld/fd", (long)sluice_pid(proc));
    DIR *d = opendir(fddir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char link[512], target[1024];
        snprintf(link, sizeof link, "%s/%s", fddir, e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k <= 0) continue;
        target[k] = '\0';
        if (strncmp(target, upload_dir, strlen(upload_dir)) == 0 &&
            target[strlen(upload_dir)] == '/')
            n++;
    }
    closedir(d);
    return n;
}

/* Waits up to 5 s for the folder to be empty with no descriptor in it. */
static bool folder_clean(void) {
    for (int i = 0; i < 100; i++) {
        if (dir_entries() == 0 && open_in_dir() == 0) return true;
        usleep(50 * 1000);
    }
    return false;
}

static void sha256_hex(EVP_MD_CTX *c, char out[65]) {
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(c, md, &len);
    for (unsigned i = 0; i < len; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A block of the test body: different for every index, so that a lost, doubled or
 * reordered block changes the hash. */
static void fill_block(char *buf, size_t n, size_t index) {
    for (size_t i = 0; i < n; i += 8) {
        unsigned long long v = (index + 1) * 0x9E3779B97F4A7C15ull ^ i;
        memcpy(buf + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* A request head to POST /uploads (auth: a whole Authorization header line or ""). */
static void head(char *buf, size_t n, const char *path, const char *auth, const char *length_line) {
    snprintf(buf, n, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%sContent-Type: text/csv\r\n%s\r\n",
             path, auth, *auth ? "\r\n" : "", length_line);
}

static void bearer_line(char *buf, size_t n) {
    snprintf(buf, n, "Authorization: Bearer %s", token);
}

/* ---- tests -------------------------------------------------------------------------- */

static void upload_get_delete(void **state) {
    (void)state;
    char auth[1024];
    bearer_line(auth, sizeof auth);
    static const char body[] = "\"id_patient\",\"value\"\n1,2\n";
    const char *const hdr[] = {auth, "Content-Type: text/csv", NULL};
    struct http_response r;
    assert_int_equal(
        http_do(proc, "POST", "/uploads?filename=data.csv", hdr, body, sizeof body - 1, &r), 0);
    assert_int_equal(r.status, 201);
    json_t *j = r.json;
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    assert_true(id > 0);
    assert_int_equal(json_integer_value(json_object_get(j, "size")), sizeof body - 1);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, body, sizeof body - 1);
    char want[65];
    sha256_hex(c, want);
    EVP_MD_CTX_free(c);
    assert_string_equal(json_string_value(json_object_get(j, "sha256")), want);
    assert_string_equal(json_string_value(json_object_get(j, "filename")), "data.csv");
    assert_string_equal(json_string_value(json_object_get(j, "content_type")), "text/csv");
    assert_non_null(json_string_value(json_object_get(j, "created_at")));
    assert_non_null(json_string_value(json_object_get(j, "expires_at")));
    char location[64];
    snprintf(location, sizeof location, "/uploads/%lld", (long long)id);
    assert_string_equal(http_header(&r, "Location"), location);
    http_response_cleanup(&r);

    /* The file is in place, byte for byte. */
    char path[1024];
    snprintf(path, sizeof path, "%s/%lld", upload_dir, (long long)id);
    size_t len = 0;
    char *stored = read_file_all(path, &len);
    assert_non_null(stored);
    assert_int_equal(len, sizeof body - 1);
    assert_memory_equal(stored, body, len);
    free(stored);

    assert_int_equal(bearer_do(proc, "GET", location, token, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "sha256")), want);
    http_response_cleanup(&r);

    assert_int_equal(bearer_do(proc, "DELETE", location, token, NULL, &r), 0);
    assert_int_equal(r.status, 204);
    http_response_cleanup(&r);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(bearer_do(proc, "GET", location, token, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "DELETE", location, token, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "GET", "/uploads/abc", token, NULL, &r), 0);
    assert_problem(&r, 404, "not-found");
    http_response_cleanup(&r);

    /* An empty body is an upload too; a bad filename is refused before the body. */
    const char *const hdr2[] = {auth, NULL};
    assert_int_equal(http_do(proc, "POST", "/uploads", hdr2, "", 0, &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "size")), 0);
    assert_true(json_is_null(json_object_get(r.json, "filename")));
    snprintf(location, sizeof location, "/uploads/%lld",
             (long long)json_integer_value(json_object_get(r.json, "id")));
    http_response_cleanup(&r);
    assert_int_equal(bearer_do(proc, "DELETE", location, token, NULL, &r), 0);
    assert_int_equal(r.status, 204);
    http_response_cleanup(&r);
    assert_int_equal(http_do(proc, "POST", "/uploads?filename=a%01b", hdr2, "x", 1, &r), 0);
    assert_problem(&r, 400, "bad-request");
    http_response_cleanup(&r);
    assert_int_equal(http_do(proc, "POST", "/uploads?other=1", hdr2, "x", 1, &r), 0);
    assert_problem(&r, 400, "bad-request");
    http_response_cleanup(&r);
}

/* A caller without a token (or with too low a role) gets 401/403 while only the head
 * was sent: the server did not wait for the body, stored nothing and closes the
 * connection. */
static void refused_before_body(void **state) {
    (void)state;
    int before = dir_entries();
    const char *auths[2] = {"", NULL};
    char viewer_auth[1024];
    char *viewer =
        create_user_login(proc, token, "uploads-viewer", "viewer-password-123", "viewer", NULL);
    assert_non_null(viewer);
    snprintf(viewer_auth, sizeof viewer_auth, "Authorization: Bearer %s", viewer);
    auths[1] = viewer_auth;
    const long statuses[2] = {401, 403};
    const char *slugs[2] = {"unauthorized", "forbidden"};
    for (int i = 0; i < 2; i++) {
        for (int expect = 0; expect < 2; expect++) {
            int fd = raw_connect(proc);
            assert_true(fd >= 0);
            char h[2048];
            head(h, sizeof h, "/uploads", auths[i],
                 expect ? "Content-Length: 100000000\r\nExpect: 100-continue\r\n"
                        : "Content-Length: 100000000\r\n");
            assert_int_equal(raw_send_str(fd, h), 0);
            struct http_response r;
            assert_int_equal(raw_read_response(fd, 5000, &r), 0);
            assert_problem(&r, statuses[i], slugs[i]);
            /* libmicrohttpd closes a connection whose body it will not read. */
            const char *conn = http_header(&r, "Connection");
            assert_non_null(conn);
            assert_string_equal(conn, "close");
            http_record("POST", "/uploads", r.status, http_header(&r, "Content-Type"), r.body,
                        r.len);
            http_response_cleanup(&r);
            close(fd);
        }
    }
    free(viewer);
    assert_int_equal(dir_entries(), before);
}

static void too_large_by_content_length(void **state) {
    (void)state;
    char auth[1024], h[2048];
    bearer_line(auth, sizeof auth);
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    /* Over the default MAX_UPLOAD_BYTES (2 GiB): answered from the head alone. */
    head(h, sizeof h, "/uploads", auth, "Content-Length: 3000000000\r\n");
    assert_int_equal(raw_send_str(fd, h), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 5000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    assert_int_equal(json_integer_value(json_object_get(r.json, "max_bytes")), 2147483648LL);
    assert_non_null(
        strstr(json_string_value(json_object_get(r.json, "detail")), "MAX_UPLOAD_BYTES"));
    http_record("POST", "/uploads", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
}

/* A second server on the same database with a small MAX_UPLOAD_BYTES: a chunked body
 * that passes it gets 413 and leaves nothing. */
static void too_large_chunked(void **state) {
    (void)state;
    char env_dir[512];
    snprintf(env_dir, sizeof env_dir, "UPLOAD_DIR=%s", upload_dir);
    const char *const env[] = {env_dir, "MAX_UPLOAD_BYTES=1048576", NULL};
    struct sluice_proc *small = sluice_start(db.url, env);
    assert_non_null(small);
    char *t = test_login(small, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    assert_non_null(t);
    char auth[1024], h[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t);
    int before = dir_entries();

    int fd = raw_connect(small);
    assert_true(fd >= 0);
    head(h, sizeof h, "/uploads", auth, "Transfer-Encoding: chunked\r\n");
    assert_int_equal(raw_send_str(fd, h), 0);
    (void)raw_send_chunked(fd, 'a', 65536, 48); /* 3 MiB */
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 10000, &r), 0);
    assert_problem(&r, 413, "payload-too-large");
    assert_int_equal(json_integer_value(json_object_get(r.json, "max_bytes")), SMALL_LIMIT);
    http_record("POST", "/uploads", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);

    /* Exactly the limit is accepted. */
    char *body = malloc(SMALL_LIMIT);
    memset(body, 'b', SMALL_LIMIT);
    const char *const hdr[] = {auth, NULL};
    assert_int_equal(http_do(small, "POST", "/uploads", hdr, body, SMALL_LIMIT, &r), 0);
    assert_int_equal(r.status, 201);
    json_int_t id = json_integer_value(json_object_get(r.json, "id"));
    http_response_cleanup(&r);
    free(body);
    char path[64];
    snprintf(path, sizeof path, "/uploads/%lld", (long long)id);
    assert_int_equal(bearer_do(small, "DELETE", path, t, NULL, &r), 0);
    assert_int_equal(r.status, 204);
    http_response_cleanup(&r);
    free(t);
    assert_int_equal(sluice_stop(small, SIGTERM), 0);
    assert_int_equal(dir_entries(), before);
}

/* The client goes away in the middle: no file, no descriptor, no row. */
static void cut_connection_leaves_nothing(void **state) {
    (void)state;
    long rows_before = db_long(db.url, "SELECT count(*) FROM uploads");
    char auth[1024], h[2048];
    bearer_line(auth, sizeof auth);
    for (int round = 0; round < 2; round++) {
        int fd = raw_connect(proc);
        assert_true(fd >= 0);
        head(h, sizeof h, "/uploads", auth,
             round ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 10000000\r\n");
        assert_int_equal(raw_send_str(fd, h), 0);
        char *block = malloc(1 << 20);
        fill_block(block, 1 << 20, 7);
        for (int i = 0; i < 3; i++) {
            if (round) {
                char sz[32];
                snprintf(sz, sizeof sz, "%x\r\n", 1 << 20);
                assert_int_equal(raw_send_str(fd, sz), 0);
            }
            assert_int_equal(raw_send(fd, block, 1 << 20), 0);
            if (round) assert_int_equal(raw_send_str(fd, "\r\n"), 0);
        }
        free(block);
        usleep(200 * 1000); /* the server holds the file now */
        close(fd);
        if (!folder_clean())
            fail_msg("round %d: %d entries, %d descriptors left in %s", round, dir_entries(),
                     open_in_dir(), upload_dir);
    }
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM uploads"), rows_before);
    struct http_response r;
    assert_int_equal(http_get(proc, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
}

/* 1 GiB through a raw socket, the server's RSS sampled every 64 MiB: it stays flat and the
 * stored file has the right size and hash. */
static void one_gib_flat_rss(void **state) {
    (void)state;
    enum { BLOCK = 1 << 20, BLOCKS = 1024 };
    char auth[1024], h[2048], length[64];
    bearer_line(auth, sizeof auth);
    pid_t pid = sluice_pid(proc);
    long rss_before = proc_rss_kib(pid), rss_peak = rss_before;
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    snprintf(length, sizeof length, "Content-Length: %lld\r\n", (long long)BLOCK * BLOCKS);
    head(h, sizeof h, "/uploads?filename=big.bin", auth, length);
    assert_int_equal(raw_send_str(fd, h), 0);
    char *block = malloc(BLOCK);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    double t0 = now_ms();
    for (size_t i = 0; i < BLOCKS; i++) {
        fill_block(block, BLOCK, i);
        EVP_DigestUpdate(c, block, BLOCK);
        assert_int_equal(raw_send(fd, block, BLOCK), 0);
        if (i % 64 == 63) {
            long rss = proc_rss_kib(pid);
            if (rss > rss_peak) rss_peak = rss;
        }
    }
    free(block);
    char want[65];
    sha256_hex(c, want);
    EVP_MD_CTX_free(c);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 120000, &r), 0);
    double secs = (now_ms() - t0) / 1000.0;
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "size")),
                     (long long)BLOCK * BLOCKS);
    assert_string_equal(json_string_value(json_object_get(r.json, "sha256")), want);
    json_int_t id = json_integer_value(json_object_get(r.json, "id"));
    http_record("POST", "/uploads", r.status, http_header(&r, "Content-Type"), r.body, r.len);
    http_response_cleanup(&r);
    close(fd);
    printf("# 1 GiB upload: %.1f s (%.0f MB/s), RSS %ld KiB before, peak %ld KiB\n", secs,
           1073.741824 / secs, rss_before, rss_peak);
    if (rss_peak - rss_before > 32 * 1024)
        fail_msg("server RSS grew by %ld KiB during a 1 GiB upload", rss_peak - rss_before);
    char path[1024];
    snprintf(path, sizeof path, "%s/%lld", upload_dir, (long long)id);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (long long)BLOCK * BLOCKS);
    unlink(path);
}

/* maintenance.prune deletes the expired uploads, row and file, and keeps the others. */
static void prune_expired(void **state) {
    (void)state;
    char *ok =
        testdb_query(db.url, "INSERT INTO uploads (id, size, sha256, created_at, expires_at)"
                             " VALUES (900001, 1, repeat('a', 64), now() - interval '2 days',"
                             " now() - interval '1 day'),"
                             " (900002, 1, repeat('b', 64), now(), now() + interval '1 day')");
    assert_non_null(ok);
    free(ok);
    char old[1024], young[1024];
    snprintf(old, sizeof old, "%s/900001", upload_dir);
    snprintf(young, sizeof young, "%s/900002", upload_dir);
    assert_int_equal(write_file(old, "a", 1), 0);
    assert_int_equal(write_file(young, "b", 1), 0);
    struct http_response r;
    assert_int_equal(bearer_do(proc, "GET", "/uploads/900001", token, NULL, &r), 0);
    assert_problem(&r, 404, "not-found"); /* expired: gone for the API already */
    http_response_cleanup(&r);
    long id = job_post(proc, token, "{\"kind\": \"maintenance.prune\"}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "succeeded", 60));
    char *result = job_column(db.url, id, "result->>'uploads'");
    assert_string_equal(result, "1");
    free(result);
    struct stat st;
    assert_int_not_equal(stat(old, &st), 0);
    assert_int_equal(stat(young, &st), 0);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM uploads WHERE id = 900001"), 0);
    assert_int_equal(db_long(db.url, "SELECT count(*) FROM uploads WHERE id = 900002"), 1);
    free(testdb_query(db.url, "DELETE FROM uploads WHERE id = 900002"));
    unlink(young);
}

/* A file in the upload folder, last written `age` seconds ago. */
static void put_file(const char *name, long age) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", upload_dir, name);
    assert_int_equal(write_file(path, "x", 1), 0);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static bool file_there(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", upload_dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

static void remove_file(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", upload_dir, name);
    unlink(path);
}

/* Files no upload owns go, once older than the grace; the rest stays. */
static void orphans_swept(void **state) {
    (void)state;
    const long old = 2 * 3600, young = 60; /* the grace is an hour */
    free(testdb_query(db.url, "INSERT INTO uploads (id, size, sha256, expires_at)"
                              " VALUES (900020, 1, repeat('c', 64), now() + interval '1 day')"));
    put_file(".900021.a1b2c3.part", old);   /* a crashed upload's temporary file */
    put_file(".900022.d4e5f6.part", young); /* maybe an upload in flight */
    put_file("900023", old);                /* its row is gone */
    put_file("900024", young);              /* maybe between its rename and its row */
    put_file("900020", old);                /* has its row */
    put_file("notes.txt", old);             /* not a name of ours */
    long id = job_post(proc, token, "{\"kind\": \"maintenance.prune\"}");
    assert_true(id > 0);
    assert_true(job_wait_status(db.url, id, "succeeded", 60));
    char *result = job_column(db.url, id, "result->>'orphan_files'");
    assert_string_equal(result, "2");
    free(result);
    assert_false(file_there(".900021.a1b2c3.part"));
    assert_false(file_there("900023"));
    assert_true(file_there(".900022.d4e5f6.part"));
    assert_true(file_there("900024"));
    assert_true(file_there("900020"));
    assert_true(file_there("notes.txt"));

    /* At start-up: a second server on the same folder sweeps before it serves. */
    put_file(".900025.0a0b0c.part", old);
    put_file("900026", old);
    char env_dir[512];
    snprintf(env_dir, sizeof env_dir, "UPLOAD_DIR=%s", upload_dir);
    const char *const env[] = {env_dir, "JOB_QUEUES=", "SCHEDULES=", NULL};
    struct sluice_proc *second = sluice_start(db.url, env);
    assert_non_null(second);
    bool temp_gone = !file_there(".900025.0a0b0c.part"), file_gone = !file_there("900026");
    assert_int_equal(sluice_stop(second, SIGTERM), 0);
    assert_true(temp_gone);
    assert_true(file_gone);
    assert_true(file_there(".900022.d4e5f6.part") && file_there("900024") && file_there("900020") &&
                file_there("notes.txt"));

    const char *mine[] = {".900022.d4e5f6.part", "900024", "900020", "notes.txt"};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) remove_file(mine[i]);
    free(testdb_query(db.url, "DELETE FROM uploads WHERE id = 900020"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upload_get_delete),
        cmocka_unit_test(refused_before_body),
        cmocka_unit_test(too_large_by_content_length),
        cmocka_unit_test(too_large_chunked),
        cmocka_unit_test(cut_connection_leaves_nothing),
        cmocka_unit_test(prune_expired),
        cmocka_unit_test(orphans_swept),
        cmocka_unit_test(one_gib_flat_rss),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
