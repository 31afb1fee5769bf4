/* erp_generate: see erp_generate.h. The batches own their cells (fixed arrays); the
 * prepared statements are closed before returning. */
#include "kinds/orders/erp_generate.h"

#include "db/mdb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what an order holds (pure) -------------------------------------------------- */

/* splitmix64: one independent stream per (seed, index, salt). */
static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t state;
};

static uint64_t next(struct rng *r) { return mix(r->state++ * 0x2545F4914F6CDD1DULL + 1); }
/* 0..n-1 */
static unsigned pick(struct rng *r, unsigned n) { return (unsigned)(next(r) % n); }
/* true with probability percent/1000 */
static bool chance(struct rng *r, unsigned per_mille) { return pick(r, 1000) < per_mille; }

static void set(struct erp_gen_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set(struct erp_gen_text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s, sizeof t->s, fmt, ap);
    va_end(ap);
    t->len = n < 0 ? 0 : (size_t)n >= sizeof t->s ? sizeof t->s - 1 : (size_t)n;
    t->null = 0;
}

static void set_null(struct erp_gen_text *t) {
    t->s[0] = '\0';
    t->len = 0;
    t->null = 1;
}

/* Statuses as legacy users typed them (UTF-8 here; the latin1 columns store them). The
 * double-encoded ones are UTF-8 read as Latin-1 and written back ("Ã©" for "é"). */
static const char *const statuses[] = {
    "Planifiee",
    "Planifi\303\251e",
    "PLANIFIEE",
    "cde Planifiee",
    "planifi\303\251e ",
    "Planifi\303\203\302\251e", /* double-encoded (filtered by the query) */
    "lancer en prod",
    "\xC3\xA0 lancer en prod",         /* à lancer en prod */
    "\xC3\x83\xC2\xA0 lancer en prod", /* double-encoded à */
    "A LANCER EN PROD",
    "vitrage",
    "Vitrage  ",
    "attente vitrage",
    "Terminee",
    "Termin\303\251e",
    "Annulee",
    "En attente",
};
static const unsigned status_weights[] = {20, 12, 4, 6, 3, 2, 10, 6, 3, 2, 10, 3, 3, 5, 3, 4, 4};

static const char *const notes[] = {"cde Planifiee par MB", "cde Planifiee par JD",
                                    "cde Planifiee par SL", "Devis envoy\xC3\xA9",
                                    "Relance client",       "Confirmation re\303\247ue"};

static const char *const boxes[] = {"SOP", "S P", "S D", "S Q", "S T", "S TAB", "S TN"};
static const char *const off_pattern[] = {"XOP", "SP", "S X", "Moteur", "SOPH"};
static const unsigned sizes[] = {125, 137, 150, 165, 180, 200, 220, 250};

static unsigned weighted(struct rng *r, const unsigned *w, size_t n) {
    unsigned total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    unsigned x = pick(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i]) return (unsigned)i;
        x -= w[i];
    }
    return 0;
}

static void gen_date(struct rng *r, struct erp_gen_text *t, bool with_time) {
    unsigned y = 2024 + pick(r, 3), m = 1 + pick(r, 12), d = 1 + pick(r, 28);
    if (with_time)
        set(t, "%04u-%02u-%02u %02u:%02u:%02u", y, m, d, pick(r, 24), pick(r, 60), pick(r, 60));
    else
        set(t, "%04u-%02u-%02u", y, m, d);
}

