/* demo: the demo data set, generated in SQL; see demo.h. The statements below run in
 * order in one transaction under an advisory lock (two servers starting together seed
 * once). Pseudo-random values come from a hash of a key (session id, piece number, what
 * is drawn), so a given session always gets the same figures. Working tables are
 * temporary and dropped at commit. */
#include "db/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_LOCK_KEY "7303390104"

/* A deterministic number in [0, 1) drawn from a text key (PostgreSQL's own text hash). */
#define RND(key) "((hashtext(" key ")::bigint + 2147483648) / 4294967296.0)"

static const char *const sql_centres =
    "INSERT INTO centre_usinage (code, nom, type_cu, description, log_folder, time_zone)"
    " VALUES"
    " ('DEM12', 'Centre d''usinage DEM12', 'PVC',"
    "  'Débit et usinage de profilés PVC, deux équipes (données de démonstration)',"
    "  'DEM12 (PVC)', 'Europe/Paris'),"
    " ('DEMALU', 'Centre d''usinage DEMALU', 'ALU',"
    "  'Usinage de profilés aluminium, une équipe (données de démonstration)',"
    "  'DEMALU (ALU)', 'Europe/Paris'),"
    " ('SU12', 'Centre d''usinage SU12', 'HYBRIDE',"
    "  'Profilés hybrides PVC/aluminium (données de démonstration)',"
    "  'SU12 (HYBRIDE)', 'Europe/Paris')"
    " ON CONFLICT DO NOTHING";

/* The production days to generate: the 30 days before today (centre time), Monday to
 * Friday, and Saturdays for DEM12; only for demo centres without any session. */
static const char *const sql_days =
    "CREATE TEMP TABLE demo_session ON COMMIT DROP AS"
    " WITH prof(code, shift_start, shift_minutes, cycle_min, cycle_max, saturday, refs,"
    "  colours, lengths) AS (VALUES"
    "  ('DEM12', time '05:30', 930, 35.0, 60.0, true,"
    "   ARRAY['7001', '7002', '7050', '7061', '7120'],"
    "   ARRAY['Blanc', 'Chêne doré', 'Gris anthracite', 'Crème'], ARRAY[6500, 6000]),"
    "  ('DEMALU', time '06:00', 480, 70.0, 130.0, false,"
    "   ARRAY['AL-4410', 'AL-4420', 'AL-5100', 'AL-5210'],"
    "   ARRAY['RAL 7016', 'RAL 9016', 'Anodisé naturel', NULL], ARRAY[6500, 6000, 5800]),"
    "  ('SU12', time '06:00', 690, 50.0, 90.0, false,"
    "   ARRAY['HY-200', 'HY-210', 'HY-330'],"
    "   ARRAY['Blanc/RAL 7016', 'Blanc', 'Chêne doré/RAL 7016'], ARRAY[6500]))"
    " SELECT c.id AS centre_id, c.log_folder, c.time_zone, p.*, d::date AS day,"
    "  NULL::bigint AS session_id"
    " FROM centre_usinage c JOIN prof p USING (code)"
    " CROSS JOIN LATERAL generate_series((now() AT TIME ZONE c.time_zone)::date - 30,"
    "  (now() AT TIME ZONE c.time_zone)::date - 1, interval '1 day') AS d"
    " WHERE NOT EXISTS (SELECT 1 FROM session_production s WHERE s.centre_usinage_id = c.id)"
    "  AND (extract(isodow FROM d) < 6 OR (p.saturday AND extract(isodow FROM d) = 6))";

static const char *const sql_sessions =
    "WITH ins AS (INSERT INTO session_production (centre_usinage_id, date_production,"
    "  fichier_log_source)"
    " SELECT centre_id, day, log_folder || '/' || to_char(day, 'YYYYMMDD') || '.LOG'"
    " FROM demo_session ORDER BY centre_id, day"
    " RETURNING id, centre_usinage_id, date_production)"
    " UPDATE demo_session d SET session_id = ins.id FROM ins"
    " WHERE ins.centre_usinage_id = d.centre_id AND ins.date_production = d.day";

/* clang-format off */
/* One row per piece: its cycle, the wait and the stop just before it, and (running sums
 * over the day) when it was done. Breaks fall at a third and two thirds of the day. */
