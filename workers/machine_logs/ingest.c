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
 * Memory: the read buffer and the touched-session set live in struct ml_run; a chunk's
 * rows live in struct chunk (freed at the end of each file). */
#include "machine_logs/ingest.h"

#include "core/log.h"
#include "db/db.h"
#include "machine_logs/logparse.h"
#include "machine_logs/mlhash.h"
#include "machine_logs/rows.h"

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

#define ML_LOCK_CLASS 7303391 /* pg_advisory_lock(class, centre id) */
#define FP_BYTES 4096         /* fingerprint: first bytes; tail hash: bytes before offset */

/* ---- SQL ------------------------------------------------------------------------------ */

static struct db_stmt q_lock = DB_STMT("SELECT pg_try_advisory_lock("
                                       "7303391"
                                       ", $1::int)");
static struct db_stmt q_unlock = DB_STMT("SELECT pg_advisory_unlock("
                                         "7303391"
                                         ", $1::int)");

static struct db_stmt q_reg_get =
    DB_STMT("SELECT id, byte_offset, line_number, lines, non_event_lines, unknown_events,"
            " rejected_lines, device, inode, encode(fingerprint, 'hex'),"
            " encode(tail_hash, 'hex'), encode(prefix_state, 'hex'),"
            " extract(epoch FROM dst_last_ambiguous)::bigint, dst_second, rereads, size,"
            " floor(extract(epoch FROM last_read_at))::bigint"
            " FROM log_file WHERE centre_usinage_id = $1 AND name = $2");

static struct db_stmt q_reg_offsets =
    DB_STMT("SELECT name, byte_offset FROM log_file WHERE centre_usinage_id = $1");

static struct db_stmt q_reg_insert =
    DB_STMT("INSERT INTO log_file (centre_usinage_id, name, date_production)"
            " VALUES ($1, $2, $3::date) ON CONFLICT (centre_usinage_id, name) DO NOTHING");

static struct db_stmt q_reg_lock =
    DB_STMT("SELECT id, byte_offset, rereads FROM log_file"
            " WHERE centre_usinage_id = $1 AND name = $2 FOR UPDATE");

static struct db_stmt q_reg_update =
    DB_STMT("UPDATE log_file SET device = $2, inode = $3, fingerprint = decode($4, 'hex'),"
            " tail_hash = decode($5, 'hex'), prefix_state = decode($6, 'hex'), size = $7,"
            " byte_offset = $8, line_number = $9, lines = $10, non_event_lines = $11,"
            " unknown_events = $12, rejected_lines = $13,"
            " dst_last_ambiguous = to_timestamp($14::bigint) AT TIME ZONE 'UTC', dst_second = $15,"
            " first_read_at = CASE WHEN $8::bigint > 0 THEN COALESCE(first_read_at, now()) END,"
            " last_read_at = CASE WHEN $8::bigint > 0 THEN now() END"
            " WHERE id = $1");

/* The files of the centre read after this one (name order), whose stops may depend on it. */
static struct db_stmt q_later =
    DB_STMT("SELECT id, name FROM log_file WHERE centre_usinage_id = $1"
            " AND name COLLATE \"C\" > $2 COLLATE \"C\" AND byte_offset > 0");

/* Withdrawal of files $1: stops of other files they closed open again; their rows go. */
static struct db_stmt q_reopen =
    DB_STMT("UPDATE periode_arret SET timestamp_fin = NULL, duree_secondes = NULL,"
            " closed_by_file_id = NULL, closed_by_line = NULL"
            " WHERE closed_by_file_id = ANY ($1::bigint[])"
            " AND (log_file_id IS NULL OR NOT (log_file_id = ANY ($1::bigint[])))");

static struct db_stmt q_withdraw =
    DB_STMT("WITH s AS (SELECT DISTINCT session_id FROM session_log_file"
            "           WHERE log_file_id = ANY ($1::bigint[])),"
            " a AS (DELETE FROM piece_production WHERE session_id IN (SELECT session_id FROM s)"
            "       AND log_file_id = ANY ($1::bigint[])),"
            " b AS (DELETE FROM job_profil WHERE session_id IN (SELECT session_id FROM s)"
            "       AND log_file_id = ANY ($1::bigint[])),"
            " c AS (DELETE FROM periode_attente WHERE session_id IN (SELECT session_id FROM s)"
            "       AND log_file_id = ANY ($1::bigint[])),"
            " d AS (DELETE FROM periode_arret WHERE session_id IN (SELECT session_id FROM s)"
            "       AND log_file_id = ANY ($1::bigint[])),"
            " e AS (DELETE FROM evenement_log WHERE session_id IN (SELECT session_id FROM s)"
            "       AND log_file_id = ANY ($1::bigint[])),"
            " f AS (DELETE FROM log_reject WHERE log_file_id = ANY ($1::bigint[])),"
            " g AS (DELETE FROM session_log_file WHERE log_file_id = ANY ($1::bigint[]))"
            " SELECT COALESCE(array_agg(session_id), '{}') FROM s");

