/* ingest_lines: a chunk's rows derived from its lines (see ingest_internal.h) — pieces,
 * job profiles, waits, events and rejects into the chunk's COPY buffers, the sessions of
 * the days met (created in the database on first use), stops opened and closed against
 * the centre's open stop.
 *
 * Memory: struct chunk owns its COPY buffers and its sessions (ml_chunk_init /
 * ml_chunk_cleanup); the lines are borrowed from the read buffer of struct ml_run. */
#include "machine_logs/ingest_internal.h"

#include "db/db.h"
#include "machine_logs/logparse.h"
#include "machine_logs/rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SQL ------------------------------------------------------------------------------ */

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

/* ---- small helpers ------------------------------------------------------------------- */

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

void ml_chunk_init(struct chunk *ck) {
    memset(ck, 0, sizeof *ck);
    db_copy_buf_init(&ck->pieces);
    db_copy_buf_init(&ck->jobs);
    db_copy_buf_init(&ck->waits);
    db_copy_buf_init(&ck->stops);
    db_copy_buf_init(&ck->events);
    db_copy_buf_init(&ck->rejects);
}

void ml_chunk_reset(struct chunk *ck) {
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

void ml_chunk_cleanup(struct chunk *ck) {
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
    ml_i64(centre, sizeof centre, f->c->id);
    logparse_format_date(day, date);
    ml_i64(fid, sizeof fid, f->id);
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

void ml_chunk_stop_row(struct chunk *ck, int64_t fid, int64_t session, int64_t start, int64_t line,
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
int ml_chunk_line(struct file *f, struct db *db, struct committed *st, const uint8_t *p, size_t n,
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
            ml_chunk_stop_row(ck, fid, ck->new_session, ck->start_us, ck->new_line, true, end,
                              line_no);
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
