/* cron: standard 5-field cron expressions (minute hour day-of-month month day-of-week:
 * lists, ranges, steps, `*`, month and weekday names, and the @hourly/@daily/@weekly/
 * @monthly/@yearly macros) and the next fire time after an instant in the process's
 * local time zone. Pure: no I/O, no allocation; struct cron is a plain value.
 *
 * Time zone: fire times are computed with localtime_r, so in the zone named by TZ.
 * cron_use_timezone sets TZ once at process start-up, before any thread starts
 * (`sluice serve` and `sluice jobs` do so with SCHEDULE_TZ).
 *
 * DST: a local time that does not exist (spring forward) fires at the first instant
 * after the gap; a local time that happens twice (fall back) fires once, at its first
 * occurrence — except when the hour field selects every hour (e.g. `*\/15 * * * *`),
 * whose fires follow real time through both occurrences (Vixie cron's rule). */
#ifndef SLUICE_CRON_H
#define SLUICE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CRON_MAX_LENGTH 200

struct cron {
    uint64_t minutes; /* bit m: minute m, 0-59 */
    uint32_t hours;   /* bit h: hour h, 0-23 */
    uint32_t days;    /* bit d: day of month d, 1-31 */
    uint16_t months;  /* bit m: month m, 1-12 */
    uint8_t weekdays; /* bit w: 0 = Sunday ... 6 = Saturday */
    /* The day-of-month or day-of-week field starts with `*`: a day then has to match
     * both fields; when neither does, either field matching is enough. */
    bool dom_star, dow_star;
};

/* Parses expr; 0 on success, else -1 with a message naming the field in err. */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen);

/* The first fire strictly after `after`, or (time_t)-1 when none within 8 years. */
time_t cron_next(const struct cron *c, time_t after);

/* Whether the local wall-clock time tm (minute precision) is selected by c. */
bool cron_matches(const struct cron *c, const struct tm *tm);

/* Sets TZ=tz for the whole process and checks that the zone exists (a name from the
 * tz database such as "Europe/Paris", or "UTC"). Not thread-safe: call it before any
 * thread starts. 0, or -1 with a message in err. */
int cron_use_timezone(const char *tz, char *err, size_t errlen);

#endif
