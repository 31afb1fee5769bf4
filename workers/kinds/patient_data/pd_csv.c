/* pd_csv: the streaming RFC 4180 reader; see pd_csv.h. One byte at a time through a
 * small state machine; the record buffer is allocated once (max_record bytes plus room
 * for the NUL after each field) and reused. */
#include "kinds/patient_data/pd_csv.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

void pdcsv_init(struct pdcsv *r, size_t max_record, int64_t offset, int64_t line) {
    memset(r, 0, sizeof *r);
    r->max_record = max_record < 64 ? 64 : max_record;
    r->offset = offset;
    r->line = line;
    r->bom_checked = offset != 0;
    r->state = PDCSV_FIELD_START;
}

void pdcsv_cleanup(struct pdcsv *r) {
    free(r->buf);
    r->buf = NULL;
    r->cap = r->used = 0;
}

static void reset_record(struct pdcsv *r) {
    r->used = 0;
    r->nfields = 0;
    r->in_record = false;
    r->error = NULL;
    r->state = PDCSV_FIELD_START;
}

static void fail(struct pdcsv *r, const char *why) {
    if (!r->error) r->error = why;
    r->state = PDCSV_SKIP;
}

/* Appends one byte of the current field; false when the record is too long. */
static inline bool put(struct pdcsv *r, char c) {
    if (r->used + 1 >= r->max_record) {
        fail(r, "the record is longer than the limit (CSV_MAX_RECORD_BYTES)");
        return false;
    }
    r->buf[r->used++] = c;
    return true;
}

static void end_field(struct pdcsv *r) {
    r->buf[r->used++] = '\0'; /* room reserved: cap = max_record + PDCSV_MAX_FIELDS + 1 */
    r->nfields++;
    if (r->nfields < PDCSV_MAX_FIELDS) r->start[r->nfields] = r->used;
    if (r->used >= r->cap - 1)
        fail(r, "the record is longer than the limit (CSV_MAX_RECORD_BYTES)");
}

/* Hands the current record over (unless it is a blank line) and starts the next one,
 * which begins at r->offset on r->line. */
static int emit(struct pdcsv *r, pdcsv_fn fn, void *arg) {
    int rc = 0;
    if (r->in_record) {
        struct pdcsv_record rec = {.line = r->rec_line,
                                   .offset = r->rec_offset,
                                   .end = r->offset,
                                   .next_line = r->line,
                                   .error = r->error};
        if (!r->error) {
            end_field(r);
            rec.error = r->error;
        }
        rec.nfields = r->nfields;
        if (!rec.error)
            for (size_t i = 0; i < r->nfields && i < PDCSV_MAX_FIELDS; i++) {
                size_t next =
                    i + 1 < r->nfields && i + 1 < PDCSV_MAX_FIELDS ? r->start[i + 1] : r->used;
                rec.field[i] = r->buf + r->start[i];
                rec.len[i] = next - r->start[i] - 1;
            }
        rc = fn(arg, &rec);
    }
    reset_record(r);
    return rc;
}

/* One byte at r->offset (already counted in neither offset nor line). */
static inline int step(struct pdcsv *r, char c, pdcsv_fn fn, void *arg) {
    if (r->after_cr) {
        r->after_cr = false;
        if (c == '\n') { /* the LF of a CRLF: part of the record that just ended */
            r->offset++;
            r->last_cr = false;
            return emit(r, fn, arg);
        }
        int rc = emit(r, fn, arg);
        if (rc) return rc;
    }
    if (!r->in_record) {
        if (c == '\n' || c == '\r') { /* a blank line */
            r->offset++;
            r->line++;
            r->last_cr = c == '\r';
            if (c == '\r') r->after_cr = true;
            return 0;
        }
        r->in_record = true;
        r->rec_offset = r->offset;
        r->rec_line = r->line;
        r->start[0] = 0;
    }
    r->offset++;
    if (c == '\r' || (c == '\n' && !r->last_cr)) r->line++; /* CRLF is one line end */
    r->last_cr = c == '\r';
    switch (r->state) {
    case PDCSV_FIELD_START:
        if (c == '"') {
            r->state = PDCSV_QUOTED;
            return 0;
        }
        r->state = PDCSV_UNQUOTED;
        /* fall through */
    case PDCSV_UNQUOTED:
        if (c == ',') {
            end_field(r);
            if (r->state != PDCSV_SKIP) r->state = PDCSV_FIELD_START;
        } else if (c == '\n') {
            return emit(r, fn, arg);
        } else if (c == '\r') {
            r->after_cr = true;
        } else if (c == '"') {
            fail(r, "a quote inside an unquoted field (quote the whole field and double the "
                    "quote)");
        } else {
            put(r, c);
        }
        return 0;
    case PDCSV_QUOTED:
        if (c == '"')
            r->state = PDCSV_QUOTE;
        else
            put(r, c);
        return 0;
    case PDCSV_QUOTE:
        if (c == '"') {
            if (put(r, '"')) r->state = PDCSV_QUOTED;
        } else if (c == ',') {
            end_field(r);
            if (r->state != PDCSV_SKIP) r->state = PDCSV_FIELD_START;
        } else if (c == '\n') {
            return emit(r, fn, arg);
        } else if (c == '\r') {
            r->after_cr = true;
        } else {
            fail(r, "text after the closing quote of a field");
        }
        return 0;
    case PDCSV_SKIP:
        if (c == '\n') return emit(r, fn, arg);
        if (c == '\r') r->after_cr = true;
        return 0;
    }
    return 0;
}

int pdcsv_feed(struct pdcsv *r, const char *data, size_t len, pdcsv_fn fn, void *arg) {
    if (!r->buf) {
        r->cap = r->max_record + PDCSV_MAX_FIELDS + 1;
        r->buf = malloc(r->cap);
        if (!r->buf) return -1;
    }
    size_t i = 0;
    while (!r->bom_checked && i < len) {
        if ((unsigned char)data[i] == bom[r->bom_seen]) {
            r->bom_seen++;
            r->offset++;
            i++;
            if (r->bom_seen == sizeof bom) r->bom_checked = true;
            continue;
        }
        /* Not a byte-order mark after all: what looked like one is data. */
        r->bom_checked = true;
        r->offset -= (int64_t)r->bom_seen;
        for (size_t k = 0; k < r->bom_seen; k++) {
            int rc = step(r, (char)bom[k], fn, arg);
            if (rc) return rc;
        }
    }
    for (; i < len; i++) {
        int rc = step(r, data[i], fn, arg);
        if (rc) return rc;
    }
    return 0;
}

int pdcsv_finish(struct pdcsv *r, pdcsv_fn fn, void *arg) {
    if (!r->buf) {
        r->cap = r->max_record + PDCSV_MAX_FIELDS + 1;
        r->buf = malloc(r->cap);
        if (!r->buf) return -1;
    }
    if (!r->bom_checked && r->bom_seen) {
        r->bom_checked = true;
        r->offset -= (int64_t)r->bom_seen;
        for (size_t k = 0; k < r->bom_seen; k++) {
            int rc = step(r, (char)bom[k], fn, arg);
            if (rc) return rc;
        }
    }
    if (r->after_cr) {
        r->after_cr = false;
        return emit(r, fn, arg);
    }
    if (!r->in_record) return 0;
    if (r->state == PDCSV_QUOTED) fail(r, "a quoted field is still open at the end of the file");
    return emit(r, fn, arg);
}
