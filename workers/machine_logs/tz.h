/* tz: a time zone of the tz database, read from its TZif bytes (RFC 8536) or from a
 * POSIX TZ string, for converting a centre's local wall-clock times to UTC without
 * touching the process-wide TZ (other threads keep their own local time). tz_parse and
 * tz_rule_parse are pure (bytes in); tz_load reads /usr/share/zoneinfo (or $TZDIR).
 *
 * Memory: a struct tz_zone owns its transition arrays (tz_cleanup frees them; it accepts
 * a zeroed or half-built zone). */
#ifndef SLUICE_TZ_H
#define SLUICE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"): offsets are seconds EAST of UTC. */
struct tz_rule {
    int32_t std_off, dst_off;
    bool has_dst;
    /* Each change: kind 'M' (month, week, weekday), 'J' (1..365, no Feb 29) or 'D'
     * (0..365); secs is the local time of the change (may be < 0 or > 24 h). */
    struct {
        char kind;
        int month, week, wday, day;
        int32_t secs;
    } start, end;
};

struct tz_zone {
    int64_t *trans; /* UTC instants of the changes, ascending */
    int32_t *offs;  /* offset in force from trans[i] on */
    size_t ntrans;
    int32_t first_off; /* before the first change */
    bool has_rule;     /* after the last change (or always, when ntrans is 0) */
    struct tz_rule rule;
};

/* Reads a TZif file's bytes (version 1 to 4; the 64-bit part and footer when present).
 * 0, or -1 with err. */
int tz_parse(struct tz_zone *z, const uint8_t *data, size_t len, char *err, size_t errlen);

/* Reads a POSIX TZ string (the TZif footer, or a zone given as such a string).
 * 0, or -1 with err. */
int tz_rule_parse(struct tz_rule *r, const char *s, char *err, size_t errlen);

/* A zone by name (Europe/Paris, UTC, or a POSIX TZ string such as "CET-1CEST,..."):
 * the file under $TZDIR or /usr/share/zoneinfo. 0, or -1 with err. */
int tz_load(struct tz_zone *z, const char *name, char *err, size_t errlen);

void tz_cleanup(struct tz_zone *z);

/* Offset from UTC (seconds east) in force at the UTC instant t. */
int32_t tz_offset_at(const struct tz_zone *z, int64_t t);

/* The UTC instants whose local wall-clock time is `local` (a wall-clock time written
 * as seconds since 1970-01-01 00:00 as if it were UTC). Returns how many (0, 1 or 2):
 *   1: *first is it;
 *   2: the time occurs twice (autumn): *first is the earlier, *second the later;
 *   0: it does not exist (spring gap): *first is the instant read with the offset in
 *      force before the gap (02:30 on a spring-forward night becomes 03:30). */
int tz_local_to_utc(const struct tz_zone *z, int64_t local, int64_t *first, int64_t *second);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
