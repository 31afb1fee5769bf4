/* db_copy: COPY ... FROM STDIN and its text-format row encoder; see db_copy.h.
 * Part of the db module: it records failures in the struct db like db.c does. */
#include "db/db_copy.h"

#include "db/db_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoder --------------------------------------------------------------------- */

void db_copy_buf_init(struct db_copy_buf *b) { memset(b, 0, sizeof *b); }

void db_copy_buf_cleanup(struct db_copy_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void db_copy_buf_reset(struct db_copy_buf *b) {
    b->len = 0;
    b->rows = 0;
    b->row_open = false;
    b->oom = false;
}

/* Room for n more bytes; false (and oom set) when memory ran out. */
static bool reserve(struct db_copy_buf *b, size_t n) {
    if (b->oom) return false;
    if (b->len + n <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

static void put(struct db_copy_buf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* The separator before a field (none before the first of a row). */
static void start_field(struct db_copy_buf *b) {
    if (b->row_open) put(b, "\t", 1);
    b->row_open = true;
}

void db_copy_text(struct db_copy_buf *b, const char *s, size_t len) {
    if (!s) {
        db_copy_null(b);
        return;
    }
    start_field(b);
    /* At worst every byte becomes a two-byte escape. */
    if (!reserve(b, 2 * len)) return;
    char *out = b->data + b->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '\\' && c != 0x7f) {
            *out++ = (char)c;
            continue;
        }
        char esc = 0;
        switch (c) {
        case '\\': esc = '\\'; break;
        case '\t': esc = 't'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        case '\v': esc = 'v'; break;
        case 0: continue; /* PostgreSQL text cannot hold NUL */
        default: break;
        }
        if (esc) {
            *out++ = '\\';
            *out++ = esc;
        } else {
            *out++ = (char)c; /* other control bytes and DEL are stored as they are */
        }
    }
    b->len = (size_t)(out - b->data);
}

void db_copy_cstr(struct db_copy_buf *b, const char *s) { db_copy_text(b, s, s ? strlen(s) : 0); }

void db_copy_int(struct db_copy_buf *b, long long v) {
    char num[24];
    char *p = num + sizeof num;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do { /* digits from the end: no printf on the hot path of every COPY row */
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    start_field(b);
    put(b, p, (size_t)(num + sizeof num - p));
}

void db_copy_null(struct db_copy_buf *b) {
    start_field(b);
    put(b, "\\N", 2);
}

void db_copy_end_row(struct db_copy_buf *b) {
    put(b, "\n", 1);
    b->row_open = false;
    b->rows++;
}

/* ---- the COPY protocol ------------------------------------------------------------- */

static void set_error(struct db *db, const char *msg, const char *state) {
    snprintf(db->error, sizeof db->error, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(db->error);
    while (n && (db->error[n - 1] == '\n' || db->error[n - 1] == ' ')) db->error[--n] = '\0';
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
}

/* Reads the results that end a COPY (or a failed start) until libpq has no more; returns
 * the first error-free command status, or -1 with the first error recorded. A connection
 * still in COPY_IN after an error (it should not be) is ended with PQputCopyEnd. */
static int finish_results(struct db *db, int64_t *rows) {
    PGconn *conn = db->conn;
    int rc = 0;
    bool have_error = false;
    for (int guard = 0; guard < 1000; guard++) {
        PGresult *r = PQgetResult(conn);
        if (!r) break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK) {
            if (rows) *rows = strtoll(PQcmdTuples(r), NULL, 10);
        } else if (st == PGRES_COPY_IN) {
            /* Still copying: end it so the connection can be used again. */
            PQclear(r);
            if (PQputCopyEnd(conn, "aborted by sluice") != 1) break;
            continue;
        } else {
            if (!have_error)
                set_error(db, PQresultErrorMessage(r), PQresultErrorField(r, PG_DIAG_SQLSTATE));
            have_error = true;
            rc = -1;
        }
        PQclear(r);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        if (!have_error) set_error(db, PQerrorMessage(conn), "08006");
        return -1;
    }
    return rc;
}

int db_copy_begin(struct db *db, const char *copy_sql) {
    PGconn *conn = db_conn(db);
    if (!conn) return -1;
    PGresult *r = PQexec(conn, copy_sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COPY_IN) {
        PQclear(r);
        return 0;
    }
    if (r)
        set_error(db, PQresultErrorMessage(r), PQresultErrorField(r, PG_DIAG_SQLSTATE));
    else
        set_error(db, PQerrorMessage(conn), "");
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        set_error(db, "db_copy_begin: the statement is not COPY ... FROM STDIN", "");
    PQclear(r);
    if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        /* Not ours to read: drop the connection rather than leave it mid-protocol. */
        PQfinish(db->conn);
        db->conn = NULL;
        return -1;
    }
    finish_results(db, NULL);
    return -1;
}

int db_copy_put(struct db *db, struct db_copy_buf *b) {
    if (b->oom) {
        set_error(db, "out of memory while encoding COPY rows", "53200");
        db_copy_buf_reset(b);
        return -1;
    }
    if (b->row_open) {
        set_error(db, "db_copy_put: a row was not ended", "");
        return -1;
    }
    if (b->len == 0) return 0;
    if (!db->conn || PQputCopyData(db->conn, b->data, (int)b->len) != 1) {
        set_error(db, db->conn ? PQerrorMessage(db->conn) : "no connection", "08006");
        if (db->conn) finish_results(db, NULL);
        db_copy_buf_reset(b);
        return -1;
    }
    db_copy_buf_reset(b);
    return 0;
}

int db_copy_end(struct db *db, int64_t *rows) {
    if (rows) *rows = 0;
    if (!db->conn) {
        set_error(db, "no connection", "08006");
        return -1;
    }
    if (PQputCopyEnd(db->conn, NULL) != 1) {
        set_error(db, PQerrorMessage(db->conn), "08006");
        finish_results(db, NULL);
        return -1;
    }
    return finish_results(db, rows);
}

int db_copy_abort(struct db *db, const char *why) {
    if (!db->conn) return -1;
    if (PQputCopyEnd(db->conn, why && *why ? why : "aborted") != 1) {
        finish_results(db, NULL);
        return -1;
    }
    /* The server answers with an error for the abandoned COPY: expected. */
    char saved[sizeof db->error], saved_state[sizeof db->sqlstate];
    memcpy(saved, db->error, sizeof saved);
    memcpy(saved_state, db->sqlstate, sizeof saved_state);
    finish_results(db, NULL);
    bool alive = PQstatus(db->conn) == CONNECTION_OK;
    memcpy(db->error, saved, sizeof saved);
    memcpy(db->sqlstate, saved_state, sizeof saved_state);
    return alive ? 0 : -1;
}