void erp_gen_order(uint64_t seed, uint64_t index, uint64_t first_id, struct erp_gen_order *o) {
    struct rng r = {mix(seed ^ mix(index + 0x51CE))};
    memset(o, 0, sizeof *o);
    uint64_t num = 100000 + first_id + index;
    /* numero: mostly clean; padded, with a NUL byte, or too long now and then */
    unsigned x = pick(&r, 1000);
    if (x < 30)
        set(&o->numero, "%" PRIu64 "   ", num);
    else if (x < 40) {
        set(&o->numero, "%" PRIu64 "#", num);
        o->numero.s[o->numero.len - 1] = '\0'; /* a NUL byte inside the value */
    } else if (x < 45)
        set(&o->numero, "%" PRIu64 "%020" PRIu64, num, num); /* over-long: rejected */
    else
        set(&o->numero, "%" PRIu64, num);
    /* extension: '' or NULL mostly, a letter sometimes */
    x = pick(&r, 1000);
    if (x < 450)
        set(&o->extension, "%s", "");
    else if (x < 700)
        set_null(&o->extension);
    else if (x < 950)
        set(&o->extension, "%c", 'A' + pick(&r, 3));
    else if (x < 980)
        set(&o->extension, " %c ", 'A' + pick(&r, 3));
    else
        set(&o->extension, "%s", "ABCDEFG"); /* over-long: rejected */
    set(&o->status, "%s",
        statuses[weighted(&r, status_weights, sizeof status_weights / sizeof status_weights[0])]);
    set(&o->customer, "K%05u", pick(&r, 90000) + 10000);
    gen_date(&r, &o->date, false);

    o->nlog = 1 + (int)pick(&r, ERP_GEN_MAX_LINES);
    for (int i = 0; i < o->nlog; i++) {
        x = pick(&r, 1000);
        if (x < 20)
            set(&o->log_date[i], "%s", "0000-00-00 00:00:00"); /* zero date: rejected */
        else if (x < 30)
            set_null(&o->log_date[i]);
        else
            gen_date(&r, &o->log_date[i], true);
        /* the first line is the planning one more often than not */
        set(&o->log_note[i], "%s",
            notes[i == 0 && chance(&r, 850) ? 0 : pick(&r, sizeof notes / sizeof notes[0])]);
    }
    o->nzubeh = 1 + (int)pick(&r, 3);
    for (int i = 0; i < o->nzubeh; i++) {
        x = pick(&r, 1000);
        unsigned size = sizes[pick(&r, sizeof sizes / sizeof sizes[0])];
        if (x < 100)
            set(&o->zcode[i], "%s %u", off_pattern[pick(&r, 5)], size);
        else if (x < 140)
            set(&o->zcode[i], "%s %u  ", boxes[pick(&r, 7)], size); /* trailing spaces */
        else if (x < 145)
            set(&o->zcode[i], "S P %u %s", size,
                "avec rallonge de coulisse et joue de finition sp\303\251ciale"); /* > 50 */
        else
            set(&o->zcode[i], "%s %u", boxes[pick(&r, 7)], size);
    }
    o->nartikel = 1 + (int)pick(&r, 3);
    for (int i = 0; i < o->nartikel; i++) set(&o->artnr[i], "VR-%04u", pick(&r, 10000));
    o->nvorgang = (int)pick(&r, 3);
    for (int i = 0; i < o->nvorgang; i++)
        set(&o->vorgang[i], chance(&r, 350) ? "VR%06u" : "AB%06u", pick(&r, 1000000));
}

/* ---- writing (bound multi-row INSERTs) ------------------------------------------- */

#define BATCH_ROWS 250
#define MAX_COLS 7

struct batch {
    const char *table, *cols;
    int ncols;
    int n;
    MYSQL_STMT *full, *tail;
    struct erp_gen_text cells[BATCH_ROWS][MAX_COLS];
    MYSQL_BIND binds[BATCH_ROWS * MAX_COLS];
    unsigned long lengths[BATCH_ROWS * MAX_COLS];
    my_bool nulls[BATCH_ROWS * MAX_COLS];
    long written;
};

static MYSQL_STMT *prepare(MYSQL *m, const struct batch *b, int rows, char *err, size_t errlen) {
    size_t cap = 256 + (size_t)rows * (size_t)(b->ncols * 2 + 3);
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t o = (size_t)snprintf(sql, cap, "INSERT INTO %s (%s) VALUES ", b->table, b->cols);
    for (int r = 0; r < rows; r++) {
        sql[o++] = r ? ',' : ' ';
        sql[o++] = '(';
        for (int c = 0; c < b->ncols; c++) {
            if (c) sql[o++] = ',';
            sql[o++] = '?';
        }
        sql[o++] = ')';
    }
    sql[o] = '\0';
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st || mysql_stmt_prepare(st, sql, o) != 0) {
        snprintf(err, errlen, "preparing the INSERT into %s: %s", b->table,
                 st ? mysql_stmt_error(st) : mysql_error(m));
        if (st) mysql_stmt_close(st);
        st = NULL;
    }
    free(sql);
    return st;
}

