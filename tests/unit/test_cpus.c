/* Unit tests of core/cpus.c: cgroup v2 cpu.max texts (a quota rounds up, "max" is no
 * limit, malformed text is no limit) and a usable count of at least 1. */
#include "core/cpus.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void cpu_max_texts(void **state) {
    (void)state;
    assert_int_equal(cpus_from_cpu_max("200000 100000\n"), 2);
    assert_int_equal(cpus_from_cpu_max("150000 100000"), 2); /* 1.5 CPUs: rounded up */
    assert_int_equal(cpus_from_cpu_max("50000 100000"), 1);
    assert_int_equal(cpus_from_cpu_max("max 100000\n"), 0);
    assert_int_equal(cpus_from_cpu_max(""), 0);
    assert_int_equal(cpus_from_cpu_max("abc"), 0);
    assert_int_equal(cpus_from_cpu_max("100000"), 0);
    assert_int_equal(cpus_from_cpu_max("-5 100000"), 0);
    assert_int_equal(cpus_from_cpu_max("100000 0"), 0);
    assert_int_equal(cpus_from_cpu_max(NULL), 0);
}

static void usable_is_positive(void **state) {
    (void)state;
    assert_true(cpus_usable() >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_max_texts),
        cmocka_unit_test(usable_is_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
