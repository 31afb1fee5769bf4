/* kpis: GET /centres/{code}/kpis (figures per day, week or month bucket) and GET /kpis
 * (the centres side by side over one range, paginated by code), with their SQL. Every
 * figure is computed by PostgreSQL from the session rows; buckets are date_trunc of the
 * production day, which is already the local date in the centre's time zone (weeks start
 * on Monday). from/to are dates or RFC 3339 instants (an instant counts as its local
 * date in each centre's zone); `to` defaults to today there, `from` to 29 days before
 * `to`. PGresults are cleared before returning. */
#include "api/centres.h"
#include "api/handlers.h"
#include "api/pagination.h"
#include "api/query_params.h"
#include "api/row_query.h"
#include "core/json_out.h"
#include "db/db.h"
#include "http/reply.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define KPI_MAX_SPAN_DAYS 1096

/* Aggregates over the sessions sp of a group. */
#define KPI_AGGREGATES                                                                             \
    "count(*) AS sessions, sum(sp.total_pieces) AS pieces,"                                        \
    " sum(sp.duree_production_totale) AS prod, sum(sp.temps_production_effectif) AS eff,"          \
    " sum(sp.temps_attente) AS wait, sum(sp.temps_arret_volontaire) AS stop,"                      \
    " sum((SELECT count(*) FROM periode_attente a WHERE a.session_id = sp.id)) AS waits,"          \
    " sum((SELECT count(*) FROM periode_arret x WHERE x.session_id = sp.id)) AS stops"

/* JSON members of the figures of aggregate row s (NULL columns: no session). Rates are
 * percent of the production time; null when there was none. */
#define KPI_FIGURES                                                                                \
    "'sessions', COALESCE(s.sessions, 0), 'pieces', COALESCE(s.pieces, 0),"                        \
    " 'production_hours', " JSON_SQL_NUM(                                                          \
        "COALESCE(s.prod, 0)",                                                                     \
        "4") ","                                                                                   \
             " 'effective_hours', " JSON_SQL_NUM(                                                  \
                 "COALESCE(s.eff, 0)",                                                             \
                 "4") ","                                                                          \
                      " 'wait_hours', " JSON_SQL_NUM(                                              \
                          "COALESCE(s.wait, 0)",                                                   \
                          "4") ","                                                                 \
                               " 'stop_hours', " JSON_SQL_NUM(                                     \
                                   "COALESCE(s.stop, 0)",                                          \
                                   "4") ","                                                        \
                                        " 'occupation_rate', " JSON_SQL_NUM(                       \
                                            "(100 * s.eff / NULLIF(s.prod, 0))",                   \
                                            "2") ","                                               \
                                                 " 'wait_rate', " JSON_SQL_NUM(                    \
                                                     "(100 * s.wait / NULLIF(s.prod, 0))",         \
                                                     "2") ","                                      \
                                                          " 'stop_rate', " JSON_SQL_NUM(           \
                                                              "(100 * s.stop / NULLIF(s.prod, "    \
                                                              "0))",                               \
                                                              "2") ","                             \
                                                                   " 'waits', COALESCE(s.waits, "  \
                                                                   "0), 'stops', "                 \
                                                                   "COALESCE(s.stops, 0),"         \
                                                                   " 'pieces_per_effective_hour'," \
                                                                   " " JSON_SQL_NUM(               \
                                                                       "(s.pieces / "              \
                                                                       "NULLIF(s.eff, 0))",        \
                                                                       "2")

/* The range of centre c from $a (from date), $b (from instant), $c (to date), $d (to
 * instant): a bound not given is -infinity / infinity, so that no parameter is ever NULL
 * (bench/api runs this text with pgbench, which cannot send NULL). */
#define KPI_TO(c_, d)                                                                              \
    "CASE WHEN " c_ "::date <> 'infinity' THEN " c_ "::date"                                       \
    " WHEN " d "::timestamptz <> 'infinity' THEN (" d                                              \
    "::timestamptz AT TIME ZONE c.time_zone)::date"                                                \
    " ELSE (now() AT TIME ZONE c.time_zone)::date END"
#define KPI_FROM(a, b, to)                                                                         \
    "CASE WHEN " a "::date <> '-infinity' THEN " a "::date"                                        \
    " WHEN " b "::timestamptz <> '-infinity'"                                                      \
    " THEN (" b "::timestamptz AT TIME ZONE c.time_zone)::date ELSE " to " - 29 END"

/* clang-format off */
/* $1 code, $2..$5 the range, $6 bucket: day, week or month. No row: no such centre. */
static struct db_stmt q_centre_kpis = DB_STMT(
    "WITH r AS ("
    " SELECT c.id, c.code, c.time_zone, d.to_d, " KPI_FROM("$2", "$3", "d.to_d") " AS from_d"
    " FROM centre_usinage c CROSS JOIN LATERAL (SELECT " KPI_TO("$4", "$5") " AS to_d) d"
    " WHERE c.code = $1),"
    " s AS ("
    " SELECT date_trunc($6::text, sp.date_production::timestamp)::date AS b_start, "
    KPI_AGGREGATES
    " FROM r JOIN session_production sp ON sp.centre_usinage_id = r.id"
    "  AND sp.date_production BETWEEN r.from_d AND r.to_d"
    " GROUP BY 1)"
    " SELECT json_build_object('centre', r.code, 'time_zone', r.time_zone,"
    " 'bucket', $6::text, 'from', r.from_d, 'to', r.to_d,"
    " 'items', COALESCE((SELECT json_agg(json_build_object("
    "  'start', greatest(g.b::date, r.from_d),"
    "  'end', least((g.b + ('1 ' || $6::text)::interval)::date - 1, r.to_d), "
    KPI_FIGURES ") ORDER BY g.b)"
    "  FROM generate_series(date_trunc($6::text, r.from_d::timestamp), r.to_d::timestamp,"
    "   ('1 ' || $6::text)::interval) AS g(b)"
    "  LEFT JOIN s ON s.b_start = g.b::date), '[]'::json))::text"
    " FROM r");