static const char *const sql_pieces =
    "CREATE TEMP TABLE demo_piece ON COMMIT DROP AS"
    " WITH s AS ("
    "  SELECT d.*, ((d.day + d.shift_start) AT TIME ZONE d.time_zone)"
    "   + make_interval(secs => floor(" RND("d.session_id || 'start'") " * 1200)) AS started,"
    "   greatest(20, floor(d.shift_minutes * 60 * 0.7 / ((d.cycle_min + d.cycle_max) / 2)"
    "   * (0.85 + 0.25 * " RND("d.session_id || 'n'") ")))::int AS n,"
    "   20 + floor(" RND("d.session_id || 'batch'") " * 21)::int AS batch"
    "  FROM demo_session d),"
    " p AS ("
    "  SELECT s.session_id, s.started, s.n, s.batch, s.refs, s.colours, s.lengths, g AS i,"
    "   (g - 1) / s.batch AS b,"
    "   round((s.cycle_min + (s.cycle_max - s.cycle_min)"
    "    * " RND("s.session_id || 'c' || g") ")::numeric, 1) AS cycle_s,"
    "   CASE WHEN g > 1 AND " RND("s.session_id || 'w' || g") " < 0.06"
    "    THEN round((15 + 225 * " RND("s.session_id || 'wd' || g") ")::numeric, 1)"
    "    ELSE 0 END AS wait_s,"
    "   CASE WHEN g > 1 AND (g = s.n / 3 OR g = 2 * s.n / 3)"
    "    THEN round((900 + 1200 * " RND("s.session_id || 'brk' || g") ")::numeric)"
    "    WHEN g > 1 AND " RND("s.session_id || 's' || g") " < 0.004"
    "    THEN round((240 + 900 * " RND("s.session_id || 'sd' || g") ")::numeric)"
    "    ELSE 0 END AS stop_s"
    "  FROM s CROSS JOIN LATERAL generate_series(1, s.n) AS g),"
    " q AS ("
    "  SELECT p.*, sum(cycle_s + wait_s + stop_s) OVER w AS elapsed,"
    "   refs[1 + floor(" RND("session_id || 'ref' || b") " * array_length(refs, 1))::int]"
    "    AS reference,"
    "   colours[1 + floor(" RND("session_id || 'col' || b") " * array_length(colours, 1))::int]"
    "    AS couleur,"
    "   lengths[1 + floor(" RND("session_id || 'len' || b") " * array_length(lengths, 1))::int]"
    "    AS longueur,"
    "   round((450 + 2200 * " RND("session_id || 'cut' || i") ")::numeric, 1) AS cut_mm"
    "  FROM p WINDOW w AS (PARTITION BY session_id ORDER BY i))"
    " SELECT q.*, started + make_interval(secs => elapsed::float8) AS done_at,"
    "  started + make_interval(secs => (elapsed - cycle_s - wait_s - stop_s)::float8)"
    "   AS prev_at"
    " FROM q";

static const char *const sql_piece_rows =
    "INSERT INTO piece_production (session_id, numero_piece, timestamp_production, details)"
    " SELECT session_id, i, done_at,"
    "  format('R:%s L:%s C:%s', reference, cut_mm, COALESCE(couleur, '-'))"
    " FROM demo_piece ORDER BY session_id, i";

/* A job profile starts with the first piece of each batch. */
static const char *const sql_job_rows =
    "INSERT INTO job_profil (session_id, reference, longueur, couleur, timestamp_debut)"
    " SELECT session_id, reference, longueur, couleur,"
    "  prev_at + make_interval(secs => (stop_s + wait_s)::float8)"
    " FROM demo_piece WHERE (i - 1) % batch = 0 ORDER BY session_id, i";

static const char *const sql_wait_rows =
    "INSERT INTO periode_attente (session_id, timestamp_debut, timestamp_fin, duree_secondes)"
    " SELECT session_id, prev_at + make_interval(secs => stop_s::float8),"
    "  prev_at + make_interval(secs => (stop_s + wait_s)::float8), wait_s"
    " FROM demo_piece WHERE wait_s > 0 ORDER BY session_id, i";

static const char *const sql_stop_rows =
    "INSERT INTO periode_arret (session_id, timestamp_debut, timestamp_fin, duree_secondes)"
    " SELECT session_id, prev_at, prev_at + make_interval(secs => stop_s::float8), stop_s"
    " FROM demo_piece WHERE stop_s > 0 ORDER BY session_id, i";

