/* bytea: PostgreSQL bytea values as text parameters and results ("\x" + hex), for the
 * auth module's bound statements. Returned buffers are owned by the caller (free). */
#ifndef SLUICE_BYTEA_H
#define SLUICE_BYTEA_H

#include <stddef.h>

/* "\x0a1b..." for n bytes; a new string, or NULL when out of memory. */
char *bytea_param(const unsigned char *bytes, size_t n);

/* Decodes a bytea result value in hex output format into a new buffer (free); *n gets
 * its length. NULL when text is not "\x" followed by an even number of hex digits. */
unsigned char *bytea_decode(const char *text, size_t *n);

#endif
