/* request_head: what the request line and the headers decide, on the event thread,
 * before any body byte: request id and client address, the query, size limits of the
 * URI and the headers, NUL bytes and repeated Authorization headers, OPTIONS and CORS,
 * the route (404/405), Content-Type (415) and Content-Length (413). Everything it
 * allocates belongs to the request (freed by request_free in server.c). */
#include "http/server_internal.h"

#include "core/text.h"
#include "http/conn_guard.h"
#include "http/head_check.h"
#include "http/reply.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_header(struct MHD_Connection *c, const char *name) {
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? strdup(v) : NULL;
}

static bool valid_request_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':';
        if (!ok) return false;
    }
    return true;
}

/* Request ids identify, they protect nothing: each event thread draws a random 128-bit
 * start once and then steps a counter through splitmix64 (a bijection, so one thread
 * never repeats an id, and two threads' random starts make a collision negligible),
 * instead of a getrandom system call per request. */
static void next_request_id(char out[25]) {
    static _Thread_local uint64_t state[2];
    static _Thread_local bool seeded;
    if (!seeded) {
        randombytes_buf(state, sizeof state);
        seeded = true;
    }
    uint64_t z = (state[0] += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    unsigned char raw[12];
    for (int i = 0; i < 8; i++) raw[i] = (unsigned char)(z >> (8 * i));
    for (int i = 0; i < 4; i++) raw[8 + i] = (unsigned char)(state[1] >> (8 * i));
    text_hex(raw, sizeof raw, out);
}

static void set_request_id(struct request *req) {
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && valid_request_id(given)) {
        snprintf(req->request_id, sizeof req->request_id, "%s", given);
        return;
    }
    next_request_id(req->request_id);
}

static void set_client_addr(struct request *req) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->client_addr, sizeof req->client_addr, "unknown");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->client_addr, sizeof req->client_addr);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->client_addr, sizeof req->client_addr);
}

struct collect_ctx {
    struct request *req;
    size_t bytes;
    size_t cap;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    struct collect_ctx *cc = cls;
    struct request *req = cc->req;
    cc->bytes += strlen(key) + (value ? strlen(value) : 0) + 2;
    if (req->nquery == cc->cap) {
        size_t cap = cc->cap ? cc->cap * 2 : 8;
        struct kv *p = realloc(req->query, cap * sizeof *p);
        if (!p) return MHD_NO;
        req->query = p;
        cc->cap = cap;
    }
    req->query[req->nquery].key = strdup(key);
    req->query[req->nquery].value = strdup(value ? value : "");
    req->nquery++;
    return MHD_YES;
}

static enum MHD_Result count_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* Request id (X-Request-Id when valid, else random), client address and the headers
 * the request keeps. */
void head_identify(struct request *req) {
    req->authorization = dup_header(req->conn, "Authorization");
    req->content_type = dup_header(req->conn, "Content-Type");
    req->origin = dup_header(req->conn, "Origin");
    set_request_id(req);
    set_client_addr(req);
}

/* ---- CORS ---------------------------------------------------------------------- */

bool head_origin_allowed(const struct http_server *s, const char *origin) {
    const char *list = s->opts.cors_origins;
    if (!origin || !list || !*list) return false;
    if (strcmp(list, "*") == 0) return true;
    size_t olen = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *trim = end;
        while (trim > p && trim[-1] == ' ') trim--;
        if ((size_t)(trim - p) == olen && strncmp(p, origin, olen) == 0) return true;
        p = end;
    }
    return false;
}

/* Compares the media type of a Content-Type value (parameters ignored). */
static bool media_type_is(const char *ct, const char *type) {
    if (!ct) return false;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return n == strlen(type) && strncasecmp(ct, type, n) == 0;
}

static bool is_json_type(const char *ct) {
    if (!ct) return false;
    if (media_type_is(ct, "application/json")) return true;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/", 12) == 0;
}

/* 415 when the route expects a body type the request does not declare. */
static bool check_content_type(struct request *req) {
    unsigned f = req->route->flags;
    if (!(f & ROUTE_BODY_KINDS)) return true;
    if (f & ROUTE_JSON_BODY && !is_json_type(req->content_type)) {
        reply_problem_with(
            req, PROBLEM_UNSUPPORTED_MEDIA_TYPE, json_pack("{s:s}", "expected", "application/json"),
            "Content-Type %s%s%s is not accepted here: send application/json",
            req->content_type ? "\"" : "", req->content_type ? req->content_type : "(none)",
            req->content_type ? "\"" : "");
        return false;
    }
    if (f & ROUTE_FORM_BODY &&
        !media_type_is(req->content_type, "application/x-www-form-urlencoded")) {
        reply_problem_with(req, PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                           json_pack("{s:s}", "expected", "application/x-www-form-urlencoded"),
                           "Content-Type %s is not accepted here: send "
                           "application/x-www-form-urlencoded",
                           req->content_type ? req->content_type : "(none)");
        return false;
    }
    return true;
}

