/* Unit tests of workers/machine_logs/logparse.c and tz.c: every rule of the line format
 * (specs/machine-logs.md: encoding, NULs, CRLF, blanks, non-event lines, stray bytes in
 * the timestamp, the exact timestamp, the five events and their details, unknown events,
 * rejects), file names, Europe/Paris DST both ways including the repeated autumn hour in
 * file order, POSIX rules and UTC formatting. The zone is read from the system tz database
 * (the same files PostgreSQL uses). Every buffer is freed by the test that made it. */
#include "machine_logs/logparse.h"
#include "machine_logs/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct logparse_buf buf;
static struct logparse_line ln;

static enum logparse_kind parse_n(const char *s, size_t n) {
    assert_int_equal(logparse_line(&buf, (const uint8_t *)s, n, &ln), 0);
    return ln.kind;
}

static enum logparse_kind parse(const char *s) { return parse_n(s, strlen(s)); }

static void assert_text(struct logparse_text t, const char *want) {
    if (!want) {
        assert_null(t.ptr);
        return;
    }
    assert_non_null(t.ptr);
    assert_int_equal(t.len, strlen(want));
    assert_memory_equal(t.ptr, want, t.len);
}

static int64_t local_of(int y, int m, int d, int hh, int mi, int ss) {
    return tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
}

static void test_events(void **state) {
    (void)state;
    assert_int_equal(parse("20250528 06:01:02|@StukUitgevoerd: R:7001 L:1234.5 C:Blanc"),
                     LOGPARSE_PIECE);
    assert_int_equal(ln.local, local_of(2025, 5, 28, 6, 1, 2));
    assert_text(ln.name, "StukUitgevoerd");
    assert_text(ln.details, "R:7001 L:1234.5 C:Blanc");

    assert_int_equal(parse("20250528 06:01:02|@StukUitgevoerd"), LOGPARSE_PIECE);
    assert_text(ln.details, NULL);

    assert_int_equal(parse("20250528 06:01:02|@MachineWait: 45 sec"), LOGPARSE_WAIT);
    assert_int_equal(ln.wait_us, 45000000);
    assert_int_equal(parse("20250528 06:01:02|@MachineWait: 12.5"), LOGPARSE_WAIT);
    assert_int_equal(ln.wait_us, 12500000);
    assert_int_equal(parse("20250528 06:01:02|@MachineWait: 0.0000005 sec"), LOGPARSE_WAIT);
    assert_int_equal(ln.wait_us, 1); /* rounded to the microsecond */
    assert_int_equal(parse("20250528 06:01:02|@MachineWait: 7sec"), LOGPARSE_WAIT);
    assert_int_equal(ln.wait_us, 7000000);

    assert_int_equal(parse("20250528 06:01:02|@MachineStop"), LOGPARSE_STOP);
    assert_text(ln.details, NULL);
    assert_int_equal(parse("20250528 06:01:02|@MachineStop: pause d\xe9jeuner"), LOGPARSE_STOP);
    assert_text(ln.details, "pause d\xc3\xa9jeuner");
    /* every file is Latin-1 (as E1 reads it): UTF-8 bytes are read as two Latin-1 characters */
    assert_int_equal(parse("20250528 06:01:02|@MachineStop: d\xc3\xa9"), LOGPARSE_STOP);
    assert_text(ln.details, "d\xc3\x83\xc2\xa9");
    assert_int_equal(parse("20250528 06:01:02|@MachineStart:"), LOGPARSE_START);
    assert_text(ln.details, NULL);

    assert_int_equal(parse("20250528 06:01:02|@JobProfiel: R:7001 L:6500 C:Gris anthracite"),
                     LOGPARSE_JOB);
    assert_text(ln.reference, "7001");
    assert_text(ln.length, "6500");
    assert_text(ln.colour, "Gris anthracite");
    assert_int_equal(parse("20250528 06:01:02|@JobProfiel: R:AL 4410 L:5800.25"), LOGPARSE_JOB);
    assert_text(ln.reference, "AL 4410");
    assert_text(ln.length, "5800.25");
    assert_text(ln.colour, NULL);
    assert_int_equal(parse("20250528 06:01:02|@JobProfiel: R:X L:1 C:"), LOGPARSE_JOB);
    assert_text(ln.colour, NULL);

    /* unknown events: kept with their name, never an error */
    assert_int_equal(parse("20250528 06:01:02|@ToolChange: T12"), LOGPARSE_UNKNOWN);
    assert_text(ln.name, "ToolChange");
    assert_text(ln.details, "T12");
    assert_int_equal(parse("20250528 06:01:02|@machinestop"), LOGPARSE_UNKNOWN); /* case */
    assert_int_equal(parse("20250528 06:01:02|@Alarm 17"), LOGPARSE_UNKNOWN);
    assert_text(ln.name, "Alarm 17");
    /* no name at all: an unknown event named "" (never a reject) */
    assert_int_equal(parse("20250528 06:01:00|@: nameless"), LOGPARSE_UNKNOWN);
    assert_non_null(ln.name.ptr);
    assert_int_equal(ln.name.len, 0);
    assert_text(ln.details, "nameless");
    assert_int_equal(parse("20250528 06:02:00|@"), LOGPARSE_UNKNOWN);
    assert_non_null(ln.name.ptr);
    assert_int_equal(ln.name.len, 0);
    assert_text(ln.details, NULL);
    assert_int_equal(parse("20250528 06:02:00|@  \r"), LOGPARSE_UNKNOWN);
    assert_int_equal(ln.name.len, 0);
}

