/* test_http_slow: slow clients are dropped (issue 14 point 4). With HTTP_HEADER_TIMEOUT=2
 * a head sent one byte every 0.5 s is cut (the idle timer, HTTP_CONNECTION_TIMEOUT=30,
 * never fires); with HTTP_BODY_MIN_RATE=1000 a body sent at 20 bytes/s is cut, while a
 * body at full speed and a client that keeps to the pace are served; with
 * HTTP_MAX_CONNECTIONS_PER_IP=4 a fifth connection from 127.0.0.1 is closed at once while
 * another address (127.0.0.2) is still served. Before, the slow head and body stayed open
 * as long as bytes kept coming and one address could take every connection. Each test
 * closes its sockets; the group owns the database and the server. */
#include "harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct test_db db;
static struct sluice_proc *proc;

static int group_setup(void **state) {
    (void)state;
    static const char *const env[] = {"HTTP_HEADER_TIMEOUT=2", "HTTP_BODY_MIN_RATE=1000",
                                      "HTTP_CONNECTION_TIMEOUT=30", NULL};
    return test_server_start(&db, env, &proc);
}

static int group_teardown(void **state) {
    (void)state;
    return test_server_stop(&db, &proc);
}

/* Whether the server closed fd (EOF or reset) within ms, without having sent anything. */
static bool closed_within(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

/* Sends data one piece of `step` bytes every `pause_ms`, until all is sent (false) or the
 * server closes the connection (true). */
static bool dribble(int fd, const char *data, size_t len, size_t step, int pause_ms) {
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        if (send(fd, data + off, n, MSG_NOSIGNAL) < 0) return true;
        if (closed_within(fd, pause_ms)) return true;
    }
    return false;
}

static void slow_head_is_cut(void **state) {
    (void)state;
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    /* 90 bytes at 2 bytes/s: 45 s to send it all; the deadline is 2 s. */
    bool cut = dribble(fd, head, sizeof head - 1, 1, 500);
    close(fd);
    assert_true(cut);
    /* A kept-alive connection that stays silent after its request is closed too. */
    fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    http_response_cleanup(&r);
    assert_true(closed_within(fd, 15000));
    close(fd);
}

static void slow_body_is_cut(void **state) {
    (void)state;
    enum { LEN = 4000 };
    char *body = malloc(LEN);
    memset(body, 'a', LEN);
    /* POST /token reads its (form) body with no authorization first. */
    static const char head[] = "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                               "application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n";
    int fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_str(fd, head), 0);
    /* 20 bytes/s: 200 s for the body; HTTP_BODY_MIN_RATE=1000 cuts it after a window. */
    bool cut = dribble(fd, body, LEN, 10, 500);
    close(fd);
    assert_true(cut);

    /* 1000 bytes every 0.5 s (2000 bytes/s) keeps to the pace: answered. */
    fd = raw_connect(proc);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_str(fd, head), 0);
    memcpy(body, "grant_type=x&", 13);
    assert_false(dribble(fd, body, LEN, 1000, 500));
    struct http_response r;
    assert_int_equal(raw_read_response(fd, 5000, &r), 0);
    if (r.status != 400) /* an unsupported grant: the body was read */
        fail_msg("got %ld: %.300s", r.status, r.headers ? r.headers : "(no head)");
    http_response_cleanup(&r);
    close(fd);
    free(body);
}

static int connect_from(const char *src, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long healthz_on(int fd) {
    struct http_response r;
    if (raw_send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") != 0 ||
        raw_read_response(fd, 5000, &r) != 0)
        return 0;
    long status = r.status;
    http_response_cleanup(&r);
    return status;
}

static void per_address_limit(void **state) {
    (void)state;
    static const char *const env[] = {"HTTP_MAX_CONNECTIONS_PER_IP=4", "HTTP_HEADER_TIMEOUT=60",
                                      NULL};
    struct sluice_proc *p = sluice_start(db.url, env);
    assert_non_null(p);
    int port = sluice_port(p);
    int held[4];
    for (int i = 0; i < 4; i++) {
        held[i] = connect_from("127.0.0.1", port);
        assert_true(held[i] >= 0);
        assert_int_equal(healthz_on(held[i]), 200); /* kept alive, counted */
    }
    int fifth = connect_from("127.0.0.1", port);
    assert_true(fifth >= 0); /* the kernel accepts; sluice closes it at once */
    assert_int_equal(healthz_on(fifth), 0);
    close(fifth);
    int other = connect_from("127.0.0.2", port);
    assert_true(other >= 0);
    assert_int_equal(healthz_on(other), 200);
    close(other);
    close(held[0]);
    usleep(300 * 1000);
    int again = connect_from("127.0.0.1", port);
    assert_true(again >= 0);
    assert_int_equal(healthz_on(again), 200);
    close(again);
    for (int i = 1; i < 4; i++) close(held[i]);
    assert_int_equal(sluice_stop(p, SIGTERM), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_head_is_cut),
        cmocka_unit_test(slow_body_is_cut),
        cmocka_unit_test(per_address_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
