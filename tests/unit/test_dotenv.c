/* Unit tests of core/dotenv.c: comments, `export`, quotes, escapes, multi-line values,
 * inline comments, errors with their line, NUL bytes. Each test collects the pairs into a
 * fixed-size struct on its stack (copies, since the parser's strings are borrowed). */
#include "core/dotenv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MAX_PAIRS 16

struct pairs {
    size_t n;
    char key[MAX_PAIRS][64];
    char value[MAX_PAIRS][256];
    size_t stop_after; /* 0: never stop */
};

static int collect(const char *key, const char *value, void *ud) {
    struct pairs *p = ud;
    assert_true(p->n < MAX_PAIRS);
    assert_true(strlen(key) < sizeof p->key[0]);
    assert_true(strlen(value) < sizeof p->value[0]);
    strcpy(p->key[p->n], key);
    strcpy(p->value[p->n], value);
    p->n++;
    return p->stop_after && p->n == p->stop_after ? 42 : 0;
}

/* Parses the string s (strlen bytes) and returns the parser's result. */
static int parse(const char *s, struct pairs *p, struct dotenv_error *err) {
    memset(p, 0, sizeof *p);
    memset(err, 0, sizeof *err);
    return dotenv_parse(s, strlen(s), collect, p, err);
}

static void assert_pair(const struct pairs *p, size_t i, const char *key, const char *value) {
    assert_true(i < p->n);
    assert_string_equal(p->key[i], key);
    assert_string_equal(p->value[i], value);
}

static void test_plain_and_comments(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("# a comment\n"
                           "\n"
                           "   # indented comment\n"
                           "A=1\n"
                           "  B_2 = two words  \n"
                           "\t\n"
                           "lower.dotted=x\n"
                           "EMPTY=\n"
                           "LAST=no newline",
                           &p, &err),
                     0);
    assert_int_equal(p.n, 5);
    assert_pair(&p, 0, "A", "1");
    assert_pair(&p, 1, "B_2", "two words");
    assert_pair(&p, 2, "lower.dotted", "x");
    assert_pair(&p, 3, "EMPTY", "");
    assert_pair(&p, 4, "LAST", "no newline");

    assert_int_equal(parse("", &p, &err), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(parse("\n\n# only comments\n", &p, &err), 0);
    assert_int_equal(p.n, 0);
}

static void test_export(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(
        parse("export A=1\nexport\tB=2\n  export   C=3\nexport=4\nexporter=5\n", &p, &err), 0);
    assert_int_equal(p.n, 5);
    assert_pair(&p, 0, "A", "1");
    assert_pair(&p, 1, "B", "2");
    assert_pair(&p, 2, "C", "3");
    assert_pair(&p, 3, "export", "4"); /* a variable named export */
    assert_pair(&p, 4, "exporter", "5");
}

static void test_inline_comments(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("A=value # comment\n"
                           "B=value#not a comment\n"
                           "C=a #b # c\n"
                           "D= # only a comment\n"
                           "E=#not a comment\n"
                           "F=x\t# tab before\n",
                           &p, &err),
                     0);
    assert_int_equal(p.n, 6);
    assert_pair(&p, 0, "A", "value");
    assert_pair(&p, 1, "B", "value#not a comment");
    assert_pair(&p, 2, "C", "a");
    assert_pair(&p, 3, "D", "");
    assert_pair(&p, 4, "E", "#not a comment");
    assert_pair(&p, 5, "F", "x");
}

static void test_single_quotes(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("A='literal \\n $HOME # not a comment'\n"
                           "B='' # empty\n"
                           "C='say \"hi\"'\n"
                           "D='two\nlines'\n",
                           &p, &err),
                     0);
    assert_int_equal(p.n, 4);
    assert_pair(&p, 0, "A", "literal \\n $HOME # not a comment");
    assert_pair(&p, 1, "B", "");
    assert_pair(&p, 2, "C", "say \"hi\"");
    assert_pair(&p, 3, "D", "two\nlines");
}

static void test_double_quotes_and_escapes(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("A=\"tab\\there\\nnew line\\r\"\n"
                           "B=\"q\\\"uote \\\\ back \\$dollar \\'single\"\n"
                           "C=\"unknown \\q kept\"\n"
                           "D=\"  spaces kept  \"   # comment\n"
                           "E=\"# not a comment\"\n",
                           &p, &err),
                     0);
    assert_int_equal(p.n, 5);
    assert_pair(&p, 0, "A", "tab\there\nnew line\r");
    assert_pair(&p, 1, "B", "q\"uote \\ back $dollar 'single");
    assert_pair(&p, 2, "C", "unknown \\q kept");
    assert_pair(&p, 3, "D", "  spaces kept  ");
    assert_pair(&p, 4, "E", "# not a comment");
}

