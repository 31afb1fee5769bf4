/* sessions: GET /sessions/ (paginated; filters centre, from, to), GET /sessions/{id}
 * (figures, job profiles, waits, stops) and GET /sessions/{id}/pieces (paginated), with
 * their SQL. The lists and the detail are written as JSON from plain columns (json_row.h),
 * the detail's nested rows by PostgreSQL (json_agg); PGresults are cleared before
 * returning.
 *
 * from/to bound the production day: a date (YYYY-MM-DD) compares with date_production;
 * an RFC 3339 instant keeps the sessions whose day, in the centre's time zone, ends
 * after `from` / starts at or before `to`. The statements always take both forms, with
 * bounds that let every row through for what is absent, so the date range and the
 * keyset condition stay usable by the indexes. */
#include "api/centres.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "core/text.h"
#include "db/db.h"
#include "http/reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The figures of session sp of centre c as plain columns, written as JSON by json_row
 * (session_cols): the lists and the detail select these and write them from the same
 * declaration, so a figure reads the same in both (PostgreSQL's json_build_object would
 * also cost more than the query). */
/* clang-format off */
#define SESSION_COLUMNS                                                                            \
    "sp.id, c.code, " JSON_SQL_DATE("sp.date_production") ", "                                     \
    JSON_SQL_UTC("sp.heure_premiere_piece") ", " JSON_SQL_UTC("sp.heure_derniere_piece") ", "      \
    JSON_SQL_UTC("sp.heure_premier_machine_start") ", "                                            \
    JSON_SQL_UTC("sp.heure_dernier_machine_stop") ", sp.total_pieces, "                            \
    "sp.duree_production_totale, sp.temps_attente, sp.temps_arret_volontaire, "                    \
    "sp.temps_production_effectif, sp.taux_occupation, sp.taux_attente, "                          \
    "sp.taux_arret_volontaire, sp.fichier_log_source"
/* clang-format on */

/* Hours to 4 decimals, rates (percent) to 2. */
#define SESSION_COLS                                                                               \
    {"id", JCOL_INT, 0}, {"centre", JCOL_TEXT, 0}, {"date_production", JCOL_TEXT, 0},              \
        {"heure_premiere_piece", JCOL_UTC, 0}, {"heure_derniere_piece", JCOL_UTC, 0},              \
        {"heure_premier_machine_start", JCOL_UTC, 0}, {"heure_dernier_machine_stop", JCOL_UTC, 0}, \
        {"total_pieces", JCOL_INT, 0}, {"duree_production_totale", JCOL_NUM, 4},                   \
        {"temps_attente", JCOL_NUM, 4}, {"temps_arret_volontaire", JCOL_NUM, 4},                   \
        {"temps_production_effectif", JCOL_NUM, 4}, {"taux_occupation", JCOL_NUM, 2},              \
        {"taux_attente", JCOL_NUM, 2}, {"taux_arret_volontaire", JCOL_NUM, 2}, {                   \
        "fichier_log_source", JCOL_TEXT, 0                                                         \
    }

static const struct json_col session_cols[] = {SESSION_COLS};

/* GET /sessions/{id}: the same, then the counts and the session's rows. */
static const struct json_col session_detail_cols[] = {
    SESSION_COLS,
    {"nombre_job_profils", JCOL_INT, 0},
    {"nombre_attentes", JCOL_INT, 0},
    {"nombre_arrets", JCOL_INT, 0},
    {"job_profils", JCOL_JSON, 0},
    {"periodes_attente", JCOL_JSON, 0},
    {"periodes_arret", JCOL_JSON, 0},
    {"source_files", JCOL_JSON, 0},
};
/* Keyset columns of the lists: date_production, id. */
static const int session_keys[] = {2, 0};

/* The keyset bound row ($a date, $b id), the opposite date bound $c and the instants
 * $d/$e (see the file comment). The from/to dates are folded into the bound row by the
 * handler (keyset_bound), so each statement has one row comparison and one date
 * inequality: a pair of date inequalities would look so selective to the planner
 * (0.5%) that it would sort the whole range instead of reading the index in order. */
#define SESSION_INSTANTS(d, e)                                                                     \
    " AND ((sp.date_production + 1)::timestamp AT TIME ZONE c.time_zone) > " d "::timestamptz"     \
    " AND (sp.date_production::timestamp AT TIME ZONE c.time_zone) <= " e "::timestamptz"

#define SESSION_FROM                                                                               \
    " FROM session_production sp JOIN centre_usinage c ON c.id = sp.centre_usinage_id"

