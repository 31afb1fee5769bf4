/* query_params: parameter checks and the date/instant parsers; see query_params.h. */
#include "api/query_params.h"

#include "core/text.h"
#include "http/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void query_bad(struct request *req, const char *name, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    reply_problem_with(req, PROBLEM_BAD_REQUEST, json_pack("{s:s}", "field", name), "%s", detail);
}

static bool in_list(const char *name, const char *const *list) {
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(name, list[i]) == 0) return true;
    return false;
}

bool query_check_names(struct request *req, const char *const *allowed,
                       const char *const *repeatable) {
    for (size_t i = 0; i < req->nquery; i++) {
        const char *name = req->query[i].key;
        if (!in_list(name, allowed)) {
            struct textbuf known = {0};
            for (size_t k = 0; allowed[k]; k++)
                textbuf_printf(&known, "%s%s", k ? ", " : "", allowed[k]);
            query_bad(req, name, "unknown query parameter \"%s\" (known: %s)", name,
                      known.data ? known.data : "none");
            free(known.data);
            return false;
        }
        if (in_list(name, repeatable)) continue;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(req->query[j].key, name) == 0) {
                query_bad(req, name, "query parameter \"%s\" is given more than once", name);
                return false;
            }
        }
    }
    return true;
}

/* ---- dates -------------------------------------------------------------------- */

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static bool date_prefix(const char *s, struct query_date *out) {
    int y, m, d;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
    *out = (struct query_date){y, m, d};
    return true;
}

bool parse_date(const char *s, struct query_date *out) {
    return s && strlen(s) == 10 && date_prefix(s, out);
}

/* Howard Hinnant's days_from_civil. */
long date_days(const struct query_date *d) {
    long y = d->year - (d->month <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long mp = (d->month + 9) % 12;
    long doy = (153 * mp + 2) / 5 + d->day - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct query_date date_add_days(const struct query_date *d, long n) {
    long z = date_days(d) + n + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long day = doy - (153 * mp + 2) / 5 + 1;
    long month = mp < 10 ? mp + 3 : mp - 9;
    long year = yoe + era * 400 + (month <= 2);
    return (struct query_date){(int)year, (int)month, (int)day};
}

void date_format(const struct query_date *d, char out[11]) {
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)d->year % 10000u, (unsigned)d->month % 100u,
             (unsigned)d->day % 100u);
}

bool parse_instant(const char *s, struct query_time *out) {
    struct query_date date;
    int hh, mi, ss;
    size_t n = s ? strlen(s) : 0;
    if (n < 20 || n > 40 || !date_prefix(s, &date)) return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
    if (!digits(s + 11, 2, &hh) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &ss))
        return false;
    if (hh > 23 || mi > 59 || ss > 60) return false;
    size_t i = 19, frac = 0;
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++) frac++;
        if (frac == 0 || frac > 9) return false;
    }
    int offset_min = 0;
    char sign = '+';
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        sign = 'Z';
    } else if ((s[i] == '+' || s[i] == '-' || s[i] == ' ') && i + 6 == n) {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om))
            return false;
        if (oh > 23 || om > 59) return false;
        sign = s[i] == '-' ? '-' : '+';
        offset_min = (oh * 60 + om) * (sign == '-' ? -1 : 1);
    } else {
        return false;
    }
    /* The UTC date: local minutes of the day minus the offset, carried over days. */
    long minutes = hh * 60L + mi - offset_min;
    long shift = minutes < 0 ? -1 : minutes >= 1440 ? 1 : 0;
    struct query_date utc = date_add_days(&date, shift);
    /* 0001-01-01T00:00+01:00 is in year 0 in UTC, 9999-12-31T23:00-02:00 in year 10000:
     * refused, as date_format (and PostgreSQL's date) cannot write those years. */
    if (utc.year < 1 || utc.year > 9999) return false;
    out->kind = QUERY_TIME_INSTANT;
    out->date = utc;
    out->epoch =
        (long long)date_days(&date) * 86400 + hh * 3600L + mi * 60L + ss - offset_min * 60L;
    char local[11];
    date_format(&date, local);
    if (sign == 'Z')
        snprintf(out->text, sizeof out->text, "%sT%.*sZ", local, (int)(i - 11), s + 11);
    else
        snprintf(out->text, sizeof out->text, "%sT%.*s%c%.5s", local, (int)(i - 11), s + 11, sign,
                 s + i + 1);
    return true;
}

bool query_time(struct request *req, const char *name, bool allow_instant, struct query_time *out) {
    memset(out, 0, sizeof *out);
    const char *v = request_query(req, name, NULL);
    if (!v) return true;
    if (parse_date(v, &out->date)) {
        out->kind = QUERY_TIME_DATE;
        date_format(&out->date, out->text);
        return true;
    }
    if (allow_instant && parse_instant(v, out)) return true;
    memset(out, 0, sizeof *out);
    if (allow_instant)
        query_bad(req, name,
                  "%s must be a date (YYYY-MM-DD) or an RFC 3339 time "
                  "(YYYY-MM-DDTHH:MM:SSZ or with an offset such as +02:00)",
                  name);
    else
        query_bad(req, name, "%s must be a date (YYYY-MM-DD)", name);
    return false;
}

bool query_range(struct request *req, const char *from_name, const char *to_name,
                 bool allow_instant, struct query_time *from, struct query_time *to) {
    if (!query_time(req, from_name, allow_instant, from) ||
        !query_time(req, to_name, allow_instant, to))
        return false;
    bool reversed = false;
    if (from->kind == QUERY_TIME_DATE && to->kind == QUERY_TIME_DATE)
        reversed = date_days(&to->date) < date_days(&from->date);
    else if (from->kind == QUERY_TIME_INSTANT && to->kind == QUERY_TIME_INSTANT)
        reversed = to->epoch < from->epoch;
    if (reversed) {
        query_bad(req, to_name, "%s (%s) is before %s (%s)", to_name, to->text, from_name,
                  from->text);
        return false;
    }
    return true;
}

bool query_bool(struct request *req, const char *name, int *out) {
    *out = -1;
    const char *v = request_query(req, name, NULL);
    if (!v) return true;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = 1;
    } else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
    } else {
        query_bad(req, name, "%s must be true or false", name);
        return false;
    }
    return true;
}

bool query_choice(struct request *req, const char *name, const char *const *choices, int *out) {
    *out = -1;
    const char *v = request_query(req, name, NULL);
    if (!v) return true;
    for (int i = 0; choices[i]; i++) {
        if (strcasecmp(v, choices[i]) == 0) {
            *out = i;
            return true;
        }
    }
    struct textbuf known = {0};
    for (size_t k = 0; choices[k]; k++) textbuf_printf(&known, "%s%s", k ? ", " : "", choices[k]);
    query_bad(req, name, "%s must be one of: %s", name, known.data ? known.data : "");
    free(known.data);
    return false;
}

bool query_text(struct request *req, const char *name, size_t max_len, const char **out) {
    *out = NULL;
    const char *v = request_query(req, name, NULL);
    if (!v) return true;
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= max_len && text_utf8_valid(v, n);
    for (size_t i = 0; ok && i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ok = false;
    if (!ok) {
        query_bad(req, name, "%s must be 1 to %zu bytes of UTF-8 text without control characters",
                  name, max_len);
        return false;
    }
    *out = v;
    return true;
}