static struct db_stmt q_reset =
    DB_STMT("UPDATE log_file SET byte_offset = 0, line_number = 0, lines = 0,"
            " non_event_lines = 0, unknown_events = 0, rejected_lines = 0, fingerprint = NULL,"
            " tail_hash = NULL, prefix_state = NULL, dst_last_ambiguous = NULL,"
            " dst_second = false, rereads = rereads + 1 WHERE id = ANY ($1::bigint[])");

static struct db_stmt q_drop_empty =
    DB_STMT("DELETE FROM session_production s WHERE s.id = ANY ($1::bigint[])"
            " AND NOT EXISTS (SELECT 1 FROM session_log_file l WHERE l.session_id = s.id)");

/* The session of (centre, day), created on first use, linked to the file; with the
 * day's last piece number. */
static struct db_stmt q_session =
    DB_STMT("WITH ins AS (INSERT INTO session_production (centre_usinage_id, date_production,"
            "  fichier_log_source) VALUES ($1, $2::date, $3)"
            "  ON CONFLICT (centre_usinage_id, date_production) DO NOTHING RETURNING id),"
            " s AS (SELECT id FROM ins UNION ALL SELECT id FROM session_production"
            "  WHERE centre_usinage_id = $1 AND date_production = $2::date),"
            " link AS (INSERT INTO session_log_file (session_id, log_file_id)"
            "  SELECT id, $4 FROM s LIMIT 1 ON CONFLICT DO NOTHING)"
            " SELECT id, (SELECT COALESCE(max(numero_piece), 0) FROM piece_production p"
            "  WHERE p.session_id = s.id) FROM s LIMIT 1");

static struct db_stmt q_open_stop =
    DB_STMT("SELECT a.id, (extract(epoch FROM a.timestamp_debut) * 1000000)::bigint"
            " FROM periode_arret a JOIN session_production s ON s.id = a.session_id"
            " WHERE s.centre_usinage_id = $1 AND a.timestamp_fin IS NULL"
            " ORDER BY a.timestamp_debut DESC, a.id DESC LIMIT 1");

static struct db_stmt q_close_stop =
    DB_STMT("UPDATE periode_arret SET timestamp_fin = $2::timestamptz, duree_secondes = $3,"
            " closed_by_file_id = $4, closed_by_line = $5 WHERE id = $1 RETURNING session_id");

static struct db_stmt q_figures = DB_STMT("SELECT sluice_session_figures($1::bigint[])");

/* Every statement of a chunk finds its rows by key; two planner settings for the chunk's
 * transaction keep its cost proportional to the chunk, not to the data already loaded:
 * - enable_seqscan off: the foreign-key checks of the COPYs (one query per row on
 *   session_production and log_file) are planned once per connection and kept; planned
 *   while those tables are a page or two (an empty database), they scan the whole table
 *   for each row, so a row's cost grew with the files and days loaded;
 * - jit off: the figures' statement is estimated at hundreds of thousands (ten sessions
 *   assumed, tens of thousands of pieces each) and, past jit_optimize_above_cost, spent
 *   seconds compiling itself for a fifth of a second of work. */
static struct db_stmt q_keyed = DB_STMT("SELECT set_config('enable_seqscan', 'off', true),"
                                        " set_config('jit', 'off', true)");

static const char copy_pieces[] =
    "COPY piece_production (session_id, numero_piece, timestamp_production, details,"
    " log_file_id, log_line) FROM STDIN";
static const char copy_jobs[] =
    "COPY job_profil (session_id, reference, longueur, couleur, timestamp_debut, log_file_id,"
    " log_line) FROM STDIN";
static const char copy_waits[] =
    "COPY periode_attente (session_id, timestamp_debut, timestamp_fin, duree_secondes,"
    " log_file_id, log_line) FROM STDIN";
static const char copy_stops[] =
    "COPY periode_arret (session_id, timestamp_debut, timestamp_fin, duree_secondes,"
    " log_file_id, log_line, closed_by_file_id, closed_by_line) FROM STDIN";
static const char copy_events[] =
    "COPY evenement_log (session_id, evenement, timestamp_evenement, details, log_file_id,"
    " log_line) FROM STDIN";
static const char copy_rejects[] = "COPY log_reject (log_file_id, line, reason, raw) FROM STDIN";

/* ---- small helpers --------------------------------------------------------------------- */

static void run_event(struct ml_run *run, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void run_event(struct ml_run *run, int level, const char *fmt, ...) {
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (run->event) run->event(run->arg, level, msg);
}

static void i64(char *out, size_t n, int64_t v) { snprintf(out, n, "%lld", (long long)v); }

static void hex64(char out[17], uint64_t v) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)(v >> (56 - 8 * i));
        out[2 * i] = hx[b >> 4];
        out[2 * i + 1] = hx[b & 15];
    }
    out[16] = '\0';
}

