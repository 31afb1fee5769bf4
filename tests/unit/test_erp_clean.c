/* Unit tests of workers/kinds/orders/erp_clean.c, one group per rule of
 * specs/erp-orders.md: NUL bytes and spaces, double-encoding repair (and what must
 * not be "repaired"), case and accent folding, the status mapping and its order, the
 * bounds of numero_commande, extension and coffre, dates (zero and impossible ones),
 * gestion_en_stock, and the one-row-per-order preference. No allocation. */
#include "kinds/orders/erp_clean.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char *clean(const char *in, size_t len) {
    static char out[4096];
    erp_clean_text(in, len, out);
    return out;
}
#define CLEAN(lit) clean(lit, sizeof(lit) - 1)

static void nul_and_spaces(void **state) {
    (void)state;
    assert_string_equal(CLEAN("  SOP 125  "), "SOP 125");
    assert_string_equal(CLEAN("12\0"
                              "34\0"),
                        "1234");
    assert_string_equal(CLEAN(" \0 A \0 "), "A");
    assert_string_equal(CLEAN("   "), "");
    assert_string_equal(CLEAN(""), "");
    assert_string_equal(CLEAN("\tA\t"), "\tA\t");         /* spaces only, as the spec says */
    assert_string_equal(CLEAN("S  P  165"), "S  P  165"); /* inner spaces stay */
}

static void double_encoding(void **state) {
    (void)state;
    /* "PlanifiÃ©e": UTF-8 of é read as Latin-1, then converted to UTF-8 again */
    assert_string_equal(CLEAN("Planifi\xC3\x83\xC2\xA9"
                              "e"),
                        "Planifi\xC3\xA9"
                        "e");
    assert_string_equal(CLEAN(" \xC3\x83\xC2\xA0 lancer en prod "), "\xC3\xA0 lancer en prod");
    /* a genuine Latin-1 text (é alone) is not valid UTF-8 as bytes: kept */
    assert_string_equal(CLEAN("Planifi\xC3\xA9"
                              "e"),
                        "Planifi\xC3\xA9"
                        "e");
    /* ASCII only: nothing to repair */
    assert_string_equal(CLEAN("Planifiee"), "Planifiee");
    /* MariaDB's latin1 is Windows-1252: "PLANIFIÉE" written as UTF-8 into a latin1 column
     * reads back as "PLANIFIÃ‰E" (É = C3 89, 0x89 = U+2030 ‰): repaired too */
    assert_string_equal(CLEAN("PLANIFI\xC3\x83\xE2\x80\xB0"
                              "E"),
                        "PLANIFI\xC3\x89"
                        "E");
    /* "’" (E2 80 99) double-encoded through Windows-1252: "â€™" */
    assert_string_equal(CLEAN("l\xC3\xA2\xE2\x82\xAC\xE2\x84\xA2"
                              "atelier"),
                        "l\xE2\x80\x99"
                        "atelier");
    /* a character outside MariaDB's latin1 anywhere: kept as it is */
    assert_string_equal(CLEAN("\xC3\x83\xC2\xA9 \xE2\x86\x92"), "\xC3\x83\xC2\xA9 \xE2\x86\x92");
    /* € alone (0x80 is no UTF-8 lead byte): kept */
    assert_string_equal(CLEAN("10 \xE2\x82\xAC"), "10 \xE2\x82\xAC");
    /* repaired once only: triple encoding comes back double-encoded */
    assert_string_equal(CLEAN("\xC3\x83\xC2\x83\xC3\x82\xC2\xA9"), "\xC3\x83\xC2\xA9");
    /* NULs removed and spaces trimmed before the repair */
    assert_string_equal(CLEAN("Planifi\xC3\x83\0\xC2\xA9"
                              "e  "),
                        "Planifi\xC3\xA9"
                        "e");
}

static void folding(void **state) {
    (void)state;
    char out[256];
    erp_fold("Planifi\xC3\xA9"
             "e",
             10, out);
    assert_string_equal(out, "planifiee");
    erp_fold("\xC3\x80 LANCER", 9, out);
    assert_string_equal(out, "a lancer");
    erp_fold("\xC5\x92uvre \xC3\x86 \xC3\x9F", 12, out);
    assert_string_equal(out, "oeuvre ae ss");
    erp_fold("Planifie\xCC\x81"
             "e",
             11, out); /* decomposed é */
    assert_string_equal(out, "planifiee");
    erp_fold("\xC3\x97", 2, out); /* × is not a letter: kept */
    assert_string_equal(out, "\xC3\x97");
}

