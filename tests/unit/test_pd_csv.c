/* Unit tests of the patient-data CSV reader (workers/kinds/patient_data/pd_csv.c) and
 * row checks (pd_row.c): quoting, LF/CRLF/CR, records split across chunks of every size,
 * line numbers and resume offsets, the header, each kind of bad row with its reason.
 * Records seen are copied into a static log; nothing outlives a test. */
#include "kinds/patient_data/pd_csv.h"
#include "kinds/patient_data/pd_row.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_SEEN 32

struct seen {
    size_t n;
    char text[MAX_SEEN][256]; /* fields joined by '|', or "!error" */
    int64_t line[MAX_SEEN], offset[MAX_SEEN], end[MAX_SEEN];
    size_t nfields[MAX_SEEN];
};

static int collect(void *arg, const struct pdcsv_record *rec) {
    struct seen *s = arg;
    if (s->n >= MAX_SEEN) return 1;
    char *t = s->text[s->n];
    t[0] = '\0';
    if (rec->error) {
        snprintf(t, 256, "!%s", rec->error);
    } else {
        size_t used = 0;
        for (size_t i = 0; i < rec->nfields && i < PDCSV_MAX_FIELDS; i++) {
            int k = snprintf(t + used, 256 - used, "%s%.*s", i ? "|" : "", (int)rec->len[i],
                             rec->field[i]);
            used += (size_t)k;
        }
    }
    s->line[s->n] = rec->line;
    s->offset[s->n] = rec->offset;
    s->end[s->n] = rec->end;
    s->nfields[s->n] = rec->nfields;
    s->n++;
    return 0;
}

/* Reads text in chunks of `chunk` bytes (0: all at once). */
static void read_all(const char *text, size_t len, size_t chunk, size_t max_record,
                     struct seen *s) {
    memset(s, 0, sizeof *s);
    struct pdcsv r;
    pdcsv_init(&r, max_record, 0, 1);
    if (chunk == 0) chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk)
        assert_int_equal(pdcsv_feed(&r, text + i, len - i < chunk ? len - i : chunk, collect, s),
                         0);
    assert_int_equal(pdcsv_finish(&r, collect, s), 0);
    pdcsv_cleanup(&r);
}

#define SEED_HEADER PDROW_HEADER

static void test_seed_example_every_chunk_size(void **state) {
    (void)state;
    const char *csv =
        SEED_HEADER "\n"
                    "\"1\",\"FC\",\"75.5\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n"
                    "\"1\",\"SpO2\",\"98.2\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n";
    size_t len = strlen(csv);
    struct seen ref;
    read_all(csv, len, 0, 4096, &ref);
    assert_int_equal(ref.n, 3);
    assert_string_equal(ref.text[1], "1|FC|75.5|2025-12-01 00:00:00|0|1|0");
    assert_string_equal(ref.text[2], "1|SpO2|98.2|2025-12-01 00:00:00|0|1|0");
    assert_int_equal(ref.line[2], 3);
    assert_int_equal(ref.end[2], (int64_t)len);
    assert_int_equal(ref.offset[1], ref.end[0]);
    for (size_t chunk = 1; chunk < len; chunk++) {
        struct seen s;
        read_all(csv, len, chunk, 4096, &s);
        assert_int_equal(s.n, ref.n);
        for (size_t i = 0; i < s.n; i++) {
            assert_string_equal(s.text[i], ref.text[i]);
            assert_int_equal(s.end[i], ref.end[i]);
            assert_int_equal(s.line[i], ref.line[i]);
        }
    }
}

static void test_quoting_and_line_ends(void **state) {
    (void)state;
    const char *csv = "a,\"b,c\",\"say \"\"hi\"\"\"\r\n" /* line 1, CRLF */
                      "\"multi\nline\",x,\r\n"           /* lines 2-3, empty last field */
                      "\n"                               /* line 4: blank, skipped */
                      "cr,only\r"                        /* line 5, lone CR */
                      "last,no,newline";                 /* line 6, no line end */
    struct seen s;
    read_all(csv, strlen(csv), 0, 4096, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.text[0], "a|b,c|say \"hi\"");
    assert_string_equal(s.text[1], "multi\nline|x|");
    assert_int_equal(s.nfields[1], 3);
    assert_int_equal(s.line[1], 2);
    assert_string_equal(s.text[2], "cr|only");
    assert_int_equal(s.line[2], 5);
    assert_string_equal(s.text[3], "last|no|newline");
    assert_int_equal(s.line[3], 6);
    assert_int_equal(s.end[3], (int64_t)strlen(csv));
}

