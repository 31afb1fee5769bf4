/* json_row: see json_row.h. Appends go through textbuf_put (a memcpy into the doubling
 * buffer) rather than textbuf_printf. */
#include "api/json_row.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct textbuf *b, const char *s, size_t n) { textbuf_put(b, s, n); }

void json_row_string(struct textbuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(b, run, (size_t)(s - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            put(b, esc, 2);
        } else {
            put(b, esc, 6);
        }
        run = s + 1;
    }
    put(b, run, (size_t)(s - run));
    put(b, "\"", 1);
}

/* Rounds PostgreSQL's float8 text (e.g. 7.931027777777778, shortest exact form) half
 * away from zero to `decimals` places, on the digits themselves, into out; trailing zeros
 * and a trailing point dropped, -0 written 0. Returns the length, or 0 when the text is not
 * plain [-]digits[.digits] (exponents, NaN, Infinity: the caller falls back to strtod). */
static size_t round_text(const char *text, int decimals, char *out, size_t outlen) {
    const char *p = text;
    bool neg = *p == '-';
    if (neg) p++;
    const char *int_start = p;
    while (*p >= '0' && *p <= '9') p++;
    size_t int_len = (size_t)(p - int_start);
    const char *frac = NULL;
    size_t frac_len = 0;
    if (*p == '.') {
        frac = ++p;
        while (*p >= '0' && *p <= '9') p++;
        frac_len = (size_t)(p - frac);
    }
    if (*p || int_len == 0 || int_len + (size_t)decimals + 3 > outlen || decimals > 15) return 0;
    /* digits = integer part and the kept decimals, plus one leading slot for a carry */
    char digits[64];
    size_t keep = frac_len < (size_t)decimals ? frac_len : (size_t)decimals, n = 0;
    if (int_len + keep + 1 > sizeof digits) return 0;
    digits[n++] = '0';
    memcpy(digits + n, int_start, int_len);
    n += int_len;
    if (keep) memcpy(digits + n, frac, keep);
    n += keep;
    if (frac_len > keep && frac[keep] >= '5') {
        size_t i = n;
        while (i-- > 0) {
            if (digits[i] == '9') {
                digits[i] = '0';
            } else {
                digits[i]++;
                break;
            }
        }
    }
    size_t int_digits = 1 + int_len, start = 0;
    while (start + 1 < int_digits && digits[start] == '0') start++; /* leading zeros */
    size_t end = n;
    while (end > int_digits && digits[end - 1] == '0') end--; /* trailing decimals */
    bool zero = true;
    for (size_t i = start; i < end; i++)
        if (digits[i] != '0') zero = false;
    size_t o = 0;
    if (neg && !zero) out[o++] = '-';
    memcpy(out + o, digits + start, int_digits - start);
    o += int_digits - start;
    if (end > int_digits) {
        out[o++] = '.';
        memcpy(out + o, digits + int_digits, end - int_digits);
        o += end - int_digits;
    }
    out[o] = '\0';
    return o;
}

static void put_number(struct textbuf *b, const char *text, int decimals) {
    char num[64];
    size_t n = round_text(text, decimals, num, sizeof num);
    if (n) {
        put(b, num, n);
        return;
    }
    double v = strtod(text, NULL);
    if (!isfinite(v)) {
        put(b, "null", 4);
        return;
    }
    int len = snprintf(num, sizeof num, "%.*f", decimals, v);
    if (len <= 0 || (size_t)len >= sizeof num) {
        put(b, "null", 4);
        return;
    }
    n = round_text(num, decimals, num, sizeof num); /* trims the zeros */
    put(b, num, n ? n : (size_t)len);
}

void json_row_members(struct textbuf *b, const PGresult *r, int row, int first,
                      const struct json_col *cols, size_t ncols) {
    for (size_t i = 0; i < ncols; i++) {
        int col = first + (int)i;
        if (i) put(b, ",", 1);
        put(b, "\"", 1);
        put(b, cols[i].name, strlen(cols[i].name));
        put(b, "\":", 2);
        if (PQgetisnull(r, row, col)) {
            put(b, "null", 4);
            continue;
        }
        const char *v = PQgetvalue(r, row, col);
        size_t len = (size_t)PQgetlength(r, row, col);
        switch (cols[i].type) {
        case JCOL_INT: put(b, v, len); break;
        case JCOL_TEXT: json_row_string(b, v); break;
        case JCOL_NUM: put_number(b, v, cols[i].decimals); break;
        case JCOL_UTC: json_row_string(b, v); break;
        case JCOL_JSON: {
            size_t mark = b->len;
            if (json_out_append(b, v, len) != 0) { /* never from PostgreSQL: null, not half */
                b->len = mark;
                if (b->data) b->data[mark] = '\0';
                put(b, "null", 4);
            }
            break;
        }
        }
    }
}

void json_row_append(struct textbuf *b, const PGresult *r, int row, int first,
                     const struct json_col *cols, size_t ncols) {
    put(b, "{", 1);
    json_row_members(b, r, row, first, cols, ncols);
    put(b, "}", 1);
}
