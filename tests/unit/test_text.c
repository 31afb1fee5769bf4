/* Unit tests of core/text.c: UTF-8 validation edge cases, lossy JSON strings, hex and the
 * growing text buffer. Every buffer built here is freed by the test that built it. */
#include "core/text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct utf8_case {
    const char *bytes;
    size_t len;
    bool valid;
    const char *what;
};

#define CASE(lit, valid, what)                                                                     \
    { lit, sizeof(lit) - 1, valid, what }

static const struct utf8_case utf8_cases[] = {
    CASE("", true, "empty"),
    CASE("plain ASCII", true, "ASCII"),
    CASE("a\0b", true, "NUL is a valid code point"),
    CASE("\x7F", true, "U+007F"),
    CASE("\xC2\x80", true, "U+0080, smallest 2-byte"),
    CASE("\xDF\xBF", true, "U+07FF, largest 2-byte"),
    CASE("\xE0\xA0\x80", true, "U+0800, smallest 3-byte"),
    CASE("\xED\x9F\xBF", true, "U+D7FF, before the surrogates"),
    CASE("\xEE\x80\x80", true, "U+E000, after the surrogates"),
    CASE("\xEF\xBF\xBD", true, "U+FFFD"),
    CASE("\xEF\xBF\xBF", true, "U+FFFF"),
    CASE("\xF0\x90\x80\x80", true, "U+10000, smallest 4-byte"),
    CASE("\xF4\x8F\xBF\xBF", true, "U+10FFFF, largest code point"),
    CASE("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", true, "mixed text"),
    CASE("\x80", false, "lone continuation byte"),
    CASE("a\xBF", false, "continuation byte after ASCII"),
    CASE("\xC0\x80", false, "overlong NUL"),
    CASE("\xC1\xBF", false, "overlong 2-byte"),
    CASE("\xE0\x80\x80", false, "overlong 3-byte"),
    CASE("\xE0\x9F\xBF", false, "overlong U+07FF"),
    CASE("\xF0\x80\x80\x80", false, "overlong 4-byte"),
    CASE("\xF0\x8F\xBF\xBF", false, "overlong U+FFFF"),
    CASE("\xED\xA0\x80", false, "U+D800, high surrogate"),
    CASE("\xED\xBF\xBF", false, "U+DFFF, low surrogate"),
    CASE("\xED\xA0\xBD\xED\xB8\x80", false, "CESU-8 surrogate pair"),
    CASE("\xF4\x90\x80\x80", false, "U+110000, past the last code point"),
    CASE("\xF5\x80\x80\x80", false, "lead byte F5"),
    CASE("\xF8\x88\x80\x80\x80", false, "5-byte form"),
    CASE("\xFC\x84\x80\x80\x80\x80", false, "6-byte form"),
    CASE("\xFE", false, "byte FE"),
    CASE("\xFF", false, "byte FF"),
    CASE("\xC3", false, "truncated 2-byte at the end"),
    CASE("\xE2\x82", false, "truncated 3-byte at the end"),
    CASE("\xF0\x9F\x98", false, "truncated 4-byte at the end"),
    CASE("\xC3(", false, "2-byte lead followed by ASCII"),
    CASE("\xE2(\xA1", false, "bad second byte of 3"),
    CASE("\xE2\x82(", false, "bad third byte of 3"),
    CASE("\xF0\x9F\x98(", false, "bad fourth byte of 4"),
};

static void test_utf8_valid(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const struct utf8_case *c = &utf8_cases[i];
        /* copy into an exact-size buffer so that a read past len is caught by ASan */
        char *buf = malloc(c->len ? c->len : 1);
        assert_non_null(buf);
        memcpy(buf, c->bytes, c->len);
        bool got = text_utf8_valid(buf, c->len);
        free(buf);
        if (got != c->valid)
            fail_msg("%s: text_utf8_valid says %s", c->what, got ? "valid" : "invalid");
    }
    /* the length bounds the check: a valid prefix of an invalid string is valid */
    assert_true(text_utf8_valid("ok\xFF", 2));
    assert_false(text_utf8_valid("ok\xFF", 3));
    /* a sequence cut by the length is invalid even if the bytes after it would complete it */
    assert_false(text_utf8_valid("\xE2\x82\xAC", 2));
}

static void assert_lossy(const char *in, const char *want) {
    json_t *j = text_json_string_lossy(in);
    assert_non_null(j);
    const char *got = json_string_value(j);
    assert_non_null(got);
    assert_true(text_utf8_valid(got, json_string_length(j)));
    assert_int_equal(json_string_length(j), strlen(want));
    assert_memory_equal(got, want, strlen(want));
    json_decref(j);
}

