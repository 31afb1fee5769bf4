/* erp_clean: see erp_clean.h. Pure: no allocation, every output in caller buffers. */
#include "kinds/orders/erp_clean.h"

#include "core/text.h"

#include <string.h>
#include <strings.h>

static const char *const col_names[ERP_COL_COUNT] = {
    "numero_commande", "extension", "status", "date_modification", "coffre", "gestion_en_stock",
};

const char *const erp_statuses[ERP_STATUS_COUNT] = {
    "Planifiee", "lancer en prod", "vitrage", "Terminee", "Annulee",
};

/* The statuses folded (what erp_fold makes of them), same order. */
static const char *const folded_statuses[ERP_STATUS_COUNT] = {
    "planifiee", "lancer en prod", "vitrage", "terminee", "annulee",
};

const char *erp_col_name(enum erp_col c) {
    return c >= 0 && c < ERP_COL_COUNT ? col_names[c] : "?";
}

int erp_col_find(const char *name) {
    for (int i = 0; i < ERP_COL_COUNT; i++)
        if (strcasecmp(name, col_names[i]) == 0) return i;
    return -1;
}

static size_t utf8_next(const unsigned char *s, size_t avail, unsigned *cp) {
    return text_utf8_decode((const char *)s, avail, cp);
}

long erp_utf8_chars(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    long chars = 0;
    unsigned cp;
    for (size_t i = 0; i < len; chars++) {
        size_t n = utf8_next(p + i, len - i, &cp);
        if (n == 0) return -1;
        i += n;
    }
    return chars;
}

/* The byte a character stands for in MariaDB's `latin1`, which is Windows-1252: U+0000..
 * U+00FF for themselves, and the 27 characters Windows-1252 puts at 0x80..0x9F (so that
 * `É` written as UTF-8 into a latin1 column reads back as `Ã‰`, U+00C3 U+2030).
 * -1 for any other character. */
static int latin1_byte(unsigned cp) {
    static const unsigned short cp1252[32] = {
        0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
    if (cp <= 0xFF) return (int)cp;
    for (int i = 0; i < 32; i++)
        if (cp1252[i] == cp) return 0x80 + i;
    return -1;
}

/* Double encoding: when every character of s is a character of MariaDB's latin1 (see
 * latin1_byte) and the bytes they stand for are valid UTF-8 with a multi-byte sequence,
 * writes those bytes over s (they are never more) and returns the new length; else
 * returns len. */
static size_t repair(char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    unsigned char bytes[ERP_TEXT_MAX];
    size_t nb = 0;
    bool high = false;
    unsigned cp;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_next(p + i, len - i, &cp);
        int b = n ? latin1_byte(cp) : -1;
        if (b < 0) return len;
        if (nb == sizeof bytes) return len; /* longer than any text we repair */
        bytes[nb++] = (unsigned char)b;
        high |= b >= 0x80;
        i += n;
    }
    if (!high || erp_utf8_chars((const char *)bytes, nb) < 0) return len;
    memcpy(s, bytes, nb);
    s[nb] = '\0';
    return nb;
}

size_t erp_clean_text(const char *in, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++)
        if (in[i] != '\0') out[o++] = in[i];
    size_t start = 0;
    while (start < o && out[start] == ' ') start++;
    while (o > start && out[o - 1] == ' ') o--;
    memmove(out, out + start, o - start);
    o -= start;
    out[o] = '\0';
    return repair(out, o);
}

