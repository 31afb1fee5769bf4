/* harness_raw: raw TCP sockets to the server (harness.h "raw sockets") for requests libcurl
 * would not send, and a minimal HTTP/1.1 response reader over poll().
 *
 * Memory: sockets belong to the caller (close them); raw_read_response fills a struct
 * http_response whose malloc'd body/headers/json the caller releases with
 * http_response_cleanup. */
#include "harness_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- raw sockets ----------------------------------------------------------------- */

int raw_connect_port(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_connect(struct sluice_proc *p) { return raw_connect_port(p->port); }

int raw_send(int fd, const void *data, size_t len) {
    const char *d = data;
    while (len > 0) {
        ssize_t n = send(fd, d, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        d += n;
        len -= (size_t)n;
    }
    return 0;
}

int raw_send_str(int fd, const char *s) { return raw_send(fd, s, strlen(s)); }

int raw_send_chunked(int fd, char fill, size_t chunk, size_t nchunks) {
    char *buf = malloc(chunk + 32);
    if (!buf) return -1;
    int k = snprintf(buf, 32, "%zx\r\n", chunk);
    memset(buf + k, fill, chunk);
    memcpy(buf + k + chunk, "\r\n", 2);
    int rc = 0;
    for (size_t i = 0; i < nchunks && rc == 0; i++) rc = raw_send(fd, buf, (size_t)k + chunk + 2);
    free(buf);
    return rc == 0 ? raw_send_str(fd, "0\r\n\r\n") : -1;
}

/* Reads into b until pred says stop, EOF or the deadline. 1: EOF seen, 0: pred, -1. */
static int read_until(int fd, struct growbuf *b, double deadline, size_t want_total,
                      bool want_headers) {
    for (;;) {
        if (want_headers && b->data && strstr(b->data, "\r\n\r\n")) return 0;
        if (!want_headers && b->len >= want_total) return 0;
        int left = (int)(deadline - now_ms());
        if (left <= 0) return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return -1;
        char buf[8192];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return b->len ? 1 : -1; /* ECONNRESET after a full answer */
        if (n == 0) return 1;
        if (harness_grow_append(b, buf, (size_t)n) != 0) return -1;
    }
}

int raw_read_response(int fd, int timeout_ms, struct http_response *out) {
    memset(out, 0, sizeof *out);
    double deadline = now_ms() + timeout_ms;
    struct growbuf b = {0};
    int rc = read_until(fd, &b, deadline, 0, true);
    char *end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
    if (!end) {
        free(b.data);
        (void)rc;
        return -1;
    }
    size_t hlen = (size_t)(end - b.data) + 4;
    out->headers = strndup(b.data, hlen);
    if (sscanf(b.data, "HTTP/%*d.%*d %ld", &out->status) != 1) out->status = 0;
    const char *cl = http_header(out, "Content-Length");
    if (cl) {
        size_t want = hlen + strtoul(cl, NULL, 10);
        if (b.len < want) read_until(fd, &b, deadline, want, false);
        size_t blen = b.len > hlen ? b.len - hlen : 0;
        if (blen > want - hlen) blen = want - hlen;
        out->body = strndup(b.data + hlen, blen);
        out->len = blen;
    } else {
        if (rc != 1) read_until(fd, &b, deadline, (size_t)-1, false);
        out->body = strdup(b.data + hlen);
        out->len = b.len - hlen;
    }
    free(b.data);
    harness_parse_json_body(out);
    return 0;
}