static void test_bad_details(void **state) {
    (void)state;
    const char *bad[] = {
        "20250528 06:01:02|@MachineWait",
        "20250528 06:01:02|@MachineWait: abc",
        "20250528 06:01:02|@MachineWait: -5 sec",
        "20250528 06:01:02|@MachineWait: 5 min",
        "20250528 06:01:02|@MachineWait: 12,5",
        "20250528 06:01:02|@MachineWait: sec",
        "20250528 06:01:02|@MachineWait: 99999999 sec",
        "20250528 06:01:02|@JobProfiel",
        "20250528 06:01:02|@JobProfiel: 7001 L:6500",
        "20250528 06:01:02|@JobProfiel: R:7001",
        "20250528 06:01:02|@JobProfiel: R: L:6500 C:Blanc",
        "20250528 06:01:02|@JobProfiel: R:7001 L:65x0 C:Blanc",
        "20250528 06:01:02|@JobProfiel: R:7001 L: C:Blanc",
        "20250528 06:01:02|@JobProfiel: R:7001 C:Blanc L:6500",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i]) != LOGPARSE_REJECT) fail_msg("accepted: %s", bad[i]);
        assert_non_null(ln.reason);
        assert_true(strlen(ln.reason) > 10);
        assert_text(ln.text, bad[i]); /* the raw line comes back whole */
    }
    parse("20250528 06:01:02|@MachineWait: 5 min");
    assert_string_equal(ln.reason,
                        "MachineWait: duration \"5 min\" is not \"<N> sec\" or a number");
}

static void test_timestamps(void **state) {
    (void)state;
    const char *bad[] = {
        "2025052 06:01:02|@MachineStop",   /* seven-digit date: not read leniently */
        "202505288 06:01:02|@MachineStop", /* nine */
        "20250528 6:01:02|@MachineStop",
        "20250528T06:01:02|@MachineStop",
        "20250528  06:01:02|@MachineStop",
        " 20250528 06:01:02|@MachineStop",
        "20250528 06:01:02 |@MachineStop",
        "20250528 24:00:00|@MachineStop",
        "20250528 23:60:00|@MachineStop",
        "20250528 23:59:60|@MachineStop",
        "20250229 10:00:00|@MachineStop", /* not a leap year */
        "20250431 10:00:00|@MachineStop",
        "20251301 10:00:00|@MachineStop",
        "20250500 10:00:00|@MachineStop",
        "00000101 10:00:00|@MachineStop",
        "|@MachineStop",
        "2025-05-28 06:01|@MachineStop",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i]) != LOGPARSE_REJECT) fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(ln.reason, "bad timestamp"));
    }
    assert_int_equal(parse("20240229 23:59:59|@MachineStop"), LOGPARSE_STOP);
    assert_int_equal(ln.local, local_of(2024, 2, 29, 23, 59, 59));
    /* stray non-ASCII bytes (Latin-1 here) in the timestamp are dropped */
    assert_int_equal(parse("\xff"
                           "20250528 \xb0"
                           "06:01:02\xe9|@MachineStop"),
                     LOGPARSE_STOP);
    assert_int_equal(ln.local, local_of(2025, 5, 28, 6, 1, 2));
    /* but an ASCII stray is not */
    assert_int_equal(parse("x20250528 06:01:02|@MachineStop"), LOGPARSE_REJECT);
}

