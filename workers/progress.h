/* progress: text renderings of a job's progress for the CLI — the live bar drawn on a
 * terminal, e.g.
 *   [████░░░░░░░░░░░░░░░░] 1200/28800 (4.2%) | ✓14300 ⊘12 ✗3 | 00:01:40 | ETA 00:38:12
 * the plain line printed every few seconds when not on a terminal, and the summary at
 * the end. Pure: they write into caller buffers (truncating safely). */
#ifndef SLUICE_PROGRESS_H
#define SLUICE_PROGRESS_H

#include "job_ctx.h"

#include <stddef.h>

/* HH:MM:SS (hours grow past 99 as needed); "--:--:--" for a negative or unknown time. */
void progress_hms(double seconds, char *out, size_t outlen);

/* Seconds left at the current rate, or -1 when unknown (no total, nothing done yet). */
double progress_eta(const struct job_snapshot *s, double elapsed);

/* The bar line (no newline), width cells of bar. */
void progress_bar(const struct job_snapshot *s, double elapsed, int width, char *out,
                  size_t outlen);

/* The plain line (no newline):
 *   progress 1200/28800 (4.2%) ok=14300 ignored=12 errors=3 elapsed=00:01:40 eta=00:38:12 */
void progress_line(const struct job_snapshot *s, double elapsed, char *out, size_t outlen);

/* The summary lines (each ending with a newline): result, items, ok, ignored, errors,
 * duration, rate. status is "succeeded", "failed" or "cancelled"; error may be NULL. */
void progress_summary(const struct job_snapshot *s, double elapsed, const char *status,
                      const char *error, char *out, size_t outlen);

#endif
