/* orders: the roller-shutter orders (table commandes_volets_roulants) —
 * GET /commandes-volets/ (paginated; filters status, gestion_en_stock, source,
 * modified_from/modified_to, q), POST /commandes-volets/ (one order or an array of up to
 * 1,000 in one transaction) and GET /commandes-volets/{numero} (every extension), with
 * their SQL. JSON is built by PostgreSQL; the request body (req->json) is borrowed;
 * everything else is freed before returning. */
#include "api/body_fields.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "core/json_out.h"
#include "core/text.h"
#include "db/db.h"
#include "http/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ORDERS_MAX_BATCH 1000

/* The canonical statuses (the migration's CHECK lists the same). */
static const char *const statuses[] = {"Planifiee", "lancer en prod", "vitrage",
                                       "Terminee",  "Annulee",        NULL};
static const char *const sources[] = {"erp", "api", NULL};

#define ORDER_JSON                                                                                 \
    "json_build_object('id', o.id, 'numero_commande', o.numero_commande,"                          \
    " 'extension', o.extension, 'status', o.status,"                                               \
    " 'date_modification', o.date_modification, 'coffre', o.coffre,"                               \
    " 'gestion_en_stock', o.gestion_en_stock,"                                                     \
    " 'date_synchronisation', " JSON_SQL_UTC(                                                      \
        "o.date_synchronisation") ", 'source', o.source,"                                          \
                                  " 'status_source', o.status_source)"

/* $1 statuses (text[], NULL: any), $2 gestion_en_stock, $3 the daterange
 * date_modification must fall in ('(,)' when open), $4 ILIKE pattern on numero_commande,
 * $5 source. The range is one daterange rather than two inequalities, which the planner
 * would think so selective (0.5%) that it would sort the range instead of reading the
 * sort's index in order; the date sorts also start their keyset at the range's edge. */
#define ORDER_FILTERS                                                                              \
    " ($1::text[] IS NULL OR o.status = ANY($1::text[]))"                                          \
    " AND ($2::boolean IS NULL OR o.gestion_en_stock = $2::boolean)"                               \
    " AND o.date_modification <@ $3::daterange"                                                    \
    " AND ($4::text IS NULL OR o.numero_commande ILIKE $4::text)"                                  \
    " AND ($5::text IS NULL OR o.source = $5::text)"

#define ORDER_SELECT                                                                               \
    "SELECT to_char(o.date_modification, 'YYYY-MM-DD'), o.numero_commande, o.extension,"           \
    " " ORDER_JSON "::text"                                                                        \
    " FROM commandes_volets_roulants o WHERE" ORDER_FILTERS

/* clang-format off */
/* Keyset after $6.. ; limit last. The largest code point bounds every text from above. */
static struct db_stmt q_by_numero = DB_STMT(
    ORDER_SELECT " AND (o.numero_commande, o.extension) > ($6::text, $7::text)"
    " ORDER BY o.numero_commande, o.extension LIMIT $8::bigint");
static struct db_stmt q_by_numero_desc = DB_STMT(
    ORDER_SELECT " AND (o.numero_commande, o.extension) < ($6::text, $7::text)"
    " ORDER BY o.numero_commande DESC, o.extension DESC LIMIT $8::bigint");
static struct db_stmt q_by_date = DB_STMT(
    ORDER_SELECT " AND (o.date_modification, o.numero_commande, o.extension)"
    " > ($6::date, $7::text, $8::text)"
    " ORDER BY o.date_modification, o.numero_commande, o.extension LIMIT $9::bigint");
static struct db_stmt q_by_date_desc = DB_STMT(
    ORDER_SELECT " AND (o.date_modification, o.numero_commande, o.extension)"
    " < ($6::date, $7::text, $8::text)"
    " ORDER BY o.date_modification DESC, o.numero_commande DESC, o.extension DESC"
    " LIMIT $9::bigint");
/* clang-format on */

static struct db_stmt q_get = DB_STMT("SELECT " ORDER_JSON "::text FROM commandes_volets_roulants o"
                                      " WHERE o.numero_commande = $1 ORDER BY o.extension");

/* $1: JSON array of normalised orders. Inserts what does not exist yet and returns the
 * keys and JSON of the rows inserted, in input order. */