/* The centre of $1, as a value: the planner can then read the (centre, date, id) index in
 * order (a join on the code would hide that the rows come from one centre). */
#define SESSION_OF_CENTRE                                                                          \
    " sp.centre_usinage_id = (SELECT x.id FROM centre_usinage x WHERE x.code = $1) AND"

/* clang-format off */
/* All centres: $1/$2 bound row, $3 lowest date, $4/$5 instants, $6 limit. */
static struct db_stmt q_list_desc = DB_STMT(
    "SELECT " SESSION_COLUMNS SESSION_FROM
    " WHERE (sp.date_production, sp.id) < ($1::date, $2::bigint)"
    " AND sp.date_production >= $3::date" SESSION_INSTANTS("$4", "$5")
    " ORDER BY sp.date_production DESC, sp.id DESC LIMIT $6::bigint");
/* $3: highest date. */
static struct db_stmt q_list_asc = DB_STMT(
    "SELECT " SESSION_COLUMNS SESSION_FROM
    " WHERE (sp.date_production, sp.id) > ($1::date, $2::bigint)"
    " AND sp.date_production <= $3::date" SESSION_INSTANTS("$4", "$5")
    " ORDER BY sp.date_production, sp.id LIMIT $6::bigint");
/* One centre: $1 code, then as above shifted by one. */
static struct db_stmt q_centre_desc = DB_STMT(
    "SELECT " SESSION_COLUMNS SESSION_FROM
    " WHERE" SESSION_OF_CENTRE " (sp.date_production, sp.id) < ($2::date, $3::bigint)"
    " AND sp.date_production >= $4::date" SESSION_INSTANTS("$5", "$6")
    " ORDER BY sp.date_production DESC, sp.id DESC LIMIT $7::bigint");
static struct db_stmt q_centre_asc = DB_STMT(
    "SELECT " SESSION_COLUMNS SESSION_FROM
    " WHERE" SESSION_OF_CENTRE " (sp.date_production, sp.id) > ($2::date, $3::bigint)"
    " AND sp.date_production <= $4::date" SESSION_INSTANTS("$5", "$6")
    " ORDER BY sp.date_production, sp.id LIMIT $7::bigint");
/* clang-format on */

static struct db_stmt q_centre_exists = DB_STMT("SELECT 1 FROM centre_usinage WHERE code = $1");

/* clang-format off */
static struct db_stmt q_get = DB_STMT(
    "SELECT " SESSION_COLUMNS ","
    " (SELECT count(*) FROM job_profil j WHERE j.session_id = sp.id),"
    " (SELECT count(*) FROM periode_attente a WHERE a.session_id = sp.id),"
    " (SELECT count(*) FROM periode_arret s WHERE s.session_id = sp.id),"
    " COALESCE((SELECT json_agg(json_build_object('id', j.id,"
    "   'reference', j.reference, 'longueur', j.longueur, 'couleur', j.couleur,"
    "   'timestamp_debut', " JSON_SQL_UTC("j.timestamp_debut") ")"
    "   ORDER BY j.timestamp_debut, j.id) FROM job_profil j WHERE j.session_id = sp.id),"
    "   '[]'::json),"
    " COALESCE((SELECT json_agg(json_build_object('id', a.id,"
    "   'timestamp_debut', " JSON_SQL_UTC("a.timestamp_debut") ","
    "   'timestamp_fin', " JSON_SQL_UTC("a.timestamp_fin") ", 'duree_secondes', a.duree_secondes)"
    "   ORDER BY a.timestamp_debut, a.id) FROM periode_attente a WHERE a.session_id = sp.id),"
    "   '[]'::json),"
    " COALESCE((SELECT json_agg(json_build_object('id', s.id,"
    "   'timestamp_debut', " JSON_SQL_UTC("s.timestamp_debut") ","
    "   'timestamp_fin', " JSON_SQL_UTC("s.timestamp_fin") ", 'duree_secondes', s.duree_secondes)"
    "   ORDER BY s.timestamp_debut, s.id) FROM periode_arret s WHERE s.session_id = sp.id),"
    "   '[]'::json),"
    " COALESCE((SELECT json_agg(f.name ORDER BY f.name) FROM session_log_file l"
    "   JOIN log_file f ON f.id = l.log_file_id WHERE l.session_id = sp.id), '[]'::json)"
    SESSION_FROM " WHERE sp.id = $1");
/* clang-format on */

