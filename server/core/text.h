/* text: small string helpers shared by the parsers and handlers. Pure functions;
 * returned strings are new heap allocations owned by the caller unless stated. */
#ifndef SLUICE_TEXT_H
#define SLUICE_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

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

#endif