static void test_bytes(void **state) {
    (void)state;
    /* Latin-1 → UTF-8 */
    assert_int_equal(parse("20250528 06:01:02|@StukUitgevoerd: Ch\xeane dor\xe9"), LOGPARSE_PIECE);
    assert_text(ln.details, "Ch\xc3\xaane dor\xc3\xa9");
    /* CR of CRLF and trailing blanks dropped */
    assert_int_equal(parse("20250528 06:01:02|@MachineStop: x \r"), LOGPARSE_STOP);
    assert_text(ln.details, "x");
    assert_text(ln.text, "20250528 06:01:02|@MachineStop: x");
    /* NULs removed first, anywhere */
    static const char nul[] = "2025\0"
                              "0528 06:01:02|@Machine\0\0Start";
    assert_int_equal(parse_n(nul, sizeof nul - 1), LOGPARSE_START);
    assert_int_equal(ln.local, local_of(2025, 5, 28, 6, 1, 2));
    /* blank lines: empty, blanks, a run of NULs, NULs then CR */
    static const char nuls[] = "\0\0\0\0\0\0";
    assert_int_equal(parse_n(nuls, sizeof nuls - 1), LOGPARSE_BLANK);
    assert_int_equal(parse(""), LOGPARSE_BLANK);
    assert_int_equal(parse("  \t\r"), LOGPARSE_BLANK);
    static const char nulcr[] = "\0\0 \r";
    assert_int_equal(parse_n(nulcr, sizeof nulcr - 1), LOGPARSE_BLANK);
    /* lines without |@ */
    assert_int_equal(parse("=== controller restarted ==="), LOGPARSE_NON_EVENT);
    assert_int_equal(parse("20250528 06:01:02 MachineStop"), LOGPARSE_NON_EVENT);
    assert_int_equal(parse("20250528 06:01:02|MachineStop @"), LOGPARSE_NON_EVENT);
    assert_int_equal(parse("|"), LOGPARSE_NON_EVENT);
    assert_int_equal(parse("@"), LOGPARSE_NON_EVENT);
    /* the first |@ splits; later ones belong to the details */
    assert_int_equal(parse("20250528 06:01:02|@StukUitgevoerd: a|@b"), LOGPARSE_PIECE);
    assert_text(ln.details, "a|@b");
    /* a long Latin-1 line grows the buffer */
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "20250528 06:01:02|@StukUitgevoerd: ", 36);
    memset(big + 36, 0xe9, n - 36);
    assert_int_equal(parse_n(big, n), LOGPARSE_PIECE);
    assert_int_equal(ln.details.len, 2 * (n - 36));
    free(big);
}

static void test_file_names(void **state) {
    (void)state;
    int64_t d;
    assert_true(logparse_file_day("20251026.LOG", &d));
    assert_int_equal(d, tz_days_from_civil(2025, 10, 26));
    assert_true(logparse_file_day("DEM12_20250528.log", &d));
    assert_int_equal(d, tz_days_from_civil(2025, 5, 28));
    assert_false(logparse_file_day("2025052.LOG", &d));
    assert_false(logparse_file_day("202505281.LOG", &d));
    assert_false(logparse_file_day("20250230.LOG", &d));
    assert_false(logparse_file_day("shift.log", &d));
    assert_true(logparse_file_day("x20250230_20250301.log", &d)); /* the first real date */
    assert_int_equal(d, tz_days_from_civil(2025, 3, 1));

    assert_true(logparse_wanted_name("20250528.LOG"));
    assert_true(logparse_wanted_name("20250528.log"));
    assert_true(logparse_wanted_name("20250528.Log"));
    assert_true(logparse_wanted_name("shift.log"));
    assert_false(logparse_wanted_name(".20250528.LOG"));
    assert_false(logparse_wanted_name("20250528.LOG.tmp"));
    assert_false(logparse_wanted_name("20250528.LOG.PART"));
    assert_false(logparse_wanted_name("20250528.txt"));
    assert_false(logparse_wanted_name(".log"));
    assert_false(logparse_wanted_name("a/b.log"));
}

static struct tz_zone paris;

