/* test_cron: cron expression parsing and next fire times, in UTC and across the DST
 * changes of Europe/Paris (last Sunday of March: 02:00 CET → 03:00 CEST; last Sunday
 * of October: 03:00 CEST → 02:00 CET). TZ is set once in main before any test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Instant of a UTC date-time. */
static time_t utc(int y, int mo, int d, int h, int mi) {
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return timegm(&tm);
}

static struct cron must_parse(const char *expr) {
    struct cron c;
    char err[256] = "";
    int rc = cron_parse(expr, &c, err, sizeof err);
    if (rc != 0) fprintf(stderr, "cron_parse(\"%s\"): %s\n", expr, err);
    assert_int_equal(rc, 0);
    return c;
}

static void use_tz(const char *tz) {
    char err[256];
    assert_int_equal(cron_use_timezone(tz, err, sizeof err), 0);
}

/* Asserts that cron_next(expr, after) == expect, printing both in UTC on mismatch. */
static void check_next(const char *expr, time_t after, time_t expect) {
    struct cron c = must_parse(expr);
    time_t got = cron_next(&c, after);
    if (got != expect) {
        char a[32], g[32] = "-1", e[32];
        struct tm tm;
        strftime(a, sizeof a, "%F %TZ", gmtime_r(&after, &tm));
        if (got != (time_t)-1) strftime(g, sizeof g, "%F %TZ", gmtime_r(&got, &tm));
        strftime(e, sizeof e, "%F %TZ", gmtime_r(&expect, &tm));
        fprintf(stderr, "\"%s\" after %s: got %s, expected %s\n", expr, a, g, e);
    }
    assert_true(got == expect);
}

static void rejects(const char *expr, const char *needle) {
    struct cron c;
    char err[256] = "";
    assert_int_equal(cron_parse(expr, &c, err, sizeof err), -1);
    if (!strstr(err, needle)) fprintf(stderr, "\"%s\": \"%s\" lacks \"%s\"\n", expr, err, needle);
    assert_non_null(strstr(err, needle));
}