static void status_mapping(void **state) {
    (void)state;
    struct {
        const char *text;
        const char *status;
    } cases[] = {
        {"Planifiee", "Planifiee"},
        {"Planifi\xC3\xA9"
         "e",
         "Planifiee"},
        {"cde PLANIFIEE", "Planifiee"},
        {"PLANIFI\xC3\x89"
         "E",
         "Planifiee"},
        {"\xC3\xA0 lancer en prod", "lancer en prod"},
        {"LANCER EN PROD", "lancer en prod"},
        {"vitrage", "vitrage"},
        {"Attente Vitrage", "vitrage"},
        {"Termin\xC3\xA9"
         "e",
         "Terminee"},
        {"annul\xC3\xA9"
         "e",
         "Annulee"},
        /* the first in the spec's order wins */
        {"vitrage Planifiee", "Planifiee"},
        {"Annulee puis lancer en prod", "lancer en prod"},
        {"Terminee Annulee", "Terminee"},
        {"En attente", NULL},
        {"Planifie", NULL},
        {"lancer  en prod", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = erp_status_map(cases[i].text, strlen(cases[i].text));
        if ((got == NULL) != (cases[i].status == NULL) ||
            (got && strcmp(got, cases[i].status) != 0))
            fail_msg("'%s' mapped to %s, expected %s", cases[i].text, got ? got : "NULL",
                     cases[i].status ? cases[i].status : "NULL");
    }
}

static void dates(void **state) {
    (void)state;
    int32_t d;
    char iso[11];
    assert_int_equal(erp_parse_date("1970-01-01", 10, &d, iso), 0);
    assert_int_equal(d, 0);
    assert_int_equal(erp_parse_date("2024-02-29", 10, &d, iso), 0);
    assert_string_equal(iso, "2024-02-29");
    assert_int_equal(d, 19782);
    assert_int_equal(erp_parse_date("2024-03-05 14:22:01", 19, &d, iso), 0);
    assert_string_equal(iso, "2024-03-05");
    assert_int_equal(erp_parse_date("0000-00-00", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("0000-00-00 00:00:00", 19, &d, iso), -1);
    assert_int_equal(erp_parse_date("2024-00-10", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("2024-05-00", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("2023-02-29", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("1900-02-29", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("2000-02-29", 10, &d, iso), 0);
    assert_int_equal(erp_parse_date("2024-13-01", 10, &d, iso), -1);
    assert_int_equal(erp_parse_date("2024-1-01", 9, &d, iso), -1);
    assert_int_equal(erp_parse_date("2024-01-01x", 11, &d, iso), -1);
    assert_int_equal(erp_parse_date("", 0, &d, iso), -1);
}

/* A raw row from six C strings (NULL: SQL NULL). */
static struct erp_raw raw6(const char *n, const char *e, const char *s, const char *d,
                           const char *c, const char *g) {
    struct erp_raw r = {.values = {n, e, s, d, c, g}};
    for (int i = 0; i < ERP_COL_COUNT; i++) r.lengths[i] = r.values[i] ? strlen(r.values[i]) : 0;
    return r;
}

static enum erp_reject row(struct erp_raw r, struct erp_order *o) {
    char scratch[4096];
    return erp_clean_row(&r, o, scratch, sizeof scratch);
}

static void whole_rows(void **state) {
    (void)state;
    struct erp_order o;
    assert_int_equal(row(raw6(" 240001 ", NULL,
                              "cde Planifi\xC3\x83\xC2\xA9"
                              "e ",
                              "2024-03-05", " SOP 125 ", "1"),
                         &o),
                     ERP_OK);
    assert_string_equal(o.numero, "240001");
    assert_string_equal(o.extension, "");
    assert_string_equal(o.status, "Planifiee");
    assert_string_equal(o.status_text, "cde Planifi\xC3\xA9"
                                       "e");
    assert_string_equal(o.date, "2024-03-05");
    assert_false(o.coffre_null);
    assert_string_equal(o.coffre, "SOP 125");
    assert_true(o.stock);

    assert_int_equal(row(raw6("A", "  ", "vitrage", "2024-03-05", "   ", "0"), &o), ERP_OK);
    assert_true(o.coffre_null);
    assert_false(o.stock);
    assert_int_equal(row(raw6("A", "B", "vitrage", "2024-03-05", NULL, "0"), &o), ERP_OK);
    assert_true(o.coffre_null);
    assert_string_equal(o.extension, "B");
}

static void bounds(void **state) {
    (void)state;
    struct erp_order o;
    const char *ok = "vitrage", *day = "2024-01-02";
    /* numero_commande: 1 to 20 characters after cleaning */
    assert_int_equal(row(raw6("12345678901234567890", "", ok, day, "", "0"), &o), ERP_OK);
    assert_int_equal(row(raw6("\xC3\xA9"
                              "2345678901234567890",
                              "", ok, day, "", "0"),
                         &o),
                     ERP_OK);
    assert_int_equal(row(raw6("123456789012345678901", "", ok, day, "", "0"), &o),
                     ERP_REJECT_NUMERO);
    assert_int_equal(row(raw6("  12345678901234567890  ", "", ok, day, "", "0"), &o), ERP_OK);
    assert_int_equal(row(raw6("", "", ok, day, "", "0"), &o), ERP_REJECT_NUMERO);
    assert_int_equal(row(raw6("  ", "", ok, day, "", "0"), &o), ERP_REJECT_NUMERO);
    assert_int_equal(row(raw6(NULL, "", ok, day, "", "0"), &o), ERP_REJECT_NUMERO);
    assert_int_equal(row(raw6("\xFF", "", ok, day, "", "0"), &o), ERP_REJECT_NUMERO);
    /* extension: 0 to 5 */
    assert_int_equal(row(raw6("1", "ABCDE", ok, day, "", "0"), &o), ERP_OK);
    assert_int_equal(row(raw6("1", "ABCDEF", ok, day, "", "0"), &o), ERP_REJECT_EXTENSION);
    assert_int_equal(
        row(raw6("1", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", ok, day, "", "0"), &o), ERP_OK);
    /* status */
    assert_int_equal(row(raw6("1", "", "En attente", day, "", "0"), &o), ERP_REJECT_STATUS);
    assert_int_equal(row(raw6("1", "", NULL, day, "", "0"), &o), ERP_REJECT_STATUS);
    /* date_modification */
    assert_int_equal(row(raw6("1", "", ok, "0000-00-00", "", "0"), &o), ERP_REJECT_DATE);
    assert_int_equal(row(raw6("1", "", ok, NULL, "", "0"), &o), ERP_REJECT_DATE);
    /* coffre: up to 50 characters */
    char c50[51], c51[52];
    memset(c50, 'x', 50);
    c50[50] = '\0';
    memset(c51, 'x', 51);
    c51[51] = '\0';
    assert_int_equal(row(raw6("1", "", ok, day, c50, "0"), &o), ERP_OK);
    assert_int_equal(row(raw6("1", "", ok, day, c51, "0"), &o), ERP_REJECT_COFFRE);
    /* gestion_en_stock: 0 or 1 */
    assert_int_equal(row(raw6("1", "", ok, day, "", "2"), &o), ERP_REJECT_STOCK);
    assert_int_equal(row(raw6("1", "", ok, day, "", NULL), &o), ERP_REJECT_STOCK);
    assert_int_equal(row(raw6("1", "", ok, day, "", "10"), &o), ERP_REJECT_STOCK);
}

static struct erp_order mk(bool stock, int32_t days, const char *coffre) {
    struct erp_order o = {
        .stock = stock, .days = days, .coffre_null = coffre == NULL, .status = "Planifiee"};
    strcpy(o.numero, "1");
    strcpy(o.status_text, "Planifiee");
    if (coffre) strcpy(o.coffre, coffre);
    return o;
}

static void one_row_per_order(void **state) {
    (void)state;
    struct erp_order a = mk(true, 10, "S P 1"), b = mk(false, 20, "AAA");
    assert_true(erp_order_better(&a, &b)); /* from stock first, even when older */
    assert_false(erp_order_better(&b, &a));
    a = mk(false, 21, "Z"), b = mk(false, 20, "A");
    assert_true(erp_order_better(&a, &b)); /* then the latest date */
    a = mk(false, 20, "S P 1"), b = mk(false, 20, "SOP 1");
    assert_true(erp_order_better(&a, &b)); /* then the smallest coffre in byte order */
    a = mk(false, 20, "S P"), b = mk(false, 20, "s p");
    assert_true(erp_order_better(&a, &b)); /* byte order: upper case first */
    a = mk(false, 20, "Z"), b = mk(false, 20, NULL);
    assert_true(erp_order_better(&a, &b)); /* NULL last */
    assert_false(erp_order_better(&b, &a));
    a = mk(false, 20, NULL), b = mk(false, 20, NULL);
    assert_false(erp_order_better(&a, &b)); /* equal: not better */
    /* equal on the spec's keys: the smallest status, then source text (byte order), so
     * the winner does not depend on the order of the ERP's rows */
    a = mk(false, 20, "SOP 1"), b = mk(false, 20, "SOP 1");
    a.status = "Planifiee", b.status = "vitrage";
    assert_true(erp_order_better(&a, &b));
    assert_false(erp_order_better(&b, &a));
    strcpy(a.status_text, "PLANIFIEE"), b.status = "Planifiee";
    assert_true(erp_order_better(&a, &b)); /* "PLANIFIEE" < "Planifiee" */
    assert_false(erp_order_better(&b, &a));
    struct erp_order x = mk(false, 1, NULL), y = x;
    strcpy(y.extension, "B");
    assert_false(erp_same_order(&x, &y));
    assert_true(erp_same_order(&x, &x));
}

static void columns(void **state) {
    (void)state;
    assert_int_equal(erp_col_find("NUMERO_COMMANDE"), ERP_COL_NUMERO);
    assert_int_equal(erp_col_find("gestion_en_stock"), ERP_COL_STOCK);
    assert_int_equal(erp_col_find("numero"), -1);
    assert_string_equal(erp_col_name(ERP_COL_DATE), "date_modification");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nul_and_spaces), cmocka_unit_test(double_encoding),
        cmocka_unit_test(folding),        cmocka_unit_test(status_mapping),
        cmocka_unit_test(dates),          cmocka_unit_test(whole_rows),
        cmocka_unit_test(bounds),         cmocka_unit_test(one_row_per_order),
        cmocka_unit_test(columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
