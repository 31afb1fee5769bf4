/* cron: parser and next-fire computation; see cron.h.
 *
 * cron_next walks instants forward, jumping over whole months, days, hours or minutes
 * that the expression does not select. Each jump is computed on the wall clock with
 * the UTC offset of the instant it starts from; when the offset differs at the
 * landing instant, a DST transition lies between: the walk restarts at the transition
 * (found by bisection), and when the transition skipped wall-clock times (spring
 * forward) that the expression selects, the transition itself is the fire. */
#include "cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- parsing ---------------------------------------------------------------------- */

struct field_def {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is value min + i; NULL: numbers only */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_def fields[F_COUNT] = {
    [F_MINUTE] = {"minute", 0, 59, NULL},           [F_HOUR] = {"hour", 0, 23, NULL},
    [F_DOM] = {"day-of-month", 1, 31, NULL},        [F_MONTH] = {"month", 1, 12, month_names},
    [F_DOW] = {"day-of-week", 0, 7, weekday_names}, /* 7 is Sunday too */
};

static const struct {
    const char *name, *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...);

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A number or (for months and weekdays) a three-letter name at *p. */
static int parse_value(const char **p, const char *end, const struct field_def *f, int *out,
                       char *err, size_t errlen) {
    const char *s = *p;
    if (s < end && isdigit((unsigned char)*s)) {
        long v = 0;
        while (s < end && isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 1000) v = 1000; /* clamp: reported as out of range below */
            s++;
        }
        if (v < f->min || v > f->max)
            return fail(err, errlen, "%s field: %ld is out of range %d-%d", f->name, v, f->min,
                        f->max);
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names && end - s >= 3) {
        for (int i = 0; f->names[i]; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0 &&
                (end - s == 3 || !isalpha((unsigned char)s[3]))) {
                *out = f->min + i;
                *p = s + 3;
                return 0;
            }
        }
    }
    size_t n = 0;
    while (s + n < end && s[n] != ',' && s[n] != '-' && s[n] != '/' && n < 16) n++;
    return fail(err, errlen, "%s field: \"%.*s\" is not a %s", f->name, (int)n, s,
                f->names ? "number or a name" : "number");
}

/* One field (comma-separated items) into bits; *star when it starts with '*'. */
static int parse_field(const char *s, size_t len, const struct field_def *f, uint64_t *bits,
                       bool *star, char *err, size_t errlen) {
    const char *p = s, *end = s + len;
    *bits = 0;
    *star = len > 0 && s[0] == '*';
    for (;;) {
        int lo, hi;
        bool range = false;
        if (p < end && *p == '*') {
            lo = f->min;
            hi = f->max;
            range = true;
            p++;
        } else {
            if (p >= end || *p == ',')
                return fail(err, errlen, "%s field: empty item in \"%.*s\"", f->name, (int)len, s);
            if (parse_value(&p, end, f, &lo, err, errlen) != 0) return -1;
            hi = lo;
            if (p < end && *p == '-') {
                p++;
                if (parse_value(&p, end, f, &hi, err, errlen) != 0) return -1;
                if (hi < lo)
                    return fail(err, errlen, "%s field: range %d-%d goes backwards", f->name, lo,
                                hi);
                range = true;
            }
        }
        int step = 1;
        if (p < end && *p == '/') {
            p++;
            long v = 0;
            const char *digits = p;
            while (p < end && isdigit((unsigned char)*p)) {
                v = v * 10 + (*p - '0');
                if (v > 1000) v = 1000;
                p++;
            }
            if (p == digits || v < 1 || v > f->max - f->min + 1)
                return fail(err, errlen, "%s field: step must be a number from 1 to %d", f->name,
                            f->max - f->min + 1);
            step = (int)v;
            if (!range) hi = f->max; /* "a/n": from a to the end of the range */
        }
        for (int v = lo; v <= hi; v += step) *bits |= 1ull << v;
        if (p == end) break;
        if (*p != ',')
            return fail(err, errlen, "%s field: unexpected \"%c\" in \"%.*s\"", f->name, *p,
                        (int)len, s);
        p++;
        if (p == end) return fail(err, errlen, "%s field: ends with a comma", f->name);
    }
    return 0;
}

