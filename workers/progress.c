/* progress: formatting of progress for the CLI; see progress.h. */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void progress_hms(double seconds, char *out, size_t outlen) {
    if (!(seconds >= 0) || seconds > 1e9) {
        snprintf(out, outlen, "--:--:--");
        return;
    }
    long long s = (long long)llround(seconds);
    snprintf(out, outlen, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

double progress_eta(const struct job_snapshot *s, double elapsed) {
    if (s->total < 0 || s->done <= 0 || elapsed <= 0) return -1;
    if (s->done >= s->total) return 0;
    double rate = (double)s->done / elapsed;
    return (double)(s->total - s->done) / rate;
}

static double fraction(const struct job_snapshot *s) {
    if (s->total <= 0) return s->total == 0 ? 1.0 : 0.0;
    double f = (double)s->done / (double)s->total;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* "1200/28800 (4.2%)" or "1200/?" without a total. */
static void counts(const struct job_snapshot *s, char *out, size_t outlen) {
    if (s->total >= 0)
        snprintf(out, outlen, "%lld/%lld (%.1f%%)", (long long)s->done, (long long)s->total,
                 100.0 * fraction(s));
    else
        snprintf(out, outlen, "%lld/?", (long long)s->done);
}

void progress_bar(const struct job_snapshot *s, double elapsed, int width, char *out,
                  size_t outlen) {
    if (width < 1) width = 1;
    if (width > 200) width = 200;
    int full = s->total >= 0 ? (int)floor(fraction(s) * width) : 0;
    char bar[200 * 3 + 1];
    size_t n = 0;
    for (int i = 0; i < width; i++) {
        const char *cell = i < full ? "\xe2\x96\x88" : "\xe2\x96\x91"; /* █ ░ */
        memcpy(bar + n, cell, 3);
        n += 3;
    }
    bar[n] = '\0';
    char c[96], el[32], eta[32];
    counts(s, c, sizeof c);
    progress_hms(elapsed, el, sizeof el);
    progress_hms(progress_eta(s, elapsed), eta, sizeof eta);
    snprintf(out, outlen,
             "[%s] %s | \xe2\x9c\x93%lld \xe2\x8a\x98%lld \xe2\x9c\x97%lld | %s | ETA %s", bar, c,
             (long long)s->ok, (long long)s->ignored, (long long)s->errors, el, eta);
}

void progress_line(const struct job_snapshot *s, double elapsed, char *out, size_t outlen) {
    char c[96], el[32], eta[32];
    counts(s, c, sizeof c);
    progress_hms(elapsed, el, sizeof el);
    progress_hms(progress_eta(s, elapsed), eta, sizeof eta);
    snprintf(out, outlen, "progress %s ok=%lld ignored=%lld errors=%lld elapsed=%s eta=%s", c,
             (long long)s->ok, (long long)s->ignored, (long long)s->errors, el, eta);
}

void progress_summary(const struct job_snapshot *s, double elapsed, const char *status,
                      const char *error, char *out, size_t outlen) {
    long long items = s->done > 0 ? s->done : s->ok + s->ignored + s->errors;
    const char *unit = s->unit[0] ? s->unit : "items";
    double rate = elapsed > 0 ? (double)items / elapsed : 0;
    snprintf(out, outlen,
             "result: %s%s%s\nitems: %lld\nok: %lld\nignored: %lld\nerrors: %lld\n"
             "duration: %.2f s\nrate: %.1f %s/s\n",
             status, error && *error ? ": " : "", error && *error ? error : "", items,
             (long long)s->ok, (long long)s->ignored, (long long)s->errors, elapsed, rate, unit);
}