static int load_paris(void **state) {
    (void)state;
    char err[200];
    if (tz_load(&paris, "Europe/Paris", err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int free_paris(void **state) {
    (void)state;
    tz_cleanup(&paris);
    return 0;
}

static int64_t utc_of(int y, int m, int d, int hh, int mi, int ss) {
    return local_of(y, m, d, hh, mi, ss);
}

static void test_zone_offsets(void **state) {
    (void)state;
    /* summer, winter, far past (LMT), beyond the last transition of the file (rule) */
    assert_int_equal(tz_offset_at(&paris, utc_of(2025, 5, 28, 12, 0, 0)), 7200);
    assert_int_equal(tz_offset_at(&paris, utc_of(2025, 1, 15, 12, 0, 0)), 3600);
    assert_int_equal(tz_offset_at(&paris, utc_of(2060, 7, 1, 12, 0, 0)), 7200);
    assert_int_equal(tz_offset_at(&paris, utc_of(2060, 12, 1, 12, 0, 0)), 3600);
    int64_t a, b;
    /* ordinary times */
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 5, 28, 6, 0, 0), &a, &b), 1);
    assert_int_equal(a, utc_of(2025, 5, 28, 4, 0, 0));
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 12, 28, 6, 0, 0), &a, &b), 1);
    assert_int_equal(a, utc_of(2025, 12, 28, 5, 0, 0));
    /* spring 2025-03-30: 02:00 → 03:00; 02:30 does not exist (read as 03:30 CEST) */
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 3, 30, 1, 59, 59), &a, &b), 1);
    assert_int_equal(a, utc_of(2025, 3, 30, 0, 59, 59));
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 3, 30, 2, 30, 0), &a, &b), 0);
    assert_int_equal(a, utc_of(2025, 3, 30, 1, 30, 0));
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 3, 30, 3, 0, 0), &a, &b), 1);
    assert_int_equal(a, utc_of(2025, 3, 30, 1, 0, 0));
    /* autumn 2025-10-26: 03:00 → 02:00; 02:30 happens twice */
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 10, 26, 2, 30, 0), &a, &b), 2);
    assert_int_equal(a, utc_of(2025, 10, 26, 0, 30, 0));
    assert_int_equal(b, utc_of(2025, 10, 26, 1, 30, 0));
    assert_int_equal(tz_local_to_utc(&paris, local_of(2025, 10, 26, 3, 0, 0), &a, &b), 1);
    assert_int_equal(a, utc_of(2025, 10, 26, 2, 0, 0));
    /* the same in 2070, from the POSIX rule of the file */
    assert_int_equal(tz_local_to_utc(&paris, local_of(2070, 10, 26, 2, 30, 0), &a, &b), 2);
    assert_int_equal(a, utc_of(2070, 10, 26, 0, 30, 0));
}

static void test_autumn_file_order(void **state) {
    (void)state;
    struct logparse_dst d;
    logparse_dst_init(&d);
    /* a night shift through the autumn change, in file order */
    struct {
        int hh, mi;
        int uh, um; /* expected UTC on 2025-10-26 */
    } seq[] = {
        {1, 50, 23, 50}, {2, 10, 0, 10}, {2, 50, 0, 50}, /* first 02:xx (CEST) */
        {2, 5, 1, 5},    {2, 40, 1, 40},                 /* the clock went back (CET) */
        {2, 55, 1, 55},  {3, 5, 2, 5},
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        int64_t t = logparse_to_utc(&paris, &d, local_of(2025, 10, 26, seq[i].hh, seq[i].mi, 0));
        int64_t want = seq[i].uh == 23 ? utc_of(2025, 10, 25, 23, 50, 0)
                                       : utc_of(2025, 10, 26, seq[i].uh, seq[i].um, 0);
        if (t != want) fail_msg("step %zu: %lld != %lld", i, (long long)t, (long long)want);
    }
    /* a file that only has the second 02:xx cannot tell: first occurrence */
    logparse_dst_init(&d);
    assert_int_equal(logparse_to_utc(&paris, &d, local_of(2025, 10, 26, 2, 20, 0)),
                     utc_of(2025, 10, 26, 0, 20, 0));
    /* the state carries over: a later read continues where the first stopped */
    struct logparse_dst saved = d;
    assert_int_equal(logparse_to_utc(&paris, &saved, local_of(2025, 10, 26, 2, 10, 0)),
                     utc_of(2025, 10, 26, 1, 10, 0));
    assert_true(saved.second);
    /* a year later, it starts over */
    assert_int_equal(logparse_to_utc(&paris, &saved, local_of(2026, 10, 25, 2, 30, 0)),
                     utc_of(2026, 10, 25, 0, 30, 0));
    assert_false(saved.second);
}

/* The per-hour offset cache of struct logparse_dst changes no answer: over two years in
 * file order (every 7 minutes 13 seconds, both DST changes included), one carried state
 * gives what a fresh state gives for each time alone. */