/* Base letters of U+0100..U+017F ('1': ij, '2': oe). */
static const char latin_ext_a[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii11jjkkkllllllllll"
    "nnnnnnnnnoooooo22rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
/* Base letters of U+00C0..U+00FF ('1': ae, '2': th, '3': ss, '-': not a letter, kept). */
static const char latin1_sup[] = "aaaaaa1ceeeeiiiidnooooo-ouuuuy23aaaaaa1ceeeeiiiidnooooo-ouuuuy2y";

static size_t put_base(char b, char *out) {
    static const char *const pairs[] = {"ae", "th", "ss"};
    if (b >= '1' && b <= '3') {
        memcpy(out, pairs[b - '1'], 2);
        return 2;
    }
    out[0] = b;
    return 1;
}

size_t erp_fold(const char *in, size_t len, char *out) {
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    unsigned cp;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_next(p + i, len - i, &cp);
        if (n == 0) { /* not UTF-8: copied byte by byte */
            out[o++] = (char)p[i++];
            continue;
        }
        if (cp < 0x80) {
            out[o++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        } else if (cp >= 0xC0 && cp <= 0xFF && latin1_sup[cp - 0xC0] != '-') {
            o += put_base(latin1_sup[cp - 0xC0], out + o);
        } else if (cp >= 0x100 && cp <= 0x17F) {
            char b = latin_ext_a[cp - 0x100];
            if (b == '1') {
                memcpy(out + o, "ij", 2);
                o += 2;
            } else if (b == '2') {
                memcpy(out + o, "oe", 2);
                o += 2;
            } else {
                out[o++] = b;
            }
        } else if (cp >= 0x300 && cp <= 0x36F) {
            /* a combining accent (decomposed text): dropped */
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    return o;
}

const char *erp_status_map(const char *text, size_t len) {
    char folded[2 * ERP_TEXT_MAX + 1];
    if (len > ERP_TEXT_MAX) return NULL;
    erp_fold(text, len, folded);
    for (size_t i = 0; i < ERP_STATUS_COUNT; i++)
        if (strstr(folded, folded_statuses[i])) return erp_statuses[i];
    return NULL;
}

static int digits(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int32_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int erp_parse_date(const char *s, size_t len, int32_t *days, char iso[11]) {
    if (!s || len < 10 || s[4] != '-' || s[7] != '-') return -1;
    if (len > 10 && s[10] != ' ' && s[10] != 'T') return -1;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1) return -1;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[m - 1] + (m == 2 && leap)) return -1;
    *days = days_from_civil(y, m, d);
    memcpy(iso, s, 10);
    iso[10] = '\0';
    return 0;
}

/* Cleans one text value into dst (cap bytes); -1 when it holds invalid UTF-8 or more
 * than max_chars characters (or does not fit). NULL is the empty text. */
static int clean_field(const struct erp_raw *raw, enum erp_col c, char *scratch, size_t scratch_len,
                       char *dst, size_t cap, long max_chars, size_t *out_len) {
    const char *v = raw->values[c];
    size_t len = v ? raw->lengths[c] : 0;
    if (len + 1 > scratch_len) return -1;
    size_t n = v ? erp_clean_text(v, len, scratch) : 0;
    scratch[n] = '\0';
    long chars = erp_utf8_chars(scratch, n);
    if (chars < 0 || chars > max_chars || n + 1 > cap) return -1;
    memcpy(dst, scratch, n + 1);
    if (out_len) *out_len = n;
    return 0;
}

enum erp_reject erp_clean_row(const struct erp_raw *raw, struct erp_order *out, char *scratch,
                              size_t scratch_len) {
    size_t n;
    if (clean_field(raw, ERP_COL_NUMERO, scratch, scratch_len, out->numero, sizeof out->numero,
                    ERP_NUMERO_MAX, &n) != 0 ||
        n == 0)
        return ERP_REJECT_NUMERO;
    if (clean_field(raw, ERP_COL_EXTENSION, scratch, scratch_len, out->extension,
                    sizeof out->extension, ERP_EXTENSION_MAX, NULL) != 0)
        return ERP_REJECT_EXTENSION;
    if (!raw->values[ERP_COL_STATUS] ||
        clean_field(raw, ERP_COL_STATUS, scratch, scratch_len, out->status_text,
                    sizeof out->status_text, ERP_TEXT_MAX, &n) != 0 ||
        !(out->status = erp_status_map(out->status_text, n)))
        return ERP_REJECT_STATUS;
    char small[32];
    if (!raw->values[ERP_COL_DATE] ||
        clean_field(raw, ERP_COL_DATE, scratch, scratch_len, small, sizeof small, 31, &n) != 0 ||
        erp_parse_date(small, n, &out->days, out->date) != 0)
        return ERP_REJECT_DATE;
    if (clean_field(raw, ERP_COL_COFFRE, scratch, scratch_len, out->coffre, sizeof out->coffre,
                    ERP_COFFRE_MAX, &n) != 0)
        return ERP_REJECT_COFFRE;
    out->coffre_null = n == 0;
    if (!raw->values[ERP_COL_STOCK] ||
        clean_field(raw, ERP_COL_STOCK, scratch, scratch_len, small, sizeof small, 31, &n) != 0 ||
        n != 1 || (small[0] != '0' && small[0] != '1'))
        return ERP_REJECT_STOCK;
    out->stock = small[0] == '1';
    return ERP_OK;
}

bool erp_same_order(const struct erp_order *a, const struct erp_order *b) {
    return strcmp(a->numero, b->numero) == 0 && strcmp(a->extension, b->extension) == 0;
}

bool erp_order_better(const struct erp_order *a, const struct erp_order *b) {
    if (a->stock != b->stock) return a->stock;
    if (a->days != b->days) return a->days > b->days;
    if (a->coffre_null != b->coffre_null) return b->coffre_null;
    int c = a->coffre_null ? 0 : strcmp(a->coffre, b->coffre);
    if (c != 0) return c < 0;
    /* Beyond the spec's three keys (rows that tie on them, e.g. two headers of one order
     * with different statuses): the smallest status, then source text, in byte order,
     * so that the winner never depends on the order the ERP returned the rows in. */
    c = strcmp(a->status, b->status);
    if (c != 0) return c < 0;
    return strcmp(a->status_text, b->status_text) < 0;
}