static struct db_stmt q_insert = DB_STMT(
    "WITH input AS ("
    " SELECT x.*, e.ord FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, ord),"
    " jsonb_to_record(e.v) AS x(numero_commande text, extension text, status text,"
    " date_modification date, coffre text, gestion_en_stock boolean)),"
    " ins AS (INSERT INTO commandes_volets_roulants AS o (numero_commande, extension, status,"
    " date_modification, coffre, gestion_en_stock, source)"
    " SELECT numero_commande, extension, status, COALESCE(date_modification, CURRENT_DATE),"
    " coffre, gestion_en_stock, 'api' FROM input ORDER BY ord"
    " ON CONFLICT (numero_commande, extension) DO NOTHING RETURNING o.*)"
    " SELECT o.numero_commande, o.extension, " ORDER_JSON "::text"
    " FROM ins o JOIN input i USING (numero_commande, extension) ORDER BY i.ord");

/* The largest code point: above any text in the C collation. */
static const char text_top[] = "\xf4\x8f\xbf\xbf";

static bool no_edge_space(const char *s) {
    size_t n = strlen(s);
    return n == 0 || (s[0] != ' ' && s[n - 1] != ' ');
}

enum { F_NUMERO, F_EXTENSION, F_STATUS, F_DATE, F_COFFRE, F_STOCK, F_COUNT };

static const struct field_spec order_fields[F_COUNT] = {
    [F_NUMERO] = {.name = "numero_commande",
                  .type = FIELD_TEXT,
                  .required = true,
                  .min_len = 1,
                  .max_len = 20,
                  .check = no_edge_space,
                  .rule = "no leading or trailing space"},
    [F_EXTENSION] = {.name = "extension",
                     .type = FIELD_TEXT,
                     .min_len = 0,
                     .max_len = 5,
                     .check = no_edge_space,
                     .rule = "no leading or trailing space"},
    [F_STATUS] = {.name = "status", .type = FIELD_TEXT, .required = true, .choices = statuses},
    [F_DATE] = {.name = "date_modification", .type = FIELD_DATE},
    [F_COFFRE] =
        {.name = "coffre", .type = FIELD_TEXT, .nullable = true, .min_len = 1, .max_len = 50},
    [F_STOCK] = {.name = "gestion_en_stock", .type = FIELD_BOOL, .int_bool = true},
};

/* status=a,b or status=a&status=b → {"a","b"} (PostgreSQL array text); false after 400. */
static bool status_filter(struct request *req, struct textbuf *out) {
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, "status") != 0) continue;
        char *copy = strdup(req->query[i].value);
        if (!copy) return false;
        char *save = NULL;
        bool any = false;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            size_t k = 0;
            while (statuses[k] && strcasecmp(tok, statuses[k]) != 0) k++;
            if (!statuses[k]) {
                query_bad(req, "status",
                          "unknown status \"%s\" (known: Planifiee, "
                          "lancer en prod, vitrage, Terminee, Annulee)",
                          tok);
                free(copy);
                return false;
            }
            textbuf_printf(out, "%s\"%s\"", out->len ? "," : "{", statuses[k]);
            any = true;
        }
        free(copy);
        if (!any) {
            query_bad(req, "status", "status must name at least one status");
            return false;
        }
    }
    if (out->len) textbuf_printf(out, "}");
    return true;
}

/* '%' q '%' with LIKE's wildcards escaped; malloc'd. */
static char *like_pattern(const char *q) {
    struct textbuf b = {0};
    textbuf_printf(&b, "%%");
    for (const char *c = q; *c; c++) textbuf_printf(&b, "%s%c", strchr("\\%_", *c) ? "\\" : "", *c);
    textbuf_printf(&b, "%%");
    return b.data;
}

