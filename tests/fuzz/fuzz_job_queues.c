/* fuzz_job_queues: feeds the input (cut at its first NUL) to job_queues_parse as the
 * JOB_QUEUES value. Checks: on failure the result is empty and the error (also with a
 * tiny buffer) is a non-empty terminated string naming the entry; on success every queue
 * has a valid unique name and 0..256 threads, the total is their sum and at most 256,
 * and printing the queues back as "name:threads,..." parses to the same result. No heap
 * is kept. */
#include "job_queues.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct job_queues q;
    char err[256] = "";
    int rc = job_queues_parse(text, &q, err, sizeof err);
    if (rc != 0) {
        CHECK(q.n == 0 && q.threads == 0);
        CHECK(strncmp(err, "JOB_QUEUES entry ", 17) == 0);
        char tiny[6] = "";
        struct job_queues t;
        CHECK(job_queues_parse(text, &t, tiny, sizeof tiny) != 0);
        CHECK(memchr(tiny, '\0', sizeof tiny) != NULL && tiny[0] != '\0');
        free(text);
        return 0;
    }
    free(text);
    int sum = 0;
    char again[JOB_QUEUES_MAX * (JOB_QUEUE_NAME_MAX + 6)] = "";
    size_t used = 0;
    for (size_t i = 0; i < q.n; i++) {
        CHECK(job_queue_name_valid(q.items[i].name));
        CHECK(q.items[i].threads >= 0 && q.items[i].threads <= JOB_QUEUES_MAX_THREADS);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(q.items[i].name, q.items[j].name) != 0);
        sum += q.items[i].threads;
        used += (size_t)snprintf(again + used, sizeof again - used, "%s%s:%d", i ? "," : "",
                                 q.items[i].name, q.items[i].threads);
    }
    CHECK(sum == q.threads && sum <= JOB_QUEUES_MAX_THREADS);
    struct job_queues r;
    CHECK(job_queues_parse(again, &r, err, sizeof err) == 0);
    CHECK(r.n == q.n && r.threads == q.threads);
    for (size_t i = 0; i < q.n; i++) {
        CHECK(strcmp(r.items[i].name, q.items[i].name) == 0);
        CHECK(r.items[i].threads == q.items[i].threads);
    }
    return 0;
}