static int flush(MYSQL *m, struct batch *b, char *err, size_t errlen) {
    if (b->n == 0) return 0;
    MYSQL_STMT **slot = b->n == BATCH_ROWS ? &b->full : &b->tail;
    if (b->n != BATCH_ROWS && *slot) { /* a tail of another size: prepared again */
        mysql_stmt_close(*slot);
        *slot = NULL;
    }
    if (!*slot && !(*slot = prepare(m, b, b->n, err, errlen))) return -1;
    int np = b->n * b->ncols;
    memset(b->binds, 0, sizeof b->binds[0] * (size_t)np);
    for (int r = 0; r < b->n; r++) {
        for (int c = 0; c < b->ncols; c++) {
            int i = r * b->ncols + c;
            struct erp_gen_text *t = &b->cells[r][c];
            b->lengths[i] = t->len;
            b->nulls[i] = (my_bool)t->null;
            b->binds[i].buffer_type = MYSQL_TYPE_STRING;
            b->binds[i].buffer = t->s;
            b->binds[i].buffer_length = t->len;
            b->binds[i].length = &b->lengths[i];
            b->binds[i].is_null = &b->nulls[i];
        }
    }
    if (mysql_stmt_bind_param(*slot, b->binds) != 0 || mysql_stmt_execute(*slot) != 0) {
        snprintf(err, errlen, "inserting into %s: %s", b->table, mysql_stmt_error(*slot));
        return -1;
    }
    b->written += b->n;
    b->n = 0;
    return 0;
}

/* The next row's cells (flushing a full batch first); NULL after an error. */
static struct erp_gen_text *row(MYSQL *m, struct batch *b, char *err, size_t errlen) {
    if (b->n == BATCH_ROWS && flush(m, b, err, errlen) != 0) return NULL;
    return b->cells[b->n++];
}

static void set_id(struct erp_gen_text *t, uint64_t id) { set(t, "%" PRIu64, id); }

enum { T_KOPF, T_FREIE, T_LOG, T_ZUBEH, T_ARTIKEL, T_VORGANG, T_COUNT };

static int add_order(MYSQL *m, struct batch *bs, const struct erp_gen_order *o, uint64_t id,
                     uint64_t index, char *err, size_t errlen) {
    struct erp_gen_text *c = row(m, &bs[T_KOPF], err, errlen);
    if (!c) return -1;
    set_id(&c[0], id);
    c[1] = o->numero;
    c[2] = o->extension;
    c[3] = o->status;
    c[4] = o->customer;
    c[5] = o->date;
    if (!(c = row(m, &bs[T_FREIE], err, errlen))) return -1;
    set_id(&c[0], id);
    set(&c[1], "Couleur %c", 'A' + (int)(index % 7));
    set_null(&c[2]);
    for (int i = 0; i < o->nlog; i++) {
        if (!(c = row(m, &bs[T_LOG], err, errlen))) return -1;
        set_id(&c[0], id);
        c[1] = o->log_date[i];
        c[2] = o->log_note[i];
        set(&c[3], "%s", i % 2 ? "JD" : "MB");
    }
    for (int i = 0; i < o->nzubeh; i++) {
        if (!(c = row(m, &bs[T_ZUBEH], err, errlen))) return -1;
        set_id(&c[0], id);
        c[1] = o->zcode[i];
        set(&c[2], "%d.00", 1 + i);
    }
    for (int i = 0; i < o->nartikel; i++) {
        if (!(c = row(m, &bs[T_ARTIKEL], err, errlen))) return -1;
        set_id(&c[0], id);
        c[1] = o->artnr[i];
        set(&c[2], "Volet roulant %s", i ? "alu" : "PVC");
        set(&c[3], "%d", 600 + (int)(index % 20) * 50);
        set(&c[4], "%d", 800 + (int)(index % 12) * 50);
    }
    for (int i = 0; i < o->nvorgang; i++) {
        if (!(c = row(m, &bs[T_VORGANG], err, errlen))) return -1;
        set_id(&c[0], id);
        c[1] = o->vorgang[i];
        set(&c[2], "%s", "Auftrag");
    }
    return 0;
}

