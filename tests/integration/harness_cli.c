/* harness_cli: logging in through POST /token and running `sluice <args...>` as a child
 * with captured output (harness.h "auth and CLI").
 *
 * Memory: test_login returns a malloc'd token (or NULL); run_sluice_cli* store a malloc'd
 * output in *output for the caller to free; the child's environment and argv are freed
 * before returning. */
#include "harness_internal.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- auth and CLI -------------------------------------------------------------------- */

char *test_login(struct sluice_proc *p, const char *user, const char *pass) {
    harness_curl_init();
    char *u = curl_easy_escape(NULL, user, 0);
    char *pw = curl_easy_escape(NULL, pass, 0);
    char body[1024];
    snprintf(body, sizeof body, "grant_type=password&username=%s&password=%s", u ? u : "",
             pw ? pw : "");
    curl_free(u);
    curl_free(pw);
    static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct http_response r;
    char *token = NULL;
    if (http_do(p, "POST", "/token", hdrs, body, strlen(body), &r) == 0 && r.status == 200) {
        const char *t = json_string_value(json_object_get(r.json, "access_token"));
        if (t) token = strdup(t);
    }
    if (!token)
        fprintf(stderr, "harness: login of %s failed: %ld %.300s\n", user, r.status,
                r.body ? r.body : "");
    http_response_cleanup(&r);
    return token;
}

int run_sluice_cli_in(const char *database_url, const char *const *args,
                      const char *const *extra_env, const char *workdir, bool base_env,
                      char **output) {
    if (output) *output = NULL;
    const char *bin = harness_sluice_bin();
    if (!bin) {
        fprintf(stderr, "harness: SLUICE_TEST_BIN is not set\n");
        return -1;
    }
    struct env e = {0};
    if (base_env) {
        harness_env_base(&e, database_url, 0);
    } else {
        harness_env_inherit(&e);
        if (database_url) harness_env_setf(&e, "DATABASE_URL=%s", database_url);
    }
    for (size_t i = 0; extra_env && extra_env[i]; i++) harness_env_set(&e, extra_env[i]);
    size_t nargs = 0;
    while (args && args[nargs]) nargs++;
    char **argv = calloc(nargs + 2, sizeof *argv);
    argv[0] = (char *)bin;
    for (size_t i = 0; i < nargs; i++) argv[i + 1] = (char *)args[i];
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        harness_env_free(&e);
        free(argv);
        return -1;
    }
    pid_t pid = harness_spawn(argv, e.v, workdir, pfd[1]);
    close(pfd[1]);
    harness_env_free(&e);
    free(argv);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    struct growbuf b = {0};
    double deadline = now_ms() + 120000.0;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        struct pollfd p = {pfd[0], POLLIN, 0};
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        char buf[4096];
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        harness_grow_append(&b, buf, (size_t)n);
    }
    close(pfd[0]);
    int st = 0;
    if (now_ms() >= deadline) kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (output)
        *output = b.data ? b.data : strdup("");
    else
        free(b.data);
    return harness_decode_status(st);
}

int run_sluice_cli(const char *database_url, const char *const *args, const char *const *extra_env,
                   char **output) {
    return run_sluice_cli_in(database_url, args, extra_env, NULL, true, output);
}
