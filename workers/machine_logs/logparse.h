/* logparse: the machining-centre LOG line decoder and event parser
 * (specs/machine-logs.md), free of I/O: one line's bytes in (without its '\n'), one
 * decoded line out. Also the production day of a file name, the local → UTC conversion
 * with the autumn hour resolved by file order, and UTC instant formatting.
 *
 * A line is decoded as: NUL bytes removed, Latin-1 → UTF-8, trailing blanks (CR, space,
 * tab) dropped; then empty → BLANK (ignored, not counted); no "|@" → NON_EVENT; the
 * timestamp (the bytes before the first "|@", non-ASCII characters dropped) must be
 * exactly "YYYYMMDD HH:MM:SS" and a real date and time, else REJECT; the event name runs
 * from "|@" to the first ':' (or the end), its details follow (blanks trimmed).
 *
 * Memory: struct logparse_line points into the caller's struct logparse_buf (valid until
 * the next decode with that buffer) or into the input bytes; reasons are static or in
 * the buffer. logparse_buf_cleanup frees the buffer. */
#ifndef SLUICE_LOGPARSE_H
#define SLUICE_LOGPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz_zone;

enum logparse_kind {
    LOGPARSE_BLANK,     /* empty or only blanks once NULs are removed: not counted */
    LOGPARSE_NON_EVENT, /* no "|@": counted only */
    LOGPARSE_REJECT,    /* bad timestamp or unreadable details of a known event */
    LOGPARSE_PIECE,     /* StukUitgevoerd */
    LOGPARSE_WAIT,      /* MachineWait */
    LOGPARSE_STOP,      /* MachineStop */
    LOGPARSE_START,     /* MachineStart */
    LOGPARSE_JOB,       /* JobProfiel */
    LOGPARSE_UNKNOWN,   /* any other event name: kept and counted by name */
};

/* Longest wait accepted (seconds): beyond it the line is rejected. */
#define LOGPARSE_MAX_WAIT_SECONDS (31 * 86400)

/* A piece of text: bytes and length, UTF-8, not NUL-terminated; ptr NULL = absent. */
struct logparse_text {
    const char *ptr;
    size_t len;
};

struct logparse_line {
    enum logparse_kind kind;
    struct logparse_text text;              /* the whole decoded line (UTF-8), for rejects */
    const char *reason;                     /* REJECT: why (NUL-terminated) */
    int64_t local;                          /* wall-clock seconds since 1970 as if UTC (events) */
    struct logparse_text name;              /* the event name (events; may be empty) */
    struct logparse_text details;           /* PIECE/STOP/START/UNKNOWN: the details, or absent */
    int64_t wait_us;                        /* WAIT: the duration in microseconds */
    struct logparse_text reference, colour; /* JOB (colour may be absent) */
    struct logparse_text length;            /* JOB: the length as written (a decimal) */
};

/* Scratch space for decoding lines; grows to twice the longest line. */
struct logparse_buf {
    char *data;
    size_t cap;
    char reason[160];
};

void logparse_buf_init(struct logparse_buf *b);
void logparse_buf_cleanup(struct logparse_buf *b);

/* Decodes one line (raw: its bytes without the '\n'). Returns 0, or -1 when out of
 * memory (then out is unchanged). */
int logparse_line(struct logparse_buf *b, const uint8_t *raw, size_t len,
                  struct logparse_line *out);

/* The production day named by a file name: the first run of exactly eight digits that is
 * a real date (20250528.LOG, DEM12_20250528.log). True with *days (days since
 * 1970-01-01) set, false when the name carries no date. */
bool logparse_file_day(const char *name, int64_t *days);

/* True when a name in a centre's folder is a LOG file to read: it ends in ".log" (any
 * case) and neither starts with '.' nor ends in ".tmp"/".part" (uploads in progress). */
bool logparse_wanted_name(const char *name);

/* The autumn hour's state within one file, carried from one read to the next. */
struct logparse_dst {
    int64_t last_ambiguous; /* the last repeated wall-clock time seen, or INT64_MIN */
    bool second;            /* the clock has already gone back: read the later instants */
    /* A cache, not state (never stored): the local hour cache_hour (local / 3600) has one
     * offset, cache_off, all through; INT64_MIN: none. */
    int64_t cache_hour;
    int32_t cache_off;
};

void logparse_dst_init(struct logparse_dst *d);

/* The UTC instant (seconds) of a wall-clock time of this file, in file order: a time of
 * the repeated autumn hour is read as its first occurrence until a time of that hour
 * goes backwards (the clock went back), from then on as its second. A time of the
 * spring gap is read with the offset before the gap. */
int64_t logparse_to_utc(const struct tz_zone *z, struct logparse_dst *d, int64_t local);

/* Formats microseconds since 1970 UTC as PostgreSQL timestamptz input,
 * "2025-05-28 04:12:07+00" or with ".250000" when there is a fraction. Returns the
 * length written (out: at least 40 bytes). */
size_t logparse_format_utc(int64_t us, char *out);

/* A date (days since 1970) as "YYYY-MM-DD" (out: at least 16 bytes). */
size_t logparse_format_date(int64_t days, char *out);

#endif