#define PIECE_COLUMNS "p.id, p.numero_piece, " JSON_SQL_UTC("p.timestamp_production") ", p.details"

static const struct json_col piece_cols[] = {
    {"id", JCOL_INT, 0},
    {"numero_piece", JCOL_INT, 0},
    {"timestamp_production", JCOL_UTC, 0},
    {"details", JCOL_TEXT, 0},
};

/* $1 session, $2 numero_piece after which to start, $3 limit. */
static struct db_stmt q_pieces_asc =
    DB_STMT("SELECT " PIECE_COLUMNS " FROM piece_production p"
            " WHERE p.session_id = $1::bigint AND p.numero_piece > $2::integer"
            " ORDER BY p.numero_piece LIMIT $3::bigint");
static struct db_stmt q_pieces_desc =
    DB_STMT("SELECT " PIECE_COLUMNS " FROM piece_production p"
            " WHERE p.session_id = $1::bigint AND p.numero_piece < $2::integer"
            " ORDER BY p.numero_piece DESC LIMIT $3::bigint");

static struct db_stmt q_session_exists = DB_STMT("SELECT 1 FROM session_production WHERE id = $1");

/* The bounds of the range: dates, then instants (±infinity when open). An instant also
 * bounds the date coarsely: any zone's local date is within a day of the UTC date. */
struct day_range {
    char from_date[48], to_date[48], from_at[48], to_at[48];
};

static void range_bounds(const struct query_time *from, const struct query_time *to,
                         struct day_range *out) {
    snprintf(out->from_date, sizeof out->from_date, "-infinity");
    snprintf(out->to_date, sizeof out->to_date, "infinity");
    snprintf(out->from_at, sizeof out->from_at, "-infinity");
    snprintf(out->to_at, sizeof out->to_at, "infinity");
    if (from->kind == QUERY_TIME_DATE) {
        snprintf(out->from_date, sizeof out->from_date, "%s", from->text);
    } else if (from->kind == QUERY_TIME_INSTANT) {
        struct query_date d = date_add_days(&from->date, -1);
        if (d.year >= 1) date_format(&d, out->from_date); /* else stays -infinity */
        snprintf(out->from_at, sizeof out->from_at, "%s", from->text);
    }
    if (to->kind == QUERY_TIME_DATE) {
        snprintf(out->to_date, sizeof out->to_date, "%s", to->text);
    } else if (to->kind == QUERY_TIME_INSTANT) {
        struct query_date d = date_add_days(&to->date, 1);
        if (d.year <= 9999) date_format(&d, out->to_date); /* else stays infinity */
        snprintf(out->to_at, sizeof out->to_at, "%s", to->text);
    }
}

/* Orders dates given as YYYY-MM-DD, -infinity or infinity. */
static int date_cmp(const char *a, const char *b) {
    int ra = a[0] == '-' ? -1 : a[0] == 'i' ? 1 : 0, rb = b[0] == '-' ? -1 : b[0] == 'i' ? 1 : 0;
    if (ra != rb || ra != 0) return (ra > rb) - (ra < rb);
    return strcmp(a, b);
}

/* The row the page starts after (asc) or before (desc): the cursor's keys, but never on
 * the far side of the range's own edge, (from, 0) or (to, max). */
static void keyset_bound(const struct page *pg, bool desc, const struct day_range *b,
                         const char **date, const char **id) {
    *date = desc ? b->to_date : b->from_date;
    *id = desc ? "9223372036854775807" : "0";
    if (!pg->has_cursor) return;
    int c = date_cmp(page_key(pg, 0, *date), *date);
    if (desc ? c <= 0 : c >= 0) { /* same date: the id decides, and the cursor's is inside */
        *date = page_key(pg, 0, *date);
        *id = page_key(pg, 1, *id);
    }
}

/* 1 when stmt with $1 = value finds a row, 0 when not, -1 after reply_db_error. */
static int row_exists(struct request *req, struct db_stmt *stmt, const char *value,
                      const char *what) {
    const char *v[] = {value};
    PGresult *e = db_exec(req->db, stmt, 1, v);
    if (!e) {
        reply_db_error(req, what);
        return -1;
    }
    int found = PQntuples(e) == 1;
    PQclear(e);
    return found;
}

/* An empty page of a centre's sessions: 400 naming `centre` when it does not exist. */
static bool centre_exists(struct request *req, const char *centre) {
    int found = row_exists(req, &q_centre_exists, centre, "list sessions");
    if (found == 0) query_bad(req, "centre", "no centre with code \"%s\"", centre);
    return found == 1;
}

