/* pd_row: checking one CSV record of patient data; see pd_row.h. */
#include "kinds/patient_data/pd_row.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const columns[PDROW_FIELDS] = {
    "id_patient", "parameter_id", "value", "timestamp", "alert_flag", "created_by", "archived"};

enum { C_PATIENT, C_PARAMETER, C_VALUE, C_TIMESTAMP, C_ALERT, C_CREATED_BY, C_ARCHIVED };

bool pdrow_header_ok(const struct pdcsv_record *rec, char *why, size_t whylen) {
    bool ok = !rec->error && rec->nfields == PDROW_FIELDS;
    for (size_t i = 0; ok && i < PDROW_FIELDS; i++)
        ok = rec->len[i] == strlen(columns[i]) &&
             memcmp(rec->field[i], columns[i], rec->len[i]) == 0;
    if (ok) return true;
    char found[160] = "";
    if (rec->error) {
        snprintf(found, sizeof found, "an unreadable line (%s)", rec->error);
    } else {
        size_t used = 0;
        for (size_t i = 0; i < rec->nfields && i < PDCSV_MAX_FIELDS && used < sizeof found - 8;
             i++) {
            int n = snprintf(found + used, sizeof found - used, "%s\"%.40s\"", i ? "," : "",
                             rec->field[i]);
            if (n < 0) break;
            used += (size_t)n < sizeof found - used ? (size_t)n : sizeof found - used - 1;
        }
        if (rec->nfields > PDCSV_MAX_FIELDS && used < sizeof found - 5)
            snprintf(found + used, sizeof found - used, ",...");
    }
    snprintf(why, whylen, "line %lld: the header must be %s (found %s)", (long long)rec->line,
             PDROW_HEADER, found);
    return false;
}

/* A positive integer of at most max; false otherwise. */
static bool positive(const char *s, size_t len, int64_t max, int64_t *out) {
    if (len == 0 || len > 19) return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        if (v > (max - (s[i] - '0')) / 10) return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0) return false;
    *out = v;
    return true;
}

bool pdrow_decimal_ok(const char *s, size_t len, double *out) {
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) digits++;
    }
    if (i != len || digits == 0 || len > 64) return false;
    char tmp[72];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    double v = 0;
    if (sscanf(tmp, "%lf", &v) != 1 || !isfinite(v)) return false;
    /* numeric(10,2): |v| rounded to 2 decimals below 10^8. */
    if (fabs(v) >= 99999999.995) return false;
    if (out) *out = v;
    return true;
}

static bool two(const char *s, int *out) {
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool pdrow_timestamp_ok(const char *s, size_t len, int64_t *key, bool *has_offset) {
    /* YYYY-MM-DD HH:MM:SS */
    if (len < 19 || len > 40) return false;
    int y1, y2, mo, d, h, mi, se;
    if (!two(s, &y1) || !two(s + 2, &y2) || s[4] != '-' || !two(s + 5, &mo) || s[7] != '-' ||
        !two(s + 8, &d) || (s[10] != ' ' && s[10] != 'T') || !two(s + 11, &h) || s[13] != ':' ||
        !two(s + 14, &mi) || s[16] != ':' || !two(s + 17, &se))
        return false;
    int y = y1 * 100 + y2;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
        mi > 59 || se > 59)
        return false;
    size_t i = 19;
    int64_t micros = 0;
    if (i < len && s[i] == '.') {
        i++;
        int n = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
            if (n < 6) micros = micros * 10 + (s[i] - '0');
        if (n == 0 || n > 6) return false;
        for (; n < 6; n++) micros *= 10;
    }
    int64_t offset_s = 0;
    *has_offset = false;
    if (i < len) {
        if (s[i] == 'Z' && i + 1 == len) {
            *has_offset = true;
        } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
            int oh, om;
            if (!two(s + i + 1, &oh) || !two(s + i + 4, &om) || oh > 23 || om > 59) return false;
            offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
            *has_offset = true;
        } else {
            return false;
        }
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *key = secs * 1000000 + micros;
    return true;
}

