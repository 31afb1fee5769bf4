/* ingest: one centre's LOG files into PostgreSQL, chunk by chunk (see ingest.h).
 *
 * A file is planned from its registry row (what was consumed, device/inode, hashes),
 * then read from its offset in chunks of complete lines. Each chunk is one transaction:
 * lock the registry row and check it did not move, withdraw first when the file must be
 * read again, derive the chunk's rows (sessions created on first use, pieces numbered
 * after the day's last, stops opened/closed against the centre's open stop), COPY them,
 * close an older open stop, recompute the touched days' figures, update the registry.
 * All in-memory state of a chunk is thrown away when its transaction fails, so a retry
 * or a later pass starts again from what was committed.
 *
 * The parts: this file reads the files of a centre and each file's chunks; ingest_lines.c
 * derives a chunk's rows from its lines, ingest_registry.c keeps the log_file registry,
 * ingest_chunk.c runs a chunk's transaction; ingest_internal.h is what they share.
 *
 * Memory: the read buffer and the touched-session set live in struct ml_run; a chunk's
 * rows live in struct chunk (freed at the end of each file). */
#include "machine_logs/ingest.h"
#include "machine_logs/ingest_internal.h"

#include "core/log.h"
#include "db/db.h"
#include "machine_logs/logparse.h"
#include "machine_logs/mlhash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- SQL ------------------------------------------------------------------------------ */

/* One ingest per centre at a time: pg_advisory_lock(class 7303391, centre id). */
static struct db_stmt q_lock = DB_STMT("SELECT pg_try_advisory_lock(7303391, $1::int)");
static struct db_stmt q_unlock = DB_STMT("SELECT pg_advisory_unlock(7303391, $1::int)");

static struct db_stmt q_reg_offsets =
    DB_STMT("SELECT name, byte_offset FROM log_file WHERE centre_usinage_id = $1");

/* ---- small helpers --------------------------------------------------------------------- */

void ml_run_event(struct ml_run *run, int level, const char *fmt, ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (run->event) run->event(run->arg, level, msg);
}

void ml_run_init(struct ml_run *run, struct db *db, long chunk_bytes, long max_line) {
    memset(run, 0, sizeof *run);
    run->db = db;
    run->chunk_bytes = chunk_bytes;
    run->max_line = max_line;
}

void ml_run_cleanup(struct ml_run *run) {
    free(run->seen);
    free(run->buf);
    run->seen = NULL;
    run->buf = NULL;
}

int ml_centre_zone(struct ml_centre *c, char *err, size_t errlen) {
    return tz_load(&c->zone, c->time_zone, err, errlen);
}

void ml_centre_cleanup(struct ml_centre *c) { tz_cleanup(&c->zone); }

bool ml_day_over(const struct ml_centre *c, int64_t day) {
    int64_t now = (int64_t)time(NULL);
    int64_t local = now + tz_offset_at(&c->zone, now);
    return day < local / 86400 - (local % 86400 < 0);
}

/* ---- one file ---------------------------------------------------------------------------- */

static bool ensure_buf(struct ml_run *run) {
    size_t want = (size_t)run->chunk_bytes + (size_t)run->max_line + 1;
    if (run->buf_cap >= want) return true;
    uint8_t *p = realloc(run->buf, want);
    if (!p) return false;
    run->buf = p;
    run->buf_cap = want;
    return true;
}

/* Reads what is new in one file. 0 done (*complete: no partial line left), 1 cancelled,
 * -1 error. */