static int unhex(const char *s, uint8_t *out, size_t max) {
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

/* A bigint[] literal of ids: "{1,2,3}" (malloc'd). */
static char *id_array(const int64_t *ids, size_t n) {
    char *s = malloc(2 + n * 21 + 1);
    if (!s) return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t)sprintf(s + k, "%s%lld", i ? "," : "", (long long)ids[i]);
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

static bool mark_seen(struct ml_run *run, int64_t id) {
    for (size_t i = 0; i < run->seen_len; i++)
        if (run->seen[i] == id) return false;
    if (run->seen_len == run->seen_cap) {
        size_t cap = run->seen_cap ? run->seen_cap * 2 : 64;
        int64_t *p = realloc(run->seen, cap * sizeof *p);
        if (!p) return false;
        run->seen = p;
        run->seen_cap = cap;
    }
    run->seen[run->seen_len++] = id;
    return true;
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

/* What has been committed for the file (the registry row), and what a chunk builds on. */
struct committed {
    int64_t offset, line_no, lines, non_event, unknown, rejected;
    struct logparse_dst dst;
    struct mlhash prefix;
};

struct session_ref {
    int64_t day, id, next_no;
};

struct chunk {
    struct db_copy_buf pieces, jobs, waits, stops, events, rejects;
    struct session_ref *sess;
    size_t nsess, capsess;
    /* the centre's open stop: none, a stored row (db_id), or one opened in this chunk */
    int state;
    int64_t db_id, start_us;
    int64_t new_session, new_line;
    /* a stored stop this chunk closed */
    bool closed;
    int64_t close_id, close_end, close_dur, close_line;
    struct ml_counts counts;
};

enum { STOP_NONE, STOP_DB, STOP_NEW };

struct file {
    struct ml_run *run;
    struct ml_centre *c;
    const char *dir, *name;
    char path[4096];
    int fd;
    struct stat st;
    bool has_day;
    int64_t day;
    int64_t id;         /* registry id (0: none yet) */
    int64_t rereads;    /* registry value the plan was made from */
    int64_t reg_offset; /* byte_offset the plan was made from */
    int64_t reg_size;
    int64_t reg_dev, reg_ino;
    bool withdraw;         /* read again from the start: withdraw first */
    int64_t *withdraw_ids; /* this file and the later ones to withdraw */
    size_t nwithdraw;
    bool cascaded;         /* later files were withdrawn too */
    size_t swallow;        /* bytes at the offset that only end a line already read */
    struct committed done; /* committed state */
    struct logparse_buf lb;
    struct chunk ck;
};

static void chunk_init(struct chunk *ck) {
    memset(ck, 0, sizeof *ck);
    db_copy_buf_init(&ck->pieces);
    db_copy_buf_init(&ck->jobs);
    db_copy_buf_init(&ck->waits);
    db_copy_buf_init(&ck->stops);
    db_copy_buf_init(&ck->events);
    db_copy_buf_init(&ck->rejects);
}

static void chunk_reset(struct chunk *ck) {
    db_copy_buf_reset(&ck->pieces);
    db_copy_buf_reset(&ck->jobs);
    db_copy_buf_reset(&ck->waits);
    db_copy_buf_reset(&ck->stops);
    db_copy_buf_reset(&ck->events);
    db_copy_buf_reset(&ck->rejects);
    ck->nsess = 0;
    ck->state = STOP_NONE;
    ck->closed = false;
    memset(&ck->counts, 0, sizeof ck->counts);
}

static void chunk_cleanup(struct chunk *ck) {
    db_copy_buf_cleanup(&ck->pieces);
    db_copy_buf_cleanup(&ck->jobs);
    db_copy_buf_cleanup(&ck->waits);
    db_copy_buf_cleanup(&ck->stops);
    db_copy_buf_cleanup(&ck->events);
    db_copy_buf_cleanup(&ck->rejects);
    free(ck->sess);
}

/* The session of a production day in this chunk (created in the database on first use). */
static struct session_ref *session_for(struct file *f, struct db *db, int64_t day) {
    struct chunk *ck = &f->ck;
    for (size_t i = 0; i < ck->nsess; i++)
        if (ck->sess[i].day == day) return &ck->sess[i];
    if (ck->nsess == ck->capsess) {
        size_t cap = ck->capsess ? ck->capsess * 2 : 8;
        struct session_ref *p = realloc(ck->sess, cap * sizeof *p);
        if (!p) return NULL;
        ck->sess = p;
        ck->capsess = cap;
    }
    char centre[24], date[16], fid[24], source[600];
    i64(centre, sizeof centre, f->c->id);
    logparse_format_date(day, date);
    i64(fid, sizeof fid, f->id);
    snprintf(source, sizeof source, "%s/%s", f->c->folder, f->name);
    const char *v[] = {centre, date, source, fid};
    PGresult *r = db_exec(db, &q_session, 4, v);
    if (!r) return NULL;
    struct session_ref *s = &ck->sess[ck->nsess++];
    s->day = day;
    s->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    s->next_no = strtoll(PQgetvalue(r, 0, 1), NULL, 10) + 1;
    PQclear(r);
    if (mark_seen(f->run, s->id)) ck->counts.sessions++;
    return s;
}

static void stop_row(struct chunk *ck, int64_t fid, int64_t session, int64_t start, int64_t line,
                     bool closed, int64_t end, int64_t close_line) {
    struct db_copy_buf *b = &ck->stops;
    db_copy_int(b, session);
    rows_time(b, start);
    if (closed) {
        rows_time(b, end);
        rows_seconds(b, end - start);
    } else {
        db_copy_null(b);
        db_copy_null(b);
    }
    db_copy_int(b, fid);
    db_copy_int(b, line);
    if (closed) {
        db_copy_int(b, fid);
        db_copy_int(b, close_line);
    } else {
        db_copy_null(b);
        db_copy_null(b);
    }
    db_copy_end_row(b);
    ck->counts.stops++;
}

static void reject_row(struct file *f, int64_t line, const char *reason, struct logparse_text t) {
    struct db_copy_buf *b = &f->ck.rejects;
    db_copy_int(b, f->id);
    db_copy_int(b, line);
    db_copy_cstr(b, reason);
    db_copy_text(b, t.ptr ? t.ptr : "", t.len);
    db_copy_end_row(b);
    f->ck.counts.rejected_lines++;
    f->ck.counts.lines++;
}

/* One line (its bytes without '\n'), number line_no. 0, or -1 on a database error. */
static int one_line(struct file *f, struct db *db, struct committed *st, const uint8_t *p, size_t n,
                    int64_t line_no) {
    struct chunk *ck = &f->ck;
    struct logparse_line ln;
    /* NUL bytes are removed first: only the others count towards LOG_MAX_LINE_BYTES; keep
     * is the first bytes holding max_line of them */
    size_t keep = n, kept = 0, max = (size_t)f->run->max_line;
    if (n > max)
        for (keep = 0; keep < n && (kept < max || p[keep] == 0); keep++) kept += p[keep] != 0;
    bool too_long = keep < n;
    if (logparse_line(&f->lb, p, keep, &ln) != 0) {
        db_set_error(db, "out of memory decoding a line");
        return -1;
    }
    if (too_long) {
        char why[96];
        snprintf(why, sizeof why, "line longer than %ld bytes (LOG_MAX_LINE_BYTES)",
                 f->run->max_line);
        reject_row(f, line_no, why, ln.text);
        return 0;
    }
    switch (ln.kind) {
    case LOGPARSE_BLANK: return 0;
    case LOGPARSE_NON_EVENT:
        ck->counts.lines++;
        ck->counts.non_event_lines++;
        return 0;
    case LOGPARSE_REJECT: reject_row(f, line_no, ln.reason, ln.text); return 0;
    default: break;
    }
    ck->counts.lines++;
    int64_t us = logparse_to_utc(&f->c->zone, &st->dst, ln.local) * 1000000;
    int64_t day = f->has_day ? f->day : ln.local / 86400 - (ln.local % 86400 < 0);
    struct session_ref *s = session_for(f, db, day);
    if (!s) return -1;
    int64_t fid = f->id;
    struct db_copy_buf *b;
    switch (ln.kind) {
    case LOGPARSE_PIECE:
        b = &ck->pieces;
        db_copy_int(b, s->id);
        db_copy_int(b, s->next_no++);
        rows_time(b, us);
        db_copy_text(b, ln.details.ptr, ln.details.len);
        db_copy_int(b, fid);
        db_copy_int(b, line_no);
        db_copy_end_row(b);
        ck->counts.pieces++;
        return 0;
    case LOGPARSE_WAIT:
        b = &ck->waits;
        db_copy_int(b, s->id);
        rows_time(b, us);
        rows_time(b, us + ln.wait_us);
        rows_seconds(b, ln.wait_us);
        db_copy_int(b, fid);
        db_copy_int(b, line_no);
        db_copy_end_row(b);
        ck->counts.waits++;
        return 0;
    case LOGPARSE_JOB:
        b = &ck->jobs;
        db_copy_int(b, s->id);
        db_copy_text(b, ln.reference.ptr, ln.reference.len);
        db_copy_text(b, ln.length.ptr, ln.length.len);
        db_copy_text(b, ln.colour.ptr, ln.colour.len);
        rows_time(b, us);
        db_copy_int(b, fid);
        db_copy_int(b, line_no);
        db_copy_end_row(b);
        ck->counts.job_profiles++;
        return 0;
    default: break;
    }
    /* MachineStop, MachineStart and unknown events are kept as they are */
    b = &ck->events;
    db_copy_int(b, s->id);
    db_copy_text(b, ln.name.ptr, ln.name.len);
    rows_time(b, us);
    db_copy_text(b, ln.details.ptr, ln.details.len);
    db_copy_int(b, fid);
    db_copy_int(b, line_no);
    db_copy_end_row(b);
    if (ln.kind == LOGPARSE_UNKNOWN) {
        ck->counts.unknown_events++;
    } else if (ln.kind == LOGPARSE_STOP) {
        if (ck->state == STOP_NONE) { /* otherwise the machine is already stopped */
            ck->state = STOP_NEW;
            ck->start_us = us;
            ck->new_session = s->id;
            ck->new_line = line_no;
        }
    } else if (ln.kind == LOGPARSE_START) {
        /* a start earlier than its stop (a clock set back) closes it with no length */
        int64_t end = us < ck->start_us ? ck->start_us : us;
        if (ck->state == STOP_NEW) {
            stop_row(ck, fid, ck->new_session, ck->start_us, ck->new_line, true, end, line_no);
        } else if (ck->state == STOP_DB && ck->start_us <= us) {
            /* a stored stop only if it began by this start (not one of a later file) */
            ck->closed = true;
            ck->close_id = ck->db_id;
            ck->close_end = end;
            ck->close_dur = end - ck->start_us;
            ck->close_line = line_no;
        }
        ck->state = STOP_NONE;
    }
    return 0;
}

/* The bytes [from, from+n) of the file into out; false when they cannot be read. */
static bool read_at(int fd, uint8_t *out, size_t n, int64_t from) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, out + got, n - got, (off_t)(from + (int64_t)got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        got += (size_t)k;
    }
    return true;
}

static bool window_hash(int fd, int64_t from, size_t n, char hex[17]) {
    uint8_t tmp[FP_BYTES];
    if (!read_at(fd, tmp, n, from)) return false;
    hex64(hex, mlhash_of(tmp, n));
    return true;
}

/* What a transaction works on: the bytes of complete lines (or none), and a line too long
 * to keep whole (long_len > 0: its first max_line bytes in region, the rest skipped). */
struct txn {
    struct file *f;
    const uint8_t *region;
    size_t len;      /* bytes consumed, '\n' included */
    size_t long_len; /* > 0: region holds the start of one overlong line */
    struct committed next;
    int64_t withdrawn_sessions_n;
    char *withdrawn_sessions; /* a bigint[] literal */
    bool fenced_out;          /* the fence refused the commit: rolled back */
};

static int withdraw(struct txn *t, struct db *db) {
    struct file *f = t->f;
    char *ids = id_array(f->withdraw_ids, f->nwithdraw);
    if (!ids) return -1;
    const char *v[] = {ids};
    PGresult *r = db_exec(db, &q_reopen, 1, v);
    int rc = -1;
    if (r) {
        PQclear(r);
        r = db_exec(db, &q_withdraw, 1, v);
    }
    if (r) {
        free(t->withdrawn_sessions);
        t->withdrawn_sessions = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        r = t->withdrawn_sessions ? db_exec(db, &q_reset, 1, v) : NULL;
    }
    if (r) {
        PQclear(r);
        rc = 0;
    }
    free(ids);
    return rc;
}

static int lock_registry(struct file *f, struct db *db) {
    char centre[24], date[16];
    i64(centre, sizeof centre, f->c->id);
    if (f->has_day) logparse_format_date(f->day, date);
    const char *v[] = {centre, f->name, f->has_day ? date : NULL};
    PGresult *r = db_exec(db, &q_reg_insert, 3, v);
    if (!r) return -1;
    PQclear(r);
    r = db_exec(db, &q_reg_lock, 2, v);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        db_set_error(db, "registry row of %s vanished", f->name);
        return -1;
    }
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int64_t off = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    int64_t rereads = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    if ((f->id && id != f->id) || off != f->reg_offset || rereads != f->rereads) {
        db_set_error(db, "%s was read by another ingest meanwhile (offset %lld, expected %lld)",
                     f->name, (long long)off, (long long)f->reg_offset);
        return 2;
    }
    f->id = id;
    return 0;
}

