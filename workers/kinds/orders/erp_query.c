/* erp_query: see erp_query.h. */
#include "kinds/orders/erp_query.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t erp_query_trim(char *s, size_t len) {
    while (len > 0 && strchr(" \t\r\n\f\v;", s[len - 1])) len--;
    s[len] = '\0';
    return len;
}

char *erp_query_load(const char *path, char *err, size_t errlen) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        snprintf(err, errlen, "ERP_ORDERS_QUERY_FILE %s: %s", path ? path : "(unset)",
                 path ? strerror(errno) : "no file given");
        return NULL;
    }
    char *buf = malloc(ERP_QUERY_MAX_BYTES + 1);
    size_t len = buf ? fread(buf, 1, ERP_QUERY_MAX_BYTES + 1, f) : 0;
    bool failed = buf && ferror(f);
    fclose(f);
    const char *why = !buf                        ? "out of memory"
                      : failed                    ? "cannot be read"
                      : len > ERP_QUERY_MAX_BYTES ? "longer than 256 KiB"
                      : memchr(buf, '\0', len)    ? "holds a NUL byte"
                                                  : NULL;
    if (!why) {
        len = erp_query_trim(buf, len);
        if (strspn(buf, " \t\r\n") == len) why = "is empty";
    }
    if (why) {
        snprintf(err, errlen, "ERP_ORDERS_QUERY_FILE %s: %s", path, why);
        free(buf);
        return NULL;
    }
    return buf;
}
