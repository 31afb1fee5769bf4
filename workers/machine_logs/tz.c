/* tz: TZif and POSIX TZ rules, local wall-clock time → UTC (see tz.h). The zone owns its
 * two arrays; everything else is on the stack. */
#include "machine_logs/tz.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_MAX_FILE (1 << 20)

int64_t tz_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int64_t y, int m) {
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* ---- POSIX TZ strings ------------------------------------------------------------ */

static const char *rule_name(const char *p) {
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 4 ? q + 1 : NULL;
    }
    const char *q = p;
    while (isalpha((unsigned char)*q)) q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to max_hours; *secs gets it. */
static const char *rule_time(const char *p, int max_hours, int32_t *secs) {
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p)) return NULL;
    int h = 0, mi = 0, s = 0, n = 0;
    while (isdigit((unsigned char)*p) && n++ < 3) h = h * 10 + (*p++ - '0');
    if (h > max_hours) return NULL;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
        mi = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
            if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
            s = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
    }
    if (mi > 59 || s > 59) return NULL;
    *secs = sign * (h * 3600 + mi * 60 + s);
    return p;
}

static const char *rule_number(const char *p, int lo, int hi, int *out) {
    if (!isdigit((unsigned char)*p)) return NULL;
    int v = 0, n = 0;
    while (isdigit((unsigned char)*p) && n++ < 4) v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi) return NULL;
    *out = v;
    return p;
}

static const char *rule_change(const char *p, char *kind, int *month, int *week, int *wday,
                               int *day, int32_t *secs) {
    if (*p == 'M') {
        *kind = 'M';
        p = rule_number(p + 1, 1, 12, month);
        if (!p || *p++ != '.') return NULL;
        p = rule_number(p, 1, 5, week);
        if (!p || *p++ != '.') return NULL;
        p = rule_number(p, 0, 6, wday);
    } else if (*p == 'J') {
        *kind = 'J';
        p = rule_number(p + 1, 1, 365, day);
    } else {
        *kind = 'D';
        p = rule_number(p, 0, 365, day);
    }
    if (!p) return NULL;
    *secs = 7200;
    if (*p == '/') p = rule_time(p + 1, 167, secs);
    return p;
}

int tz_rule_parse(struct tz_rule *r, const char *s, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    const char *p = rule_name(s);
    int32_t off = 0;
    if (!p || !(p = rule_time(p, 24, &off))) goto bad;
    r->std_off = -off; /* POSIX offsets are west of UTC */
    if (*p == '\0') return 0;
    if (!(p = rule_name(p))) goto bad;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = rule_time(p, 24, &off))) goto bad;
        r->dst_off = -off;
    }
    if (*p == '\0') { /* no rule: the US one, as POSIX implementations assume */
        r->start.kind = r->end.kind = 'M';
        r->start.month = 3, r->start.week = 2, r->start.wday = 0, r->start.secs = 7200;
        r->end.month = 11, r->end.week = 1, r->end.wday = 0, r->end.secs = 7200;
        return 0;
    }
    if (*p++ != ',') goto bad;
    p = rule_change(p, &r->start.kind, &r->start.month, &r->start.week, &r->start.wday,
                    &r->start.day, &r->start.secs);
    if (!p || *p++ != ',') goto bad;
    p = rule_change(p, &r->end.kind, &r->end.month, &r->end.week, &r->end.wday, &r->end.day,
                    &r->end.secs);
    if (!p || *p != '\0') goto bad;
    return 0;
bad:
    snprintf(err, errlen, "not a POSIX TZ string: \"%.60s\"", s);
    return -1;
}

/* Local seconds since the epoch (as if UTC) of one change in year y. */
static int64_t change_local(int64_t y, char kind, int month, int week, int wday, int day,
                            int32_t secs) {
    int64_t days;
    if (kind == 'J') {
        days = tz_days_from_civil(y, 1, 1) + day - 1;
        if (leap(y) && day >= 60) days++;
    } else if (kind == 'D') {
        days = tz_days_from_civil(y, 1, 1) + day;
    } else {
        int64_t first = tz_days_from_civil(y, month, 1);
        int wd1 = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int d = 1 + (wday - wd1 + 7) % 7 + 7 * (week - 1);
        while (d > month_days(y, month)) d -= 7;
        days = first + d - 1;
    }
    return days * 86400 + secs;
}

