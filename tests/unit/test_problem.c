/* Unit tests of http/problem.c: the error table and RFC 9457 bodies (type, title, status,
 * detail, instance, request_id), including details that are not valid UTF-8. Each test
 * owns (and json_decref's) the bodies it builds. */
#include "http/problem.h"

#include "core/text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_table(void **state) {
    (void)state;
    for (int t = 0; t < PROBLEM_COUNT_; t++) {
        const struct problem_info *info = problem_info((enum problem_type)t);
        if (!info->slug || !info->title) fail_msg("problem type %d has no row", t);
        assert_in_range(info->status, 400, 599);
        for (const char *c = info->slug; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || *c == '-')) fail_msg("slug \"%s\"", info->slug);
        for (int u = 0; u < t; u++)
            if (strcmp(problem_info((enum problem_type)u)->slug, info->slug) == 0)
                fail_msg("slug \"%s\" used twice", info->slug);
    }
    assert_int_equal(problem_info(PROBLEM_NOT_FOUND)->status, 404);
    assert_int_equal(problem_info(PROBLEM_METHOD_NOT_ALLOWED)->status, 405);
    assert_int_equal(problem_info(PROBLEM_PAYLOAD_TOO_LARGE)->status, 413);
    assert_int_equal(problem_info(PROBLEM_UNSUPPORTED_MEDIA_TYPE)->status, 415);
    assert_int_equal(problem_info(PROBLEM_INVALID_JSON)->status, 400);
    assert_int_equal(problem_info(PROBLEM_VALIDATION)->status, 422);
    assert_int_equal(problem_info(PROBLEM_DB_UNAVAILABLE)->status, 503);
    /* an out-of-range type falls back to the internal error, never past the table */
    assert_ptr_equal(problem_info(PROBLEM_COUNT_), problem_info(PROBLEM_INTERNAL));
}

static void test_full_body(void **state) {
    (void)state;
    json_t *body = problem_body(PROBLEM_METHOD_NOT_ALLOWED, "POST is not allowed on /healthz",
                                "/healthz", "req-123");
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "type")),
                        "/problems/method-not-allowed");
    assert_string_equal(json_string_value(json_object_get(body, "title")), "Method Not Allowed");
    assert_true(json_is_integer(json_object_get(body, "status")));
    assert_int_equal(json_integer_value(json_object_get(body, "status")), 405);
    assert_string_equal(json_string_value(json_object_get(body, "detail")),
                        "POST is not allowed on /healthz");
    assert_string_equal(json_string_value(json_object_get(body, "instance")), "/healthz");
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), "req-123");
    assert_int_equal(json_object_size(body), 6);
    json_decref(body);
}

static void test_every_type_has_a_body(void **state) {
    (void)state;
    for (int t = 0; t < PROBLEM_COUNT_; t++) {
        const struct problem_info *info = problem_info((enum problem_type)t);
        json_t *body = problem_body((enum problem_type)t, "d", NULL, NULL);
        assert_non_null(body);
        const char *type = json_string_value(json_object_get(body, "type"));
        assert_non_null(type);
        assert_string_equal(type + strlen("/problems/"), info->slug);
        assert_int_equal(strncmp(type, "/problems/", strlen("/problems/")), 0);
        assert_string_equal(json_string_value(json_object_get(body, "title")), info->title);
        assert_int_equal(json_integer_value(json_object_get(body, "status")), info->status);
        json_decref(body);
    }
}

static void test_optional_members(void **state) {
    (void)state;
    json_t *body = problem_body(PROBLEM_NOT_FOUND, NULL, NULL, NULL);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 3);
    assert_null(json_object_get(body, "detail"));
    assert_null(json_object_get(body, "instance"));
    assert_null(json_object_get(body, "request_id"));
    json_decref(body);

    body = problem_body(PROBLEM_NOT_FOUND, "", NULL, "r");
    assert_string_equal(json_string_value(json_object_get(body, "detail")), "");
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), "r");
    json_decref(body);
}

static void test_invalid_utf8_is_replaced(void **state) {
    (void)state;
    /* a detail echoing client bytes: an overlong slash, a lone continuation byte, a
     * truncated sequence at the end */
    json_t *body = problem_body(PROBLEM_BAD_REQUEST, "bad \xC0\xAF name \x80 caf\xC3\xA9 \xE2\x82",
                                "/x\xFFy", "id\xFE");
    assert_non_null(body);
    const char *detail = json_string_value(json_object_get(body, "detail"));
    assert_non_null(detail);
    assert_true(text_utf8_valid(detail, strlen(detail)));
    assert_non_null(strstr(detail, "caf\xC3\xA9")); /* valid text is kept */
    assert_non_null(strstr(detail, "bad \xEF\xBF\xBD"));
    assert_non_null(strstr(detail, " name \xEF\xBF\xBD caf"));
    assert_string_equal(json_string_value(json_object_get(body, "instance")), "/x\xEF\xBF\xBDy");
    assert_string_equal(json_string_value(json_object_get(body, "request_id")), "id\xEF\xBF\xBD");

    /* the body serialises and parses back to the same document */
    char *text = json_dumps(body, JSON_COMPACT);
    assert_non_null(text);
    json_error_t jerr;
    json_t *back = json_loads(text, 0, &jerr);
    if (!back) fail_msg("not valid JSON (%s): %s", jerr.text, text);
    assert_true(json_equal(back, body));
    json_decref(back);
    free(text);
    json_decref(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_full_body),
        cmocka_unit_test(test_every_type_has_a_body),
        cmocka_unit_test(test_optional_members),
        cmocka_unit_test(test_invalid_utf8_is_replaced),
    };
    return cmocka_run_group_tests_name("problem", tests, NULL, NULL);
}
