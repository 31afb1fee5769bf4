/* head_check: see head_check.h. */
#include "http/head_check.h"

bool head_hidden_nul(const char *head, size_t head_len, const struct head_field *fields, size_t n,
                     size_t *which) {
    const char *end = head + head_len;
    for (size_t i = 0; i < n; i++) {
        const char *v = fields[i].value;
        if (v < head || v > end || fields[i].value_len > (size_t)(end - v)) continue;
        const char *q = v + fields[i].value_len;
        while (q < end && *q == '\0') q++;
        if (q == end) continue;                             /* the last field */
        if (i + 1 < n && q == fields[i + 1].name) continue; /* the next field */
        if (*q == ' ' || *q == '\t') continue;              /* a folded line */
        *which = i;
        return true;
    }
    return false;
}
