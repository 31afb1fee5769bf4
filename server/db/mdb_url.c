/* mdb_url: see mdb_url.h. Strings of struct mdb_url are malloc'd here and owned by it. */
#include "db/mdb_url.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        int n = snprintf(err, errlen, "MYSQL_URL: ");
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into a new string; NULL on a bad escape or a decoded NUL
 * (*why says which; out of memory also gives NULL with why "out of memory"). */
static char *decode(const char *s, size_t len, const char **why) {
    char *out = malloc(len + 1);
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                *why = "a '%' not followed by two hex digits";
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            *why = "a NUL byte (%00)";
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* Decodes one component into *dst, naming it in the error (never its value). */
static int component(const char *s, size_t len, char **dst, const char *what, char *err,
                     size_t errlen) {
    const char *why = NULL;
    *dst = decode(s, len, &why);
    if (!*dst) return fail(err, errlen, "the %s holds %s", what, why);
    return 0;
}

const char *mdb_ssl_mode_name(enum mdb_ssl_mode m) {
    switch (m) {
    case MDB_SSL_DISABLED: return "disabled";
    case MDB_SSL_PREFERRED: return "preferred";
    case MDB_SSL_REQUIRED: return "required";
    case MDB_SSL_VERIFY_CA: return "verify-ca";
    case MDB_SSL_VERIFY_IDENTITY: return "verify-identity";
    case MDB_SSL_UNSET: break;
    }
    return "unset";
}

int mdb_ssl_mode_parse(const char *s, enum mdb_ssl_mode *out) {
    static const enum mdb_ssl_mode modes[] = {MDB_SSL_DISABLED, MDB_SSL_PREFERRED, MDB_SSL_REQUIRED,
                                              MDB_SSL_VERIFY_CA, MDB_SSL_VERIFY_IDENTITY};
    char norm[24];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof norm) return -1;
    for (size_t i = 0; i <= n; i++) norm[i] = s[i] == '_' ? '-' : s[i];
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcasecmp(norm, mdb_ssl_mode_name(modes[i])) == 0) {
            *out = modes[i];
            return 0;
        }
    }
    return -1;
}

/* A decimal number in [min, max] from s[0..len); 0 or -1. */
static int number(const char *s, size_t len, unsigned long min, unsigned long max, unsigned *out) {
    if (len == 0 || len > 10) return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < min || v > max) return -1;
    *out = (unsigned)v;
    return 0;
}

static bool host_char(char c, bool bracketed) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (c == '.' || c == '-') return true;
    if (!bracketed) return c == '_';
    return c == ':' || c == '%';
}

static int parse_host(const char *s, size_t len, struct mdb_url *u, char *err, size_t errlen) {
    const char *port = NULL;
    size_t hlen;
    const char *h = s;
    bool bracketed = len > 0 && s[0] == '[';
    if (bracketed) {
        const char *close = memchr(s, ']', len);
        if (!close) return fail(err, errlen, "an IPv6 host lacks its closing ']'");
        h = s + 1;
        hlen = (size_t)(close - h);
        if (hlen == 0) return fail(err, errlen, "the host between '[' and ']' is empty");
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest > 0) {
            if (close[1] != ':')
                return fail(err, errlen, "only ':port' may follow an IPv6 host's ']'");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
        if (colon) {
            if (memchr(colon + 1, ':', len - hlen - 1))
                return fail(err, errlen, "an IPv6 host must be written in brackets: [::1]:3306");
            port = colon + 1;
        }
    }
    for (size_t i = 0; i < hlen; i++)
        if (!host_char(h[i], bracketed))
            return fail(err, errlen,
                        "the host holds a character not allowed in a host name "
                        "(at offset %zu of the host)",
                        i);
    if (hlen == 0) {
        u->host = strdup(MDB_URL_DEFAULT_HOST);
    } else if (bracketed) {
        /* a zone id is written %25name */
        if (component(h, hlen, &u->host, "host", err, errlen) != 0) return -1;
    } else {
        u->host = strndup(h, hlen);
    }
    if (!u->host) return fail(err, errlen, "out of memory");
    u->port = MDB_URL_DEFAULT_PORT;
    if (port) {
        size_t plen = len - (size_t)(port - s);
        if (number(port, plen, 1, 65535, &u->port) != 0)
            return fail(err, errlen, "the port must be a number from 1 to 65535");
    }
    return 0;
}

