/* head_check: finds a NUL byte hidden inside a header value. libmicrohttpd parses the
 * request head in place and hands out header values as C strings, so a value such as
 * "Bearer <token>\0garbage" arrives as "Bearer <token>" and the rest is silently lost.
 * The head is still there, as libmicrohttpd left it: each line's end (CRLF or LF) turned
 * into NUL bytes, the ':' after each name into one NUL. After the end of a value there may
 * thus be only NUL bytes up to the next header's name (or up to the end of the head);
 * anything else was hidden behind a NUL. Pure: no I/O, no allocation. */
#ifndef SLUICE_HEAD_CHECK_H
#define SLUICE_HEAD_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct head_field {
    const char *name;  /* points into the head */
    const char *value; /* points into the head (unless folded: then not checked) */
    size_t value_len;  /* as libmicrohttpd measured it (up to the first NUL) */
};

/* Whether fields[0..n) (in the order of the head) hide a NUL in a value; *which gets the
 * index of the first such field. head..head+head_len is the request line and header block
 * as libmicrohttpd left it. */
bool head_hidden_nul(const char *head, size_t head_len, const struct head_field *fields, size_t n,
                     size_t *which);

#endif