void api_orders_list(struct request *req) {
    static const char *const allowed[] = {
        "limit",         "cursor",      "sort", "status", "gestion_en_stock",
        "modified_from", "modified_to", "q",    "source", NULL};
    static const char *const repeatable[] = {"status", NULL};
    static const struct page_sort sorts[] = {
        {"numero", 2, {PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
        {"-numero", 2, {PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
        {"date_modification", 3, {PAGE_KEY_DATE, PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
        {"-date_modification", 3, {PAGE_KEY_DATE, PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
    };
    static struct db_stmt *const stmts[] = {&q_by_numero, &q_by_numero_desc, &q_by_date,
                                            &q_by_date_desc};
    struct textbuf st = {0};
    struct query_time from, to;
    int stock, source;
    const char *q;
    struct page pg;
    if (!query_check_names(req, allowed, repeatable) || !status_filter(req, &st) ||
        !query_bool(req, "gestion_en_stock", &stock) ||
        !query_range(req, "modified_from", "modified_to", false, &from, &to) ||
        !query_text(req, "q", 20, &q) || !query_choice(req, "source", sources, &source) ||
        !page_parse(req, sorts, 4, &pg)) {
        free(st.data);
        return;
    }
    char *pattern = q ? like_pattern(q) : NULL;
    bool asc = pg.sort_index % 2 == 0, by_date = pg.sort_index >= 2;
    char range[104];
    snprintf(range, sizeof range, "[%s,%s]", from.kind ? from.text : "", to.kind ? to.text : "");
    const char *v[9] = {st.data,
                        stock < 0 ? NULL
                        : stock   ? "true"
                                  : "false",
                        range, pattern, source < 0 ? NULL : sources[source]};
    int n = 5;
    /* Where the page starts: after the cursor, or at the edge of the range (a cursor
     * outside the range is not followed there). */
    const char *edge_text = asc ? "" : text_top;
    if (by_date) {
        const char *edge =
            asc ? (from.kind ? from.text : "-infinity") : (to.kind ? to.text : "infinity");
        bool inside = pg.has_cursor && (asc ? !from.kind || strcmp(pg.after[0], from.text) >= 0
                                            : !to.kind || strcmp(pg.after[0], to.text) <= 0);
        v[n++] = inside ? pg.after[0] : edge;
        v[n++] = inside ? pg.after[1] : edge_text;
        v[n++] = inside ? pg.after[2] : edge_text;
    } else {
        v[n++] = page_key(&pg, 0, edge_text);
        v[n++] = page_key(&pg, 1, edge_text);
    }
    v[n++] = pg.fetch;
    static const int date_keys[] = {0, 1, 2}, numero_keys[] = {1, 2};
    static const struct page_render by_date_how = {
        .json_col = 3, .key_cols = date_keys, .what = "list orders"};
    static const struct page_render by_numero_how = {
        .json_col = 3, .key_cols = numero_keys, .what = "list orders"};
    page_query_then(req, &pg, stmts[pg.sort_index], n, v, by_date ? &by_date_how : &by_numero_how);
    free(pattern);
    free(st.data);
}

void api_order_get(struct request *req) {
    const char *numero = request_param(req, "numero");
    static const char *const allowed[] = {NULL};
    if (!query_check_names(req, allowed, NULL)) return;
    size_t n = numero ? strlen(numero) : 0;
    PGresult *r = NULL;
    if (n >= 1 && n <= 80 && text_utf8_valid(numero, n)) {
        const char *v[] = {numero};
        r = db_exec(req->db, &q_get, 1, v);
        if (!r) {
            reply_db_error(req, "get order");
            return;
        }
    }
    if (!r || PQntuples(r) == 0) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no order numbered \"%s\"", numero ? numero : "");
        if (r) PQclear(r);
        return;
    }
    struct textbuf b = {0};
    json_t *num = text_json_string_lossy(numero);
    char *num_text = json_dumps(num, JSON_ENCODE_ANY);
    json_decref(num);
    textbuf_printf(&b, "{\"numero_commande\":%s,\"items\":[", num_text ? num_text : "\"\"");
    free(num_text);
    for (int i = 0; i < PQntuples(r); i++)
        textbuf_printf(&b, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
    textbuf_printf(&b, "]}");
    PQclear(r);
    if (!b.data) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    reply_json_text(req, 200, b.data, b.len);
    free(b.data);
}

/* ---- POST ------------------------------------------------------------------------ */

struct order_key {
    const char *numero, *extension;
    size_t index;
};

static int by_key(const void *a, const void *b) {
    const struct order_key *x = a, *y = b;
    int c = strcmp(x->numero, y->numero);
    if (c == 0) c = strcmp(x->extension, y->extension);
    if (c == 0) c = (x->index > y->index) - (x->index < y->index);
    return c;
}

struct insert_job {
    const char *input; /* JSON array text */
    size_t count;
    struct order_key *keys; /* in input order */
    PGresult *result;       /* rows inserted, owned by the caller after the call */
    long conflict;          /* index of the first order that already existed, or -1 */
};

/* In the transaction: insert all, or find the first that existed and roll back (1). */
static int insert_orders(struct db *db, void *arg) {
    struct insert_job *job = arg;
    const char *v[] = {job->input};
    PGresult *r = db_exec(db, &q_insert, 1, v);
    if (!r) return -1;
    if ((size_t)PQntuples(r) == job->count) {
        job->result = r;
        return 0;
    }
    /* Rows come back in input order: the first gap is the first conflict. */
    size_t row = 0;
    job->conflict = (long)job->count - 1;
    for (size_t i = 0; i < job->count; i++) {
        if (row < (size_t)PQntuples(r) &&
            strcmp(PQgetvalue(r, (int)row, 0), job->keys[i].numero) == 0 &&
            strcmp(PQgetvalue(r, (int)row, 1), job->keys[i].extension) == 0) {
            row++;
            continue;
        }
        job->conflict = (long)i;
        break;
    }
    PQclear(r);
    return 1;
}

/* Checks every order; builds the normalised JSON array text and the keys. */
static bool check_orders(json_t *body, bool many, struct field_errors *errs, json_t *out,
                         struct order_key *keys) {
    size_t n = many ? json_array_size(body) : 1;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        json_t *obj = many ? json_array_get(body, i) : body;
        char prefix[32] = "";
        if (many) snprintf(prefix, sizeof prefix, "[%zu]", i);
        struct field_value f[F_COUNT];
        if (!body_fields_check(obj, prefix, order_fields, F_COUNT, f, errs)) {
            ok = false;
            continue;
        }
        const char *ext = f[F_EXTENSION].present ? f[F_EXTENSION].text : "";
        keys[i] = (struct order_key){f[F_NUMERO].text, ext, i};
        json_array_append_new(
            out,
            json_pack("{s:s,s:s,s:s,s:o,s:o,s:b}", "numero_commande", f[F_NUMERO].text, "extension",
                      ext, "status", f[F_STATUS].text, "date_modification",
                      f[F_DATE].present ? json_string(f[F_DATE].text) : json_null(), "coffre",
                      f[F_COFFRE].present && !f[F_COFFRE].is_null ? json_string(f[F_COFFRE].text)
                                                                  : json_null(),
                      "gestion_en_stock", f[F_STOCK].present && f[F_STOCK].boolean));
    }
    return ok;
}

/* 409 when the same (numero_commande, extension) appears twice in the request. */
static bool reject_repeats(struct request *req, const struct order_key *keys, size_t n) {
    struct order_key *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return true;
    }
    memcpy(sorted, keys, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_key);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(sorted[i].numero, sorted[i - 1].numero) == 0 &&
            strcmp(sorted[i].extension, sorted[i - 1].extension) == 0) {
            char field[48];
            snprintf(field, sizeof field, "[%zu].numero_commande", sorted[i].index);
            reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", field),
                               "orders [%zu] and [%zu] are both %s (extension \"%s\")",
                               sorted[i - 1].index, sorted[i].index, sorted[i].numero,
                               sorted[i].extension);
            free(sorted);
            return true;
        }
    }
    free(sorted);
    return false;
}

void api_orders_create(struct request *req) {
    json_t *body = req->json;
    bool many = json_is_array(body);
    size_t n = many ? json_array_size(body) : 1;
    struct field_errors errs = {0};
    if (many && (n == 0 || n > ORDERS_MAX_BATCH)) {
        body_fields_fail(&errs, "body", "send one order or an array of 1 to %d orders",
                         ORDERS_MAX_BATCH);
        body_fields_reply(req, &errs);
        return;
    }
    struct order_key *keys = calloc(n, sizeof *keys);
    json_t *input = json_array();
    struct insert_job job = {.count = n, .keys = keys, .conflict = -1};
    char *text = NULL;
    if (!keys || !input) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        goto out;
    }
    if (!check_orders(body, many, &errs, input, keys)) {
        body_fields_reply(req, &errs);
        goto out;
    }
    if (many && reject_repeats(req, keys, n)) goto out;
    text = json_dumps(input, JSON_COMPACT);
    job.input = text;
    int rc = text ? db_transaction(req->db, insert_orders, &job) : -1;
    if (rc == -1) {
        reply_db_error(req, "create orders");
    } else if (rc == 1) {
        const struct order_key *k = &keys[job.conflict];
        char field[48] = "numero_commande";
        if (many) snprintf(field, sizeof field, "[%ld].numero_commande", job.conflict);
        reply_problem_with(req, PROBLEM_CONFLICT, json_pack("{s:s}", "field", field),
                           "order %s (extension \"%s\") already exists%s", k->numero, k->extension,
                           many ? "; nothing was inserted" : "");
    } else if (!many) {
        struct textbuf location = {0};
        textbuf_printf(&location, "/commandes-volets/");
        textbuf_percent_encode(&location, keys[0].numero, false);
        if (location.data) reply_header(req, "Location", location.data);
        free(location.data);
        reply_json_text(req, 201, PQgetvalue(job.result, 0, 2),
                        (size_t)PQgetlength(job.result, 0, 2));
    } else {
        struct textbuf b = {0};
        textbuf_printf(&b, "{\"items\":[");
        for (int i = 0; i < PQntuples(job.result); i++)
            textbuf_printf(&b, "%s%s", i ? "," : "", PQgetvalue(job.result, i, 2));
        textbuf_printf(&b, "]}");
        if (b.data)
            reply_json_text(req, 201, b.data, b.len);
        else
            reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        free(b.data);
    }
out:
    if (job.result) PQclear(job.result);
    free(text);
    json_decref(input);
    free(keys);
}