/* One key=value of the query string. */
static int parse_param(const char *s, size_t len, struct mdb_url *u, char *err, size_t errlen) {
    const char *eq = memchr(s, '=', len);
    if (!eq)
        return fail(err, errlen, "the parameter '%.*s' has no '=value'", (int)(len > 40 ? 40 : len),
                    s);
    size_t klen = (size_t)(eq - s);
    const char *v = eq + 1;
    size_t vlen = len - klen - 1;
    char key[32];
    if (klen == 0 || klen >= sizeof key) return fail(err, errlen, "a parameter has no valid name");
    memcpy(key, s, klen);
    key[klen] = '\0';
    for (size_t i = 0; i < klen; i++)
        if (key[i] == '_') key[i] = '-';
    struct {
        const char *name;
        char **dst;
    } strs[] = {{"ssl-ca", &u->ssl_ca},
                {"ssl-capath", &u->ssl_capath},
                {"ssl-cert", &u->ssl_cert},
                {"ssl-key", &u->ssl_key}};
    struct {
        const char *name;
        unsigned *dst;
    } nums[] = {{"connect-timeout", &u->connect_timeout},
                {"read-timeout", &u->read_timeout},
                {"write-timeout", &u->write_timeout}};
    char *val = NULL;
    if (component(v, vlen, &val, "value of a parameter", err, errlen) != 0) return -1;
    int rc = -1;
    if (strcasecmp(key, "ssl-mode") == 0) {
        if (u->ssl_mode != MDB_SSL_UNSET)
            fail(err, errlen, "ssl-mode is given twice");
        else if (mdb_ssl_mode_parse(val, &u->ssl_mode) != 0)
            fail(err, errlen,
                 "ssl-mode must be disabled, preferred, required, verify-ca or "
                 "verify-identity");
        else
            rc = 0;
        free(val);
        return rc;
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strcasecmp(key, strs[i].name) != 0) continue;
        if (*strs[i].dst)
            fail(err, errlen, "%s is given twice", strs[i].name);
        else if (val[0] == '\0')
            fail(err, errlen, "%s is empty", strs[i].name);
        else
            *strs[i].dst = val, val = NULL, rc = 0;
        free(val);
        return rc;
    }
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcasecmp(key, nums[i].name) != 0) continue;
        if (*nums[i].dst)
            fail(err, errlen, "%s is given twice", nums[i].name);
        else if (number(val, strlen(val), 1, 3600, nums[i].dst) != 0)
            fail(err, errlen, "%s must be a number of seconds from 1 to 3600", nums[i].name);
        else
            rc = 0;
        free(val);
        return rc;
    }
    free(val);
    return fail(err, errlen,
                "unknown parameter '%s' (known: ssl-mode, ssl-ca, ssl-capath, ssl-cert, "
                "ssl-key, connect-timeout, read-timeout, write-timeout)",
                key);
}

static int parse(const char *url, struct mdb_url *u, char *err, size_t errlen) {
    size_t total = strlen(url);
    if (total > MDB_URL_MAX_LEN)
        return fail(err, errlen, "longer than %d characters", MDB_URL_MAX_LEN);
    const char *p;
    if (strncasecmp(url, "mysql://", 8) == 0)
        p = url + 8;
    else if (strncasecmp(url, "mariadb://", 10) == 0)
        p = url + 10;
    else
        return fail(err, errlen, "must start with mysql:// or mariadb://");
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7F)
            return fail(err, errlen,
                        "holds a space or control character at offset %zu "
                        "(percent-encode it)",
                        (size_t)(c - url));
    if (strchr(p, '#')) return fail(err, errlen, "holds a '#' (percent-encode it as %%23)");

    size_t alen = strcspn(p, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p[i] == '@') at = p + i; /* the last one: a raw '@' in a password is forgiven */
    const char *hostpart = p;
    if (at) {
        size_t ulen = (size_t)(at - p);
        const char *colon = memchr(p, ':', ulen);
        size_t nlen = colon ? (size_t)(colon - p) : ulen;
        if (nlen > 0 && component(p, nlen, &u->user, "user name", err, errlen) != 0) return -1;
        if (colon &&
            component(colon + 1, ulen - nlen - 1, &u->password, "password", err, errlen) != 0)
            return -1;
        hostpart = at + 1;
    }
    if (parse_host(hostpart, (size_t)(p + alen - hostpart), u, err, errlen) != 0) return -1;

    const char *q = p + alen;
    if (*q == '/') {
        q++;
        size_t dlen = strcspn(q, "?");
        if (memchr(q, '/', dlen))
            return fail(err, errlen, "the database name holds a '/' (percent-encode it)");
        if (dlen > 0 && component(q, dlen, &u->database, "database name", err, errlen) != 0)
            return -1;
        q += dlen;
    }
    if (*q == '?') {
        q++;
        while (*q) {
            size_t len = strcspn(q, "&");
            if (len == 0) return fail(err, errlen, "the query string holds an empty parameter");
            if (parse_param(q, len, u, err, errlen) != 0) return -1;
            q += len;
            if (*q == '&') {
                q++;
                if (*q == '\0') return fail(err, errlen, "the query string ends with '&'");
            }
        }
    }
    return 0;
}

int mdb_url_parse(const char *url, struct mdb_url *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = '\0';
    if (!url) return fail(err, errlen, "is not set");
    if (parse(url, out, err, errlen) != 0) {
        mdb_url_cleanup(out);
        return -1;
    }
    return 0;
}

void mdb_url_cleanup(struct mdb_url *u) {
    if (!u) return;
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    free(u->user);
    free(u->host);
    free(u->database);
    free(u->ssl_ca);
    free(u->ssl_capath);
    free(u->ssl_cert);
    free(u->ssl_key);
    memset(u, 0, sizeof *u);
}

char *mdb_url_redacted(const struct mdb_url *u, char *buf, size_t len) {
    bool v6 = u->host && strchr(u->host, ':');
    snprintf(buf, len, "mysql://%s%s%s%s%s%s:%u/%s%s%s", u->user ? u->user : "",
             u->password ? ":***" : "", u->user || u->password ? "@" : "", v6 ? "[" : "",
             u->host ? u->host : "", v6 ? "]" : "", u->port, u->database ? u->database : "",
             u->ssl_mode != MDB_SSL_UNSET ? "?ssl-mode=" : "",
             u->ssl_mode != MDB_SSL_UNSET ? mdb_ssl_mode_name(u->ssl_mode) : "");
    return buf;
}