static int chunk_txn(struct db *db, void *arg) {
    struct txn *t = arg;
    struct file *f = t->f;
    struct chunk *ck = &f->ck;
    chunk_reset(ck);
    t->fenced_out = false;
    t->next = f->done;
    PGresult *kr = db_exec(db, &q_keyed, 0, NULL);
    if (!kr) return -1;
    PQclear(kr);
    int rc = lock_registry(f, db);
    if (rc) return rc;
    if (f->nwithdraw && withdraw(t, db) != 0) return -1;
    struct committed *st = &t->next;
    if (f->withdraw) { /* from the start: fresh counts and states */
        memset(st, 0, sizeof *st);
        logparse_dst_init(&st->dst);
        mlhash_init(&st->prefix);
    }

    /* the centre's open stop, whatever file opened it */
    char centre[24];
    i64(centre, sizeof centre, f->c->id);
    const char *cv[] = {centre};
    PGresult *r = db_exec(db, &q_open_stop, 1, cv);
    if (!r) return -1;
    if (PQntuples(r) == 1) {
        ck->state = STOP_DB;
        ck->db_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        ck->start_us = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);

    /* the lines */
    if (t->long_len) {
        if (one_line(f, db, st, t->region, t->long_len, st->line_no + 1) != 0) return -1;
        st->line_no++;
    } else {
        const uint8_t *p = t->region, *end = t->region + t->len;
        if (f->swallow <= t->len) p += f->swallow; /* the end of a line already read */
        int64_t line_no = st->line_no;
        while (p < end) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end; /* the last line of a file closed for writing, without its end */
            line_no++;
            if (one_line(f, db, st, p, (size_t)(nl - p), line_no) != 0) return -1;
            p = nl + 1;
        }
        st->line_no = line_no;
    }
    if (ck->state == STOP_NEW)
        stop_row(ck, f->id, ck->new_session, ck->start_us, ck->new_line, false, 0, 0);

    if (rows_copy(db, copy_pieces, &ck->pieces) || rows_copy(db, copy_jobs, &ck->jobs) ||
        rows_copy(db, copy_waits, &ck->waits) || rows_copy(db, copy_stops, &ck->stops) ||
        rows_copy(db, copy_events, &ck->events) || rows_copy(db, copy_rejects, &ck->rejects))
        return -1;

    /* sessions whose figures change: this chunk's, and the day of a stop it closed */
    int64_t extra = 0;
    if (ck->closed) {
        char id[24], end[40], dur[40], fid[24], line[24];
        i64(id, sizeof id, ck->close_id);
        logparse_format_utc(ck->close_end, end);
        snprintf(dur, sizeof dur, "%.6f", (double)ck->close_dur / 1e6);
        i64(fid, sizeof fid, f->id);
        i64(line, sizeof line, ck->close_line);
        const char *v[] = {id, end, dur, fid, line};
        r = db_exec(db, &q_close_stop, 5, v);
        if (!r) return -1;
        extra = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        PQclear(r);
    }
    size_t nids = ck->nsess + (extra ? 1 : 0);
    if (nids) {
        int64_t *ids = malloc(nids * sizeof *ids);
        if (!ids) return -1;
        for (size_t i = 0; i < ck->nsess; i++) ids[i] = ck->sess[i].id;
        if (extra) ids[ck->nsess] = extra;
        char *arr = id_array(ids, nids);
        free(ids);
        if (!arr) return -1;
        const char *v[] = {arr};
        r = db_exec(db, &q_figures, 1, v);
        free(arr);
        if (!r) return -1;
        PQclear(r);
    }
    if (t->withdrawn_sessions) { /* days the withdrawn files alone fed */
        const char *v[] = {t->withdrawn_sessions};
        r = db_exec(db, &q_drop_empty, 1, v);
        if (r) {
            PQclear(r);
            r = db_exec(db, &q_figures, 1, v);
        }
        if (!r) return -1;
        PQclear(r);
    }

    /* the registry: where this read stopped, the hashes, the counts */
    st->offset += (int64_t)t->len;
    mlhash_update(&st->prefix, t->region, t->long_len ? 0 : t->len);
    if (t->long_len) { /* the overlong line's bytes: hashed from the file */
        uint8_t tmp[65536];
        for (int64_t at = st->offset - (int64_t)t->len; at < st->offset;) {
            size_t n =
                (size_t)(st->offset - at) < sizeof tmp ? (size_t)(st->offset - at) : sizeof tmp;
            if (!read_at(f->fd, tmp, n, at)) {
                db_set_error(db, "%.400s: read failed", f->path);
                return -1;
            }
            mlhash_update(&st->prefix, tmp, n);
            at += (int64_t)n;
        }
    }
    st->lines += ck->counts.lines;
    st->non_event += ck->counts.non_event_lines;
    st->unknown += ck->counts.unknown_events;
    st->rejected += ck->counts.rejected_lines;
    char fp[17] = "", tail[17] = "", state[2 * MLHASH_STATE_BYTES + 1];
    size_t head = st->offset < FP_BYTES ? (size_t)st->offset : FP_BYTES;
    if (st->offset > 0 && (!window_hash(f->fd, 0, head, fp) ||
                           !window_hash(f->fd, st->offset - (int64_t)head, head, tail))) {
        db_set_error(db, "%.400s: read failed", f->path);
        return -1;
    }
    uint8_t raw[MLHASH_STATE_BYTES];
    mlhash_save(&st->prefix, raw);
    for (int i = 0; i < MLHASH_STATE_BYTES; i++) sprintf(state + 2 * i, "%02x", raw[i]);
    char id[24], dev[24], ino[24], size[24], off[24], lno[24], lines[24], ne[24], un[24], rej[24],
        amb[24];
    i64(id, sizeof id, f->id);
    i64(dev, sizeof dev, (int64_t)f->st.st_dev);
    i64(ino, sizeof ino, (int64_t)f->st.st_ino);
    i64(size, sizeof size,
        (int64_t)f->st.st_size > st->offset ? (int64_t)f->st.st_size : st->offset);
    i64(off, sizeof off, st->offset);
    i64(lno, sizeof lno, st->line_no);
    i64(lines, sizeof lines, st->lines);
    i64(ne, sizeof ne, st->non_event);
    i64(un, sizeof un, st->unknown);
    i64(rej, sizeof rej, st->rejected);
    i64(amb, sizeof amb, st->dst.last_ambiguous);
    const char *v[] = {id,
                       dev,
                       ino,
                       st->offset ? fp : NULL,
                       st->offset ? tail : NULL,
                       state,
                       size,
                       off,
                       lno,
                       lines,
                       ne,
                       un,
                       rej,
                       st->dst.last_ambiguous == INT64_MIN ? NULL : amb,
                       st->dst.second ? "true" : "false"};
    r = db_exec(db, &q_reg_update, 15, v);
    if (!r) return -1;
    PQclear(r);
    int fenced = f->run->fence ? f->run->fence(f->run->arg) : 0;
    if (fenced > 0) t->fenced_out = true;
    return fenced > 0 ? 3 : fenced;
}

