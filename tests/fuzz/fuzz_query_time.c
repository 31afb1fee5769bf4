/* fuzz_query_time: feeds the input (as a NUL-terminated string, cut at its first NUL) to
 * parse_date and parse_instant, the parsers of the date and RFC 3339 query parameters
 * (from, to, run_at). Checks: a parsed date is a real calendar day of years 1..9999,
 * date_format writes it back as the input itself and that text parses to the same date;
 * date_days / date_add_days round-trip (day 0 is 1970-01-01, adding k days adds k to
 * date_days, adding then subtracting gives the date back, the next day is a valid date
 * or 10000-01-01). A parsed instant has a UTC date of years 1..9999 that formats and
 * parses back, that is the day of its epoch (but for a leap second, :60, counted as the
 * next second), its normalised text fits and parses again to the same epoch and text;
 * the date parsers never accept the same text. Nothing is kept between inputs. */
#include "api/query_params.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static bool same_date(struct query_date a, struct query_date b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
}

static bool calendar_day(struct query_date d) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1) return false;
    bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
    return d.day <= (d.month == 2 && leap ? 29 : days[d.month - 1]);
}

/* A valid date formats to text that parses back to it. */
static void check_format(struct query_date d) {
    char text[11];
    date_format(&d, text);
    CHECK(strlen(text) == 10);
    struct query_date back;
    CHECK(parse_date(text, &back) && same_date(back, d));
}

static void check_days(struct query_date d, long k) {
    static const struct query_date epoch = {1970, 1, 1};
    long n = date_days(&d);
    CHECK(same_date(date_add_days(&epoch, n), d));
    CHECK(same_date(date_add_days(&d, 0), d));
    struct query_date later = date_add_days(&d, k);
    CHECK(date_days(&later) == n + k);
    CHECK(same_date(date_add_days(&later, -k), d));
    struct query_date next = date_add_days(&d, 1);
    CHECK(calendar_day(next) || (next.year == 10000 && next.month == 1 && next.day == 1));
    if (calendar_day(next)) check_format(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 128) return 0; /* both parsers refuse anything over 40 bytes */
    char s[129];
    memcpy(s, data, size);
    s[size] = '\0';
    /* a shift derived from the input, up to about ±2,900 years */
    long k = 0;
    for (size_t i = 0; i < size; i++) k = (k * 31 + data[i]) % 2100000;
    k -= 1050000;

    struct query_date d;
    bool is_date = parse_date(s, &d);
    if (is_date) {
        CHECK(strlen(s) == 10 && calendar_day(d));
        char text[11];
        date_format(&d, text);
        CHECK(strcmp(text, s) == 0);
        check_format(d);
        check_days(d, k);
    }

    struct query_time t;
    memset(&t, 0, sizeof t);
    if (!parse_instant(s, &t)) return 0;
    CHECK(!is_date);
    CHECK(t.kind == QUERY_TIME_INSTANT);
    CHECK(calendar_day(t.date));
    check_format(t.date);
    check_days(t.date, k);
    long long day = t.epoch >= 0 ? t.epoch / 86400 : -((-t.epoch + 86399) / 86400);
    long long of_day = t.epoch - day * 86400;
    if (date_days(&t.date) != day) /* a leap second at the end of the UTC day */
        CHECK(date_days(&t.date) + 1 == day && of_day == 0);
    size_t n = strnlen(t.text, sizeof t.text);
    CHECK(n >= 20 && n < sizeof t.text);
    struct query_time again;
    memset(&again, 0, sizeof again);
    CHECK(parse_instant(t.text, &again));
    CHECK(again.epoch == t.epoch && same_date(again.date, t.date));
    CHECK(strcmp(again.text, t.text) == 0);
    return 0;
}
