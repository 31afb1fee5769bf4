/* router: segment-by-segment matching of paths against patterns; see router.h. */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>

/* Length of path without one trailing slash (the root "/" stays). */
static size_t trimmed_len(const char *path) {
    size_t n = strlen(path);
    if (n > 1 && path[n - 1] == '/') n--;
    return n;
}

static bool match_pattern(const char *pattern, const char *path, size_t path_len,
                          struct route_match *m) {
    const char *p = pattern, *s = path, *s_end = path + path_len;
    size_t np = 0;
    while (*p && s < s_end) {
        if (*p != '/' || *s != '/') return false;
        p++;
        s++;
        const char *pseg_end = strchr(p, '/');
        if (!pseg_end) pseg_end = p + strlen(p);
        const char *sseg_end = memchr(s, '/', (size_t)(s_end - s));
        if (!sseg_end) sseg_end = s_end;
        size_t plen = (size_t)(pseg_end - p), slen = (size_t)(sseg_end - s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || np >= ROUTER_MAX_PARAMS) return false;
            m->params[np].name = p + 1;
            m->params[np].name_len = plen - 2;
            m->params[np].value = s;
            m->params[np].value_len = slen;
            np++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p = pseg_end;
        s = sseg_end;
    }
    if (*p || s != s_end) return false;
    m->nparams = np;
    return true;
}

static bool method_matches(const char *route_method, const char *method) {
    if (strcmp(route_method, method) == 0) return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

enum router_result router_match(const struct route *table, size_t n, const char *method,
                                const char *path, struct route_match *m) {
    size_t len = trimmed_len(path);
    bool path_known = false;
    memset(m, 0, sizeof *m);
    if (len == 0 || path[0] != '/') return ROUTER_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        struct route_match tmp;
        memset(&tmp, 0, sizeof tmp);
        if (!match_pattern(table[i].pattern, path, len, &tmp)) continue;
        path_known = true;
        if (method_matches(table[i].method, method)) {
            *m = tmp;
            m->route = &table[i];
            return ROUTER_FOUND;
        }
    }
    return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

static void append(char *buf, size_t buflen, const char *s) {
    size_t used = strlen(buf);
    if (used + strlen(s) + 3 >= buflen) return;
    if (used) strcat(buf, ", ");
    strcat(buf, s);
}

void router_allow(const struct route *table, size_t n, const char *path, char *buf, size_t buflen) {
    size_t len = trimmed_len(path);
    if (buflen == 0) return;
    buf[0] = '\0';
    bool get = false;
    for (size_t i = 0; i < n; i++) {
        struct route_match tmp;
        memset(&tmp, 0, sizeof tmp);
        if (!match_pattern(table[i].pattern, path, len, &tmp)) continue;
        if (strstr(buf, table[i].method) && strlen(table[i].method) > 0) {
            /* avoid duplicates such as two GET routes: compare whole words */
            bool dup = false;
            for (const char *q = buf; (q = strstr(q, table[i].method)); q++) {
                size_t ml = strlen(table[i].method);
                if ((q == buf || q[-1] == ' ') && (q[ml] == ',' || q[ml] == '\0')) dup = true;
            }
            if (dup) continue;
        }
        append(buf, buflen, table[i].method);
        if (strcmp(table[i].method, "GET") == 0) get = true;
    }
    if (get) append(buf, buflen, "HEAD");
    if (buf[0]) append(buf, buflen, "OPTIONS");
}