static void test_json_string_lossy(void **state) {
    (void)state;
    assert_lossy("", "");
    assert_lossy("plain", "plain");
    assert_lossy("caf\xC3\xA9", "caf\xC3\xA9");
    assert_lossy("a\xFF"
                 "b",
                 "a\xEF\xBF\xBD"
                 "b");
    /* each invalid byte becomes one U+FFFD; valid neighbours are kept */
    assert_lossy("\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_lossy("x\xE2\x82", "x\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_lossy("\xED\xA0\x80!", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
    assert_lossy("\xF0\x9F\x98\x80\xFF\xF0\x9F\x98\x80",
                 "\xF0\x9F\x98\x80\xEF\xBF\xBD\xF0\x9F\x98\x80");
    /* a long run of invalid bytes (the worst case grows the text threefold) */
    char in[301], want[901];
    memset(in, '\xFF', 300);
    in[300] = '\0';
    for (size_t i = 0; i < 300; i++) memcpy(want + 3 * i, "\xEF\xBF\xBD", 3);
    want[900] = '\0';
    assert_lossy(in, want);
}

static void test_hex(void **state) {
    (void)state;
    char out[64];
    memset(out, 'x', sizeof out);
    text_hex(NULL, 0, out);
    assert_string_equal(out, "");
    static const unsigned char bytes[] = {0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xab, 0xff};
    memset(out, 'x', sizeof out);
    text_hex(bytes, sizeof bytes, out);
    assert_string_equal(out, "00010f107f80abff");
    assert_int_equal(out[2 * sizeof bytes + 1], 'x'); /* exactly 2n+1 bytes written */
}

static void test_textbuf_growth(void **state) {
    (void)state;
    struct textbuf b = {0};
    textbuf_printf(&b, "%s", "");
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    /* many small appends, well past the first allocation */
    size_t expected = 0;
    for (int i = 0; i < 5000; i++) {
        textbuf_printf(&b, "line %d\n", i);
        char one[32];
        expected += (size_t)snprintf(one, sizeof one, "line %d\n", i);
        assert_int_equal(b.len, expected);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_int_equal(strlen(b.data), b.len);
    assert_memory_equal(b.data, "line 0\nline 1\n", 14);
    assert_non_null(strstr(b.data, "\nline 4999\n"));
    /* one append larger than twice the capacity */
    size_t before = b.len;
    char *big = malloc(100000);
    assert_non_null(big);
    memset(big, 'z', 99999);
    big[99999] = '\0';
    textbuf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, before + 100001);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[before], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(strspn(b.data + before + 1, "z"), 99999);
    free(big);
    free(b.data);

    /* a first append larger than the first allocation */
    struct textbuf c = {0};
    textbuf_printf(&c, "%0*d", 10000, 7);
    assert_int_equal(c.len, 10000);
    assert_int_equal(c.data[9999], '7');
    assert_int_equal(c.data[10000], '\0');
    free(c.data);
}

static void test_textbuf_put_and_join(void **state) {
    (void)state;
    struct textbuf b = {0};
    textbuf_put(&b, "", 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    static const char *const items[] = {"a", "bb", "ccc", NULL};
    textbuf_join(&b, items, SIZE_MAX, ", "); /* NULL-terminated */
    assert_string_equal(b.data, "a, bb, ccc");
    textbuf_put(&b, " | ", 3);
    textbuf_join(&b, items, 2, "+"); /* counted */
    assert_string_equal(b.data, "a, bb, ccc | a+bb");
    textbuf_join(&b, items, 0, "+");
    assert_int_equal(b.len, strlen("a, bb, ccc | a+bb"));
    char big[10000];
    memset(big, 'x', sizeof big);
    textbuf_put(&b, big, sizeof big); /* grows past the first 4 KiB */
    assert_int_equal(b.len, strlen("a, bb, ccc | a+bb") + sizeof big);
    assert_int_equal(b.data[b.len], '\0');
    free(b.data);
}

static void assert_encoded(const char *in, bool path, const char *want) {
    struct textbuf b = {0};
    textbuf_percent_encode(&b, in, path);
    assert_string_equal(b.data ? b.data : "", want);
    free(b.data);
}

static void test_percent_encode(void **state) {
    (void)state;
    assert_encoded("AZaz09-._~", false, "AZaz09-._~");
    assert_encoded("a b&c=d/e?f#g%", false, "a%20b%26c%3Dd%2Fe%3Ff%23g%25");
    assert_encoded("/commandes-volets/A 1:x@y", true, "/commandes-volets/A%201:x@y");
    assert_encoded("?#", true, "%3F%23");
    assert_encoded("caf\xc3\xa9", false, "caf%C3%A9");
    assert_encoded("", false, "");
}

static void test_parse_id(void **state) {
    (void)state;
    int64_t v = 0;
    assert_true(text_parse_id("1", &v));
    assert_int_equal(v, 1);
    assert_true(text_parse_id("999999999999999999", &v)); /* 18 digits */
    assert_int_equal(v, 999999999999999999LL);
    static const char *const bad[] = {
        "", "0", "007", "-1", "+1", "1x", " 1", "1 ", "1000000000000000000", "1.0", NULL};
    for (size_t i = 0; bad[i]; i++) {
        v = 42;
        if (text_parse_id(bad[i], &v))
            fail_msg("\"%s\" was taken as id %lld", bad[i], (long long)v);
        assert_int_equal(v, 42);
    }
    assert_false(text_parse_id(NULL, &v));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_json_string_lossy),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_textbuf_growth),
        cmocka_unit_test(test_textbuf_put_and_join),
        cmocka_unit_test(test_percent_encode),
        cmocka_unit_test(test_parse_id),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