/* Commits one transaction over region (may be empty: registry and withdrawal only).
 * 0, 1 when the fence refused it (rolled back), or -1 (run->error set). */
static int commit(struct file *f, const uint8_t *region, size_t len, size_t long_len) {
    struct txn t = {.f = f, .region = region, .len = len, .long_len = long_len};
    int rc = db_transaction(f->run->db, chunk_txn, &t);
    free(t.withdrawn_sessions);
    if (rc != 0 && t.fenced_out) {
        snprintf(f->run->error, sizeof f->run->error,
                 "%s/%s: the job's lease was lost: rolled back", f->c->folder, f->name);
        return 1;
    }
    if (rc != 0) {
        snprintf(f->run->error, sizeof f->run->error, "%s/%s: %s", f->c->folder, f->name,
                 db_last_error(f->run->db));
        return -1;
    }
    int64_t before = f->withdraw ? 0 : f->done.offset;
    if (f->withdraw) f->ck.counts.rereads++, f->rereads++; /* its registry row was reset */
    f->done = t.next;
    f->withdraw = false;
    f->swallow = 0;
    f->reg_offset = f->done.offset;
    f->nwithdraw = 0;
    f->reg_dev = (int64_t)f->st.st_dev;
    f->reg_ino = (int64_t)f->st.st_ino;
    f->reg_size = (int64_t)f->st.st_size;
    f->ck.counts.bytes = f->done.offset - before;
    struct ml_counts *tot = &f->run->total;
    const struct ml_counts *c = &f->ck.counts;
    tot->bytes += c->bytes, tot->lines += c->lines, tot->sessions += c->sessions;
    tot->job_profiles += c->job_profiles, tot->pieces += c->pieces, tot->waits += c->waits;
    tot->stops += c->stops, tot->non_event_lines += c->non_event_lines;
    tot->unknown_events += c->unknown_events, tot->rejected_lines += c->rejected_lines;
    tot->rereads += c->rereads;
    if (f->run->progress) f->run->progress(f->run->arg, c->bytes, c);
    return 0;
}

