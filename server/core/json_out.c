/* json_out: see json_out.h. json_out_append is one pass over the text, copying runs of
 * bytes that stay as they are: whitespace outside strings is skipped, numbers are checked
 * by json_out_number and rewritten when they are not plain already;
 * tokens are checked (strings closed, literals spelled out, brackets balanced and
 * matched) but not the grammar between them, which PostgreSQL and jansson already get
 * right. */
#include "core/json_out.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256
#define MAX_EXPONENT 400 /* beyond this a number is copied as it is (never seen in sluice) */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

size_t json_out_number(const char *num, size_t len, char *out, size_t outlen) {
    size_t i = 0;
    bool neg = i < len && num[i] == '-';
    if (neg) i++;
    const char *int_start = num + i;
    while (i < len && is_digit(num[i])) i++;
    size_t int_len = (size_t)(num + i - int_start);
    if (int_len == 0 || (int_len > 1 && int_start[0] == '0')) return 0;
    const char *frac = NULL;
    size_t frac_len = 0;
    if (i < len && num[i] == '.') {
        frac = num + ++i;
        while (i < len && is_digit(num[i])) i++;
        frac_len = (size_t)(num + i - frac);
        if (frac_len == 0) return 0;
    }
    long exp = 0;
    if (i < len && (num[i] == 'e' || num[i] == 'E')) {
        i++;
        bool eneg = i < len && num[i] == '-';
        if (i < len && (num[i] == '-' || num[i] == '+')) i++;
        size_t estart = i;
        while (i < len && is_digit(num[i])) {
            if (exp <= MAX_EXPONENT) exp = exp * 10 + (num[i] - '0');
            i++;
        }
        if (i == estart) return 0;
        if (exp > MAX_EXPONENT) return 0;
        if (eneg) exp = -exp;
    }
    if (i != len) return 0;
    /* The value is 0.D × 10^point, D the significant digits without leading zeros. */
    const char *digits[2] = {int_start, frac};
    size_t counts[2] = {int_len, frac_len};
    long point = (long)int_len + exp;
    char sig[2048];
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        for (size_t k = 0; k < counts[part]; k++) {
            char c = digits[part][k];
            if (n == 0 && c == '0') {
                point--; /* a leading zero moves the point left */
                continue;
            }
            if (n == sizeof sig) return 0;
            sig[n++] = c;
        }
    }
    while (n > 0 && sig[n - 1] == '0') n--;
    if (n == 0) {
        if (outlen < 2) return 0;
        memcpy(out, "0", 2);
        return 1;
    }
    /* Integer digits: sig[0..point) padded with zeros; fraction: zeros then the rest. */
    size_t int_digits = point > 0 ? (size_t)point : 0;
    size_t lead_zeros = point < 0 ? (size_t)-point : 0;
    size_t frac_digits = n > int_digits ? n - int_digits : 0;
    size_t need =
        neg + (int_digits ? int_digits : 1) + (frac_digits ? 1 + lead_zeros + frac_digits : 0) + 1;
    if (need > outlen) return 0;
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (int_digits == 0) {
        out[o++] = '0';
    } else {
        for (size_t k = 0; k < int_digits; k++) out[o++] = k < n ? sig[k] : '0';
    }
    if (frac_digits) {
        out[o++] = '.';
        for (size_t k = 0; k < lead_zeros; k++) out[o++] = '0';
        memcpy(out + o, sig + int_digits, frac_digits);
        o += frac_digits;
    }
    out[o] = '\0';
    return o;
}

/* Length of the string token at s (its opening quote at s[0]), quotes included, or 0
 * when it is not closed or holds a bad escape or a raw control character. */
static size_t string_len(const char *s, size_t avail) {
    size_t i = 1;
    while (i < avail) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') return i + 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (i + 1 >= avail) return 0;
            char e = s[i + 1];
            if (e == 'u') {
                if (i + 5 >= avail) return 0;
                for (size_t k = 2; k < 6; k++) {
                    char h = s[i + k];
                    if (!(is_digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return 0;
                }
                i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') return 0;
            i += 2;
            continue;
        }
        i++;
    }
    return 0;
}

/* True when the number token tok[0..n) (already checked) is written as it is:
 * no exponent, no trailing zero in a fraction, not -0. */
static bool number_is_plain(const char *tok, size_t n) {
    bool frac = false;
    for (size_t k = 0; k < n; k++) {
        if (tok[k] == 'e' || tok[k] == 'E') return false;
        if (tok[k] == '.') frac = true;
    }
    if (frac && tok[n - 1] == '0') return false;
    return !(tok[0] == '-' && n == 2 && tok[1] == '0');
}

/* Copies runs of bytes that stay as they are in one textbuf_put; only whitespace and
 * numbers that need rewriting break a run. */
int json_out_append(struct textbuf *b, const char *json, size_t len) {
    char stack[MAX_DEPTH];
    size_t depth = 0, i = 0, run = 0;
    while (i < len) {
        char c = json[i];
        switch (c) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            if (i > run) textbuf_put(b, json + run, i - run);
            while (i < len &&
                   (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
                i++;
            run = i;
            continue;
        case '"': {
            size_t n = string_len(json + i, len - i);
            if (!n) return -1;
            i += n;
            continue;
        }
        case '{':
        case '[':
            if (depth == MAX_DEPTH) return -1;
            stack[depth++] = c;
            i++;
            continue;
        case '}':
        case ']':
            if (depth == 0 || stack[--depth] != (c == '}' ? '{' : '[')) return -1;
            i++;
            continue;
        case ':':
        case ',': i++; continue;
        default: break;
        }
        size_t start = i;
        while (i < len && (is_digit(json[i]) || (json[i] >= 'a' && json[i] <= 'z') ||
                           json[i] == '-' || json[i] == '+' || json[i] == '.' || json[i] == 'E'))
            i++;
        size_t n = i - start;
        const char *tok = json + start;
        if ((n == 4 && memcmp(tok, "true", 4) == 0) || (n == 5 && memcmp(tok, "false", 5) == 0) ||
            (n == 4 && memcmp(tok, "null", 4) == 0))
            continue;
        char num[MAX_EXPONENT + 2100];
        size_t m = n ? json_out_number(tok, n, num, sizeof num) : 0;
        if (!m) {
            if (n > 1000 && (tok[0] == '-' || is_digit(tok[0]))) continue; /* as it is */
            return -1;
        }
        if (number_is_plain(tok, n)) continue; /* checked; the run carries it */
        if (start > run) textbuf_put(b, json + run, start - run);
        textbuf_put(b, num, m);
        run = i;
    }
    if (i > run) textbuf_put(b, json + run, i - run);
    if (len == 0) textbuf_put(b, "", 0);
    return depth == 0 ? 0 : -1;
}

char *json_out_dump(const json_t *v, size_t *len) {
    char *raw = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!raw) return NULL;
    struct textbuf b = {0};
    int rc = json_out_append(&b, raw, strlen(raw));
    free(raw);
    if (rc != 0 || !b.data) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

bool json_out_is_canonical(const char *json, size_t len) {
    struct textbuf b = {0};
    bool same = json_out_append(&b, json, len) == 0 && b.len == len &&
                (len == 0 || memcmp(b.data, json, len) == 0);
    free(b.data);
    return same;
}