bool pdrow_parameter_ok(const char *s, size_t len) {
    if (len == 0 || len > PDROW_PARAMETER_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '.' || c == '-'));
        if (!ok) return false;
    }
    return true;
}

static bool flag(const char *s, size_t len, bool *out) {
    if (len == 0) {
        *out = false;
        return true;
    }
    if (len == 1 && (s[0] == '0' || s[0] == '1')) {
        *out = s[0] == '1';
        return true;
    }
    return false;
}

/* why = "<column>: \"<value>\" <what>", the value cut to 40 bytes and without control
 * characters. */
static bool bad(char *why, size_t whylen, int col, const struct pdcsv_record *rec,
                const char *what) {
    char shown[48];
    size_t n = 0;
    for (size_t i = 0; i < rec->len[col] && n < 40; i++) {
        unsigned char c = (unsigned char)rec->field[col][i];
        shown[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    shown[n] = '\0';
    if (rec->len[col] == 0)
        snprintf(why, whylen, "%s is empty", columns[col]);
    else
        snprintf(why, whylen, "%s: \"%s%s\" %s", columns[col], shown,
                 rec->len[col] > 40 ? "..." : "", what);
    return false;
}

bool pdrow_parse(const struct pdcsv_record *rec, struct pdrow *out, char *why, size_t whylen) {
    if (rec->error) {
        snprintf(why, whylen, "%s", rec->error);
        return false;
    }
    if (rec->nfields != PDROW_FIELDS) {
        snprintf(why, whylen, "%d fields expected, found %zu", PDROW_FIELDS, rec->nfields);
        return false;
    }
    for (int c = 0; c < PDROW_FIELDS; c++)
        if (memchr(rec->field[c], '\0', rec->len[c]))
            return bad(why, whylen, c, rec, "holds a NUL byte");
    int64_t v;
    if (!positive(rec->field[C_PATIENT], rec->len[C_PATIENT], INT32_MAX, &v))
        return bad(why, whylen, C_PATIENT, rec, "is not a positive integer");
    out->id_patient = (int32_t)v;
    if (!pdrow_parameter_ok(rec->field[C_PARAMETER], rec->len[C_PARAMETER]))
        return bad(why, whylen, C_PARAMETER, rec,
                   "is not a parameter id (1 to 50 of A-Z a-z 0-9 _ . -)");
    out->parameter_id = rec->field[C_PARAMETER];
    if (!pdrow_decimal_ok(rec->field[C_VALUE], rec->len[C_VALUE], NULL))
        return bad(why, whylen, C_VALUE, rec,
                   "is not a decimal number that fits numeric(10,2) (e.g. 75.5)");
    out->value = rec->field[C_VALUE];
    if (!pdrow_timestamp_ok(rec->field[C_TIMESTAMP], rec->len[C_TIMESTAMP], &out->ts_key,
                            &out->has_offset))
        return bad(why, whylen, C_TIMESTAMP, rec,
                   "is not a date and time YYYY-MM-DD HH:MM:SS (e.g. 2025-12-01 00:00:00)");
    out->timestamp = rec->field[C_TIMESTAMP];
    if (!flag(rec->field[C_ALERT], rec->len[C_ALERT], &out->alert_flag))
        return bad(why, whylen, C_ALERT, rec, "must be 0 or 1");
    if (!positive(rec->field[C_CREATED_BY], rec->len[C_CREATED_BY], INT64_MAX / 2, &v))
        return bad(why, whylen, C_CREATED_BY, rec, "is not a positive integer (a user id)");
    out->created_by = v;
    if (!flag(rec->field[C_ARCHIVED], rec->len[C_ARCHIVED], &out->archived))
        return bad(why, whylen, C_ARCHIVED, rec, "must be 0 or 1");
    return true;
}
