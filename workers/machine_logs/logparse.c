/* logparse: LOG line decoding and event parsing (see logparse.h). The only memory is the
 * caller's struct logparse_buf, grown here with realloc. */
#include "machine_logs/logparse.h"

#include "machine_logs/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void logparse_buf_init(struct logparse_buf *b) { memset(b, 0, sizeof *b); }

void logparse_buf_cleanup(struct logparse_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static bool blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

static struct logparse_text trimmed(const char *p, size_t n) {
    while (n && blank((unsigned char)*p)) p++, n--;
    while (n && blank((unsigned char)p[n - 1])) n--;
    return (struct logparse_text){n ? p : NULL, n};
}

static const char *find2(const char *p, size_t n, char a, char b) {
    for (const char *q = p; n >= 2 && (q = memchr(q, a, n - (size_t)(q - p) - 1)); q++)
        if (q[1] == b) return q;
    return NULL;
}

/* Finds the substring s (of length m) in p[0..n). */
static const char *find(const char *p, size_t n, const char *s, size_t m) {
    for (const char *q = p; (size_t)(q - p) + m <= n; q++) {
        q = memchr(q, s[0], n - m + 1 - (size_t)(q - p));
        if (!q) return NULL;
        if (memcmp(q, s, m) == 0) return q;
    }
    return NULL;
}

/* reason = before "what" after, what cut at 60 bytes (on a character boundary). */
static int reject(struct logparse_buf *b, struct logparse_line *out, const char *before,
                  struct logparse_text what, const char *after) {
    size_t n = what.len > 60 ? 60 : what.len;
    while (n < what.len && n > 0 && ((unsigned char)what.ptr[n] & 0xC0) == 0x80) n--;
    snprintf(b->reason, sizeof b->reason, "%s\"%.*s%s\"%s", before, (int)n,
             what.ptr ? what.ptr : "", n < what.len ? "…" : "", after);
    out->kind = LOGPARSE_REJECT;
    out->reason = b->reason;
    return 0;
}

/* "YYYYMMDD HH:MM:SS" once non-ASCII bytes are dropped: *local, or false. */
static bool timestamp(const char *p, size_t n, int64_t *local) {
    char t[17];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80) continue;
        if (k == sizeof t) return false;
        t[k++] = (char)c;
    }
    if (k != 17 || t[8] != ' ' || t[11] != ':' || t[14] != ':') return false;
    static const int at[] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 15, 16};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        if (!digit((unsigned char)t[at[i]])) return false;
#define D2(i) ((t[i] - '0') * 10 + (t[(i) + 1] - '0'))
    int y = D2(0) * 100 + D2(2), m = D2(4), d = D2(6), hh = D2(9), mi = D2(12), ss = D2(15);
#undef D2
    if (y < 1 || m < 1 || m > 12 || d < 1 || hh > 23 || mi > 59 || ss > 59) return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return false; /* 31 April, 29 February 2025 */
    *local = tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
    return true;
}

/* A decimal number of seconds "12", "12.5" → microseconds (rounded); false otherwise. */
static bool decimal_us(struct logparse_text t, int64_t *us) {
    if (!t.len) return false;
    const char *p = t.ptr, *end = t.ptr + t.len;
    int64_t whole = 0, frac = 0;
    int ndig = 0, nfrac = 0;
    while (p < end && digit((unsigned char)*p)) {
        if (++ndig > 12) return false;
        whole = whole * 10 + (*p++ - '0');
    }
    if (p < end && *p == '.') {
        p++;
        int64_t scale = 100000;
        int round = 0;
        while (p < end && digit((unsigned char)*p)) {
            if (nfrac < 6)
                frac += (*p - '0') * scale, scale /= 10;
            else if (nfrac == 6)
                round = *p - '0' >= 5;
            nfrac++, p++;
        }
        frac += round;
        if (nfrac == 0 && ndig == 0) return false;
    }
    if (p != end || (ndig == 0 && nfrac == 0)) return false;
    *us = whole * 1000000 + frac;
    return true;
}

static bool is_decimal(struct logparse_text t) {
    int64_t us;
    return t.len && t.len <= 30 && decimal_us(t, &us);
}