static void test_hour_cache(void **state) {
    (void)state;
    struct logparse_dst carried;
    logparse_dst_init(&carried);
    for (int64_t t = local_of(2025, 1, 1, 0, 0, 0); t < local_of(2027, 1, 1, 0, 0, 0); t += 433) {
        struct logparse_dst fresh;
        logparse_dst_init(&fresh);
        int64_t want = logparse_to_utc(&paris, &fresh, t);
        int64_t got = logparse_to_utc(&paris, &carried, t);
        if (got != want)
            fail_msg("local %lld: %lld != %lld", (long long)t, (long long)got, (long long)want);
    }
}

static void test_posix_rules(void **state) {
    (void)state;
    struct tz_zone z = {0};
    char err[200];
    assert_int_equal(tz_load(&z, "EST5EDT,M3.2.0,M11.1.0", err, sizeof err), 0);
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 7, 1, 0, 0, 0)), -4 * 3600);
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 1, 1, 0, 0, 0)), -5 * 3600);
    /* 2025-03-09 02:00 EST → 07:00Z */
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 3, 9, 6, 59, 59)), -5 * 3600);
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 3, 9, 7, 0, 0)), -4 * 3600);
    tz_cleanup(&z);
    assert_int_equal(tz_load(&z, "UTC", err, sizeof err), 0);
    assert_int_equal(tz_offset_at(&z, 0), 0);
    tz_cleanup(&z);
    /* southern hemisphere: DST across the new year */
    assert_int_equal(tz_load(&z, "Australia/Sydney", err, sizeof err), 0);
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 1, 10, 0, 0, 0)), 11 * 3600);
    assert_int_equal(tz_offset_at(&z, utc_of(2025, 7, 10, 0, 0, 0)), 10 * 3600);
    assert_int_equal(tz_offset_at(&z, utc_of(2070, 1, 10, 0, 0, 0)), 11 * 3600);
    tz_cleanup(&z);
    assert_int_equal(tz_load(&z, "Nowhere/Atlantis", err, sizeof err), -1);
    assert_non_null(strstr(err, "Nowhere/Atlantis"));
    assert_int_equal(tz_load(&z, "../../etc/passwd", err, sizeof err), -1);
    struct tz_rule r;
    assert_int_equal(tz_rule_parse(&r, "<+03>-3", err, sizeof err), 0);
    assert_int_equal(r.std_off, 3 * 3600);
    assert_int_equal(tz_rule_parse(&r, "CET-1CEST,M3.5.0,M10.5.0/3", err, sizeof err), 0);
    assert_int_equal(r.dst_off, 7200);
    assert_int_equal(r.end.secs, 3 * 3600);
    const char *bad[] = {"",
                         "C",
                         "CET",
                         "CET-1CEST,M13.5.0,M10.5.0",
                         "CET-1CEST,M3.5.0",
                         "CET-1CEST,M3.6.0,M10.5.0",
                         "CET-1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tz_rule_parse(&r, bad[i], err, sizeof err) == 0) fail_msg("accepted %s", bad[i]);
    uint8_t junk[60] = "TZif2";
    assert_int_equal(tz_parse(&z, junk, sizeof junk, err, sizeof err), -1);
}

static void test_format(void **state) {
    (void)state;
    char out[40];
    int64_t t = utc_of(2025, 5, 28, 4, 12, 7) * 1000000;
    assert_int_equal(logparse_format_utc(t, out), strlen("2025-05-28 04:12:07+00"));
    assert_string_equal(out, "2025-05-28 04:12:07+00");
    logparse_format_utc(t + 250000, out);
    assert_string_equal(out, "2025-05-28 04:12:07.250000+00");
    logparse_format_utc(-1, out);
    assert_string_equal(out, "1969-12-31 23:59:59.999999+00");
    logparse_format_date(tz_days_from_civil(2024, 2, 29), out);
    assert_string_equal(out, "2024-02-29");
}

int main(void) {
    logparse_buf_init(&buf);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_bad_details),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_file_names),
        cmocka_unit_test_setup_teardown(test_zone_offsets, load_paris, free_paris),
        cmocka_unit_test_setup_teardown(test_autumn_file_order, load_paris, free_paris),
        cmocka_unit_test_setup_teardown(test_hour_cache, load_paris, free_paris),
        cmocka_unit_test(test_posix_rules),
        cmocka_unit_test(test_format),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    logparse_buf_cleanup(&buf);
    return rc;
}
