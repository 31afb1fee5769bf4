/* ingest_chunk: one chunk's transaction (its steps: see ingest.c's opening comment) and its
 * commit, which moves the file's committed state on and adds the chunk's counts to the run.
 *
 * Memory: the transaction's state (struct txn) lives on ml_chunk_commit's stack, which
 * frees its withdrawn_sessions; the chunk's rows live in f->ck. */
#include "machine_logs/ingest_internal.h"

#include "db/db.h"
#include "machine_logs/logparse.h"
#include "machine_logs/mlhash.h"
#include "machine_logs/rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SQL ------------------------------------------------------------------------------ */

static struct db_stmt q_reg_update =
    DB_STMT("UPDATE log_file SET device = $2, inode = $3, fingerprint = decode($4, 'hex'),"
            " tail_hash = decode($5, 'hex'), prefix_state = decode($6, 'hex'), size = $7,"
            " byte_offset = $8, line_number = $9, lines = $10, non_event_lines = $11,"
            " unknown_events = $12, rejected_lines = $13,"
            " dst_last_ambiguous = to_timestamp($14::bigint) AT TIME ZONE 'UTC', dst_second = $15,"
            " first_read_at = CASE WHEN $8::bigint > 0 THEN COALESCE(first_read_at, now()) END,"
            " last_read_at = CASE WHEN $8::bigint > 0 THEN now() END"
            " WHERE id = $1");

static struct db_stmt q_drop_empty =
    DB_STMT("DELETE FROM session_production s WHERE s.id = ANY ($1::bigint[])"
            " AND NOT EXISTS (SELECT 1 FROM session_log_file l WHERE l.session_id = s.id)");

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

/* ---- small helpers ------------------------------------------------------------------- */

/* A bigint[] literal of ids: "{1,2,3}" (malloc'd). */
char *ml_id_array(const int64_t *ids, size_t n) {
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

static int chunk_txn(struct db *db, void *arg) {
    struct txn *t = arg;
    struct file *f = t->f;
    struct chunk *ck = &f->ck;
    ml_chunk_reset(ck);
    t->fenced_out = false;
    t->next = f->done;
    PGresult *kr = db_exec(db, &q_keyed, 0, NULL);
    if (!kr) return -1;
    PQclear(kr);
    int rc = ml_registry_lock(f, db);
    if (rc) return rc;
    if (f->nwithdraw && ml_registry_withdraw(t, db) != 0) return -1;
    struct committed *st = &t->next;
    if (f->withdraw) { /* from the start: fresh counts and states */
        memset(st, 0, sizeof *st);
        logparse_dst_init(&st->dst);
        mlhash_init(&st->prefix);
    }

    /* the centre's open stop, whatever file opened it */
    char centre[24];
    ml_i64(centre, sizeof centre, f->c->id);
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
        if (ml_chunk_line(f, db, st, t->region, t->long_len, st->line_no + 1) != 0) return -1;
        st->line_no++;
    } else {
        const uint8_t *p = t->region, *end = t->region + t->len;
        if (f->swallow <= t->len) p += f->swallow; /* the end of a line already read */
        int64_t line_no = st->line_no;
        while (p < end) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end; /* the last line of a file closed for writing, without its end */
            line_no++;
            if (ml_chunk_line(f, db, st, p, (size_t)(nl - p), line_no) != 0) return -1;
            p = nl + 1;
        }
        st->line_no = line_no;
    }
    if (ck->state == STOP_NEW)
        ml_chunk_stop_row(ck, f->id, ck->new_session, ck->start_us, ck->new_line, false, 0, 0);

    if (rows_copy(db, copy_pieces, &ck->pieces) || rows_copy(db, copy_jobs, &ck->jobs) ||
        rows_copy(db, copy_waits, &ck->waits) || rows_copy(db, copy_stops, &ck->stops) ||
        rows_copy(db, copy_events, &ck->events) || rows_copy(db, copy_rejects, &ck->rejects))
        return -1;

    /* sessions whose figures change: this chunk's, and the day of a stop it closed */
    int64_t extra = 0;
    if (ck->closed) {
        char id[24], end[40], dur[40], fid[24], line[24];
        ml_i64(id, sizeof id, ck->close_id);
        logparse_format_utc(ck->close_end, end);
        snprintf(dur, sizeof dur, "%.6f", (double)ck->close_dur / 1e6);
        ml_i64(fid, sizeof fid, f->id);
        ml_i64(line, sizeof line, ck->close_line);
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
        char *arr = ml_id_array(ids, nids);
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
            if (!ml_read_at(f->fd, tmp, n, at)) {
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
    if (st->offset > 0 && (!ml_window_hash(f->fd, 0, head, fp) ||
                           !ml_window_hash(f->fd, st->offset - (int64_t)head, head, tail))) {
        db_set_error(db, "%.400s: read failed", f->path);
        return -1;
    }
    uint8_t raw[MLHASH_STATE_BYTES];
    mlhash_save(&st->prefix, raw);
    for (int i = 0; i < MLHASH_STATE_BYTES; i++) sprintf(state + 2 * i, "%02x", raw[i]);
    char id[24], dev[24], ino[24], size[24], off[24], lno[24], lines[24], ne[24], un[24], rej[24],
        amb[24];
    ml_i64(id, sizeof id, f->id);
    ml_i64(dev, sizeof dev, (int64_t)f->st.st_dev);
    ml_i64(ino, sizeof ino, (int64_t)f->st.st_ino);
    ml_i64(size, sizeof size,
           (int64_t)f->st.st_size > st->offset ? (int64_t)f->st.st_size : st->offset);
    ml_i64(off, sizeof off, st->offset);
    ml_i64(lno, sizeof lno, st->line_no);
    ml_i64(lines, sizeof lines, st->lines);
    ml_i64(ne, sizeof ne, st->non_event);
    ml_i64(un, sizeof un, st->unknown);
    ml_i64(rej, sizeof rej, st->rejected);
    ml_i64(amb, sizeof amb, st->dst.last_ambiguous);
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
int ml_chunk_commit(struct file *f, const uint8_t *region, size_t len, size_t long_len) {
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