static int wait_details(struct logparse_buf *b, struct logparse_line *out) {
    struct logparse_text d = out->details, num = d;
    if (d.len >= 3 && strncasecmp(d.ptr + d.len - 3, "sec", 3) == 0)
        num = trimmed(d.ptr, d.len - 3);
    int64_t us;
    if (!num.ptr || !decimal_us(num, &us))
        return reject(b, out, "MachineWait: duration ", d, " is not \"<N> sec\" or a number");
    if (us > (int64_t)LOGPARSE_MAX_WAIT_SECONDS * 1000000)
        return reject(b, out, "MachineWait: duration ", d, " is longer than 31 days");
    out->wait_us = us;
    return 0;
}

static int job_details(struct logparse_buf *b, struct logparse_line *out) {
    struct logparse_text d = out->details;
    if (!d.ptr || d.len < 2 || memcmp(d.ptr, "R:", 2) != 0)
        return reject(b, out, "JobProfiel: details ", d, " do not start with R:<reference>");
    const char *l = find(d.ptr, d.len, " L:", 3);
    if (!l) return reject(b, out, "JobProfiel: details ", d, " have no L:<length>");
    const char *end = d.ptr + d.len;
    const char *c = find(l + 3, (size_t)(end - l - 3), " C:", 3);
    const char *cb = find(d.ptr, (size_t)(l - d.ptr), " C:", 3);
    if (cb) return reject(b, out, "JobProfiel: details ", d, " give C: before L:");
    out->reference = trimmed(d.ptr + 2, (size_t)(l - d.ptr - 2));
    if (!out->reference.ptr)
        return reject(b, out, "JobProfiel: details ", d, " have an empty reference");
    out->length = trimmed(l + 3, (size_t)((c ? c : end) - l - 3));
    if (!is_decimal(out->length))
        return reject(b, out, "JobProfiel: length ", out->length, " is not a decimal number");
    out->colour = c ? trimmed(c + 3, (size_t)(end - c - 3)) : (struct logparse_text){NULL, 0};
    return 0;
}

static const struct {
    const char *name;
    enum logparse_kind kind;
} known[] = {
    {"StukUitgevoerd", LOGPARSE_PIECE}, {"MachineWait", LOGPARSE_WAIT},
    {"MachineStop", LOGPARSE_STOP},     {"MachineStart", LOGPARSE_START},
    {"JobProfiel", LOGPARSE_JOB},
};

