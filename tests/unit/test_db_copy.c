/* test_db_copy: the COPY text-format row encoder of server/db/db_copy.c (no I/O):
 * separators, row ends, NULL, integers, and the escaping of backslash, tab, newline,
 * carriage return and the other control characters; NUL bytes dropped; a reset keeps
 * the memory and forgets the rows. */
#include "db/db_copy.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

static void assert_buf(const struct db_copy_buf *b, const char *expected) {
    assert_int_equal(b->len, strlen(expected));
    assert_memory_equal(b->data, expected, b->len);
}

static void test_fields_and_rows(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    db_copy_int(&b, 42);
    db_copy_cstr(&b, "plain");
    db_copy_null(&b);
    db_copy_int(&b, -9223372036854775807LL - 1);
    db_copy_end_row(&b);
    db_copy_cstr(&b, NULL);
    db_copy_text(&b, "", 0);
    db_copy_end_row(&b);
    assert_buf(&b, "42\tplain\t\\N\t-9223372036854775808\n\\N\t\n");
    assert_int_equal(b.rows, 2);
    db_copy_buf_cleanup(&b);
}

static void test_escaping(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    const char in[] = "a\tb\nc\rd\\e\bf\fg\vh\\N";
    db_copy_text(&b, in, sizeof in - 1);
    db_copy_end_row(&b);
    assert_buf(&b, "a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\\\\N\n");
    db_copy_buf_cleanup(&b);
}

static void test_nul_dropped_utf8_kept(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    const char in[] = "Planifi\xc3\xa9"
                      "e\0\0x";
    db_copy_text(&b, in, sizeof in - 1);
    db_copy_end_row(&b);
    assert_buf(&b, "Planifi\xc3\xa9"
                   "ex\n");
    db_copy_buf_cleanup(&b);
}

static void test_reset_and_growth(void **state) {
    (void)state;
    struct db_copy_buf b;
    db_copy_buf_init(&b);
    char big[10000];
    memset(big, '\\', sizeof big);
    db_copy_text(&b, big, sizeof big);
    db_copy_end_row(&b);
    assert_int_equal(b.len, 2 * sizeof big + 1);
    size_t cap = b.cap;
    db_copy_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.rows, 0);
    assert_int_equal(b.cap, cap);
    db_copy_int(&b, 7);
    db_copy_end_row(&b);
    assert_buf(&b, "7\n");
    db_copy_buf_cleanup(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_rows),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_nul_dropped_utf8_kept),
        cmocka_unit_test(test_reset_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