/* Reads the registry row into f (none: a new file). 0, or -1. */
static int plan(struct file *f) {
    struct db *db = f->run->db;
    char centre[24];
    i64(centre, sizeof centre, f->c->id);
    const char *v[] = {centre, f->name};
    PGresult *r = db_exec(db, &q_reg_get, 2, v);
    if (!r) {
        snprintf(f->run->error, sizeof f->run->error, "registry: %s", db_last_error(db));
        return -1;
    }
    memset(&f->done, 0, sizeof f->done);
    logparse_dst_init(&f->done.dst);
    mlhash_init(&f->done.prefix);
    f->id = 0;
    f->rereads = 0;
    f->reg_offset = 0;
    f->reg_dev = f->reg_ino = -1;
    f->reg_size = 0;
    f->withdraw = false;
    f->nwithdraw = 0;
    if (PQntuples(r) == 1) {
        f->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        f->done.offset = f->reg_offset = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        f->done.line_no = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        f->done.lines = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        f->done.non_event = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
        f->done.unknown = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
        f->done.rejected = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
        f->reg_dev = PQgetisnull(r, 0, 7) ? -1 : strtoll(PQgetvalue(r, 0, 7), NULL, 10);
        f->reg_ino = PQgetisnull(r, 0, 8) ? -1 : strtoll(PQgetvalue(r, 0, 8), NULL, 10);
        uint8_t state[64];
        int n = PQgetisnull(r, 0, 11) ? -1 : unhex(PQgetvalue(r, 0, 11), state, sizeof state);
        if (n > 0 && !mlhash_load(&f->done.prefix, state, (size_t)n)) mlhash_init(&f->done.prefix);
        if (!PQgetisnull(r, 0, 12))
            f->done.dst.last_ambiguous = strtoll(PQgetvalue(r, 0, 12), NULL, 10);
        f->done.dst.second = PQgetvalue(r, 0, 13)[0] == 't';
        f->rereads = strtoll(PQgetvalue(r, 0, 14), NULL, 10);
        f->reg_size = strtoll(PQgetvalue(r, 0, 15), NULL, 10);
        /* is what was read still there, unchanged? */
        const char *why = NULL;
        int64_t off = f->done.offset;
        bool same = f->reg_dev == (int64_t)f->st.st_dev && f->reg_ino == (int64_t)f->st.st_ino;
        /* written since it was last read (size, or mtime not clearly before that read: a
         * rewrite in place keeps the inode and may keep the size) */
        bool written = f->reg_size != (int64_t)f->st.st_size || PQgetisnull(r, 0, 16) ||
                       (int64_t)f->st.st_mtime >= strtoll(PQgetvalue(r, 0, 16), NULL, 10) - 2;
        if (off > 0) {
            char fp[17], tail[17];
            size_t head = off < FP_BYTES ? (size_t)off : FP_BYTES;
            if (f->st.st_size < off) {
                why = "truncated";
            } else if (same &&
                       (!window_hash(f->fd, 0, head, fp) || strcmp(fp, PQgetvalue(r, 0, 9)) != 0 ||
                        !window_hash(f->fd, off - (int64_t)head, head, tail) ||
                        strcmp(tail, PQgetvalue(r, 0, 10)) != 0)) {
                why = "rewritten";
            } else if (!same || written) { /* all the bytes up to the offset the same? */
                struct mlhash m;
                mlhash_init(&m);
                uint8_t tmp[65536];
                for (int64_t at = 0; at < off && !why;) {
                    size_t k = (size_t)(off - at) < sizeof tmp ? (size_t)(off - at) : sizeof tmp;
                    if (!read_at(f->fd, tmp, k, at))
                        why = "unreadable";
                    else
                        mlhash_update(&m, tmp, k);
                    at += (int64_t)k;
                }
                if (!why && mlhash_digest(&m) != mlhash_digest(&f->done.prefix))
                    why = same ? "rewritten" : "replaced";
            }
        }
        if (why) {
            f->withdraw = true;
            run_event(f->run, LOG_WARN,
                      "%s/%s was %s: read again from the start, its rows withdrawn", f->c->folder,
                      f->name, why);
        }
    }
    PQclear(r);
    return 0;
}

