/* auth_util: see auth_util.h. */
#include "auth_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int token_post(struct sluice_proc *p, const char *body, size_t len, const char *extra_header,
               struct http_response *r) {
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", extra_header, NULL};
    return http_do(p, "POST", "/token", hdrs, body, len, r);
}

int auth_header_do(struct sluice_proc *p, const char *method, const char *path,
                   const char *authorization, const char *json, struct http_response *r) {
    char auth[8192 + 32];
    const char *hdrs[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (authorization) {
        snprintf(auth, sizeof auth, "Authorization: %s", authorization);
        hdrs[n++] = auth;
    }
    if (json) hdrs[n++] = "Content-Type: application/json";
    return http_do(p, method, path, hdrs, json, json ? strlen(json) : 0, r);
}

int bearer_do(struct sluice_proc *p, const char *method, const char *path, const char *token,
              const char *json, struct http_response *r) {
    char value[8192];
    if (token) snprintf(value, sizeof value, "Bearer %s", token);
    return auth_header_do(p, method, path, token ? value : NULL, json, r);
}

long create_user(struct sluice_proc *p, const char *admin_token, const char *username,
                 const char *password, const char *role) {
    json_t *body =
        json_pack("{s:s,s:s,s:s}", "username", username, "password", password, "role", role);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct http_response r;
    long id = -1;
    if (bearer_do(p, "POST", "/users", admin_token, text, &r) == 0 && r.status == 201)
        id = (long)json_integer_value(json_object_get(r.json, "id"));
    else
        fprintf(stderr, "create_user %s: %ld %.300s\n", username, r.status, r.body ? r.body : "");
    free(text);
    http_response_cleanup(&r);
    return id;
}

char *create_user_login(struct sluice_proc *p, const char *admin_token, const char *username,
                        const char *password, const char *role, long *id) {
    long created = create_user(p, admin_token, username, password, role);
    if (id) *id = created;
    return created > 0 ? test_login(p, username, password) : NULL;
}

const char *oauth_error_check(struct http_response *r, long status, const char *error) {
    static char msg[512];
    const char *ct = http_header(r, "Content-Type");
    if (r->status != status) {
        snprintf(msg, sizeof msg, "status %ld, expected %ld (body %.200s)", r->status, status,
                 r->body ? r->body : "");
        return msg;
    }
    if (!ct || strncmp(ct, "application/json", 16) != 0) return "Content-Type is not JSON";
    if (!json_is_object(r->json)) return "the body is not a JSON object";
    const char *got = json_string_value(json_object_get(r->json, "error"));
    if (!got || strcmp(got, error) != 0) {
        snprintf(msg, sizeof msg, "error is %s, expected %s (%.200s)", got ? got : "(none)", error,
                 r->body);
        return msg;
    }
    if (!json_is_string(json_object_get(r->json, "error_description")))
        return "no error_description";
    if (json_object_size(r->json) != 2) return "members other than error, error_description";
    const char *cc = http_header(r, "Cache-Control");
    if (!cc || strcmp(cc, "no-store") != 0) return "Cache-Control is not no-store";
    return NULL;
}

long db_long(const char *url, const char *sql) {
    char *v = testdb_query(url, sql);
    if (!v) return -1;
    long n = *v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}