static void test_multiline_double_quotes(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("KEY=\"-----BEGIN-----\n"
                           "abc\n"
                           "-----END-----\"\n"
                           "NEXT=after\n",
                           &p, &err),
                     0);
    assert_int_equal(p.n, 2);
    assert_pair(&p, 0, "KEY", "-----BEGIN-----\nabc\n-----END-----");
    assert_pair(&p, 1, "NEXT", "after");

    /* lines inside a quoted value still count for later error messages */
    assert_int_equal(parse("A=\"1\n2\n3\"\n\nbad line\n", &p, &err), -1);
    assert_int_equal(err.line, 5);
    assert_int_equal(parse("A=\"1\\\n2\"\nbad\n", &p, &err), -1);
    assert_int_equal(err.line, 3);
    assert_pair(&p, 0, "A", "1\\\n2");
    assert_int_equal(parse("A='1\n2'\nbad\n", &p, &err), -1);
    assert_int_equal(err.line, 3);
}

static void test_crlf(void **state) {
    (void)state;
    struct pairs p;
    struct dotenv_error err;
    assert_int_equal(parse("A=1\r\nB=\"two\"\r\n\r\n# c\r\nC='3' \r\n", &p, &err), 0);
    assert_int_equal(p.n, 3);
    assert_pair(&p, 0, "A", "1");
    assert_pair(&p, 1, "B", "two");
    assert_pair(&p, 2, "C", "3");
    assert_int_equal(parse("A=1\n\rB=2\n", &p, &err), -1);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.reason, "carriage return"));
}

/* Checks that s fails on line `line` with a reason containing `reason`. */
static void assert_error(const char *s, size_t line, const char *reason) {
    struct pairs p;
    struct dotenv_error err;
    int rc = parse(s, &p, &err);
    if (rc != -1) fail_msg("\"%s\" parsed (rc %d), expected an error", s, rc);
    if (err.line != line || !err.reason || !strstr(err.reason, reason))
        fail_msg("\"%s\": line %zu \"%s\", expected line %zu \"%s\"", s, err.line,
                 err.reason ? err.reason : "(null)", line, reason);
}

static void test_errors_name_the_line(void **state) {
    (void)state;
    assert_error("1A=x\n", 1, "variable name");
    assert_error("A=1\n\n# c\n=value\n", 4, "variable name");
    assert_error("A=1\nB\n", 2, "'='");
    assert_error("A=1\nB C=2\n", 2, "'='");
    assert_error("A=1\nB-C=2\n", 2, "'='");
    assert_error("A=1\nexport \n", 2, "variable name");
    assert_error("A=1\nexport ", 2, "'='"); /* a variable named export, without a value */
    assert_error("A=\"open\nB=2\n", 1, "unterminated");
    assert_error("A=1\nB='open", 2, "unterminated");
    assert_error("A=\"x\\\"", 1, "unterminated");
    assert_error("A=1\nB=\"x\" y\n", 2, "after the closing quote");
    assert_error("A=\"a\nb\" y\n", 2, "after the closing quote");
}

static void test_nul_byte(void **state) {
    (void)state;
    struct pairs p = {0};
    struct dotenv_error err = {0};
    static const char buf[] = "A=1\nB=x\0y\nC=3\n";
    assert_int_equal(dotenv_parse(buf, sizeof buf - 1, collect, &p, &err), -1);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.reason, "NUL"));
    assert_int_equal(p.n, 0); /* nothing is reported from a file with a NUL byte */

    /* the length, not a terminator, bounds the input */
    memset(&p, 0, sizeof p);
    assert_int_equal(dotenv_parse("A=1\nB=2", 3, collect, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_pair(&p, 0, "A", "1");
}

static void test_callback_stops(void **state) {
    (void)state;
    struct pairs p = {0};
    struct dotenv_error err = {0};
    p.stop_after = 2;
    const char *s = "A=1\nB=2\nC=3\n";
    assert_int_equal(dotenv_parse(s, strlen(s), collect, &p, &err), 42);
    assert_int_equal(p.n, 2);
    /* a NULL error pointer is allowed */
    assert_int_equal(dotenv_parse("1=x", 3, collect, &p, NULL), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_comments),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_inline_comments),
        cmocka_unit_test(test_single_quotes),
        cmocka_unit_test(test_double_quotes_and_escapes),
        cmocka_unit_test(test_multiline_double_quotes),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests_name("dotenv", tests, NULL, NULL);
}
