/* test_schedule_spec: the SCHEDULES value — entries split on `;` outside JSON, cron of
 * five fields or a macro, kind defaulting to the name, JSON arguments checked against the
 * kind, and errors naming the entry. No I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "job.h"
#include "schedule_spec.h"

#include <stdio.h>
#include <string.h>

static int setup(void **state) {
    (void)state;
    job_registry_init(true);
    return 0;
}

static void test_default(void **state) {
    (void)state;
    struct schedule_specs s;
    char err[256];
    assert_int_equal(schedule_specs_parse("maintenance.prune=0 3 * * *", &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.items[0].name, "maintenance.prune");
    assert_string_equal(s.items[0].kind, "maintenance.prune");
    assert_string_equal(s.items[0].cron, "0 3 * * *");
    assert_string_equal(s.items[0].args_json, "{}");
    assert_string_equal(s.items[0].entry, "maintenance.prune=0 3 * * *");
    schedule_specs_cleanup(&s);
    assert_int_equal(schedule_specs_parse("", &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(schedule_specs_parse(NULL, &s, err, sizeof err), 0);
    assert_int_equal(schedule_specs_parse(" ; ;", &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
}

static void test_several(void **state) {
    (void)state;
    struct schedule_specs s;
    char err[256];
    const char *text = " nightly = 30\t2 * * sun maintenance.prune {\"batch_size\": 500} ;"
                       "tick=@hourly test.count {\"n\":2};"
                       "odd=*/5 * * * * test.fail {\"message\":\"a;b {c}\"}; ";
    assert_int_equal(schedule_specs_parse(text, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.items[0].name, "nightly");
    assert_string_equal(s.items[0].cron, "30 2 * * sun");
    assert_string_equal(s.items[0].kind, "maintenance.prune");
    assert_string_equal(s.items[0].args_json, "{\"batch_size\":500}");
    assert_string_equal(s.items[1].cron, "@hourly");
    assert_string_equal(s.items[1].kind, "test.count");
    assert_string_equal(s.items[2].args_json, "{\"message\":\"a;b {c}\"}");
    assert_string_equal(s.items[2].entry, "odd=*/5 * * * * test.fail {\"message\":\"a;b {c}\"}");
    schedule_specs_cleanup(&s);
}

static void refused(const char *text, const char *needle) {
    struct schedule_specs s;
    char err[256] = "";
    assert_int_equal(schedule_specs_parse(text, &s, err, sizeof err), -1);
    if (!strstr(err, needle)) fprintf(stderr, "\"%s\": \"%s\" lacks \"%s\"\n", text, err, needle);
    assert_non_null(strstr(err, needle));
    assert_int_equal(s.n, 0);
}

static void test_errors(void **state) {
    (void)state;
    refused("0 3 * * *", "entry 1: \"0 3 * * *\" is not NAME=CRON");
    refused("maintenance.prune=0 3 * *", "cron \"0 3 * *\": 4 fields");
    refused("maintenance.prune=0 25 * * *", "hour field: 25");
    refused("a=0 3 * * *", "no job kind named \"a\"");
    refused("x=0 3 * * * test.sleep", "args.ms is required");
    refused("x=0 3 * * * test.sleep {\"ms\": -1}", "args.ms must be an integer from 0 to 3600000");
    refused("x=0 3 * * * test.sleep [1]", "one JSON object");
    refused("x=0 3 * * * test.sleep {\"ms\": 1", "one JSON object");
    refused("-x=0 3 * * * test.count", "is not a schedule name");
    refused("a b=0 3 * * * test.count", "is not a schedule name");
    refused("t=0 3 * * * test.count; t=0 4 * * * test.count", "entry 2: t: the name is used twice");
    refused("maintenance.prune=0 3 * * *;bad=@reboot test.count", "entry 2: bad: cron");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_several),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