/* The figures of each new session, from its stored rows (hours and percent). */
static const char *const sql_figures =
    "UPDATE session_production s SET"
    " heure_premiere_piece = f.first_at, heure_derniere_piece = f.last_at,"
    " heure_premier_machine_start = f.started,"
    " heure_dernier_machine_stop = f.last_at"
    "  + make_interval(secs => floor(300 + 600 * " RND("s.id || 'end'") ")::float8),"
    " total_pieces = f.pieces, duree_production_totale = f.hours,"
    " temps_attente = f.wait_h, temps_arret_volontaire = f.stop_h,"
    " temps_production_effectif = f.hours - f.wait_h - f.stop_h,"
    " taux_occupation = COALESCE(100 * (f.hours - f.wait_h - f.stop_h) / NULLIF(f.hours, 0), 0),"
    " taux_attente = COALESCE(100 * f.wait_h / NULLIF(f.hours, 0), 0),"
    " taux_arret_volontaire = COALESCE(100 * f.stop_h / NULLIF(f.hours, 0), 0)"
    " FROM (SELECT d.session_id, st.started, p.first_at, p.last_at, p.pieces,"
    "  extract(epoch FROM p.last_at - p.first_at)::float8 / 3600 AS hours,"
    "  COALESCE((SELECT sum(a.duree_secondes) FROM periode_attente a"
    "   WHERE a.session_id = d.session_id), 0) / 3600 AS wait_h,"
    "  COALESCE((SELECT sum(r.duree_secondes) FROM periode_arret r"
    "   WHERE r.session_id = d.session_id AND r.timestamp_fin IS NOT NULL), 0) / 3600 AS stop_h"
    "  FROM demo_session d"
    "  JOIN (SELECT session_id, min(started) AS started FROM demo_piece GROUP BY 1) st"
    "   USING (session_id)"
    "  CROSS JOIN LATERAL (SELECT min(timestamp_production) AS first_at,"
    "   max(timestamp_production) AS last_at, count(*) AS pieces FROM piece_production pp"
    "   WHERE pp.session_id = d.session_id) p) f"
    " WHERE s.id = f.session_id";

/* The last day of DEM12 ends on a MachineStop that no MachineStart has closed yet. */
static const char *const sql_open_stop =
    "INSERT INTO periode_arret (session_id, timestamp_debut)"
    " SELECT s.id, s.heure_dernier_machine_stop FROM session_production s"
    " WHERE s.id = (SELECT d.session_id FROM demo_session d JOIN centre_usinage c"
    "  ON c.id = d.centre_id WHERE c.code = 'DEM12' ORDER BY d.day DESC LIMIT 1)";

/* clang-format on */

struct step {
    const char *sql;
    long *count; /* rows affected go here, or NULL */
};

struct seed_run {
    struct demo_counts *counts;
    char *err;
    size_t errlen;
};

static int run_steps(struct db *db, void *arg) {
    struct seed_run *run = arg;
    struct demo_counts *c = run->counts;
    memset(c, 0, sizeof *c);
    const struct step steps[] = {
        {"SELECT pg_advisory_xact_lock(" DEMO_LOCK_KEY ")", NULL},
        {sql_centres, &c->centres},
        {sql_days, NULL},
        {sql_sessions, &c->sessions},
        {sql_pieces, NULL},
        {sql_piece_rows, &c->pieces},
        {sql_job_rows, &c->job_profiles},
        {sql_wait_rows, &c->waits},
        {sql_stop_rows, &c->stops},
        {sql_figures, NULL},
        {sql_open_stop, NULL},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *r = db_exec_sql(db, steps[i].sql, 0, NULL);
        if (!r) {
            snprintf(run->err, run->errlen, "demo data, step %zu: %s", i + 1, db_last_error(db));
            return -1;
        }
        if (steps[i].count) *steps[i].count = strtol(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return 0;
}

int demo_seed(struct db *db, struct demo_counts *counts, char *err, size_t errlen) {
    struct seed_run run = {counts, err, errlen};
    err[0] = '\0';
    int rc = db_transaction(db, run_steps, &run);
    if (rc != 0 && !err[0]) snprintf(err, errlen, "demo data: %s", db_last_error(db));
    return rc == 0 ? 0 : -1;
}
