/* harness_http: HTTP through libcurl (harness.h "HTTP" and "problem+json checks"): one easy
 * handle per request, response headers and body collected, JSON bodies parsed, and every
 * exchange optionally recorded as one JSON line under SLUICE_TEST_RESPONSES_DIR (with the
 * exact body text of a JSON answer in "raw").
 *
 * Memory: a struct http_response owns its body, headers and json (malloc'd / jansson
 * references) until http_response_cleanup; http_header's result lives in the response's
 * header_buf; problem_check returns a literal or a static buffer (not thread-safe). */
#include "harness_internal.h"

#include <curl/curl.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- HTTP ------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void harness_curl_init(void) { pthread_once(&curl_once, curl_init_once); }

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    return harness_grow_append(ud, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct growbuf *b = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) b->len = 0; /* a new (final?) block */
    return harness_grow_append(b, ptr, n) == 0 ? n : 0;
}

const char *http_header(struct http_response *r, const char *name) {
    if (!r->headers) return NULL;
    size_t nlen = strlen(name);
    for (const char *line = r->headers; *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end) end = line + strlen(line);
        if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            snprintf(r->header_buf, sizeof r->header_buf, "%.*s", (int)(ve - v), v);
            return r->header_buf;
        }
        line = *end ? end + 2 : end;
    }
    return NULL;
}

static bool is_json_ctype(const char *ct) {
    if (!ct) return false;
    size_t n = strcspn(ct, "; ");
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

void harness_parse_json_body(struct http_response *r) {
    const char *ct = http_header(r, "Content-Type");
    if (is_json_ctype(ct) && r->body) r->json = json_loadb(r->body, r->len, 0, NULL);
}

static atomic_bool recording_off;

void http_recording(bool on) { atomic_store(&recording_off, !on); }

void http_record(const char *method, const char *path, long status, const char *content_type,
                 const char *body, size_t len) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const char *dir = getenv("SLUICE_TEST_RESPONSES_DIR");
    if (!dir || !*dir || atomic_load(&recording_off)) return;
    size_t plen = strcspn(path, "?");
    json_t *jbody = NULL;
    if (is_json_ctype(content_type) && body) jbody = json_loadb(body, len, 0, NULL);
    if (!jbody) jbody = body ? json_stringn_nocheck(body, len) : json_null();
    if (!jbody) jbody = json_string("(body not UTF-8)");
    json_t *line =
        json_pack("{s:s,s:s%,s:I,s:s?,s:o}", "method", method, "path", path, plen, "status",
                  (json_int_t)status, "content_type", content_type, "body", jbody);
    if (!line) return;
    /* The exact bytes of a JSON body, for tests/openapi/check-json-format.mjs (compact,
     * one spelling of numbers and times). */
    if (is_json_ctype(content_type) && body) {
        json_t *raw = json_stringn(body, len);
        if (raw) json_object_set_new(line, "raw", raw);
    }
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text) return;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.jsonl", dir, program_invocation_short_name);
    pthread_mutex_lock(&lock);
    mkdir(dir, 0755);
    FILE *f = fopen(file, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    pthread_mutex_unlock(&lock);
    free(text);
}

int http_do_port(int port, const char *method, const char *path, const char *const *headers,
                 const char *body, size_t len, struct http_response *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    size_t ulen = strlen(path) + 64;
    char *url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(c);
        return -1;
    }
    snprintf(url, ulen, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *hl = NULL;
    bool has_expect = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        if (strncasecmp(headers[i], "Expect:", 7) == 0) has_expect = true;
    }
    if (!has_expect) hl = curl_slist_append(hl, "Expect:");
    struct growbuf b = {0}, h = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(url);
    out->body = b.data ? b.data : strdup("");
    out->len = b.len;
    out->headers = h.data ? h.data : strdup("");
    if (rc != CURLE_OK) {
        out->status = 0;
        return -1;
    }
    harness_parse_json_body(out);
    const char *ct = http_header(out, "Content-Type");
    char ctcopy[256];
    snprintf(ctcopy, sizeof ctcopy, "%s", ct ? ct : "");
    http_record(method, path, out->status, ct ? ctcopy : NULL, out->body, out->len);
    return 0;
}

int http_do(struct sluice_proc *p, const char *method, const char *path, const char *const *headers,
            const char *body, size_t len, struct http_response *out) {
    return http_do_port(p->port, method, path, headers, body, len, out);
}

int http_get(struct sluice_proc *p, const char *path, struct http_response *out) {
    return http_do(p, "GET", path, NULL, NULL, 0, out);
}

void http_response_cleanup(struct http_response *r) {
    if (!r) return;
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* ---- problem+json checks ----------------------------------------------------------- */

const char *problem_check(struct http_response *r, long expected, const char *slug) {
    static char msg[1024];
    if (r->status != expected) {
        snprintf(msg, sizeof msg, "status %ld, expected %ld; body: %.300s", r->status, expected,
                 r->body ? r->body : "");
        return msg;
    }
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/problem+json", 24) != 0) {
        snprintf(msg, sizeof msg, "Content-Type %s, expected application/problem+json",
                 ct ? ct : "(none)");
        return msg;
    }
    if (!json_is_object(r->json)) return "the body is not a JSON object";
    const char *type = json_string_value(json_object_get(r->json, "type"));
    const char *title = json_string_value(json_object_get(r->json, "title"));
    const char *detail = json_string_value(json_object_get(r->json, "detail"));
    json_t *status = json_object_get(r->json, "status");
    if (!type || !*type) return "no \"type\"";
    if (slug) {
        char want[128];
        snprintf(want, sizeof want, "/problems/%s", slug);
        size_t tl = strlen(type), wl = strlen(want);
        if (tl < wl || strcmp(type + tl - wl, want) != 0) {
            snprintf(msg, sizeof msg, "type \"%s\", expected .../problems/%s", type, slug);
            return msg;
        }
    }
    if (!title || !*title) return "no \"title\"";
    if (!detail || !*detail) return "no \"detail\"";
    if (!json_is_integer(status) || json_integer_value(status) != expected)
        return "\"status\" member differs from the HTTP status";
    const char *rid = json_string_value(json_object_get(r->json, "request_id"));
    if (!rid || !*rid) return "no \"request_id\"";
    char hdr[256];
    const char *h = http_header(r, "X-Request-Id");
    snprintf(hdr, sizeof hdr, "%s", h ? h : "");
    if (strcmp(rid, hdr) != 0) {
        snprintf(msg, sizeof msg, "request_id \"%s\" differs from X-Request-Id \"%s\"", rid, hdr);
        return msg;
    }
    return NULL;
}
