/* log: leveled, one line per event on stderr, as text or JSON. Thread-safe: each
 * line is formatted in a local buffer and written with one write(2). */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_setup(int level, int format /* enum log_format */);

/* One event: a message and optional key/value pairs (NULL-terminated, values strings). */
void log_event(int level, const char *msg, ...) __attribute__((sentinel));

/* printf-style convenience. */
void log_msgf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msgf(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msgf(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msgf(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msgf(LOG_ERROR, __VA_ARGS__)

/* The access log: one line per finished request. */
void log_access(const char *method, const char *route, unsigned status, size_t bytes,
                double duration_ms, const char *request_id, const char *client);

#endif