static int ingest_file(struct file *f, bool *complete) {
    struct ml_run *run = f->run;
    *complete = false;
    if (ml_file_plan(f) != 0) return -1;
    if (f->withdraw && ml_file_plan_withdrawal(f, true) != 0) return -1;
    if (f->withdraw) {
        memset(&f->done, 0, sizeof f->done);
        logparse_dst_init(&f->done.dst);
        mlhash_init(&f->done.prefix);
    }
    if (!ensure_buf(run)) {
        snprintf(run->error, sizeof run->error, "out of memory");
        return -1;
    }
    /* closed for writing: a last line without its end is complete all the same */
    bool closed = f->has_day ? ml_day_over(f->c, f->day)
                             : (int64_t)time(NULL) - (int64_t)f->st.st_mtime > run->quiet_seconds;
    /* a line read without its end (the byte before the offset is not '\n'): a "\n" or
     * "\r\n" now at the offset only ends it, as if the file had been read whole at once */
    uint8_t around[3];
    int64_t off = f->done.offset;
    f->swallow = 0;
    if (!f->withdraw && off > 0 && (int64_t)f->st.st_size > off &&
        ml_read_at(f->fd, around, (int64_t)f->st.st_size - off >= 2 ? 3 : 2, off - 1) &&
        around[0] != '\n') {
        if (around[1] == '\n')
            f->swallow = 1;
        else if ((int64_t)f->st.st_size - off >= 2 && around[1] == '\r' && around[2] == '\n')
            f->swallow = 2;
    }
    bool touched = false;
    size_t len = 0;
    for (;;) {
        if (run->cancelled && run->cancelled(run->arg)) return 1;
        int64_t pos = f->done.offset;
        /* fill the buffer from pos */
        while (len < (size_t)run->chunk_bytes + (size_t)run->max_line) {
            ssize_t k =
                pread(f->fd, run->buf + len, run->buf_cap - 1 - len, (off_t)(pos + (int64_t)len));
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                snprintf(run->error, sizeof run->error, "%.400s: %s", f->path, strerror(errno));
                return -1;
            }
            if (k == 0) break;
            len += (size_t)k;
            if (len >= (size_t)run->chunk_bytes) break;
        }
        /* complete lines within chunk_bytes (or the first line if it alone is longer) */
        size_t scan = len < (size_t)run->chunk_bytes ? len : (size_t)run->chunk_bytes;
        const uint8_t *last = NULL;
        for (size_t i = scan; i > 0; i--)
            if (run->buf[i - 1] == '\n') {
                last = run->buf + i - 1;
                break;
            }
        if (!last) last = memchr(run->buf + scan, '\n', len - scan);
        size_t use, long_len = 0;
        if (last) {
            use = (size_t)(last - run->buf) + 1;
        } else if (len > (size_t)run->max_line) {
            /* an overlong first line with no '\n' in sight: find its end in the file,
             * keeping its first bytes other than NUL (removed first, they do not count) */
            int64_t at = pos, nl = -1;
            uint8_t tmp[65536];
            for (;;) {
                ssize_t k = pread(f->fd, tmp, sizeof tmp, (off_t)at);
                if (k <= 0) break;
                const uint8_t *q = memchr(tmp, '\n', (size_t)k);
                size_t m = q ? (size_t)(q - tmp) : (size_t)k;
                for (size_t j = 0; j < m && long_len <= (size_t)run->max_line; j++)
                    if (tmp[j]) run->buf[long_len++] = tmp[j];
                if (q) {
                    nl = at + (q - tmp);
                    break;
                }
                at += k;
            }
            if (nl < 0 && !(closed && at >= (int64_t)f->st.st_size))
                break; /* not complete yet: it waits */
            use = nl < 0 ? (size_t)(at - pos) : (size_t)(nl - pos) + 1;
            if (long_len == 0) run->buf[long_len++] = 0; /* only NULs: a blank line */
        } else if (closed && len > 0 && pos + (int64_t)len >= (int64_t)f->st.st_size) {
            use = len; /* the file's last line, without its end: the file is closed */
        } else {
            break; /* only a partial line: it waits for its end */
        }
        /* new lines before files of the centre already read (later in name order, so
         * their stops may depend on these): withdrawn in this first chunk's transaction,
         * read again after this file in this pass, as if all were read in name order */
        if (!touched && !f->withdraw && ml_file_plan_withdrawal(f, false) != 0) return -1;
        int crc = ml_chunk_commit(f, run->buf, use, long_len);
        if (crc != 0) return crc;
        touched = true;
        if (use >= len) {
            len = 0;
        } else {
            memmove(run->buf, run->buf + use, len - use);
            len -= use;
        }
    }
    /* registry only: a withdrawal with nothing to read yet, a new file, a moved file */
    if (f->withdraw || f->id == 0 || f->reg_dev != (int64_t)f->st.st_dev ||
        f->reg_ino != (int64_t)f->st.st_ino || f->reg_size != (int64_t)f->st.st_size) {
        int crc = ml_chunk_commit(f, NULL, 0, 0);
        if (crc != 0) return crc;
    }
    if (touched) run->total.files++;
    *complete = f->done.offset == (int64_t)f->st.st_size;
    return 0;
}

