/* fuzz_tzif: feeds the input to tz_parse as a TZif file and to tz_rule_parse as a POSIX TZ
 * string; when either is accepted, offsets and local → UTC conversions around a few
 * instants must be sane (offsets within ±26 h, a found instant maps back to its wall
 * time). No memory is kept. */
#include "machine_logs/tz.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static void exercise(const struct tz_zone *z) {
    static const int64_t at[] = {0, 1729990800, 1711846800, 4102444800, -2208988800};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        int32_t off = tz_offset_at(z, at[i]);
        CHECK(off >= -27 * 3600 && off <= 27 * 3600);
        int64_t a = 0, b = 0;
        int n = tz_local_to_utc(z, at[i], &a, &b);
        CHECK(n >= 0 && n <= 2);
        if (n >= 1) CHECK(a + tz_offset_at(z, a) == at[i]);
        if (n == 2) CHECK(b > a && b + tz_offset_at(z, b) == at[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    struct tz_zone z;
    if (tz_parse(&z, data, size, err, sizeof err) == 0) {
        exercise(&z);
        tz_cleanup(&z);
    } else {
        CHECK(err[0]);
    }
    char s[200];
    size_t k = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, k);
    s[k] = '\0';
    struct tz_zone r = {0};
    if (tz_rule_parse(&r.rule, s, err, sizeof err) == 0) {
        r.has_rule = true;
        r.first_off = r.rule.std_off;
        exercise(&r);
    }
    return 0;
}