/* The later files to withdraw with f (those still in the folder; self: f too). 0, or -1. */
static int plan_withdrawal(struct file *f, bool self) {
    struct db *db = f->run->db;
    char centre[24];
    i64(centre, sizeof centre, f->c->id);
    const char *v[] = {centre, f->name};
    PGresult *r = db_exec(db, &q_later, 2, v);
    if (!r) {
        snprintf(f->run->error, sizeof f->run->error, "registry: %s", db_last_error(db));
        return -1;
    }
    free(f->withdraw_ids);
    f->withdraw_ids = malloc(((size_t)PQntuples(r) + 1) * sizeof *f->withdraw_ids);
    if (!f->withdraw_ids) {
        PQclear(r);
        return -1;
    }
    f->nwithdraw = 0;
    if (self && f->id) f->withdraw_ids[f->nwithdraw++] = f->id;
    for (int i = 0; i < PQntuples(r); i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", f->dir, PQgetvalue(r, i, 1));
        if (stat(p, &st) != 0) continue; /* archived or deleted: cannot be read again */
        f->withdraw_ids[f->nwithdraw++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        f->cascaded = true;
        run_event(f->run, LOG_WARN, "%s/%s is read again too (it comes after %s)", f->c->folder,
                  PQgetvalue(r, i, 1), f->name);
    }
    PQclear(r);
    return 0;
}

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
    if (plan(f) != 0) return -1;
    if (f->withdraw && plan_withdrawal(f, true) != 0) return -1;
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
        read_at(f->fd, around, (int64_t)f->st.st_size - off >= 2 ? 3 : 2, off - 1) &&
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
        if (!touched && !f->withdraw && plan_withdrawal(f, false) != 0) return -1;
        int crc = commit(f, run->buf, use, long_len);
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
        int crc = commit(f, NULL, 0, 0);
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
    i64(centre, sizeof centre, c->id);
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
    i64(id, sizeof id, c->id);
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
            run_event(run, LOG_INFO, "%s: waiting for another ingest of this centre", c->code);
        told = true;
        if (run->cancelled && run->cancelled(run->arg)) return 1;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void unlock_centre(struct ml_run *run, const struct ml_centre *c) {
    char id[24];
    i64(id, sizeof id, c->id);
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
    chunk_init(&f.ck);
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
                    run_event(run, LOG_WARN, "%s: not a readable regular file: skipped", f.path);
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
    chunk_cleanup(&f.ck);
    logparse_buf_cleanup(&f.lb);
    unlock_centre(run, c);
    return rc;
}