struct first_value {
    uint64_t v;
};

static int read_first(void *arg, const struct mdb_row *r) {
    struct first_value *f = arg;
    f->v = r->values[0] ? strtoull(r->values[0], NULL, 10) : 0;
    return 0;
}

/* The highest A_Kopf.ID already there (0 when empty). */
static int max_id(struct mdb *c, uint64_t *out, char *err, size_t errlen) {
    struct first_value f = {0};
    struct mdb_error e;
    if (mdb_stream(c, "SELECT MAX(ID) FROM A_Kopf", read_first, &f, &e) != 0) {
        snprintf(err, errlen, "%s%s", e.text,
                 e.code == 1146 ? " (create the tables first: docker/mariadb/init.sql)" : "");
        return -1;
    }
    *out = f.v;
    return 0;
}

static int exec(struct mdb *c, const char *sql, char *err, size_t errlen) {
    struct mdb_error e;
    if (mdb_exec(c, sql, &e) == 0) return 0;
    snprintf(err, errlen, "%s", e.text);
    return -1;
}

int erp_generate(struct mdb *c, long n, uint64_t seed, erp_gen_progress_fn progress, void *arg,
                 struct erp_gen_counts *out, char *err, size_t errlen) {
    static const struct {
        const char *table, *cols;
        int ncols;
    } tables[T_COUNT] = {
        {"A_Kopf", "ID, AuNummer, AuAlpha, AufStatus, KdNummer, AuDatum", 6},
        {"A_KopfFreie", "ID_A_Kopf, Feld1, Feld2", 3},
        {"A_Logbuch", "ID_A_Kopf, Datum, Notiz, Benutzer", 4},
        {"P_Zubeh", "ID_A_Kopf, ZCode, Menge", 3},
        {"P_Artikel", "ID_A_Kopf, ArtNr, Bezeichnung, Breite, Hoehe", 5},
        {"A_Vorgang", "ID_A_Kopf, Nummer, Art", 3},
    };
    memset(out, 0, sizeof *out);
    uint64_t first = 0;
    /* zero dates are legacy data: the session accepts them as the old ERP did */
    if (exec(c, "SET SESSION sql_mode = ''", err, errlen) != 0 ||
        max_id(c, &first, err, errlen) != 0)
        return -1;
    struct batch *bs = calloc(T_COUNT, sizeof *bs);
    if (!bs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int t = 0; t < T_COUNT; t++) {
        bs[t].table = tables[t].table;
        bs[t].cols = tables[t].cols;
        bs[t].ncols = tables[t].ncols;
    }
    MYSQL *m = mdb_handle(c);
    int rc = exec(c, "START TRANSACTION", err, errlen);
    struct erp_gen_order o;
    for (long i = 0; rc == 0 && i < n; i++) {
        erp_gen_order(seed, (uint64_t)i, first, &o);
        rc = add_order(m, bs, &o, first + 1 + (uint64_t)i, (uint64_t)i, err, errlen);
        if (rc == 0 && (i + 1) % 5000 == 0) {
            for (int t = 0; rc == 0 && t < T_COUNT; t++) rc = flush(m, &bs[t], err, errlen);
            if (rc == 0) rc = exec(c, "COMMIT", err, errlen);
            if (rc == 0) rc = exec(c, "START TRANSACTION", err, errlen);
            if (progress) progress(arg, i + 1, n);
        }
    }
    for (int t = 0; rc == 0 && t < T_COUNT; t++) rc = flush(m, &bs[t], err, errlen);
    if (rc == 0) rc = exec(c, "COMMIT", err, errlen);
    if (rc == 0 && progress) progress(arg, n, n);
    out->orders = bs[T_KOPF].written;
    out->free_fields = bs[T_FREIE].written;
    out->logbook = bs[T_LOG].written;
    out->accessories = bs[T_ZUBEH].written;
    out->articles = bs[T_ARTIKEL].written;
    out->processes = bs[T_VORGANG].written;
    for (int t = 0; t < T_COUNT; t++) {
        if (bs[t].full) mysql_stmt_close(bs[t].full);
        if (bs[t].tail) mysql_stmt_close(bs[t].tail);
    }
    free(bs);
    return rc;
}
