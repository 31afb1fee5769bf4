/* loggen: writes realistic machining-centre LOG files (specs/machine-logs.md) for tests,
 * the demo and benchmarks, with the dirt real controllers leave: Latin-1 text, CRLF,
 * runs of NUL bytes, stray bytes in timestamps, unknown events, non-event lines, bad
 * lines, a stop left open overnight (each day ends on MachineStop, the next begins with
 * MachineStart), and a night run through any DST change in the range (so the autumn hour
 * appears twice in file order). Times are written in the zone's local time. Reproducible:
 * the same centre, seed and days give the same bytes.
 *
 * Memory: nothing is kept between calls; the zone is borrowed. */
#ifndef SLUICE_LOGGEN_H
#define SLUICE_LOGGEN_H

#include <stdint.h>
#include <stdio.h>

struct tz_zone;

struct loggen_opts {
    const char *centre; /* DEM12, DEMALU, SU12 have their own profile; others a default */
    uint64_t seed;
    double density; /* pieces per day relative to the profile (1 = realistic) */
    const struct tz_zone *zone;
};

/* Writes the file of one production day (days since 1970, local) to out. Returns the
 * number of lines written, or -1 when the day is not worked (no file: Sundays, and
 * Saturdays but for DEM12). */
long loggen_day(const struct loggen_opts *o, int64_t day, FILE *out);

#endif