/* ---- a centre -------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The wanted LOG files of dir, sorted (malloc'd array of malloc'd names). */
static char **list_files(const char *dir, const char *only, size_t *n, char *err, size_t errlen) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (!logparse_wanted_name(e->d_name)) continue;
        if (only && strcmp(only, e->d_name) != 0) continue;
        if (*n == cap) {
            char **p = realloc(names, 2 * cap * sizeof *names);
            if (!p) break;
            names = p;
            cap *= 2;
        }
        names[*n] = strdup(e->d_name);
        if (names[*n]) (*n)++;
    }
    closedir(d);
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    qsort(names, *n, sizeof *names, cmp_names);
    return names;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int64_t ml_pending_bytes(struct ml_run *run, const struct ml_centre *c, const char *dir,
                         const char *only) {
    size_t n;
    char err[256];
    char **names = list_files(dir, only, &n, err, sizeof err);
    if (!names) return 0;
    char centre[24];
    ml_i64(centre, sizeof centre, c->id);
    const char *v[] = {centre};
    PGresult *r = db_exec(run->db, &q_reg_offsets, 1, v);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        int64_t off = 0;
        for (int k = 0; r && k < PQntuples(r); k++)
            if (strcmp(PQgetvalue(r, k, 0), names[i]) == 0)
                off = strtoll(PQgetvalue(r, k, 1), NULL, 10);
        total += st.st_size >= off ? st.st_size - off : st.st_size;
    }
    if (r) PQclear(r);
    free_names(names, n);
    return total;
}

static int lock_centre(struct ml_run *run, const struct ml_centre *c) {
    char id[24];
    ml_i64(id, sizeof id, c->id);
    const char *v[] = {id};
    bool told = false;
    for (;;) {
        PGresult *r = db_exec(run->db, &q_lock, 1, v);
        if (!r) {
            snprintf(run->error, sizeof run->error, "lock: %s", db_last_error(run->db));
            return -1;
        }
        bool got = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (got) return 0;
        if (!told)
            ml_run_event(run, LOG_INFO, "%s: waiting for another ingest of this centre", c->code);
        told = true;
        if (run->cancelled && run->cancelled(run->arg)) return 1;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void unlock_centre(struct ml_run *run, const struct ml_centre *c) {
    char id[24];
    ml_i64(id, sizeof id, c->id);
    const char *v[] = {id};
    PGresult *r = db_exec(run->db, &q_unlock, 1, v);
    if (r) PQclear(r);
}

int ml_ingest_centre(struct ml_run *run, struct ml_centre *c, const char *dir, const char *only,
                     void (*done_fn)(void *arg, const struct ml_centre *c, const char *dir,
                                     const char *name, bool has_day, int64_t day),
                     void *done_arg) {
    int rc = lock_centre(run, c);
    if (rc != 0) return rc;
    struct file f = {.run = run, .c = c, .dir = dir, .fd = -1};
    logparse_buf_init(&f.lb);
    ml_chunk_init(&f.ck);
    size_t n = 0;
    char **names = NULL;
    for (int round = 0; round < 3 && rc == 0; round++) {
        names = list_files(dir, only, &n, run->error, sizeof run->error);
        if (!names) {
            rc = -1;
            break;
        }
        bool again = false;
        for (size_t i = 0; i < n && rc == 0; i++) {
            f.name = names[i];
            snprintf(f.path, sizeof f.path, "%s/%s", dir, names[i]);
            f.fd = open(f.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            if (f.fd < 0 || fstat(f.fd, &f.st) != 0 || !S_ISREG(f.st.st_mode)) {
                if (f.fd >= 0 || errno != ENOENT)
                    ml_run_event(run, LOG_WARN, "%s: not a readable regular file: skipped", f.path);
                if (f.fd >= 0) close(f.fd);
                f.fd = -1;
                continue;
            }
            f.has_day = logparse_file_day(names[i], &f.day);
            f.cascaded = false;
            bool complete = false;
            rc = ingest_file(&f, &complete);
            close(f.fd);
            f.fd = -1;
            if (rc == 0 && complete && done_fn)
                done_fn(done_arg, c, dir, names[i], f.has_day, f.day);
            if (rc == 0 && f.cascaded && only) again = true; /* the later files too */
        }
        free_names(names, n);
        names = NULL;
        if (!again) break;
        only = NULL;
    }
    free(f.withdraw_ids);
    ml_chunk_cleanup(&f.ck);
    logparse_buf_cleanup(&f.lb);
    unlock_centre(run, c);
    return rc;
}
