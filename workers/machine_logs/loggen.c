/* loggen: one production day's LOG file per call (see loggen.h). A splitmix64 stream seeded
 * from (seed, centre, day) draws every choice; times advance in UTC and are written as the
 * zone's wall-clock time. No allocation. */
#include "machine_logs/loggen.h"

#include "machine_logs/tz.h"

#include <stdbool.h>
#include <string.h>

struct profile {
    const char *code;
    int shift_start_min, shift_minutes;
    double cycle_min, cycle_max;
    int saturday;
    const char *refs[6];
    const char *colours[5]; /* Latin-1 bytes */
    const char *lengths[3];
};

static const struct profile profiles[] = {
    {"DEM12",
     5 * 60 + 30,
     930,
     35,
     60,
     1,
     {"7001", "7002", "7050", "7061", "7120", NULL},
     {"Blanc", "Ch\xeane dor\xe9", "Gris anthracite", "Cr\xe8me", NULL},
     {"6500", "6000", NULL}},
    {"DEMALU",
     6 * 60,
     480,
     70,
     130,
     0,
     {"AL-4410", "AL-4420", "AL-5100", "AL-5210", NULL},
     {"RAL 7016", "RAL 9016", "Anodis\xe9 naturel", NULL},
     {"6500", "6000", "5800"}},
    {"SU12",
     6 * 60,
     690,
     50,
     90,
     0,
     {"HY-200", "HY-210", "HY-330", NULL},
     {"Blanc/RAL 7016", "Blanc", "Ch\xeane dor\xe9/RAL 7016", NULL},
     {"6500", NULL}},
    {NULL,
     6 * 60,
     480,
     45,
     90,
     0,
     {"P-100", "P-200", NULL},
     {"Blanc", "Gris", NULL},
     {"6000", NULL}},
};

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(struct rng *r) { return (double)(next(r) >> 11) / 9007199254740992.0; }
static int below(struct rng *r, int n) { return (int)(unit(r) * n); }
static int count(const char *const *a, int max) {
    int n = 0;
    while (n < max && a[n]) n++;
    return n;
}

struct writer {
    FILE *out;
    const struct tz_zone *zone;
    struct rng *r;
    const char *eol;
    long lines;
};

/* "YYYYMMDD HH:MM:SS" of the wall-clock time at UTC instant t, with, now and then, a
 * stray non-ASCII byte inside (as controllers do). */
static void stamp(struct writer *w, int64_t t) {
    int64_t local = t + tz_offset_at(w->zone, t);
    int64_t days = local / 86400 - (local % 86400 < 0), tod = local - days * 86400, y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    char s[32];
    int n = snprintf(s, sizeof s, "%04d%02d%02d %02d:%02d:%02d", (int)y, m, d, (int)(tod / 3600),
                     (int)(tod / 60 % 60), (int)(tod % 60));
    if (unit(w->r) < 0.002) { /* a stray byte */
        int at = below(w->r, n + 1);
        fwrite(s, 1, (size_t)at, w->out);
        fputc(unit(w->r) < 0.5 ? 0xb0 : 0xff, w->out);
        fwrite(s + at, 1, (size_t)(n - at), w->out);
    } else {
        fwrite(s, 1, (size_t)n, w->out);
    }
}

static void event(struct writer *w, int64_t t, const char *name, const char *details) {
    stamp(w, t);
    fputs("|@", w->out);
    fputs(name, w->out);
    if (details) {
        fputs(": ", w->out);
        fputs(details, w->out);
    }
    fputs(w->eol, w->out);
    w->lines++;
}

static void raw(struct writer *w, const char *line) {
    fputs(line, w->out);
    fputs(w->eol, w->out);
    w->lines++;
}