void api_sessions_list(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", "centre", "from", "to", NULL};
    static const struct page_sort sorts[] = {{"-date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}},
                                             {"date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}}};
    struct query_time from, to;
    const char *centre_raw;
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !query_text(req, "centre", 64, &centre_raw) ||
        !query_range(req, "from", "to", true, &from, &to) || !page_parse(req, sorts, 2, &pg))
        return;
    char centre[CENTRE_CODE_MAX + 1];
    if (centre_raw && !centre_code_normalize(centre_raw, centre)) {
        query_bad(req, "centre", "no centre with code \"%s\"", centre_raw);
        page_cleanup(&pg);
        return;
    }
    struct day_range b;
    range_bounds(&from, &to, &b);
    bool desc = pg.sort_index == 0;
    const char *key_date, *key_id;
    keyset_bound(&pg, desc, &b, &key_date, &key_id);
    const char *other = desc ? b.from_date : b.to_date;
    /* An empty page of one centre's sessions says whether that centre exists. */
    const struct page_render how = {.json_col = -1,
                                    .cols = session_cols,
                                    .ncols = sizeof session_cols / sizeof session_cols[0],
                                    .key_cols = session_keys,
                                    .what = "list sessions",
                                    .on_empty = centre_raw ? centre_exists : NULL,
                                    .on_empty_arg = centre_raw ? centre : NULL};
    if (centre_raw) {
        const char *v[] = {centre, key_date, key_id, other, b.from_at, b.to_at, pg.fetch};
        page_query_then(req, &pg, desc ? &q_centre_desc : &q_centre_asc, 7, v, &how);
    } else {
        const char *v[] = {key_date, key_id, other, b.from_at, b.to_at, pg.fetch};
        page_query_then(req, &pg, desc ? &q_list_desc : &q_list_asc, 6, v, &how);
    }
}

/* An empty page of a session's pieces: 404 when the session does not exist. */
static bool session_exists(struct request *req, const char *id) {
    int found = row_exists(req, &q_session_exists, id, "list pieces");
    if (found == 0) reply_problem(req, PROBLEM_NOT_FOUND, "no session with id %s", id);
    return found == 1;
}

/* The {id} path parameter; false after a 400. */
static bool session_id(struct request *req, char out[24]) {
    int64_t id;
    if (!text_parse_id(request_param(req, "id"), &id)) {
        query_bad(req, "id", "the session id must be a positive integer");
        return false;
    }
    snprintf(out, 24, "%lld", (long long)id);
    return true;
}

void api_session_get(struct request *req) {
    char id[24];
    if (!session_id(req, id)) return;
    static const char *const allowed[] = {NULL};
    if (!query_check_names(req, allowed, NULL)) return;
    const char *v[] = {id};
    char not_found[64];
    snprintf(not_found, sizeof not_found, "no session with id %s", id);
    row_query_cols_then(req, &q_get, 1, v, session_detail_cols,
                        sizeof session_detail_cols / sizeof session_detail_cols[0], "get session",
                        not_found);
}

void api_session_pieces(struct request *req) {
    static const char *const allowed[] = {"limit", "cursor", "sort", NULL};
    static const struct page_sort sorts[] = {{"numero", 1, {PAGE_KEY_INT}},
                                             {"-numero", 1, {PAGE_KEY_INT}}};
    char id[24];
    struct page pg;
    if (!session_id(req, id) || !query_check_names(req, allowed, NULL) ||
        !page_parse(req, sorts, 2, &pg))
        return;
    bool asc = pg.sort_index == 0;
    const char *key = page_key(&pg, 0, asc ? "0" : "2147483647");
    /* A forged cursor may hold any 64-bit integer: clamp it to the column's range. */
    char clamped[16];
    long long k = strtoll(key, NULL, 10);
    snprintf(clamped, sizeof clamped, "%lld", k < -1 ? -1 : k > 2147483647 ? 2147483647 : k);
    const char *v[] = {id, clamped, pg.fetch};
    static const int piece_keys[] = {1};
    const struct page_render how = {.json_col = -1,
                                    .cols = piece_cols,
                                    .ncols = sizeof piece_cols / sizeof piece_cols[0],
                                    .key_cols = piece_keys,
                                    .what = "list pieces",
                                    .on_empty = session_exists,
                                    .on_empty_arg = id};
    page_query_then(req, &pg, asc ? &q_pieces_asc : &q_pieces_desc, 3, v, &how);
}