static int month_days_max(int month) {
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[month - 1];
}

int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!expr) return fail(err, errlen, "no expression");
    size_t total = strlen(expr);
    if (total > CRON_MAX_LENGTH)
        return fail(err, errlen, "longer than %d characters", CRON_MAX_LENGTH);
    while (*expr == ' ' || *expr == '\t') expr++;
    if (*expr == '@') {
        size_t n = strcspn(expr, " \t");
        const char *rest = expr + n;
        while (*rest == ' ' || *rest == '\t') rest++;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (*rest == '\0' && strlen(macros[i].name) == n &&
                strncasecmp(expr, macros[i].name, n) == 0)
                return cron_parse(macros[i].expansion, out, err, errlen);
        return fail(err, errlen,
                    "unknown macro \"%.*s\" (known: @yearly, @monthly, @weekly, "
                    "@daily, @hourly)",
                    (int)(n > 32 ? 32 : n), expr);
    }
    const char *starts[F_COUNT];
    size_t lens[F_COUNT];
    int n = 0;
    const char *p = expr;
    while (*p) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (n == F_COUNT)
            return fail(err, errlen,
                        "more than 5 fields (minute hour day-of-month month "
                        "day-of-week)");
        starts[n] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        lens[n] = (size_t)(p - starts[n]);
        n++;
    }
    if (n != F_COUNT)
        return fail(err, errlen,
                    "%d field%s, expected 5 (minute hour day-of-month month "
                    "day-of-week)",
                    n, n == 1 ? "" : "s");
    uint64_t bits[F_COUNT];
    bool star[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        if (parse_field(starts[i], lens[i], &fields[i], &bits[i], &star[i], err, errlen) != 0)
            return -1;
    out->minutes = bits[F_MINUTE];
    out->hours = (uint32_t)bits[F_HOUR];
    out->days = (uint32_t)bits[F_DOM];
    out->months = (uint16_t)bits[F_MONTH];
    out->weekdays = (uint8_t)((bits[F_DOW] | (bits[F_DOW] >> 7)) & 0x7f); /* 7 → Sunday */
    out->dom_star = star[F_DOM];
    out->dow_star = star[F_DOW];
    if (out->dom_star || out->dow_star) {
        /* Days are selected by day of month: one of them must exist in a chosen month. */
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; m++)
            for (int d = 1; d <= month_days_max(m) && !possible; d++)
                possible = (out->months >> m & 1) && (out->days >> d & 1);
        if (!possible)
            return fail(err, errlen,
                        "day-of-month field: no selected day exists in the "
                        "selected months");
    }
    return 0;
}

/* ---- matching ---------------------------------------------------------------------- */

static bool day_matches(const struct cron *c, int mday, int wday) {
    bool dom = c->days >> mday & 1, dow = c->weekdays >> wday & 1;
    return (c->dom_star || c->dow_star) ? (dom && dow) : (dom || dow);
}

bool cron_matches(const struct cron *c, const struct tm *tm) {
    return (c->months >> (tm->tm_mon + 1) & 1) && day_matches(c, tm->tm_mday, tm->tm_wday) &&
           (c->hours >> tm->tm_hour & 1) && (c->minutes >> tm->tm_min & 1);
}

