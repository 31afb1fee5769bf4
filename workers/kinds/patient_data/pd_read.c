/* pd_read: reads a patient-data CSV file through the CSV reader (pd_csv.h) for both
 * passes of a load: the scan (to the end, hashing what it reads, noting L->file_size)
 * and the bounded load (from a committed offset exactly to that size); see pd_load.h.
 * Memory: one READ_CHUNK buffer and one CSV reader a call, both freed (and the file
 * closed) before it returns. */
#include "kinds/patient_data/pd_load.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1 << 20)

static int open_file(struct pd_load *L) {
    int fd = open(L->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        snprintf(L->error, sizeof L->error, "cannot open %.300s: %.300s", L->path, strerror(errno));
    return fd;
}

/* Reads the file from offset through the reader (fn for each record); hashes what it
 * reads when st is not NULL. The scan (bounded false) reads to the end and sets
 * L->file_size; the load (bounded true) reads exactly to L->file_size, so rows appended
 * since the scan are not loaded, and a file that shrank, or whose unterminated last line
 * grew, is an error, never a silent early end or a cut value. 0, 1 when fn stopped, -1 on a read
 * error (L->error). */
int pd_read_file(struct pd_load *L, int64_t offset, int64_t line, pdcsv_fn fn, void *arg,
                 crypto_generichash_state *st, bool bounded) {
    int fd = open_file(L);
    if (fd < 0) return -1;
    if (offset && lseek(fd, offset, SEEK_SET) != offset) {
        snprintf(L->error, sizeof L->error, "cannot seek %.300s to %lld: %.300s", L->path,
                 (long long)offset, strerror(errno));
        close(fd);
        return -1;
    }
    char *buf = malloc(READ_CHUNK);
    struct pdcsv r;
    pdcsv_init(&r, L->max_record, offset, line);
    int rc = buf ? 0 : -1;
    int64_t total = offset;
    char last = '\n'; /* the last byte read (from offset: a committed record ended there) */
    while (rc == 0) {
        size_t want = READ_CHUNK;
        if (bounded && L->file_size - total < (int64_t)want) want = (size_t)(L->file_size - total);
        ssize_t n = want ? read(fd, buf, want) : 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(L->error, sizeof L->error, "reading %.300s at byte %lld: %.300s", L->path,
                     (long long)total, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0 && bounded && total < L->file_size) {
            snprintf(L->error, sizeof L->error,
                     "%.300s shrank while it was being loaded: it ends at byte %lld, where the "
                     "first pass read %lld bytes",
                     L->path, (long long)total, (long long)L->file_size);
            rc = -1;
            break;
        }
        char more;
        if (n == 0 && bounded && last != '\n' && pread(fd, &more, 1, total) == 1) {
            /* The scan ended in a line without its end of line, and that line has grown
             * since: finishing it here would load a cut value. */
            snprintf(L->error, sizeof L->error,
                     "%.300s grew while it was being loaded, and the line that ended it at "
                     "byte %lld had no end of line: load it again once it is complete",
                     L->path, (long long)total);
            rc = -1;
            break;
        }
        if (n == 0) {
            rc = pdcsv_finish(&r, fn, arg);
            break;
        }
        last = buf[n - 1];
        total += n;
        if (st) crypto_generichash_update(st, (const unsigned char *)buf, (size_t)n);
        rc = pdcsv_feed(&r, buf, (size_t)n, fn, arg);
    }
    if (rc == -1 && !L->error[0]) snprintf(L->error, sizeof L->error, "out of memory");
    if (!bounded) L->file_size = total;
    pdcsv_cleanup(&r);
    free(buf);
    close(fd);
    return rc > 0 ? 1 : rc;
}