static int32_t rule_offset_at(const struct tz_rule *r, int64_t t) {
    if (!r->has_dst) return r->std_off;
    int64_t y;
    int m, d;
    int64_t days = (t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0);
    tz_civil_from_days(days, &y, &m, &d);
    int64_t start = change_local(y, r->start.kind, r->start.month, r->start.week, r->start.wday,
                                 r->start.day, r->start.secs) -
                    r->std_off;
    int64_t end = change_local(y, r->end.kind, r->end.month, r->end.week, r->end.wday, r->end.day,
                               r->end.secs) -
                  r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* ---- TZif ---------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

int tz_parse(struct tz_zone *z, const uint8_t *data, size_t len, char *err, size_t errlen) {
    memset(z, 0, sizeof *z);
    if (len < 44 || memcmp(data, "TZif", 4) != 0) goto bad;
    int version = data[4] ? data[4] - '0' : 1;
    const uint8_t *h = data;
    size_t tsize = 4;
    uint32_t c[6];
    for (int pass = 0; pass < 2; pass++) {
        if ((size_t)(h - data) + 44 > len || memcmp(h, "TZif", 4) != 0) goto bad;
        for (int i = 0; i < 6; i++) c[i] = be32(h + 20 + 4 * i);
        if (c[3] > 100000 || c[4] == 0 || c[4] > 256 || c[5] > 10000 || c[2] > 10000 ||
            c[0] > 256 || c[1] > 256)
            goto bad;
        size_t block = c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
        if ((size_t)(h - data) + 44 + block > len) goto bad;
        if (version < 2 || pass == 1) break;
        h += 44 + block;
        tsize = 8;
    }
    uint32_t timecnt = c[3], typecnt = c[4];
    const uint8_t *times = h + 44, *idx = times + timecnt * tsize, *types = idx + timecnt;
    if (timecnt) {
        z->trans = malloc(timecnt * sizeof *z->trans);
        z->offs = malloc(timecnt * sizeof *z->offs);
        if (!z->trans || !z->offs) goto bad;
    }
    for (uint32_t i = 0; i < timecnt; i++) {
        int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= typecnt || (i && t <= z->trans[i - 1])) goto bad;
        z->trans[i] = t;
        z->offs[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    z->ntrans = timecnt;
    z->first_off = (int32_t)be32(types);
    if (tsize == 8) {
        const uint8_t *end = types + typecnt * 6 + c[5] + c[2] * 12 + c[1] + c[0];
        size_t rest = len - (size_t)(end - data);
        if (rest >= 2 && end[0] == '\n') {
            const uint8_t *nl = memchr(end + 1, '\n', rest - 1);
            if (nl && nl - end - 1 > 0 && nl - end - 1 < 128) {
                char footer[128];
                memcpy(footer, end + 1, (size_t)(nl - end - 1));
                footer[nl - end - 1] = '\0';
                if (tz_rule_parse(&z->rule, footer, err, errlen) != 0) goto bad;
                z->has_rule = true;
            }
        }
    }
    for (int32_t *o = z->offs; o && o < z->offs + z->ntrans; o++)
        if (*o < -26 * 3600 || *o > 26 * 3600) goto bad;
    if (z->first_off < -26 * 3600 || z->first_off > 26 * 3600) goto bad;
    return 0;
bad:
    tz_cleanup(z);
    snprintf(err, errlen, "not a valid TZif time zone file");
    return -1;
}

void tz_cleanup(struct tz_zone *z) {
    free(z->trans);
    free(z->offs);
    memset(z, 0, sizeof *z);
}

static bool safe_name(const char *name) {
    if (!name[0] || name[0] == '/' || strlen(name) > 200) return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("/_+-", *p))) return false;
    return strstr(name, "..") == NULL;
}

int tz_load(struct tz_zone *z, const char *name, char *err, size_t errlen) {
    memset(z, 0, sizeof *z);
    const char *dir = getenv("TZDIR");
    if (!dir || !dir[0]) dir = "/usr/share/zoneinfo";
    if (safe_name(name)) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= TZ_MAX_FILE) {
            uint8_t *buf = malloc((size_t)st.st_size + 1);
            ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
            close(fd);
            int rc = n == st.st_size ? tz_parse(z, buf, (size_t)n, err, errlen) : -1;
            free(buf);
            if (rc != 0 && n != st.st_size) snprintf(err, errlen, "%s: cannot read", path);
            return rc;
        }
        if (fd >= 0) close(fd);
    }
    if (tz_rule_parse(&z->rule, name, err, errlen) == 0) {
        z->has_rule = true;
        z->first_off = z->rule.std_off;
        return 0;
    }
    snprintf(err, errlen, "unknown time zone \"%.100s\" (no file under %s)", name, dir);
    return -1;
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t t) {
    if (z->ntrans == 0) return z->has_rule ? rule_offset_at(&z->rule, t) : z->first_off;
    if (t < z->trans[0]) return z->first_off;
    if (t >= z->trans[z->ntrans - 1] && z->has_rule) return rule_offset_at(&z->rule, t);
    size_t lo = 0, hi = z->ntrans; /* last i with trans[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->offs[lo];
}

int tz_local_to_utc(const struct tz_zone *z, int64_t local, int64_t *first, int64_t *second) {
    /* The offsets in force a day either side bound every candidate (no zone changes
     * twice within two days). */
    int32_t before = tz_offset_at(z, local - 86400 - 26 * 3600);
    int32_t after = tz_offset_at(z, local + 86400 + 26 * 3600);
    int64_t a = local - before, b = local - after;
    bool a_ok = tz_offset_at(z, a) == before, b_ok = tz_offset_at(z, b) == after;
    if (before == after || (a_ok && !b_ok)) {
        if (!a_ok && before == after) { /* a change back and forth within the window */
            int32_t mid = tz_offset_at(z, local - before);
            *first = local - mid;
            return tz_offset_at(z, *first) == mid ? 1 : 0;
        }
        *first = a;
        return 1;
    }
    if (b_ok && !a_ok) {
        *first = b;
        return 1;
    }
    if (a_ok && b_ok) {
        *first = a < b ? a : b;
        *second = a < b ? b : a;
        return 2;
    }
    *first = local - before; /* the gap: read with the offset before it */
    return 0;
}