/* ---- calendar arithmetic ----------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Wall-clock seconds of a broken-down local time (as if it were UTC). */
static int64_t wall_seconds(const struct tm *tm) {
    return days_from_civil((int64_t)tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday) * 86400 +
           tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

static long offset_at(time_t u) {
    struct tm tm;
    if (!localtime_r(&u, &tm)) return 0;
    return tm.tm_gmtoff;
}

/* The first instant in (a, b] whose UTC offset differs from a's (offsets differ at a
 * and b). */
static time_t first_transition(time_t a, time_t b) {
    long oa = offset_at(a);
    time_t lo = a, hi = b;
    while (hi - lo > 1) {
        time_t mid = lo + (hi - lo) / 2;
        if (offset_at(mid) == oa)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Whether some wall-clock minute skipped by the spring-forward transition at t (offset
 * before ob, after oa > ob) is selected. */
static bool gap_selected(const struct cron *c, time_t t, long ob, long oa) {
    for (int64_t w = (int64_t)t + ob; w < (int64_t)t + oa; w += 60) {
        time_t wt = (time_t)w;
        struct tm tm;
        if (gmtime_r(&wt, &tm) && cron_matches(c, &tm)) return true;
    }
    return false;
}

/* Whether the wall-clock time of u already happened once, earlier (fall back). */
static bool is_repeat(time_t u) {
    long now = offset_at(u), before = offset_at(u - 3 * 3600);
    if (before <= now) return false;
    return offset_at(u - (before - now)) == before;
}

static int next_bit(uint64_t bits, int from, int max) {
    for (int i = from; i <= max; i++)
        if (bits >> i & 1) return i;
    return -1;
}

time_t cron_next(const struct cron *c, time_t after) {
    const bool every_hour = (c->hours & 0xffffff) == 0xffffff;
    const time_t horizon = after + (time_t)8 * 366 * 86400;
    time_t prev = after;
    time_t u = after - ((after % 60) + 60) % 60 + 60;
    for (int iter = 0; iter < 200000 && u <= horizon; iter++) {
        long op = offset_at(prev), ou = offset_at(u);
        if (op != ou) {
            time_t t = first_transition(prev, u);
            long ob = offset_at(t - 1), oa = offset_at(t);
            u = t;
            if (oa > ob && gap_selected(c, t, ob, oa)) return t;
        }
        prev = u;
        struct tm w;
        if (!localtime_r(&u, &w)) return (time_t)-1;
        int64_t here = wall_seconds(&w), day = here - (here % 86400 + 86400) % 86400;
        int64_t target;
        if (!(c->months >> (w.tm_mon + 1) & 1)) {
            int y = w.tm_year + 1900, m = w.tm_mon + 2;
            if (m == 13) m = 1, y++;
            target = days_from_civil(y, m, 1) * 86400;
        } else if (!day_matches(c, w.tm_mday, w.tm_wday)) {
            target = day + 86400;
        } else if (!(c->hours >> w.tm_hour & 1)) {
            int h = next_bit(c->hours, w.tm_hour + 1, 23);
            target = h < 0 ? day + 86400 : day + h * 3600;
        } else if (!(c->minutes >> w.tm_min & 1)) {
            int m = next_bit(c->minutes, w.tm_min + 1, 59);
            target = here - w.tm_min * 60 - w.tm_sec + (m < 0 ? 3600 : m * 60);
        } else if (!every_hour && is_repeat(u)) {
            target = here + 60; /* fired at the first occurrence of this wall time */
        } else {
            return u;
        }
        u += (time_t)(target - here);
    }
    return (time_t)-1;
}

/* ---- time zone --------------------------------------------------------------------- */

int cron_use_timezone(const char *tz, char *err, size_t errlen) {
    if (!tz || !*tz) return fail(err, errlen, "SCHEDULE_TZ is empty");
    if (strcmp(tz, "UTC") != 0) {
        if (tz[0] == '/' || strstr(tz, "..") || strlen(tz) > 64)
            return fail(err, errlen, "SCHEDULE_TZ=\"%.64s\" is not a time zone name", tz);
        const char *dir = getenv("TZDIR");
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            return fail(err, errlen,
                        "SCHEDULE_TZ=\"%s\" is not a known time zone (no %s): use a tz "
                        "database name such as Europe/Paris or UTC",
                        tz, path);
    }
    if (setenv("TZ", tz, 1) != 0) return fail(err, errlen, "cannot set TZ");
    tzset();
    return 0;
}
