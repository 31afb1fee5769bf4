/* rows: instants, durations and one-shot COPY on db_copy (see rows.h). */
#include "machine_logs/rows.h"

#include "machine_logs/logparse.h"

#include <stdio.h>

void rows_time(struct db_copy_buf *b, int64_t us) {
    char t[40];
    size_t n = logparse_format_utc(us, t);
    db_copy_text(b, t, n);
}

void rows_seconds(struct db_copy_buf *b, int64_t us) {
    char t[40];
    int64_t whole = us / 1000000, frac = us % 1000000;
    int k = snprintf(t, sizeof t, "%lld", (long long)whole);
    if (frac) {
        k += snprintf(t + k, sizeof t - (size_t)k, ".%06lld", (long long)frac);
        while (t[k - 1] == '0') k--;
    }
    db_copy_text(b, t, (size_t)k);
}

int rows_copy(struct db *db, const char *copy_sql, struct db_copy_buf *b) {
    if (b->rows == 0) return 0;
    if (db_copy_begin(db, copy_sql) != 0) return -1;
    if (db_copy_put(db, b) != 0) return -1;
    return db_copy_end(db, NULL);
}