static void answer_options(struct http_server *s, struct request *req) {
    char allow[128];
    router_allow(s->opts.routes, s->opts.nroutes, req->path, allow, sizeof allow);
    if (!allow[0]) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no resource at %.200s", req->path);
        return;
    }
    reply_bytes(req, 204, NULL, "", 0, true);
    reply_header(req, "Allow", allow);
    if (head_origin_allowed(s, req->origin)) {
        reply_header(req, "Access-Control-Allow-Methods", allow);
        reply_header(req, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, X-Request-Id");
        reply_header(req, "Access-Control-Max-Age", "600");
    }
}

/* ---- NUL bytes and repeated headers ----------------------------------------------- */

struct field_list {
    struct head_field f[64];
    size_t n;
    size_t authorization; /* how many Authorization headers */
    bool overflow;
};

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    (void)key_size;
    struct field_list *l = cls;
    if (strcasecmp(key, "Authorization") == 0) l->authorization++;
    if (l->n == sizeof l->f / sizeof l->f[0]) {
        l->overflow = true;
        return MHD_YES;
    }
    l->f[l->n++] = (struct head_field){key, value ? value : "", value ? value_size : 0};
    return MHD_YES;
}

/* 400 for a NUL byte in the path or the query (%00: seen while decoding them), or hidden
 * in a header value, and for a repeated Authorization header. Returns true when a reply
 * is ready. head: the request line as libmicrohttpd handed it (the start of the head). */
static bool refuse_bad_head(struct request *req, const char *head) {
    if (conn_watch_nul(req->watch)) {
        reply_problem(req, PROBLEM_BAD_REQUEST,
                      "the path or the query holds a NUL byte (%%00): refused");
        return true;
    }
    struct field_list l = {.n = 0};
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, collect_field, &l);
    if (l.authorization > 1) {
        reply_problem(req, PROBLEM_BAD_REQUEST,
                      "%zu Authorization headers: send one Authorization header", l.authorization);
        return true;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t which = 0;
    if (ci && head && head_hidden_nul(head, ci->header_size, l.f, l.n, &which)) {
        reply_problem_with(req, PROBLEM_BAD_REQUEST, json_pack("{s:s}", "field", l.f[which].name),
                           "the value of the %.100s header holds a NUL byte: refused",
                           l.f[which].name);
        return true;
    }
    return false;
}

/* Decodes %XX in place as libmicrohttpd does, noting a decoded NUL for refuse_bad_head
 * (the caller only sees C strings, cut at the NUL). */
size_t head_unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    char *w = s;
    bool nul = false;
    for (const char *r = s; *r;) {
        if (r[0] == '%' && isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])) {
            char hex[3] = {r[1], r[2], '\0'};
            char v = (char)strtol(hex, NULL, 16);
            nul = nul || v == '\0';
            *w++ = v;
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    if (nul) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci) conn_watch_set_nul(ci->socket_context);
    }
    return (size_t)(w - s);
}

/* First callback: everything that can be decided from the request line and headers.
 * Returns true when a reply is ready. */
bool head_decide(struct http_server *s, struct request *req, const char *url, const char *head) {
    if (refuse_bad_head(req, head)) return true;
    struct collect_ctx cc = {req, 0, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, &cc);
    size_t header_bytes = 0;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_headers, &header_bytes);
    if (strlen(url) + cc.bytes > s->max_uri_bytes) {
        reply_problem(req, PROBLEM_URI_TOO_LONG, "the request URI is longer than %zu bytes",
                      s->max_uri_bytes);
        return true;
    }
    if (header_bytes > (size_t)s->opts.max_header_bytes) {
        reply_problem(req, PROBLEM_HEADERS_TOO_LARGE,
                      "the request headers take more than %ld bytes (MAX_HEADER_BYTES)",
                      s->opts.max_header_bytes);
        return true;
    }
    if (strcmp(req->method, "OPTIONS") == 0) {
        answer_options(s, req);
        return true;
    }
    struct route_match m;
    switch (router_match(s->opts.routes, s->opts.nroutes, req->method, url, &m)) {
    case ROUTER_NOT_FOUND:
        reply_problem(req, PROBLEM_NOT_FOUND, "no resource at %.200s", url);
        return true;
    case ROUTER_METHOD_NOT_ALLOWED: {
        char allow[128];
        router_allow(s->opts.routes, s->opts.nroutes, url, allow, sizeof allow);
        reply_header(req, "Allow", allow);
        reply_problem(req, PROBLEM_METHOD_NOT_ALLOWED, "%s is not allowed on %s (allowed: %s)",
                      req->method, url, allow);
        return true;
    }
    case ROUTER_FOUND: break;
    }
    req->route = m.route;
    req->nparams = m.nparams;
    for (size_t i = 0; i < m.nparams; i++) {
        req->params[i].key = strndup(m.params[i].name, m.params[i].name_len);
        req->params[i].value = strndup(m.params[i].value, m.params[i].value_len);
    }
    req->body_limit = is_stream(req) ? s->stream_limits[req->route - s->opts.routes]
                                     : (unsigned long long)s->opts.max_body_bytes;
    if (!check_content_type(req)) return true;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > req->body_limit) {
        body_reply_too_large(req);
        return true;
    }
    return false;
}