static const struct profile *profile_of(const char *code) {
    for (const struct profile *p = profiles; p->code; p++)
        if (code && strcmp(code, p->code) == 0) return p;
    return &profiles[sizeof profiles / sizeof profiles[0] - 1];
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* A night run from 01:00 to 04:00 local on a DST-change day: pieces every few minutes,
 * written in file order, so the autumn hour appears twice and the spring hour not. */
static void night_run(struct writer *w, int64_t day, const struct profile *p) {
    int64_t a, b;
    tz_local_to_utc(w->zone, day * 86400 + 3600, &a, &b);
    int64_t end;
    tz_local_to_utc(w->zone, day * 86400 + 4 * 3600, &end, &b);
    event(w, a, "MachineStart", "Nuit");
    char d[160];
    snprintf(d, sizeof d, "R:%s L:%s C:%s", p->refs[0], p->lengths[0], p->colours[0]);
    event(w, a + 30, "JobProfiel", d);
    for (int64_t t = a + 300; t < end - 300; t += 240 + below(w->r, 240)) {
        snprintf(d, sizeof d, "R:%s L:%.1f C:%s", p->refs[0], 450 + 2200 * unit(w->r),
                 p->colours[0]);
        event(w, t, "StukUitgevoerd", d);
    }
    event(w, end - 120, "MachineStop", "Fin de nuit");
}

long loggen_day(const struct loggen_opts *o, int64_t day, FILE *out) {
    const struct profile *p = profile_of(o->centre);
    int64_t wday = ((day + 4) % 7 + 7) % 7; /* 0 = Sunday */
    int64_t midnight, x;
    tz_local_to_utc(o->zone, day * 86400, &midnight, &x);
    bool dst = tz_offset_at(o->zone, midnight) != tz_offset_at(o->zone, midnight + 86400);
    bool off = wday == 0 || (wday == 6 && !p->saturday);
    if (off && !dst) return -1;
    struct rng r = {o->seed ^ hash_str(o->centre) ^ (uint64_t)day * 0x2545f4914f6cdd1dull};
    struct writer w = {out, o->zone, &r,
                       strcmp(p->code ? p->code : "", "DEM12") == 0 ? "\r\n" : "\n", 0};
    int nrefs = count(p->refs, 6), ncol = count(p->colours, 5), nlen = count(p->lengths, 3);
    char line[256];
    snprintf(line, sizeof line, "=== %s journal de production ===", o->centre ? o->centre : "?");
    raw(&w, line);
    /* a DST change today (a Sunday in Europe): the night run, and only it on a day off */
    if (dst) night_run(&w, day, p);
    if (off) return w.lines;
    int64_t start, b;
    tz_local_to_utc(o->zone, day * 86400 + p->shift_start_min * 60 + below(&r, 1200), &start, &b);
    event(&w, start, "MachineStart", "D\xe9marrage \xe9quipe");
    double density = o->density > 0 ? o->density : 1;
    int n = (int)(p->shift_minutes * 60 * 0.7 / ((p->cycle_min + p->cycle_max) / 2) *
                  (0.85 + 0.25 * unit(&r)) * density);
    if (n < 20) n = 20;
    int batch = 20 + below(&r, 21);
    int64_t t = start + 20;
    const char *ref = p->refs[0], *col = p->colours[0], *len = p->lengths[0];
    snprintf(line, sizeof line, "Op\xe9rateur: J\xe9r\xf4me");
    raw(&w, line);
    for (int i = 1; i <= n; i++) {
        if ((i - 1) % batch == 0) {
            ref = p->refs[below(&r, nrefs)];
            col = p->colours[below(&r, ncol)];
            len = p->lengths[below(&r, nlen)];
            if (unit(&r) < 0.2)
                snprintf(line, sizeof line, "R:%s L:%s", ref, len); /* no C: */
            else
                snprintf(line, sizeof line, "R:%s L:%s C:%s", ref, len, col);
            event(&w, t, "JobProfiel", line);
            t += 5;
        }
        double u = unit(&r);
        if (i > 1 && (i == n / 3 || i == 2 * n / 3)) { /* breaks */
            event(&w, t, "MachineStop", "Pause");
            t += (int64_t)(900 + 1200 * unit(&r) / density);
            event(&w, t, "MachineStart", NULL);
        } else if (u < 0.004) {
            event(&w, t, "MachineStop", NULL);
            t += (int64_t)(240 + 900 * unit(&r) / density);
            event(&w, t, "MachineStart", "Reprise");
        } else if (u < 0.06) {
            double wait = 15 + 225 * unit(&r);
            if (unit(&r) < 0.5)
                snprintf(line, sizeof line, "%d sec", (int)wait);
            else
                snprintf(line, sizeof line, "%.1f", wait);
            event(&w, t, "MachineWait", line);
            t += (int64_t)wait;
        }
        t += (int64_t)((p->cycle_min + (p->cycle_max - p->cycle_min) * unit(&r)) / density);
        snprintf(line, sizeof line, "R:%s L:%.1f C:%s", ref, 450 + 2200 * unit(&r),
                 col ? col : "-");
        event(&w, t, "StukUitgevoerd", line);
        double dirt = unit(&r);
        if (dirt < 0.003) {
            event(&w, t + 1, "ToolChange", "T12 \xe0 T14");
        } else if (dirt < 0.005) {
            event(&w, t + 2, "Alarm", "E204 porte ouverte");
        } else if (dirt < 0.006) {
            raw(&w, "--- compteur remis \xe0 z\xe9ro ---");
        } else if (dirt < 0.0066) { /* a bad line: a seven-digit date */
            int64_t local = t + tz_offset_at(o->zone, t);
            int64_t dd = local / 86400, yy;
            int mm, d2;
            tz_civil_from_days(dd, &yy, &mm, &d2);
            snprintf(line, sizeof line, "%04d%d%02d 10:00:00|@StukUitgevoerd: R:%s", (int)yy, mm,
                     d2, ref);
            raw(&w, line);
        } else if (dirt < 0.0070) {
            event(&w, t + 1, "MachineWait", "quelques sec");
        } else if (dirt < 0.0072) { /* a power cut: a run of NULs */
            int nul = 50 + below(&r, 400);
            for (int k = 0; k < nul; k++) fputc(0, out);
            fputs(w.eol, out);
            w.lines++;
        }
    }
    event(&w, t + 60 + below(&r, 600), "MachineStop", "Fin de poste");
    return w.lines;
}
