/* ingest_registry: the log_file registry of one file — planning its read from its row (is
 * what was read still there, unchanged? the hashes of its first bytes, of the bytes before
 * the offset and of all of them), planning a withdrawal, and, in a chunk's transaction,
 * locking the row and withdrawing files.
 *
 * Memory: f->withdraw_ids is malloc'd here (freed by the next plan or ml_ingest_centre);
 * t->withdrawn_sessions is strdup'd here (freed by ml_chunk_commit). */
#include "machine_logs/ingest_internal.h"

#include "core/log.h"
#include "db/db.h"
#include "machine_logs/logparse.h"
#include "machine_logs/mlhash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- SQL ------------------------------------------------------------------------------ */

static struct db_stmt q_reg_get =
    DB_STMT("SELECT id, byte_offset, line_number, lines, non_event_lines, unknown_events,"
            " rejected_lines, device, inode, encode(fingerprint, 'hex'),"
            " encode(tail_hash, 'hex'), encode(prefix_state, 'hex'),"
            " extract(epoch FROM dst_last_ambiguous)::bigint, dst_second, rereads, size,"
            " floor(extract(epoch FROM last_read_at))::bigint"
            " FROM log_file WHERE centre_usinage_id = $1 AND name = $2");

static struct db_stmt q_reg_insert =
    DB_STMT("INSERT INTO log_file (centre_usinage_id, name, date_production)"
            " VALUES ($1, $2, $3::date) ON CONFLICT (centre_usinage_id, name) DO NOTHING");

static struct db_stmt q_reg_lock =
    DB_STMT("SELECT id, byte_offset, rereads FROM log_file"
            " WHERE centre_usinage_id = $1 AND name = $2 FOR UPDATE");

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

/* ---- small helpers ------------------------------------------------------------------- */

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

/* The bytes [from, from+n) of the file into out; false when they cannot be read. */
bool ml_read_at(int fd, uint8_t *out, size_t n, int64_t from) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, out + got, n - got, (off_t)(from + (int64_t)got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        got += (size_t)k;
    }
    return true;
}

bool ml_window_hash(int fd, int64_t from, size_t n, char hex[17]) {
    uint8_t tmp[FP_BYTES];
    if (!ml_read_at(fd, tmp, n, from)) return false;
    hex64(hex, mlhash_of(tmp, n));
    return true;
}

int ml_registry_withdraw(struct txn *t, struct db *db) {
    struct file *f = t->f;
    char *ids = ml_id_array(f->withdraw_ids, f->nwithdraw);
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

int ml_registry_lock(struct file *f, struct db *db) {
    char centre[24], date[16];
    ml_i64(centre, sizeof centre, f->c->id);
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

/* Reads the registry row into f (none: a new file). 0, or -1. */
int ml_file_plan(struct file *f) {
    struct db *db = f->run->db;
    char centre[24];
    ml_i64(centre, sizeof centre, f->c->id);
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
            } else if (same && (!ml_window_hash(f->fd, 0, head, fp) ||
                                strcmp(fp, PQgetvalue(r, 0, 9)) != 0 ||
                                !ml_window_hash(f->fd, off - (int64_t)head, head, tail) ||
                                strcmp(tail, PQgetvalue(r, 0, 10)) != 0)) {
                why = "rewritten";
            } else if (!same || written) { /* all the bytes up to the offset the same? */
                struct mlhash m;
                mlhash_init(&m);
                uint8_t tmp[65536];
                for (int64_t at = 0; at < off && !why;) {
                    size_t k = (size_t)(off - at) < sizeof tmp ? (size_t)(off - at) : sizeof tmp;
                    if (!ml_read_at(f->fd, tmp, k, at))
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
            ml_run_event(f->run, LOG_WARN,
                         "%s/%s was %s: read again from the start, its rows withdrawn",
                         f->c->folder, f->name, why);
        }
    }
    PQclear(r);
    return 0;
}

/* The later files to withdraw with f (those still in the folder; self: f too). 0, or -1. */
int ml_file_plan_withdrawal(struct file *f, bool self) {
    struct db *db = f->run->db;
    char centre[24];
    ml_i64(centre, sizeof centre, f->c->id);
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
        ml_run_event(f->run, LOG_WARN, "%s/%s is read again too (it comes after %s)", f->c->folder,
                     PQgetvalue(r, i, 1), f->name);
    }
    PQclear(r);
    return 0;
}
