/* logparse_bench: the CPU side of machine-log ingestion on one core, without a database —
 * for bench/logs. For each LOG file given: read it in chunks of CHUNK bytes (as the
 * ingest does, complete lines only), decode every line (workers/machine_logs/logparse.c),
 * turn its local time into UTC in the zone (tz.c, DST by file order) and encode the COPY
 * row the ingest would send (db/db_copy.h, machine_logs/rows.h: pieces, job profiles,
 * waits, events, rejects); the buffers are emptied after each chunk, as after its COPY.
 * What it does not do is the database's share: session look-ups, COPY itself, figures.
 *
 *   logparse_bench ZONE FILE...   prints: bytes lines rows wall_s cpu_s MB/s
 *
 * MB/s is per CPU second of this process (one thread: per core), so that a machine
 * shared with other work gives the figure of the core's time it actually got.
 *
 * Memory: one read buffer and the row buffers, freed at exit. */
#define _GNU_SOURCE /* memrchr */
#include "db/db_copy.h"
#include "machine_logs/logparse.h"
#include "machine_logs/rows.h"
#include "machine_logs/tz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4 * 1024 * 1024)

struct out {
    struct db_copy_buf pieces, jobs, waits, events, rejects;
    long long lines, rows;
};

static void encode(struct out *o, const struct logparse_line *ln, int64_t us, long long line_no) {
    struct db_copy_buf *b;
    switch (ln->kind) {
    case LOGPARSE_BLANK: return;
    case LOGPARSE_NON_EVENT: o->lines++; return;
    case LOGPARSE_REJECT:
        b = &o->rejects;
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        db_copy_cstr(b, ln->reason);
        db_copy_text(b, ln->text.ptr, ln->text.len);
        break;
    case LOGPARSE_PIECE:
        b = &o->pieces;
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        rows_time(b, us);
        db_copy_text(b, ln->details.ptr, ln->details.len);
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        break;
    case LOGPARSE_WAIT:
        b = &o->waits;
        db_copy_int(b, 1);
        rows_time(b, us);
        rows_time(b, us + ln->wait_us);
        rows_seconds(b, ln->wait_us);
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        break;
    case LOGPARSE_JOB:
        b = &o->jobs;
        db_copy_int(b, 1);
        db_copy_text(b, ln->reference.ptr, ln->reference.len);
        db_copy_text(b, ln->length.ptr, ln->length.len);
        db_copy_text(b, ln->colour.ptr, ln->colour.len);
        rows_time(b, us);
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        break;
    default:
        b = &o->events;
        db_copy_int(b, 1);
        db_copy_text(b, ln->name.ptr, ln->name.len);
        rows_time(b, us);
        db_copy_text(b, ln->details.ptr, ln->details.len);
        db_copy_int(b, 1);
        db_copy_int(b, line_no);
        break;
    }
    db_copy_end_row(b);
    o->lines++;
    o->rows++;
}

static void reset(struct out *o) {
    db_copy_buf_reset(&o->pieces);
    db_copy_buf_reset(&o->jobs);
    db_copy_buf_reset(&o->waits);
    db_copy_buf_reset(&o->events);
    db_copy_buf_reset(&o->rejects);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: logparse_bench ZONE FILE...\n");
        return 2;
    }
    struct tz_zone zone;
    char err[300];
    if (tz_load(&zone, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct out o;
    memset(&o, 0, sizeof o);
    db_copy_buf_init(&o.pieces);
    db_copy_buf_init(&o.jobs);
    db_copy_buf_init(&o.waits);
    db_copy_buf_init(&o.events);
    db_copy_buf_init(&o.rejects);
    struct logparse_buf lb;
    logparse_buf_init(&lb);
    uint8_t *buf = malloc(CHUNK);
    long long bytes = 0;
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (int i = 2; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            perror(argv[i]);
            return 1;
        }
        struct logparse_dst dst;
        logparse_dst_init(&dst);
        long long line_no = 0;
        size_t len = 0;
        for (;;) {
            ssize_t k = read(fd, buf + len, CHUNK - len);
            if (k < 0) {
                perror(argv[i]);
                return 1;
            }
            len += (size_t)k;
            const uint8_t *end = len ? memrchr(buf, '\n', len) : NULL;
            if (!end) break; /* a last line without its end waits */
            const uint8_t *p = buf;
            while (p <= end) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p) + 1);
                struct logparse_line ln;
                line_no++;
                if (logparse_line(&lb, p, (size_t)(nl - p), &ln) != 0) return 1;
                int64_t us = 0;
                if (ln.kind >= LOGPARSE_PIECE)
                    us = logparse_to_utc(&zone, &dst, ln.local) * 1000000;
                encode(&o, &ln, us, line_no);
                p = nl + 1;
            }
            size_t used = (size_t)(end - buf) + 1;
            bytes += (long long)used;
            memmove(buf, buf + used, len - used);
            len -= used;
            reset(&o);
            if (k == 0) break;
        }
        close(fd);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    printf("%lld %lld %lld %.3f %.3f %.1f\n", bytes, o.lines, o.rows, wall, cpu,
           (double)bytes / 1e6 / cpu);
    free(buf);
    logparse_buf_cleanup(&lb);
    tz_cleanup(&zone);
    return 0;
}
