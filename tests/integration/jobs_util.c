/* jobs_util: see jobs_util.h. */
#include "jobs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

char *job_column(const char *url, long id, const char *expr) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM jobs WHERE id = %ld", expr, id);
    return testdb_query(url, sql);
}

static bool in_list(const char *value, const char *list) {
    size_t n = strlen(value);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncmp(p, value, n) == 0) return true;
        p += k + (p[k] == ',');
    }
    return false;
}

bool job_wait_status(const char *url, long id, const char *statuses, double timeout_s) {
    double deadline = now_ms() + timeout_s * 1000;
    char *last = NULL;
    while (now_ms() < deadline) {
        free(last);
        last = job_column(url, id, "status");
        if (last && in_list(last, statuses)) {
            free(last);
            return true;
        }
        pause_ms(50);
    }
    fprintf(stderr, "job %ld: status %s, waited for %s\n", id, last ? last : "?", statuses);
    free(last);
    return false;
}

bool wait_count(const char *url, const char *sql, long n, double timeout_s) {
    double deadline = now_ms() + timeout_s * 1000;
    long got = -1;
    while (now_ms() < deadline) {
        got = db_long(url, sql);
        if (got >= n) return true;
        pause_ms(50);
    }
    fprintf(stderr, "%s: %ld, waited for %ld\n", sql, got, n);
    return false;
}

long job_post(struct sluice_proc *p, const char *token, const char *json) {
    struct http_response r;
    if (bearer_do(p, "POST", "/jobs", token, json, &r) != 0) return -1;
    long id = -1;
    if ((r.status == 202 || r.status == 200) && r.json)
        id = (long)json_integer_value(json_object_get(r.json, "id"));
    else
        fprintf(stderr, "POST /jobs %s: %ld %s\n", json, r.status, r.body ? r.body : "");
    http_response_cleanup(&r);
    return id;
}

double metric_value(struct sluice_proc *p, const char *name_with_labels) {
    struct http_response r;
    if (http_get(p, "/metrics", &r) != 0) return -1;
    double v = -1;
    size_t n = strlen(name_with_labels);
    for (const char *line = r.body; line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, name_with_labels, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    http_response_cleanup(&r);
    return v;
}