static void test_syntax_errors_and_recovery(void **state) {
    (void)state;
    const char *csv = "ok,1\n"
                      "bad\"quote,2\n"     /* quote inside unquoted */
                      "\"closed\"junk,3\n" /* text after closing quote */
                      "fine,4\n"
                      "\"never closed,5\n"; /* open at EOF: one error record */
    struct seen s;
    read_all(csv, strlen(csv), 0, 4096, &s);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.text[0], "ok|1");
    assert_non_null(strstr(s.text[1], "quote inside an unquoted field"));
    assert_int_equal(s.line[1], 2);
    assert_non_null(strstr(s.text[2], "after the closing quote"));
    assert_int_equal(s.line[2], 3);
    assert_string_equal(s.text[3], "fine|4");
    assert_int_equal(s.line[3], 4);
    assert_non_null(strstr(s.text[4], "still open"));
    assert_int_equal(s.line[4], 5);
}

static void test_record_limit(void **state) {
    (void)state;
    char csv[600];
    memset(csv, 'x', 300);
    strcpy(csv + 300, "\nshort,1\n");
    struct seen s;
    read_all(csv, strlen(csv), 7, 64, &s);
    assert_int_equal(s.n, 2);
    assert_non_null(strstr(s.text[0], "longer than the limit"));
    assert_string_equal(s.text[1], "short|1");
    assert_int_equal(s.line[1], 2);
    /* Many empty fields cannot overflow the buffer either. */
    memset(csv, ',', 500);
    csv[500] = '\0';
    read_all(csv, 500, 13, 64, &s);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.text[0], "longer than the limit"));
}

static void test_bom_and_resume(void **state) {
    (void)state;
    const char *csv = "\xef\xbb\xbf"
                      "h1,h2\nr1,a\r\nr2,b\n";
    struct seen s;
    read_all(csv, strlen(csv), 1, 4096, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text[0], "h1|h2");
    assert_int_equal(s.offset[0], 3);
    /* Resuming at the end of r1's record gives r2 on line 3, at the same offsets. */
    struct seen t;
    memset(&t, 0, sizeof t);
    struct pdcsv r;
    pdcsv_init(&r, 4096, s.end[1], 3);
    const char *rest = csv + s.end[1];
    assert_int_equal(pdcsv_feed(&r, rest, strlen(rest), collect, &t), 0);
    assert_int_equal(pdcsv_finish(&r, collect, &t), 0);
    pdcsv_cleanup(&r);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.text[0], "r2|b");
    assert_int_equal(t.line[0], 3);
    assert_int_equal(t.offset[0], s.offset[2]);
    /* Something that starts like a byte-order mark but is not one is data. */
    read_all("\xef"
             "x,y\n",
             5, 1, 4096, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.text[0], "\xef"
                                   "x|y");
}

/* ---- rows ------------------------------------------------------------------------ */

struct one {
    struct pdcsv_record rec;
    char copy[512];
    bool have;
};

static int keep_first(void *arg, const struct pdcsv_record *rec) {
    struct one *o = arg;
    if (o->have) return 0;
    o->rec = *rec;
    size_t used = 0;
    for (size_t i = 0; i < rec->nfields && i < PDCSV_MAX_FIELDS && !rec->error; i++) {
        memcpy(o->copy + used, rec->field[i], rec->len[i] + 1);
        o->rec.field[i] = o->copy + used;
        used += rec->len[i] + 1;
    }
    o->have = true;
    return 0;
}

/* Fills *o (its field pointers point into o->copy: never copy a struct one). */
static void record_of(const char *line, struct one *o) {
    memset(o, 0, sizeof *o);
    struct pdcsv r;
    pdcsv_init(&r, 4096, 0, 1);
    pdcsv_feed(&r, line, strlen(line), keep_first, o);
    pdcsv_finish(&r, keep_first, o);
    pdcsv_cleanup(&r);
    assert_true(o->have);
}

static void expect_row_error(const char *line, const char *reason) {
    struct one o;
    record_of(line, &o);
    struct pdrow row;
    char why[256];
    if (pdrow_parse(&o.rec, &row, why, sizeof why)) fail_msg("accepted: %s", line);
    if (!strstr(why, reason)) fail_msg("%s: reason \"%s\" lacks \"%s\"", line, why, reason);
}

