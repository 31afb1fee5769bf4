/* erp_store: see erp_store.h. Every parameter is bound; the statements are constants. */
#include "kinds/orders/erp_store.h"

#include "db/db.h"
#include "db/db_copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_stmt q_interrupted =
    DB_STMT("UPDATE sync_runs SET status = 'failed', finished_at = clock_timestamp(),"
            " error = 'interrupted: the process that ran it stopped before the end'"
            " WHERE status = 'running' AND job_id = $1::bigint");

static struct db_stmt q_start =
    DB_STMT("INSERT INTO sync_runs (job_id, attempt) VALUES ($1::bigint, $2::int) RETURNING id");

static struct db_stmt q_end =
    DB_STMT("UPDATE sync_runs SET status = $2, finished_at = clock_timestamp(), rows_read = $3,"
            " inserted = $4, updated = $5, deleted = $6, unchanged = $7, duplicates = $8,"
            " rejected = $9, rejected_by = $10::jsonb, error = $11 WHERE id = $1::bigint");

int erp_store_run_start(struct db *db, int64_t job_id, int attempt, int64_t *run_id) {
    char jid[24], att[16];
    snprintf(jid, sizeof jid, "%" PRId64, job_id);
    snprintf(att, sizeof att, "%d", attempt);
    const char *v[] = {job_id ? jid : NULL, att};
    if (job_id) {
        PGresult *r = db_exec(db, &q_interrupted, 1, v);
        if (!r) return -1;
        PQclear(r);
    }
    PGresult *r = db_exec(db, &q_start, 2, v);
    if (!r) return -1;
    *run_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

void erp_store_rejected_json(const struct erp_counts *k, char *buf, size_t len) {
    size_t o = (size_t)snprintf(buf, len, "{");
    for (int c = 0; c < ERP_COL_COUNT && o < len; c++) {
        if (!k->rejected_by[c]) continue;
        o += (size_t)snprintf(buf + o, len - o, "%s\"%s\":%" PRId64, o > 1 ? "," : "",
                              erp_col_name((enum erp_col)c), k->rejected_by[c]);
    }
    if (o < len) snprintf(buf + o, len - o, "}");
}

/* Runs q_end with the counts. */
static int run_update(struct db *db, int64_t run_id, const char *status, const struct erp_counts *k,
                      const char *error) {
    char id[24], n[7][24], rej[512];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    const int64_t vals[7] = {k->rows_read, k->inserted,   k->updated, k->deleted,
                             k->unchanged, k->duplicates, k->rejected};
    for (int i = 0; i < 7; i++) snprintf(n[i], sizeof n[i], "%" PRId64, vals[i]);
    erp_store_rejected_json(k, rej, sizeof rej);
    const char *v[] = {id, status, n[0], n[1], n[2], n[3], n[4], n[5], n[6], rej, error};
    PGresult *r = db_exec(db, &q_end, 11, v);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int erp_store_run_end(struct db *db, int64_t run_id, const char *status, const struct erp_counts *k,
                      const char *error) {
    return run_update(db, run_id, status, k, error);
}

/* The staging table: text in the C collation so that ordering is byte order. A row with
 * a NULL status holds only the key of an order whose rows were all rejected (it is still
 * in the query's result: its previous row stays). */
static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS sluice_erp_stage ("
    " numero_commande text COLLATE \"C\" NOT NULL, extension text COLLATE \"C\" NOT NULL,"
    " status text COLLATE \"C\", status_source text COLLATE \"C\","
    " date_modification date,"
    " coffre text COLLATE \"C\", gestion_en_stock boolean)";

int erp_store_stage_begin(struct db *db) {
    PGresult *r = db_exec_sql(db, stage_sql, 0, NULL);
    if (!r) return -1;
    PQclear(r);
    r = db_exec_sql(db, "TRUNCATE sluice_erp_stage", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    return db_copy_begin(db, "COPY sluice_erp_stage (numero_commande, extension, status,"
                             " status_source, date_modification, coffre, gestion_en_stock)"
                             " FROM STDIN");
}

void erp_store_stage_row(struct db_copy_buf *b, const struct erp_order *o) {
    db_copy_cstr(b, o->numero);
    db_copy_cstr(b, o->extension);
    db_copy_cstr(b, o->status);
    db_copy_cstr(b, o->status_text);
    db_copy_text(b, o->date, 10);
    db_copy_cstr(b, o->coffre_null ? NULL : o->coffre);
    db_copy_text(b, o->stock ? "t" : "f", 1);
    db_copy_end_row(b);
}

void erp_store_stage_key(struct db_copy_buf *b, const struct erp_order *o) {
    db_copy_cstr(b, o->numero);
    db_copy_cstr(b, o->extension);
    for (int i = 0; i < 5; i++) db_copy_null(b);
    db_copy_end_row(b);
}

/* One row per order by the spec's rule; ON COMMIT DROP: gone with the transaction. */
static const char new_sql[] =
    "CREATE TEMP TABLE sluice_erp_new ON COMMIT DROP AS"
    " SELECT DISTINCT ON (numero_commande, extension) * FROM sluice_erp_stage"
    " WHERE status IS NOT NULL" /* not the keys staged alone */
    " ORDER BY numero_commande, extension, gestion_en_stock DESC, date_modification DESC,"
    " coffre ASC NULLS LAST, status, status_source"; /* the last two: see erp_order_better */

/* Orders whose values changed, and API orders the ERP takes over. */
static const char update_sql[] =
    "WITH u AS (UPDATE commandes_volets_roulants o SET status = n.status,"
    " status_source = n.status_source, date_modification = n.date_modification,"
    " coffre = n.coffre, gestion_en_stock = n.gestion_en_stock, source = 'erp',"
    " date_synchronisation = now()"
    " FROM sluice_erp_new n"
    " WHERE o.numero_commande = n.numero_commande AND o.extension = n.extension"
    " AND (o.status, o.status_source, o.date_modification, o.coffre, o.gestion_en_stock,"
    "      o.source)"
    " IS DISTINCT FROM (n.status, n.status_source, n.date_modification, n.coffre,"
    "      n.gestion_en_stock, 'erp')"
    " RETURNING 1) SELECT count(*) FROM u";

/* New orders; one created through the API meanwhile is taken over (counted updated). */
static const char insert_sql[] =
    "WITH i AS (INSERT INTO commandes_volets_roulants AS o (numero_commande, extension,"
    " status, status_source, date_modification, coffre, gestion_en_stock, source,"
    " date_synchronisation)"
    " SELECT n.numero_commande, n.extension, n.status, n.status_source, n.date_modification,"
    " n.coffre, n.gestion_en_stock, 'erp', now() FROM sluice_erp_new n"
    " WHERE NOT EXISTS (SELECT 1 FROM commandes_volets_roulants c"
    "   WHERE c.numero_commande = n.numero_commande AND c.extension = n.extension)"
    " ON CONFLICT (numero_commande, extension) DO UPDATE SET status = excluded.status,"
    " status_source = excluded.status_source, date_modification = excluded.date_modification,"
    " coffre = excluded.coffre, gestion_en_stock = excluded.gestion_en_stock, source = 'erp',"
    " date_synchronisation = excluded.date_synchronisation"
    " RETURNING (xmax = 0) AS fresh)"
    " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM i";

/* ERP orders that left the query's result (no staged row, not even a key); API orders
 * stay. */
static const char delete_sql[] =
    "WITH d AS (DELETE FROM commandes_volets_roulants o WHERE o.source = 'erp'"
    " AND NOT EXISTS (SELECT 1 FROM sluice_erp_stage n"
    "   WHERE n.numero_commande = o.numero_commande AND n.extension = o.extension)"
    " RETURNING 1) SELECT count(*) FROM d";

/* For this transaction only (is_local): the server's memory, not sluice's; and joins by
 * hash or merge, never a nested loop: the insert's NOT EXISTS reads the table it fills,
 * and when that table was empty at planning (a VACUUMed empty table: 0 pages, 0 rows)
 * the planner chose a nested loop over a sequential scan of it, rescanned for every new
 * order while it grew — quadratic: a sync of 737,377 orders ran for more than 8
 * minutes in its INSERT (bench/sync, the orders deleted and the table vacuumed). */
static const char settings_sql[] = "SELECT set_config('work_mem', '64MB', true),"
                                   " set_config('enable_nestloop', 'off', true)";

struct replace_arg {
    int64_t run_id;
    struct erp_counts *k;
    struct erp_counts in; /* the counts as they came in (a retried transaction restarts) */
    erp_store_guard_fn guard;
    void *guard_arg;
};

static int64_t scalar(PGresult *r, int col) {
    int64_t v = strtoll(PQgetvalue(r, 0, col), NULL, 10);
    return v;
}

static int replace_tx(struct db *db, void *arg) {
    struct replace_arg *a = arg;
    struct erp_counts *k = a->k;
    *k = a->in;
    /* one replacement at a time (two runs started by hand, or by two copies) */
    PGresult *r =
        db_exec_sql(db, "SELECT pg_advisory_xact_lock(hashtext('sluice orders.sync'))", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    if (a->guard) {
        int g = a->guard(db, a->guard_arg, false);
        if (g != 0) return g;
    }
    /* the one-per-order sort and the hash joins of the statements below hold the whole
     * staged set: in memory they need tens of MiB (at the default 4 MiB the sort of a
     * million orders spills ~40 MiB to disk and the delete's hash join runs in 8 batches) */
    if (!(r = db_exec_sql(db, settings_sql, 0, NULL))) return -1;
    PQclear(r);
    if (!(r = db_exec_sql(db, new_sql, 0, NULL))) return -1;
    int64_t orders = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    k->duplicates += k->staged - orders;
    if (!(r = db_exec_sql(db, "ANALYZE sluice_erp_new", 0, NULL))) return -1;
    PQclear(r);
    if (!(r = db_exec_sql(db, update_sql, 0, NULL))) return -1;
    k->updated = scalar(r, 0);
    PQclear(r);
    if (!(r = db_exec_sql(db, insert_sql, 0, NULL))) return -1;
    k->inserted = scalar(r, 0);
    k->updated += scalar(r, 1);
    PQclear(r);
    if (!(r = db_exec_sql(db, delete_sql, 0, NULL))) return -1;
    k->deleted = scalar(r, 0);
    PQclear(r);
    k->unchanged = orders - k->inserted - k->updated;
    if (run_update(db, a->run_id, "succeeded", k, NULL) != 0) return -1;
    return a->guard ? a->guard(db, a->guard_arg, true) : 0;
}

int erp_store_replace(struct db *db, int64_t run_id, struct erp_counts *k, erp_store_guard_fn guard,
                      void *guard_arg) {
    struct replace_arg a = {
        .run_id = run_id, .k = k, .in = *k, .guard = guard, .guard_arg = guard_arg};
    int rc = db_transaction(db, replace_tx, &a);
    if (rc != 0) {
        *k = a.in; /* the staged rows stay until the next run empties them */
        return rc;
    }
    PGresult *r = db_exec_sql(db, "TRUNCATE sluice_erp_stage", 0, NULL);
    if (r) PQclear(r);
    return 0;
}
