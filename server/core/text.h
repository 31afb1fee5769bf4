/* text: small string helpers shared by the parsers and handlers. Pure functions;
 * returned strings are new heap allocations owned by the caller unless stated. */
#ifndef SLUICE_TEXT_H
#define SLUICE_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool text_utf8_valid(const char *s, size_t len);

/* The valid UTF-8 sequence at s[0..avail) (avail >= 1): its length (1..4) with its code
 * point in *cp, or 0 when it is not valid UTF-8. */
size_t text_utf8_decode(const char *s, size_t avail, unsigned *cp);

/* A JSON string of s, with bytes that are not valid UTF-8 replaced by U+FFFD. */
json_t *text_json_string_lossy(const char *s);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void text_hex(const unsigned char *bytes, size_t n, char *out);

/* A growing text buffer; the caller owns data (free(buf.data)). */
struct textbuf {
    char *data;
    size_t len, cap;
};
void textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends n bytes of s (a memcpy: no formatting). On OOM the buffer stays as it was. */
void textbuf_put(struct textbuf *b, const char *s, size_t n);

/* Appends items[0..n) separated by sep, stopping early at a NULL item (so a
 * NULL-terminated list can pass n = SIZE_MAX): "a, b, c". */
void textbuf_join(struct textbuf *b, const char *const *items, size_t n, const char *sep);

/* Appends s percent-encoded: every byte but RFC 3986's unreserved characters
 * (A-Z a-z 0-9 - . _ ~) becomes %XX (upper-case hex); with path, '/' and the other
 * characters allowed in a path segment (!$&'()*+,;=:@) are kept too. */
void textbuf_percent_encode(struct textbuf *b, const char *s, bool path);

/* A resource id in a URL: 1 to 18 decimal digits, no sign, no leading zero (so the
 * value is positive and fits in int64_t). True with *out set; false otherwise. */
bool text_parse_id(const char *s, int64_t *out);

#endif