static void test_rows(void **state) {
    (void)state;
    struct one o;
    record_of("\"3\",\"Compliance_m\",\"-12.25\",\"2025-12-01T08:30:00.5\","
              "\"1\",\"42\",\"\"",
              &o);
    struct pdrow row;
    char why[256];
    assert_true(pdrow_parse(&o.rec, &row, why, sizeof why));
    assert_int_equal(row.id_patient, 3);
    assert_string_equal(row.parameter_id, "Compliance_m");
    assert_string_equal(row.value, "-12.25");
    assert_true(row.alert_flag);
    assert_false(row.archived);
    assert_int_equal(row.created_by, 42);
    assert_false(row.has_offset);
    /* 2025-12-01 08:30:00.5 as if UTC */
    assert_int_equal(row.ts_key, (int64_t)1764577800 * 1000000 + 500000);

    expect_row_error("\"1\",\"FC\",\"abc\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "value: \"abc\" is not a decimal number");
    expect_row_error("\"1\",\"FC\",\"1e3\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"", "value");
    expect_row_error("\"1\",\"FC\",\"100000000\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "numeric(10,2)");
    expect_row_error("\"1\",\"FC\",\"75\",\"2025-02-29 00:00:00\",\"0\",\"1\",\"0\"",
                     "timestamp: \"2025-02-29 00:00:00\" is not a date and time");
    expect_row_error("\"1\",\"FC\",\"75\",\"01/12/2025\",\"0\",\"1\",\"0\"", "timestamp");
    expect_row_error("\"\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "id_patient is empty");
    expect_row_error("\"1\",\"\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "parameter_id is empty");
    expect_row_error("\"1\",\"FC\",\"\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "value is empty");
    expect_row_error("\"1\",\"FC\",\"75\",\"\",\"0\",\"1\",\"0\"", "timestamp is empty");
    expect_row_error("\"1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"\",\"0\"",
                     "created_by is empty");
    expect_row_error("\"1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"2\",\"1\",\"0\"",
                     "alert_flag: \"2\" must be 0 or 1");
    expect_row_error("\"1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\"",
                     "7 fields expected, found 6");
    expect_row_error("\"1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\",\"x\"",
                     "7 fields expected, found 8");
    expect_row_error("\"-1\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "id_patient: \"-1\" is not a positive integer");
    expect_row_error("\"99999999999\",\"FC\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "id_patient");
    expect_row_error("\"1\",\"F C\",\"75\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"",
                     "parameter_id");
}

static void test_timestamps_and_decimals(void **state) {
    (void)state;
    int64_t a, b;
    bool off;
    assert_true(pdrow_timestamp_ok("2025-12-01 01:00:00+01:00", 25, &a, &off));
    assert_true(off);
    assert_true(pdrow_timestamp_ok("2025-12-01T00:00:00Z", 20, &b, &off));
    assert_int_equal(a, b);
    assert_true(pdrow_timestamp_ok("2024-02-29 23:59:59.123456", 26, &a, &off));
    assert_false(pdrow_timestamp_ok("2024-02-29 23:59:59.1234567", 27, &a, &off));
    assert_false(pdrow_timestamp_ok("2024-02-29 24:00:00", 19, &a, &off));
    assert_false(pdrow_timestamp_ok("2024-02-29 23:59:59 ", 20, &a, &off));
    assert_true(pdrow_decimal_ok("99999999.99", 11, NULL));
    assert_false(pdrow_decimal_ok("99999999.995", 12, NULL));
    assert_true(pdrow_decimal_ok("-.5", 3, NULL));
    assert_true(pdrow_decimal_ok("+7.", 3, NULL));
    assert_false(pdrow_decimal_ok(".", 1, NULL));
    assert_false(pdrow_decimal_ok("nan", 3, NULL));
    assert_false(pdrow_decimal_ok(" 1", 2, NULL));
}

static void test_header(void **state) {
    (void)state;
    char why[512];
    struct one o;
    record_of(PDROW_HEADER "\r\n", &o);
    assert_true(pdrow_header_ok(&o.rec, why, sizeof why));
    record_of("id_patient,parameter_id,value,timestamp,alert_flag,created_by,archived\n", &o);
    assert_true(pdrow_header_ok(&o.rec, why, sizeof why)); /* quoting is optional */
    record_of("\"id_patient\",\"parameter\",\"value\",\"timestamp\",\"alert_flag\","
              "\"created_by\",\"archived\"\n",
              &o);
    assert_false(pdrow_header_ok(&o.rec, why, sizeof why));
    assert_non_null(strstr(why, "the header must be " PDROW_HEADER));
    assert_non_null(strstr(why, "\"parameter\""));
    record_of("\"1\",\"FC\",\"75.5\",\"2025-12-01 00:00:00\",\"0\",\"1\",\"0\"\n", &o);
    assert_false(pdrow_header_ok(&o.rec, why, sizeof why));
    assert_non_null(strstr(why, "line 1"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example_every_chunk_size),
        cmocka_unit_test(test_quoting_and_line_ends),
        cmocka_unit_test(test_syntax_errors_and_recovery),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_bom_and_resume),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_timestamps_and_decimals),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
