/* query_params: reading and checking the query string of list and report endpoints.
 * Each query_* helper reads one parameter; on a bad value it answers 400
 * (/problems/bad-request, with "field" naming the parameter) and returns false, so a
 * handler just returns. The parse_* functions are pure (no request) for unit tests.
 * Results go to caller-owned storage; returned strings are borrowed from the request. */
#ifndef SLUICE_QUERY_PARAMS_H
#define SLUICE_QUERY_PARAMS_H

#include "http/request.h"

#include <stdbool.h>
#include <stdint.h>

/* Answers 400 naming the parameter. */
void query_bad(struct request *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every parameter must be in allowed (NULL-terminated); only those in repeatable
 * (NULL-terminated, may be NULL) may appear more than once. */
bool query_check_names(struct request *req, const char *const *allowed,
                       const char *const *repeatable);

/* A calendar date. */
struct query_date {
    int year, month, day;
};

/* A bound of a time range: absent, a date, or an instant (RFC 3339 with an offset). */
enum query_time_kind { QUERY_TIME_ABSENT, QUERY_TIME_DATE, QUERY_TIME_INSTANT };
struct query_time {
    enum query_time_kind kind;
    struct query_date date; /* the date; for an instant, its date in UTC */
    long long epoch;        /* an instant: seconds since 1970 (fraction dropped) */
    char text[48];          /* YYYY-MM-DD, or the instant normalised for PostgreSQL */
};

/* YYYY-MM-DD, a real calendar day, year 1..9999. */
bool parse_date(const char *s, struct query_date *out);
/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); `t`, `z` and a
 * space for the `T` are accepted, and a space for `+` (an unencoded `+` in a URL). Its
 * date in UTC must be in years 1..9999. */
bool parse_instant(const char *s, struct query_time *out);
/* Days since 1970-01-01 (negative before). */
long date_days(const struct query_date *d);
/* The date n days after d (n may be negative). */
struct query_date date_add_days(const struct query_date *d, long n);
/* Writes YYYY-MM-DD (11 bytes with the NUL). */
void date_format(const struct query_date *d, char out[11]);

/* The parameter as a date, or an instant when allow_instant. Absent: kind ABSENT. */
bool query_time(struct request *req, const char *name, bool allow_instant, struct query_time *out);

/* Two bounds read with query_time; when both are dates or both instants, `to` before
 * `from` is a 400 naming to_name. */
bool query_range(struct request *req, const char *from_name, const char *to_name,
                 bool allow_instant, struct query_time *from, struct query_time *to);

/* true/false/1/0. *out: -1 absent, 0 false, 1 true. */
bool query_bool(struct request *req, const char *name, int *out);

/* One of choices (NULL-terminated), compared without regard to case. *out: index, or -1
 * when absent. */
bool query_choice(struct request *req, const char *name, const char *const *choices, int *out);

/* A string of 1..max_len bytes of valid UTF-8 without control characters; *out borrowed
 * (NULL when absent). */
bool query_text(struct request *req, const char *name, size_t max_len, const char **out);

#endif