static void test_parse_errors(void **state) {
    (void)state;
    rejects("", "0 fields");
    rejects("* * * *", "4 fields");
    rejects("* * * * * *", "more than 5 fields");
    rejects("60 * * * *", "minute field: 60 is out of range 0-59");
    rejects("* 24 * * *", "hour field: 24");
    rejects("* * 0 * *", "day-of-month field: 0");
    rejects("* * * 13 *", "month field: 13");
    rejects("* * * * 8", "day-of-week field: 8");
    rejects("*/0 * * * *", "minute field: step");
    rejects("*/61 * * * *", "minute field: step");
    rejects("30-10 * * * *", "goes backwards");
    rejects("x * * * *", "minute field: \"x\" is not a number");
    rejects("1,,2 * * * *", "empty item");
    rejects("1, * * * *", "ends with a comma");
    rejects("1;2 * * * *", "unexpected \";\"");
    rejects("* * * foo *", "month field: \"foo\"");
    rejects("0 0 30 2 *", "no selected day exists");
    rejects("0 0 31 4,6,9,11 *", "no selected day exists");
    rejects("@reboot", "unknown macro");
    rejects("@daily 1", "unknown macro");
    char longer[CRON_MAX_LENGTH + 2];
    memset(longer, '*', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    rejects(longer, "longer than");
}

static void test_parse_fields(void **state) {
    (void)state;
    struct cron c = must_parse("*/15 9-17 1,15 jan,JUL-sep mon-fri");
    assert_true(c.minutes == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    assert_int_equal(c.hours, 0x3fe00); /* 9..17 */
    assert_int_equal(c.days, (1u << 1) | (1u << 15));
    assert_int_equal(c.months, (1u << 1) | (1u << 7) | (1u << 8) | (1u << 9));
    assert_int_equal(c.weekdays, 0x3e); /* 1..5 */
    assert_false(c.dom_star);
    assert_false(c.dow_star);

    c = must_parse("5/20 10-23/10 */10 * 7");
    assert_true(c.minutes == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
    assert_int_equal(c.hours, (1u << 10) | (1u << 20));
    assert_int_equal(c.days, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
    assert_int_equal(c.weekdays, 1); /* 7 is Sunday */
    assert_true(c.dom_star);
    assert_false(c.dow_star);

    c = must_parse("  0\t0  *  *  0,7 ");
    assert_int_equal(c.weekdays, 1);

    struct cron d = must_parse("@daily");
    struct cron e = must_parse("0 0 * * *");
    assert_memory_equal(&d, &e, sizeof d);
    d = must_parse("@hourly");
    assert_true(d.minutes == 1 && d.hours == 0xffffff);
}

static void test_next_utc(void **state) {
    (void)state;
    use_tz("UTC");
    check_next("* * * * *", utc(2024, 5, 1, 12, 0) + 30, utc(2024, 5, 1, 12, 1));
    check_next("* * * * *", utc(2024, 5, 1, 12, 0), utc(2024, 5, 1, 12, 1));
    check_next("0 3 * * *", utc(2024, 5, 1, 3, 0), utc(2024, 5, 2, 3, 0));
    check_next("0 3 * * *", utc(2024, 5, 1, 2, 59), utc(2024, 5, 1, 3, 0));
    check_next("*/20 * * * *", utc(2024, 5, 1, 23, 41), utc(2024, 5, 2, 0, 0));
    /* Year and month roll-over; 29 February. */
    check_next("0 0 1 1 *", utc(2024, 5, 1, 0, 0), utc(2025, 1, 1, 0, 0));
    check_next("0 0 29 2 *", utc(2023, 3, 1, 0, 0), utc(2024, 2, 29, 0, 0));
    check_next("0 0 29 2 *", utc(2096, 3, 1, 0, 0), utc(2104, 2, 29, 0, 0));
    check_next("0 0 31 * *", utc(2024, 4, 1, 0, 0), utc(2024, 5, 31, 0, 0));
    /* Both day fields restricted: either matches (13th, or any Friday). 2024-09-06 is a
     * Friday, 2024-09-13 a Friday the 13th. */
    check_next("0 0 13 * 5", utc(2024, 9, 1, 0, 0), utc(2024, 9, 6, 0, 0));
    check_next("0 0 13 * 5", utc(2024, 10, 5, 0, 0), utc(2024, 10, 11, 0, 0));
    check_next("0 0 13 * 5", utc(2024, 10, 11, 0, 0), utc(2024, 10, 13, 0, 0));
    /* A starred day field: both must match (odd days that are Mondays). 2024-09-02 is a
     * Monday (even), 2024-09-09 a Monday (odd). */
    check_next("0 0 */2 * mon", utc(2024, 9, 1, 0, 0), utc(2024, 9, 9, 0, 0));
    /* Weekday names and Sunday as 7. 2024-09-01 is a Sunday. */
    check_next("30 8 * * 7", utc(2024, 8, 28, 0, 0), utc(2024, 9, 1, 8, 30));
    check_next("30 8 * * sun", utc(2024, 8, 28, 0, 0), utc(2024, 9, 1, 8, 30));
    /* Successive fires are strictly increasing. */
    struct cron c = must_parse("*/7 */5 * * *");
    time_t t = utc(2024, 1, 1, 0, 0), last = t;
    for (int i = 0; i < 500; i++) {
        t = cron_next(&c, t);
        assert_true(t > last);
        struct tm tm;
        gmtime_r(&t, &tm);
        assert_true(cron_matches(&c, &tm));
        assert_int_equal(tm.tm_sec, 0);
        last = t;
    }
}

/* 2024-03-31, Paris: 02:00 CET (01:00 UTC) jumps to 03:00 CEST. 02:xx does not exist. */
static void test_paris_spring_forward(void **state) {
    (void)state;
    use_tz("Europe/Paris");
    time_t gap_end = utc(2024, 3, 31, 1, 0); /* 03:00 CEST */
    /* A nonexistent time fires at the first valid time after it. */
    check_next("30 2 * * *", utc(2024, 3, 30, 12, 0), gap_end);
    check_next("0 2 * * *", utc(2024, 3, 30, 12, 0), gap_end);
    /* ... once: the next fire is the next day's 02:30 CEST. */
    check_next("30 2 * * *", gap_end, utc(2024, 4, 1, 0, 30));
    /* Times before and after the gap are unaffected. */
    check_next("59 1 * * *", utc(2024, 3, 30, 12, 0), utc(2024, 3, 31, 0, 59));
    check_next("0 3 * * *", utc(2024, 3, 30, 12, 0), gap_end);
    check_next("30 3 * * *", utc(2024, 3, 30, 12, 0), utc(2024, 3, 31, 1, 30));
    /* Every quarter hour: 01:45 CET, then the whole missing hour collapses into one
     * fire at 03:00 CEST, then 03:15 CEST. */
    check_next("*/15 * * * *", utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 0, 45));
    check_next("*/15 * * * *", utc(2024, 3, 31, 0, 45), gap_end);
    check_next("*/15 * * * *", gap_end, utc(2024, 3, 31, 1, 15));
    /* Daily at 02:30 on the day before and the day after: local time, so UTC shifts. */
    check_next("30 2 * * *", utc(2024, 3, 29, 12, 0), utc(2024, 3, 30, 1, 30));
    check_next("30 2 * * *", utc(2024, 4, 1, 12, 0), utc(2024, 4, 2, 0, 30));
    /* A fire just before the change, asked from inside the last CET minute. */
    check_next("* * * * *", utc(2024, 3, 31, 0, 59) + 30, gap_end);
}

/* 2024-10-27, Paris: 03:00 CEST (01:00 UTC) goes back to 02:00 CET. 02:xx happens twice:
 * 00:xx UTC (CEST) then 01:xx UTC (CET). */
static void test_paris_fall_back(void **state) {
    (void)state;
    use_tz("Europe/Paris");
    /* An ambiguous time fires once, at its first occurrence. */
    check_next("30 2 * * *", utc(2024, 10, 26, 12, 0), utc(2024, 10, 27, 0, 30));
    check_next("30 2 * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30));
    /* Asked from inside the second occurrence: not again. */
    check_next("30 2 * * *", utc(2024, 10, 27, 1, 10), utc(2024, 10, 28, 1, 30));
    check_next("0 2 * * *", utc(2024, 10, 27, 0, 0), utc(2024, 10, 28, 1, 0));
    /* Unambiguous neighbours. */
    check_next("0 3 * * *", utc(2024, 10, 26, 12, 0), utc(2024, 10, 27, 2, 0));
    check_next("59 1 * * *", utc(2024, 10, 26, 12, 0), utc(2024, 10, 26, 23, 59));
    /* Hour field `*`: fires follow real time through both occurrences. */
    time_t expect[] = {utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 0), utc(2024, 10, 27, 1, 30),
                       utc(2024, 10, 27, 2, 0)};
    struct cron c = must_parse("*/30 * * * *");
    time_t t = utc(2024, 10, 27, 0, 0);
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        t = cron_next(&c, t);
        assert_true(t == expect[i]);
    }
    /* A restricted hour list that includes 2 fires once in the doubled hour. */
    check_next("15 1,2,3 * * *", utc(2024, 10, 27, 0, 15), utc(2024, 10, 27, 2, 15));
}

/* A year of daily fires in Paris: exactly one per local day, always at 02:30 local
 * time or (on the day of the spring gap) at 03:00 CEST. */
static void test_paris_year(void **state) {
    (void)state;
    use_tz("Europe/Paris");
    struct cron c = must_parse("30 2 * * *");
    time_t t = utc(2024, 1, 1, 0, 0);
    int fires = 0, last_yday = -1;
    while (1) {
        t = cron_next(&c, t);
        struct tm tm;
        localtime_r(&t, &tm);
        if (tm.tm_year != 124) break;
        assert_int_not_equal(tm.tm_yday, last_yday);
        last_yday = tm.tm_yday;
        bool gap_day = tm.tm_mon == 2 && tm.tm_mday == 31;
        assert_int_equal(tm.tm_hour, gap_day ? 3 : 2);
        assert_int_equal(tm.tm_min, gap_day ? 0 : 30);
        fires++;
    }
    assert_int_equal(fires, 366);
}

static void test_timezone_names(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(cron_use_timezone("Nowhere/Atlantis", err, sizeof err), -1);
    assert_non_null(strstr(err, "not a known time zone"));
    assert_int_equal(cron_use_timezone("../../etc/passwd", err, sizeof err), -1);
    assert_int_equal(cron_use_timezone("", err, sizeof err), -1);
    assert_int_equal(cron_use_timezone("America/New_York", err, sizeof err), 0);
    /* New York, 2024-03-10 02:00 EST → 03:00 EDT (07:00 UTC). */
    check_next("30 2 * * *", utc(2024, 3, 9, 12, 0), utc(2024, 3, 10, 7, 0));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_next_utc),        cmocka_unit_test(test_paris_spring_forward),
        cmocka_unit_test(test_paris_fall_back), cmocka_unit_test(test_paris_year),
        cmocka_unit_test(test_timezone_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
