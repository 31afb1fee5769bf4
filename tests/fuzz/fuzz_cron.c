/* fuzz_cron: feeds the input to cron_parse as an expression and, when it parses, checks
 * cron_next from instants around the Europe/Paris DST changes and an ordinary day:
 * the fire is after the start, its wall-clock time is selected (or it is the end of a
 * spring-forward gap), no selected minute lies between the start and the fire (brute
 * force over up to three days), and the following fire is later still. Rejected inputs
 * must come with a reason. TZ is set once in LLVMFuzzerInitialize. No memory is kept. */
#include "cron.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char err[256];
    if (cron_use_timezone("Europe/Paris", err, sizeof err) != 0) abort();
    return 0;
}

static bool same_wall(const struct tm *a, const struct tm *b) {
    return a->tm_year == b->tm_year && a->tm_yday == b->tm_yday && a->tm_hour == b->tm_hour &&
           a->tm_min == b->tm_min;
}

/* A second occurrence of a wall time (fall back): the same wall time an hour earlier. */
static bool repeated(time_t m) {
    time_t earlier = m - 3600;
    struct tm a, b;
    localtime_r(&m, &a);
    localtime_r(&earlier, &b);
    return same_wall(&a, &b);
}

static void check_from(const struct cron *c, time_t t) {
    bool every_hour = (c->hours & 0xffffff) == 0xffffff;
    time_t next = cron_next(c, t);
    if (next == (time_t)-1) return; /* none within the horizon: allowed */
    CHECK(next > t);
    struct tm w;
    localtime_r(&next, &w);
    if (!cron_matches(c, &w)) {
        struct tm before;
        time_t b = next - 1;
        localtime_r(&b, &before);
        CHECK(before.tm_gmtoff < w.tm_gmtoff); /* only the end of a gap may not match */
    }
    if (next - t <= 3 * 86400) {
        for (time_t m = t - (t % 60 + 60) % 60 + 60; m < next; m += 60) {
            struct tm mw;
            localtime_r(&m, &mw);
            CHECK(!cron_matches(c, &mw) || (!every_hour && repeated(m)));
        }
    }
    time_t after = cron_next(c, next);
    CHECK(after == (time_t)-1 || after > next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 512) return 0;
    char expr[513];
    memcpy(expr, data, size);
    expr[size] = '\0';
    struct cron c;
    char err[256] = "";
    if (cron_parse(expr, &c, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        return 0;
    }
    CHECK(c.minutes != 0 && c.minutes < (1ull << 60));
    CHECK(c.hours != 0 && c.hours < (1u << 24));
    CHECK(c.days != 0 && (c.days & 1) == 0);
    CHECK(c.months != 0 && (c.months & 1) == 0 && c.months < (1u << 13));
    CHECK(c.weekdays != 0 && c.weekdays < (1u << 7));
    static const time_t starts[] = {
        1711846800, /* 2024-03-31 01:00:00Z: Paris springs forward */
        1711843230, /* 2024-03-31 00:00:30Z: an hour before */
        1729990800, /* 2024-10-27 01:00:00Z: Paris falls back */
        1729987200, /* 2024-10-27 00:00:00Z: first 02:00 */
        1718000000, /* 2024-06-10, an ordinary day */
    };
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) check_from(&c, starts[i]);
    return 0;
}