/* $1..$4 the range as above, $5 the actif values wanted ({true,false}: any), $6 code after
 * which to start, $7 limit. */
static struct db_stmt q_compare = DB_STMT(
    "SELECT c.code, json_build_object('centre', c.code, 'nom', c.nom, 'type_cu', c.type_cu,"
    " 'actif', c.actif, 'time_zone', c.time_zone, 'from', d.from_d, 'to', d.to_d, "
    KPI_FIGURES ")::text"
    " FROM centre_usinage c"
    " CROSS JOIN LATERAL (SELECT " KPI_TO("$3", "$4") " AS to_d) t"
    " CROSS JOIN LATERAL (SELECT t.to_d, " KPI_FROM("$1", "$2", "t.to_d") " AS from_d) d"
    " CROSS JOIN LATERAL (SELECT " KPI_AGGREGATES " FROM session_production sp"
    "  WHERE sp.centre_usinage_id = c.id AND sp.date_production BETWEEN d.from_d AND d.to_d) s"
    " WHERE c.actif = ANY($5::boolean[]) AND c.code > $6::text"
    " ORDER BY c.code LIMIT $7::bigint");
/* clang-format on */

static const char *const buckets[] = {"day", "week", "month", NULL};

/* The range, its span checked against KPI_MAX_SPAN_DAYS (with a day of slack for
 * instants, whose local date is not known here). */
static bool kpi_range(struct request *req, struct query_time *from, struct query_time *to) {
    if (!query_range(req, "from", "to", true, from, to)) return false;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    struct query_date today = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
    struct query_date t = to->kind != QUERY_TIME_ABSENT ? to->date : date_add_days(&today, 1);
    struct query_date f = from->kind != QUERY_TIME_ABSENT ? from->date : date_add_days(&t, -29);
    if (f.year < 1) f = (struct query_date){1, 1, 1}; /* PostgreSQL has no year 0 */
    long span = date_days(&t) - date_days(&f);
    long slack = (from->kind == QUERY_TIME_INSTANT) + (to->kind == QUERY_TIME_INSTANT) +
                 (to->kind == QUERY_TIME_ABSENT);
    if (span > KPI_MAX_SPAN_DAYS + slack) {
        query_bad(req, "from", "from and to may be at most %d days apart", KPI_MAX_SPAN_DAYS);
        return false;
    }
    return true;
}

/* The date and instant parameters of a bound; `infinite` for the form not given. */
static const char *date_param(const struct query_time *t, const char *infinite) {
    return t->kind == QUERY_TIME_DATE ? t->text : infinite;
}

static const char *instant_param(const struct query_time *t, const char *infinite) {
    return t->kind == QUERY_TIME_INSTANT ? t->text : infinite;
}

void api_centre_kpis(struct request *req) {
    static const char *const allowed[] = {"from", "to", "bucket", NULL};
    char code[CENTRE_CODE_MAX + 1];
    if (!centre_code_normalize(request_param(req, "code"), code)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no centre with code \"%s\"",
                      request_param(req, "code"));
        return;
    }
    struct query_time from, to;
    int bucket;
    if (!query_check_names(req, allowed, NULL) || !query_choice(req, "bucket", buckets, &bucket) ||
        !kpi_range(req, &from, &to))
        return;
    const char *v[] = {code,
                       date_param(&from, "-infinity"),
                       instant_param(&from, "-infinity"),
                       date_param(&to, "infinity"),
                       instant_param(&to, "infinity"),
                       buckets[bucket < 0 ? 0 : bucket]};
    char not_found[CENTRE_CODE_MAX + 32];
    snprintf(not_found, sizeof not_found, "no centre with code \"%s\"", code);
    row_query_then(req, &q_centre_kpis, 6, v, "centre KPIs", not_found);
}

void api_kpis_compare(struct request *req) {
    static const char *const allowed[] = {"from", "to", "actif", "limit", "cursor", "sort", NULL};
    static const struct page_sort sorts[] = {{"centre", 1, {PAGE_KEY_TEXT}}};
    struct query_time from, to;
    int actif;
    struct page pg;
    if (!query_check_names(req, allowed, NULL) || !kpi_range(req, &from, &to) ||
        !query_bool(req, "actif", &actif) || !page_parse(req, sorts, 1, &pg))
        return;
    static const char *const actif_sets[] = {"{false}", "{true}", "{true,false}"};
    const char *v[] = {date_param(&from, "-infinity"),
                       instant_param(&from, "-infinity"),
                       date_param(&to, "infinity"),
                       instant_param(&to, "infinity"),
                       actif_sets[actif < 0 ? 2 : actif],
                       page_key(&pg, 0, ""),
                       pg.fetch};
    static const int keys[] = {0};
    static const struct page_render how = {.json_col = 1, .key_cols = keys, .what = "compare KPIs"};
    page_query_then(req, &pg, &q_compare, 7, v, &how);
}