/* Copies raw without NULs, Latin-1 → UTF-8, into b (unless raw needs neither). */
static const char *decode(struct logparse_buf *b, const uint8_t *raw, size_t len, size_t *outlen) {
    size_t i = 0;
    while (i < len && raw[i] && raw[i] < 0x80) i++;
    if (i == len) {
        *outlen = len;
        return (const char *)raw;
    }
    if (b->cap < 2 * len + 1) {
        size_t cap = 2 * len + 1 < 256 ? 256 : 2 * len + 1;
        char *p = realloc(b->data, cap);
        if (!p) return NULL;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data, raw, i);
    size_t o = i;
    for (; i < len; i++) {
        uint8_t c = raw[i];
        if (c == 0) continue;
        if (c < 0x80) {
            b->data[o++] = (char)c;
        } else {
            b->data[o++] = (char)(0xC0 | c >> 6);
            b->data[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    *outlen = o;
    return b->data;
}

int logparse_line(struct logparse_buf *b, const uint8_t *raw, size_t len,
                  struct logparse_line *out) {
    size_t n;
    const char *s = decode(b, raw, len, &n);
    if (!s) return -1;
    memset(out, 0, sizeof *out);
    while (n && blank((unsigned char)s[n - 1])) n--;
    out->text = (struct logparse_text){s, n};
    size_t lead = 0;
    while (lead < n && blank((unsigned char)s[lead])) lead++;
    if (lead == n) {
        out->kind = LOGPARSE_BLANK;
        return 0;
    }
    const char *at = find2(s, n, '|', '@');
    if (!at) {
        out->kind = LOGPARSE_NON_EVENT;
        return 0;
    }
    if (!timestamp(s, (size_t)(at - s), &out->local))
        return reject(b, out, "bad timestamp ", (struct logparse_text){s, (size_t)(at - s)},
                      ": expected YYYYMMDD HH:MM:SS");
    const char *ev = at + 2, *end = s + n;
    const char *colon = memchr(ev, ':', (size_t)(end - ev));
    out->name = trimmed(ev, (size_t)((colon ? colon : end) - ev));
    out->details =
        colon ? trimmed(colon + 1, (size_t)(end - colon - 1)) : (struct logparse_text){NULL, 0};
    if (!out->name.ptr) out->name = (struct logparse_text){ev, 0}; /* "|@" alone: unknown, "" */
    out->kind = LOGPARSE_UNKNOWN;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == out->name.len &&
            memcmp(known[i].name, out->name.ptr, out->name.len) == 0)
            out->kind = known[i].kind;
    if (out->kind == LOGPARSE_WAIT) return wait_details(b, out);
    if (out->kind == LOGPARSE_JOB) return job_details(b, out);
    return 0;
}

bool logparse_file_day(const char *name, int64_t *days) {
    for (const char *p = name; *p;) {
        if (!digit((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *q = p;
        while (digit((unsigned char)*q)) q++;
        if (q - p == 8) {
            int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
            int m = (p[4] - '0') * 10 + (p[5] - '0'), d = (p[6] - '0') * 10 + (p[7] - '0');
            if (y >= 1 && m >= 1 && m <= 12 && d >= 1) {
                int64_t dd = tz_days_from_civil(y, m, d), yy;
                int m2, d2;
                tz_civil_from_days(dd, &yy, &m2, &d2);
                if (m2 == m && d2 == d) {
                    *days = dd;
                    return true;
                }
            }
        }
        p = q;
    }
    return false;
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
    size_t m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

bool logparse_wanted_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || n > 255 || strchr(name, '/')) return false;
    if (ends_with(name, n, ".tmp") || ends_with(name, n, ".part")) return false;
    return n > 4 && ends_with(name, n, ".log");
}

void logparse_dst_init(struct logparse_dst *d) {
    d->last_ambiguous = INT64_MIN;
    d->second = false;
    d->cache_hour = INT64_MIN;
    d->cache_off = 0;
}

/* Remembers the offset of local's hour when that whole hour has one offset (both its ends
 * read unambiguously with the same one: no change of offset inside it). */
static void cache_hour(const struct tz_zone *z, struct logparse_dst *d, int64_t hour, int64_t off) {
    int64_t h0 = hour * 3600, a = 0, b = 0, unused = 0;
    if (tz_local_to_utc(z, h0, &a, &unused) == 1 && h0 - a == off &&
        tz_local_to_utc(z, h0 + 3599, &b, &unused) == 1 && h0 + 3599 - b == off) {
        d->cache_hour = hour;
        d->cache_off = (int32_t)off;
    }
}

int64_t logparse_to_utc(const struct tz_zone *z, struct logparse_dst *d, int64_t local) {
    int64_t hour = local / 3600 - (local % 3600 < 0);
    if (hour == d->cache_hour) return local - d->cache_off; /* most lines: no zone look-up */
    int64_t first = 0, second = 0;
    int n = tz_local_to_utc(z, local, &first, &second);
    if (n == 1) cache_hour(z, d, hour, local - first);
    if (n != 2) return first;
    /* another autumn (a file spanning a year) starts over */
    if (d->last_ambiguous != INT64_MIN &&
        (local - d->last_ambiguous > 7200 || d->last_ambiguous - local > 7200))
        d->second = false;
    else if (d->last_ambiguous != INT64_MIN && local < d->last_ambiguous)
        d->second = true;
    d->last_ambiguous = local;
    return d->second ? second : first;
}

static size_t put2(char *o, int v) {
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return 2;
}

size_t logparse_format_date(int64_t days, char *out) {
    /* the last day spelled, per thread: consecutive rows are mostly of one day */
    static _Thread_local int64_t last_days = INT64_MIN;
    static _Thread_local char last[11];
    if (days == last_days) {
        memcpy(out, last, 11);
        return 10;
    }
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) return (size_t)snprintf(out, 16, "%04lld-%02d-%02d", (long long)y, m, d);
    size_t k = put2(out, (int)(y / 100));
    k += put2(out + k, (int)(y % 100));
    out[k++] = '-';
    k += put2(out + k, m);
    out[k++] = '-';
    k += put2(out + k, d);
    out[k] = '\0';
    memcpy(last, out, 11);
    last_days = days;
    return k;
}

size_t logparse_format_utc(int64_t us, char *out) {
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t tod = secs - days * 86400;
    size_t k = logparse_format_date(days, out);
    out[k++] = ' ';
    k += put2(out + k, (int)(tod / 3600));
    out[k++] = ':';
    k += put2(out + k, (int)(tod / 60 % 60));
    out[k++] = ':';
    k += put2(out + k, (int)(tod % 60));
    if (frac) {
        out[k++] = '.';
        for (int64_t div = 100000; div; div /= 10) out[k++] = (char)('0' + frac / div % 10);
    }
    memcpy(out + k, "+00", 4);
    return k + 3;
}
