/* Unit tests of patient-data generation and reference sets (workers/kinds/patient_data/
 * pd_gen.c, pd_refs.c): values stay in [display_min, display_max] to the hundredth and
 * cover it, a seed reproduces its values, time texts, and the sorted lookups. Nothing
 * outlives a test (pd_refs_cleanup). */
#include "kinds/patient_data/pd_gen.h"
#include "kinds/patient_data/pd_refs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_values_in_range(void **state) {
    (void)state;
    struct pd_rng g;
    pd_rng_seed(&g, 42);
    bool seen_min = false, seen_max = false;
    for (int i = 0; i < 20000; i++) {
        char v[24];
        size_t n = pd_gen_value(&g, -150, 150, v); /* -1.50 .. 1.50 */
        assert_true(n > 0 && n == strlen(v));
        double d = strtod(v, NULL);
        assert_true(d >= -1.5 && d <= 1.5);
        const char *dot = strchr(v, '.');
        assert_non_null(dot);
        assert_int_equal(strlen(dot + 1), 2);
        seen_min = seen_min || strcmp(v, "-1.50") == 0;
        seen_max = seen_max || strcmp(v, "1.50") == 0;
    }
    assert_true(seen_min && seen_max);
    char v[24];
    pd_gen_value(&g, 4000, 4000, v);
    assert_string_equal(v, "40.00");
    pd_gen_value(&g, -5, -5, v);
    assert_string_equal(v, "-0.05");
}

static void test_seed_reproduces(void **state) {
    (void)state;
    struct pd_rng a, b;
    pd_rng_seed(&a, 7);
    pd_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) assert_true(pd_rng_next(&a) == pd_rng_next(&b));
    pd_rng_seed(&b, 8);
    assert_true(pd_rng_next(&a) != pd_rng_next(&b));
}

static void test_time_text(void **state) {
    (void)state;
    char t[64];
    pd_gen_time_text((int64_t)1764577800 * 1000000 + 500000, 1, t);
    assert_string_equal(t, "2025-12-01 08:30:00.500000+00");
    pd_gen_time_text(0, 0, t);
    assert_string_equal(t, "1970-01-01 00:00:00.000000");
    pd_gen_time_text(-1, 0, t); /* one microsecond before the epoch */
    assert_string_equal(t, "1969-12-31 23:59:59.999999");
    pd_gen_time_text((int64_t)951782400 * 1000000, 1, t); /* 2000-02-29 */
    assert_string_equal(t, "2000-02-29 00:00:00.000000+00");
}

static void test_refs(void **state) {
    (void)state;
    struct pd_refs r = {0};
    for (int i = 40; i >= 1; i--) assert_int_equal(pd_refs_add_patient(&r, i * 3), 0);
    assert_int_equal(pd_refs_add_user(&r, 9), 0);
    assert_int_equal(pd_refs_add_user(&r, 1), 0);
    assert_int_equal(pd_refs_add_parameter(&r, "SpO2", "80.00", "100.00"), 0);
    assert_int_equal(pd_refs_add_parameter(&r, "FC", "40", "180.5"), 0);
    assert_int_equal(pd_refs_add_parameter(&r, "Compliance_m", "20", "10"), 0); /* max < min */
    pd_refs_sort(&r);
    assert_true(pd_refs_has_patient(&r, 3) && pd_refs_has_patient(&r, 120));
    assert_false(pd_refs_has_patient(&r, 4));
    assert_true(pd_refs_has_user(&r, 9));
    assert_false(pd_refs_has_user(&r, 2));
    long fc = pd_refs_parameter(&r, "FC");
    assert_true(fc >= 0);
    assert_int_equal(r.parameters[fc].min_cents, 4000);
    assert_int_equal(r.parameters[fc].max_cents, 18050);
    long c = pd_refs_parameter(&r, "Compliance_m");
    assert_int_equal(r.parameters[c].max_cents, r.parameters[c].min_cents);
    assert_int_equal(pd_refs_parameter(&r, "fc"), -1); /* ids are case-sensitive */
    char p[256], q[256], u[256];
    pd_refs_describe(&r, p, q, u, sizeof p);
    assert_non_null(strstr(p, "40 patients: [3, 6, 9"));
    assert_non_null(strstr(p, ", ...]"));
    assert_string_equal(u, "2 users: [1, 9]");
    pd_refs_cleanup(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_in_range),
        cmocka_unit_test(test_seed_reproduces),
        cmocka_unit_test(test_time_text),
        cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
