/* json_row: see json_row.h. Appends go through put(), which grows the textbuf the way
 * textbuf_printf does (doubling, from 4 KiB) without a printf per byte run. */
#include "api/json_row.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct textbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return; /* the caller sees a short body only on OOM, like textbuf_printf */
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

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

static void put_number(struct textbuf *b, const char *text, int decimals) {
    double v = strtod(text, NULL);
    if (!isfinite(v)) {
        put(b, "null", 4);
        return;
    }
    char num[64];
    int n = snprintf(num, sizeof num, "%.*f", decimals, v);
    if (n <= 0 || (size_t)n >= sizeof num) {
        put(b, "null", 4);
        return;
    }
    /* 7.9310 -> 7.931, 8.0000 -> 8, -0.0000 -> 0 */
    if (memchr(num, '.', (size_t)n)) {
        while (num[n - 1] == '0') n--;
        if (num[n - 1] == '.') n--;
    }
    if (n == 2 && num[0] == '-' && num[1] == '0') {
        put(b, "0", 1);
        return;
    }
    put(b, num, (size_t)n);
}

/* to_json of a timestamp is "YYYY-MM-DDTHH:MM:SS[.ffffff]" with its quotes (or
 * "infinity", written null). */
static void put_utc(struct textbuf *b, const char *json, size_t len) {
    if (len < 3 || json[0] != '"' || json[len - 1] != '"' || json[1] < '0' || json[1] > '9') {
        put(b, "null", 4);
        return;
    }
    put(b, json, len - 1);
    put(b, "Z\"", 2);
}

void json_row_append(struct textbuf *b, const PGresult *r, int row, int first,
                     const struct json_col *cols, size_t ncols) {
    put(b, "{", 1);
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
        case JCOL_UTC: put_utc(b, v, len); break;
        }
    }
    put(b, "}", 1);
}
