/* job_queues: the JOB_QUEUES parser; see job_queues.h. */
#include "job_queues.h"

#include <stdio.h>
#include <string.h>

static bool blank(char c) { return c == ' ' || c == '\t'; }

bool job_queue_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > JOB_QUEUE_NAME_MAX || name[0] < 'a' || name[0] > 'z') return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Copies [start, end) without surrounding blanks into out (outlen bytes); false when it
 * does not fit. */
static bool trimmed(const char *start, const char *end, char *out, size_t outlen) {
    while (start < end && blank(*start)) start++;
    while (end > start && blank(end[-1])) end--;
    if ((size_t)(end - start) >= outlen) return false;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return true;
}

static int fail(struct job_queues *out, char *err, size_t errlen, size_t entry, const char *text,
                size_t len, const char *why) {
    memset(out, 0, sizeof *out);
    if (errlen)
        snprintf(err, errlen, "JOB_QUEUES entry %zu (\"%.*s\"): %s", entry,
                 (int)(len > 60 ? 60 : len), text, why);
    return -1;
}

int job_queues_parse(const char *text, struct job_queues *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    const char *p = text ? text : "";
    const char *q = p;
    while (blank(*q)) q++;
    if (*q == '\0') return 0;
    for (size_t entry = 1;; entry++) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        struct job_queue_spec s = {0};
        char num[8];
        if (!colon) return fail(out, err, errlen, entry, p, len, "expected name:threads");
        if (!trimmed(p, colon, s.name, sizeof s.name) || !job_queue_name_valid(s.name))
            return fail(out, err, errlen, entry, p, len,
                        "the name must be 1 to 32 characters a-z, 0-9, _ or -, starting with a "
                        "letter");
        if (!trimmed(colon + 1, p + len, num, sizeof num) || num[0] == '\0')
            return fail(out, err, errlen, entry, p, len, "threads must be a number 0 to 256");
        int threads = 0;
        for (const char *d = num; *d; d++) {
            if (*d < '0' || *d > '9' || threads > JOB_QUEUES_MAX_THREADS)
                return fail(out, err, errlen, entry, p, len, "threads must be a number 0 to 256");
            threads = threads * 10 + (*d - '0');
        }
        if (threads > JOB_QUEUES_MAX_THREADS)
            return fail(out, err, errlen, entry, p, len, "threads must be a number 0 to 256");
        s.threads = threads;
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->items[i].name, s.name) == 0)
                return fail(out, err, errlen, entry, p, len, "this queue is already listed");
        if (out->n == JOB_QUEUES_MAX)
            return fail(out, err, errlen, entry, p, len, "at most 16 queues");
        if (out->threads + threads > JOB_QUEUES_MAX_THREADS)
            return fail(out, err, errlen, entry, p, len, "at most 256 threads in all");
        out->items[out->n++] = s;
        out->threads += threads;
        if (p[len] == '\0') return 0;
        p += len + 1;
    }
}
