/* test_job_queues: the JOB_QUEUES parser (workers/job_queues.c) — accepted forms, every
 * refusal with its message, the limits — and that every registered kind names a valid
 * queue. */
#include "job.h"
#include "job_queues.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

static void accepts(void **state) {
    (void)state;
    struct job_queues q;
    char err[256] = "";
    assert_int_equal(job_queues_parse("default:2,ingest:2", &q, err, sizeof err), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.items[0].name, "default");
    assert_int_equal(q.items[0].threads, 2);
    assert_string_equal(q.items[1].name, "ingest");
    assert_int_equal(q.items[1].threads, 2);
    assert_int_equal(q.threads, 4);
    assert_int_equal(job_queues_parse(" default : 1 ,\tbulk_2-x:0 ", &q, err, sizeof err), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.items[1].name, "bulk_2-x");
    assert_int_equal(q.items[1].threads, 0);
    assert_int_equal(q.threads, 1);
    assert_int_equal(job_queues_parse("", &q, err, sizeof err), 0);
    assert_int_equal(q.n, 0);
    assert_int_equal(job_queues_parse("  ", &q, err, sizeof err), 0);
    assert_int_equal(q.n, 0);
    assert_int_equal(job_queues_parse(NULL, &q, err, sizeof err), 0);
    assert_int_equal(job_queues_parse("default:256", &q, err, sizeof err), 0);
}

static void refuses(const char *text, const char *expected) {
    struct job_queues q;
    char err[256] = "";
    assert_int_equal(job_queues_parse(text, &q, err, sizeof err), -1);
    assert_int_equal(q.n, 0);
    if (!strstr(err, expected)) fail_msg("%s: %s (expected %s)", text, err, expected);
}

static void refusals(void **state) {
    (void)state;
    refuses("default", "entry 1 (\"default\"): expected name:threads");
    refuses("default:2,", "entry 2");
    refuses("default:2,,ingest:1", "entry 2 (\"\"): expected name:threads");
    refuses("Default:2", "the name must be");
    refuses(":2", "the name must be");
    refuses("9a:2", "the name must be");
    refuses("a.b:2", "the name must be");
    refuses("abcdefghijklmnopqrstuvwxyz0123456:1", "the name must be");
    refuses("default:", "threads must be a number 0 to 256");
    refuses("default:-1", "threads must be a number 0 to 256");
    refuses("default:257", "threads must be a number 0 to 256");
    refuses("default:99999999999", "threads must be a number 0 to 256");
    refuses("default:2x", "threads must be a number 0 to 256");
    refuses("default:1,ingest:1,default:3",
            "entry 3 (\"default:3\"): this queue is already listed");
    refuses("a:200,b:57", "at most 256 threads in all");
    refuses("a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,j:1,k:1,l:1,m:1,n:1,o:1,p:1,q:1",
            "at most 16 queues");
    /* A tiny error buffer still gets a terminated message. */
    struct job_queues q;
    char tiny[8];
    assert_int_equal(job_queues_parse("x", &q, tiny, sizeof tiny), -1);
    assert_non_null(memchr(tiny, '\0', sizeof tiny));
}

static void kinds_name_valid_queues(void **state) {
    (void)state;
    job_registry_init(true);
    for (size_t i = 0; i < job_kind_count(); i++) {
        const char *queue = job_kind_queue(job_kind_at(i));
        if (!job_queue_name_valid(queue)) fail_msg("%s: queue %s", job_kind_at(i)->name, queue);
    }
    assert_string_equal(job_kind_queue(job_kind_find("test.ingest")), "ingest");
    assert_string_equal(job_kind_queue(job_kind_find("maintenance.prune")), JOB_QUEUE_DEFAULT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts),
        cmocka_unit_test(refusals),
        cmocka_unit_test(kinds_name_valid_queues),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
