/* log: see log.h. Global settings are written once at start-up (log_setup) and only
 * read afterwards. */
#include "core/log.h"

#include "core/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int min_level = LOG_INFO;
static int out_format = LOG_FORMAT_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(int level, int format) {
    min_level = level;
    out_format = format;
}

struct line {
    char buf[4096];
    size_t n;
};

static void put(struct line *l, const char *s, size_t len) {
    size_t room = sizeof l->buf - 2 - l->n; /* keep space for "\n\0" */
    if (len > room) len = room;
    memcpy(l->buf + l->n, s, len);
    l->n += len;
}

static void puts_raw(struct line *l, const char *s) { put(l, s, strlen(s)); }

/* JSON string body with escapes; text mode quotes values that contain spaces. */
static void put_json_string(struct line *l, const char *s) {
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(l, esc, 6);
        } else {
            put(l, (const char *)p, 1);
        }
    }
    put(l, "\"", 1);
}

static void put_text_value(struct line *l, const char *s) {
    if (*s == '\0' || strpbrk(s, " \"=\n\t")) {
        put_json_string(l, s);
    } else {
        puts_raw(l, s);
    }
}

static void begin(struct line *l, int level, const char *msg) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof when - w, ".%03ldZ", ts.tv_nsec / 1000000);
    l->n = 0;
    if (out_format == LOG_FORMAT_JSON) {
        puts_raw(l, "{\"ts\":\"");
        puts_raw(l, when);
        puts_raw(l, "\",\"level\":\"");
        puts_raw(l, level_names[level]);
        puts_raw(l, "\",\"msg\":");
        put_json_string(l, msg);
    } else {
        puts_raw(l, when);
        puts_raw(l, " ");
        puts_raw(l, level_names[level]);
        puts_raw(l, " ");
        puts_raw(l, msg);
    }
}

static void field(struct line *l, const char *key, const char *value) {
    if (out_format == LOG_FORMAT_JSON) {
        puts_raw(l, ",");
        put_json_string(l, key);
        puts_raw(l, ":");
        put_json_string(l, value);
    } else {
        puts_raw(l, " ");
        puts_raw(l, key);
        puts_raw(l, "=");
        put_text_value(l, value);
    }
}

static void end(struct line *l) {
    if (out_format == LOG_FORMAT_JSON) puts_raw(l, "}");
    l->buf[l->n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, l->buf, l->n);
    (void)ignored;
}

void log_event(int level, const char *msg, ...) {
    if (level < min_level) return;
    struct line l;
    begin(&l, level, msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        field(&l, k, v ? v : "");
    }
    va_end(ap);
    end(&l);
}

void log_msgf(int level, const char *fmt, ...) {
    if (level < min_level) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct line l;
    begin(&l, level, msg);
    end(&l);
}

void log_access(const char *method, const char *route, unsigned status, size_t bytes,
                double duration_ms, const char *request_id, const char *client) {
    if (LOG_INFO < min_level) return;
    char st[16], by[32], du[32];
    snprintf(st, sizeof st, "%u", status);
    snprintf(by, sizeof by, "%zu", bytes);
    snprintf(du, sizeof du, "%.3f", duration_ms);
    log_event(LOG_INFO, "request", "method", method, "route", route, "status", st, "bytes", by,
              "duration_ms", du, "request_id", request_id, "client", client, (char *)NULL);
}
