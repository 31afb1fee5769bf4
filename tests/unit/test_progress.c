/* test_progress: the CLI's progress renderings — the bar in the seed's format, the plain
 * line, the ETA and the summary. No I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "progress.h"

#include <string.h>

static struct job_snapshot snap(int64_t done, int64_t total, int64_t ok, int64_t ign, int64_t err) {
    struct job_snapshot s = {.done = done, .total = total, .ok = ok, .ignored = ign, .errors = err};
    return s;
}

static void test_hms(void **state) {
    (void)state;
    char b[32];
    progress_hms(0, b, sizeof b);
    assert_string_equal(b, "00:00:00");
    progress_hms(100, b, sizeof b);
    assert_string_equal(b, "00:01:40");
    progress_hms(2292, b, sizeof b);
    assert_string_equal(b, "00:38:12");
    progress_hms(360000, b, sizeof b);
    assert_string_equal(b, "100:00:00");
    progress_hms(-1, b, sizeof b);
    assert_string_equal(b, "--:--:--");
}

static void test_bar(void **state) {
    (void)state;
    /* The example: 1200 of 28800 after 100 s → 4.2%, ETA 2200 s... at 12/s the
     * remaining 27600 take 2300 s = 00:38:20. */
    struct job_snapshot s = snap(1200, 28800, 14300, 12, 3);
    char b[1024];
    progress_bar(&s, 100, 8, b, sizeof b);
    assert_string_equal(b, "[\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96\x91\xe2\x96"
                           "\x91\xe2\x96\x91\xe2\x96\x91] 1200/28800 (4.2%) | \xe2\x9c\x93"
                           "14300 \xe2\x8a\x98"
                           "12 \xe2\x9c\x97"
                           "3 | 00:01:40 | ETA 00:38:20");
    s = snap(4, 8, 4, 0, 0);
    progress_bar(&s, 10, 8, b, sizeof b);
    assert_non_null(strstr(b, "[\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91"));
    assert_non_null(strstr(b, "4/8 (50.0%)"));
    assert_non_null(strstr(b, "ETA 00:00:10"));
    s = snap(7, -1, 7, 0, 0);
    progress_bar(&s, 10, 4, b, sizeof b);
    assert_non_null(strstr(b, "] 7/? | "));
    assert_non_null(strstr(b, "ETA --:--:--"));
}

static void test_line_and_eta(void **state) {
    (void)state;
    struct job_snapshot s = snap(1200, 28800, 14300, 12, 3);
    char b[512];
    progress_line(&s, 100, b, sizeof b);
    assert_string_equal(b, "progress 1200/28800 (4.2%) ok=14300 ignored=12 errors=3 "
                           "elapsed=00:01:40 eta=00:38:20");
    assert_true(progress_eta(&s, 100) == 2300.0);
    s = snap(0, 10, 0, 0, 0);
    assert_true(progress_eta(&s, 5) < 0);
    s = snap(10, 10, 10, 0, 0);
    assert_true(progress_eta(&s, 5) == 0);
}

static void test_summary(void **state) {
    (void)state;
    struct job_snapshot s = snap(28800, 28800, 345000, 500, 100);
    strcpy(s.unit, "cycles");
    char b[1024];
    progress_summary(&s, 2400, "succeeded", NULL, b, sizeof b);
    assert_string_equal(b, "result: succeeded\nitems: 28800\nok: 345000\nignored: 500\n"
                           "errors: 100\nduration: 2400.00 s\nrate: 12.0 cycles/s\n");
    s = snap(0, -1, 3, 1, 1);
    progress_summary(&s, 0, "failed", "disk full", b, sizeof b);
    assert_non_null(strstr(b, "result: failed: disk full\nitems: 5\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hms),
        cmocka_unit_test(test_bar),
        cmocka_unit_test(test_line_and_eta),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
