/* test_job_args: a kind's declared arguments (types, bounds, required, unknown members,
 * the extra validator), the CLI's name=value conversion, the retry backoff, and the
 * registry's test-kind switch. Uses a kind declared here; no I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "job.h"

#include <stdio.h>
#include <string.h>

static const struct job_arg args_decl[] = {
    {"days", JOB_ARG_INT, true, 1, 365, "days"},
    {"label", JOB_ARG_STRING, false, 2, 5, "a label"},
    {"force", JOB_ARG_BOOL, false, 0, 0, "force it"},
    {NULL, 0, false, 0, 0, NULL},
};

static int no_force_on_sunday(const json_t *args, struct job_error *err) {
    if (json_is_true(json_object_get(args, "force")) &&
        json_integer_value(json_object_get(args, "days")) == 7) {
        snprintf(err->field, sizeof err->field, "args.force");
        snprintf(err->message, sizeof err->message, "not with days=7");
        return -1;
    }
    return 0;
}

static enum job_outcome nothing(struct job_ctx *ctx, const json_t *args) {
    (void)ctx;
    (void)args;
    return JOB_SUCCEEDED;
}

static const struct job_kind kind = {
    .name = "unit.kind", .args = args_decl, .validate = no_force_on_sunday, .run = nothing};

static void refused(const char *json, const char *field, const char *needle) {
    json_t *args = json ? json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    struct job_error err = {{0}, {0}};
    assert_int_equal(job_args_check(&kind, args, &err), -1);
    if (strcmp(err.field, field) != 0 || !strstr(err.message, needle))
        fprintf(stderr, "%s: got %s \"%s\"\n", json ? json : "NULL", err.field, err.message);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.message, needle));
    json_decref(args);
}

static void accepted(const char *json) {
    json_t *args = json_loads(json, 0, NULL);
    struct job_error err;
    assert_int_equal(job_args_check(&kind, args, &err), 0);
    json_decref(args);
}

static void test_check(void **state) {
    (void)state;
    accepted("{\"days\": 30}");
    accepted("{\"days\": 1, \"label\": \"ab\", \"force\": true}");
    accepted("{\"days\": 365, \"label\": \"\xc3\xa9t\xc3\xa9s\"}"); /* 5 characters */
    refused(NULL, "args.days", "is required");
    refused("{}", "args.days", "is required");
    refused("[1]", "args", "must be a JSON object");
    refused("{\"days\": 0}", "args.days", "from 1 to 365");
    refused("{\"days\": 366}", "args.days", "from 1 to 365");
    refused("{\"days\": \"3\"}", "args.days", "must be an integer");
    refused("{\"days\": 3.5}", "args.days", "must be an integer");
    refused("{\"days\": null}", "args.days", "must not be null");
    refused("{\"days\": 3, \"label\": \"a\"}", "args.label", "2 to 5 characters");
    refused("{\"days\": 3, \"label\": \"abcdef\"}", "args.label", "2 to 5 characters");
    refused("{\"days\": 3, \"label\": \"a\\tb\"}", "args.label", "control characters");
    refused("{\"days\": 3, \"label\": \"a\\u0000b\"}", "args.label", "NUL");
    refused("{\"days\": 3, \"force\": 1}", "args.force", "true or false");
    refused("{\"days\": 3, \"dayz\": 1}", "args.dayz",
            "not a known field (known: days, label, force)");
    refused("{\"days\": 7, \"force\": true}", "args.force", "not with days=7");
}

static void test_set_text(void **state) {
    (void)state;
    json_t *args = json_object();
    struct job_error err;
    assert_int_equal(job_args_set_text(&kind, args, "days=12", &err), 0);
    assert_int_equal(job_args_set_text(&kind, args, "force=yes", &err), 0);
    assert_int_equal(job_args_set_text(&kind, args, "label=a=b", &err), 0);
    assert_int_equal(json_integer_value(json_object_get(args, "days")), 12);
    assert_true(json_is_true(json_object_get(args, "force")));
    assert_string_equal(json_string_value(json_object_get(args, "label")), "a=b");
    assert_int_equal(job_args_set_text(&kind, args, "days=12x", &err), -1);
    assert_string_equal(err.field, "args.days");
    assert_int_equal(job_args_set_text(&kind, args, "force=maybe", &err), -1);
    assert_int_equal(job_args_set_text(&kind, args, "nope=1", &err), -1);
    assert_string_equal(err.field, "args.nope");
    assert_int_equal(job_args_set_text(&kind, args, "=1", &err), -1);
    assert_int_equal(job_args_set_text(&kind, args, "days", &err), -1);
    json_decref(args);
}

static void test_backoff(void **state) {
    (void)state;
    /* Equal jitter: half of base*2^(attempt-1) fixed, half random; capped. */
    assert_true(job_backoff_seconds(1, 60, 1, 0.0) == 0.5);
    assert_true(job_backoff_seconds(1, 60, 1, 0.999999) < 1.0);
    assert_true(job_backoff_seconds(1, 60, 2, 0.0) == 1.0);
    assert_true(job_backoff_seconds(1, 60, 4, 0.0) == 4.0);
    assert_true(job_backoff_seconds(1, 60, 4, 0.5) == 6.0);
    assert_true(job_backoff_seconds(1, 60, 10, 0.0) == 30.0); /* 512 capped at 60 */
    assert_true(job_backoff_seconds(1, 60, 1000, 0.999) <= 60.0);
    for (int a = 1; a < 8; a++)
        assert_true(job_backoff_seconds(2, 1e9, a + 1, 0) == 2 * job_backoff_seconds(2, 1e9, a, 0));
}

static void test_registry(void **state) {
    (void)state;
    job_registry_init(false);
    assert_non_null(job_kind_find("maintenance.prune"));
    assert_null(job_kind_find("test.sleep"));
    for (size_t i = 0; i < job_kind_count(); i++)
        assert_true(strncmp(job_kind_at(i)->name, "test.", 5) != 0);
    job_registry_init(true);
    assert_non_null(job_kind_find("test.sleep"));
    assert_non_null(job_kind_find("test.fail"));
    assert_non_null(job_kind_find("test.count"));
    assert_null(job_kind_find("nope"));
    assert_null(job_kind_find(NULL));
    /* Every registered kind has a name, a run function and sane retry settings. */
    for (size_t i = 0; i < job_kind_count(); i++) {
        const struct job_kind *k = job_kind_at(i);
        assert_non_null(k->run);
        assert_true(k->max_attempts >= 1);
        assert_true(k->backoff_base > 0 && k->backoff_max >= k->backoff_base);
        struct job_error err;
        json_t *empty = json_object();
        /* The kinds without required arguments accept {}. */
        bool required = false;
        for (const struct job_arg *a = k->args; a && a->name; a++) required |= a->required;
        if (!required) assert_int_equal(job_args_check(k, empty, &err), 0);
        json_decref(empty);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_set_text),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
