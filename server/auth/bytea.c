/* bytea: see bytea.h. */
#include "auth/bytea.h"

#include "core/text.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *bytea_param(const unsigned char *bytes, size_t n) {
    char *out = malloc(2 * n + 3);
    if (!out) return NULL;
    out[0] = '\\';
    out[1] = 'x';
    text_hex(bytes, n, out + 2);
    return out;
}

unsigned char *bytea_decode(const char *text, size_t *n) {
    size_t len = text ? strlen(text) : 0;
    if (len < 2 || text[0] != '\\' || text[1] != 'x' || (len - 2) % 2 != 0) return NULL;
    size_t cap = (len - 2) / 2;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) return NULL;
    size_t got = 0;
    if (sodium_hex2bin(out, cap, text + 2, len - 2, NULL, &got, NULL) != 0 || got != cap) {
        free(out);
        return NULL;
    }
    *n = got;
    return out;
}
