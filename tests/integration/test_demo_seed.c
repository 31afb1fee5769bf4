/* test_demo_seed: the demo data set — SEED_DEMO=true at `serve` start-up loads centres
 * DEM12 (PVC), DEMALU (ALU) and SU12 (HYBRIDE), queues one orders.sync (the orders come
 * from the ERP, never direct inserts), and the centres'
 * month of production days comes through the real path (generated LOG files in LOG_ROOT
 * read by machine_logs.ingest jobs), with figures that agree with their rows, so that
 * every endpoint shows something; `sluice seed demo` and another start-up change nothing
 * (checksums of every table); an existing centre is kept as it is; without SEED_DEMO nothing is
 * loaded. Each test owns its environment and LOG_ROOT. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char logroot_env[4200];
static const char *const seed_env[] = {"SEED_DEMO=true", logroot_env, NULL};
static const char *const plain_env[] = {logroot_env, NULL};

/* A fresh LOG_ROOT for the test (malloc'd path; remove_tree + free it). */
static char *fresh_log_root(void) {
    char *root = make_temp_dir("sluice-demo-logs");
    assert_non_null(root);
    snprintf(logroot_env, sizeof logroot_env, "LOG_ROOT=%s", root);
    return root;
}

/* Waits (60 s at most) until the queued demo ingests have all succeeded. */
static void wait_demo_ingests(const char *url) {
    long left = -1;
    for (int i = 0; i < 600; i++) {
        left = db_long(url, "SELECT count(*) FROM jobs WHERE kind = 'machine_logs.ingest'"
                            " AND status <> 'succeeded'");
        if (left == 0) break;
        usleep(100 * 1000);
    }
    assert_int_equal(left, 0);
    assert_true(db_long(url, "SELECT count(*) FROM jobs WHERE kind = 'machine_logs.ingest'") >= 1);
}

/* A digest of every row of the production tables. */
static char *tables_digest(const char *url) {
    char *d = testdb_query(
        url, "SELECT concat_ws('/',"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM centre_usinage x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM session_production x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM job_profil x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM periode_attente x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM periode_arret x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM piece_production x),"
             " (SELECT md5(string_agg(x::text, ',' ORDER BY x.id))"
             "  FROM commandes_volets_roulants x))");
    assert_non_null(d);
    return d;
}

static void check_centres(struct api_env *e) {
    json_t *page = api_get_json(e, e->viewer, "/centres/");
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 3);
    static const char *const want[][3] = {{"DEM12", "PVC", "DEM12 (PVC)"},
                                          {"DEMALU", "ALU", "DEMALU (ALU)"},
                                          {"SU12", "HYBRIDE", "SU12 (HYBRIDE)"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_array_get(items, i);
        assert_string_equal(jstr(c, "code"), want[i][0]);
        assert_string_equal(jstr(c, "type_cu"), want[i][1]);
        assert_string_equal(jstr(c, "log_folder"), want[i][2]);
        assert_string_equal(jstr(c, "time_zone"), "Europe/Paris");
    }
    json_decref(page);
}

/* The figures of every session agree with its rows, and the days are plausible. */
static void check_consistency(const char *url) {
    static const char *const violations[] = {
        /* total_pieces is the number of piece rows, numbered 1..n without gaps */
        ("SELECT count(*) FROM session_production s WHERE total_pieces <> (SELECT count(*)"
         " FROM piece_production p WHERE p.session_id = s.id) OR total_pieces <> (SELECT"
         " max(numero_piece) FROM piece_production p WHERE p.session_id = s.id)"),
        /* first/last piece times and the duration between them */
        ("SELECT count(*) FROM session_production s WHERE heure_premiere_piece <> (SELECT"
         " min(timestamp_production) FROM piece_production p WHERE p.session_id = s.id)"
         " OR heure_derniere_piece <> (SELECT max(timestamp_production) FROM piece_production p"
         " WHERE p.session_id = s.id) OR abs(duree_production_totale - extract(epoch FROM"
         " heure_derniere_piece - heure_premiere_piece) / 3600) > 1e-9"
         " OR heure_premier_machine_start > heure_premiere_piece"
         " OR heure_dernier_machine_stop < heure_derniere_piece"),
        /* waits and stops count only inside the window of the pieces: never more than their
           sums; effective is what remains (never below 0) */
        ("SELECT count(*) FROM session_production s WHERE temps_attente > COALESCE((SELECT"
         " sum(duree_secondes) FROM periode_attente a WHERE a.session_id = s.id), 0) / 3600"
         " + 1e-9 OR temps_arret_volontaire > COALESCE((SELECT sum(COALESCE(duree_secondes,"
         " greatest(0, extract(epoch FROM s.heure_derniere_piece - a.timestamp_debut)))) FROM "
         "periode_arret a"
         " WHERE a.session_id = s.id), 0) / 3600 + 1e-9"
         " OR abs(temps_production_effectif - greatest(0, duree_production_totale"
         " - temps_attente - temps_arret_volontaire)) > 1e-9 OR temps_production_effectif <= 0"),
        /* rates are percent of the duration and add up to 100 */
        ("SELECT count(*) FROM session_production WHERE abs(taux_occupation + taux_attente"
         " + taux_arret_volontaire - 100) > 1e-6 OR abs(taux_attente - 100 * temps_attente"
         " / duree_production_totale) > 1e-6"),
        /* every row remembers the file and line it came from */
        ("SELECT (SELECT count(*) FROM piece_production WHERE log_file_id IS NULL OR log_line"
         " IS NULL) + (SELECT count(*) FROM periode_attente WHERE log_file_id IS NULL)"
         " + (SELECT count(*) FROM periode_arret WHERE log_file_id IS NULL)"
         " + (SELECT count(*) FROM job_profil WHERE log_file_id IS NULL)"
         " + (SELECT count(*) FROM periode_attente WHERE abs(extract(epoch FROM timestamp_fin"
         " - timestamp_debut) - duree_secondes) > 1e-6)"),
        /* production days: the last 30 days, never on Sunday, Saturday only at DEM12 (but
           for the night run of a DST change, a Sunday in Europe) */
        ("SELECT count(*) FROM session_production s JOIN centre_usinage c ON c.id ="
         " s.centre_usinage_id WHERE s.date_production >= (now() AT TIME ZONE c.time_zone)::date"
         " OR s.date_production < (now() AT TIME ZONE c.time_zone)::date - 30"
         " OR ((extract(isodow FROM s.date_production) = 7"
         " OR (extract(isodow FROM s.date_production) = 6 AND c.code <> 'DEM12'))"
         " AND extract(timezone FROM (s.date_production::timestamp AT TIME ZONE c.time_zone))"
         " = extract(timezone FROM ((s.date_production + 1)::timestamp AT TIME ZONE "
         "c.time_zone)))"),
        /* the local times of a shift: every piece between 05:00 and 22:30 in Paris (but for
           a DST change's night run) */
        ("SELECT count(*) FROM piece_production p JOIN session_production s ON s.id = p.session_id"
         " WHERE (p.timestamp_production AT TIME ZONE 'Europe/Paris')::time NOT BETWEEN '05:00'"
         " AND '22:30' AND extract(isodow FROM s.date_production) <> 7"),
    };
    for (size_t i = 0; i < sizeof violations / sizeof violations[0]; i++) {
        long n = db_long(url, violations[i]);
        if (n != 0) fail_msg("%ld violations of: %s", n, violations[i]);
    }
    /* One open stop per centre: the end of its last day's shift, which no file closed yet. */
    assert_int_equal(
        db_long(url, "SELECT count(*) FROM periode_arret WHERE timestamp_fin IS NULL"),
        db_long(url, "SELECT count(DISTINCT centre_usinage_id) FROM session_production"));
    /* Each centre worked most weekdays of the month. */
    assert_true(db_long(url, "SELECT min(n) FROM (SELECT count(*) AS n FROM session_production"
                             " GROUP BY centre_usinage_id) x") >= 19);
}

static void seeded_at_start_up(void **state) {
    (void)state;
    struct api_env e;
    char *root = fresh_log_root();
    assert_int_equal(api_env_start(&e, seed_env), 0);
    check_centres(&e);
    wait_demo_ingests(e.db.url);
    check_consistency(e.db.url);

    /* Every endpoint shows something. */
    json_t *page = api_get_json(&e, e.viewer, "/sessions/?limit=5");
    json_t *first = json_array_get(json_object_get(page, "items"), 0);
    assert_non_null(first);
    assert_true(jint(first, "total_pieces") > 100);
    assert_true(jnum(first, "taux_occupation") > 50 && jnum(first, "taux_occupation") < 100);
    char path[96];
    snprintf(path, sizeof path, "/sessions/%lld", jint(first, "id"));
    json_decref(page);
    json_t *s = api_get_json(&e, e.viewer, path);
    assert_true(json_array_size(json_object_get(s, "job_profils")) > 0);
    assert_true(json_array_size(json_object_get(s, "periodes_attente")) > 0);
    assert_true(json_array_size(json_object_get(s, "periodes_arret")) > 0);
    json_decref(s);
    snprintf(path + strlen(path), sizeof path - strlen(path), "/pieces?limit=3");
    page = api_get_json(&e, e.viewer, path);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 3);
    json_decref(page);

    json_t *k = api_get_json(&e, e.viewer, "/centres/DEM12/kpis?bucket=week");
    size_t i;
    json_t *b;
    long sessions = 0;
    json_array_foreach(json_object_get(k, "items"), i, b) sessions += (long)jint(b, "sessions");
    assert_true(sessions >= 20);
    json_decref(k);
    k = api_get_json(&e, e.viewer, "/kpis");
    json_array_foreach(json_object_get(k, "items"), i, b) assert_true(jint(b, "pieces") > 1000);
    json_decref(k);

    /* The orders come from the ERP: one orders.sync job is queued, never direct inserts
     * (integration_orders_sync covers what the sync does). */
    assert_int_equal(db_long(e.db.url, "SELECT count(*) FROM jobs WHERE kind = 'orders.sync'"), 1);
    assert_int_equal(db_long(e.db.url, "SELECT count(*) FROM commandes_volets_roulants"), 0);

    /* Idempotent: the command and another start-up change nothing. */
    char *before = tables_digest(e.db.url);
    static const char *const args[] = {"seed", "demo", NULL};
    char *out = NULL;
    assert_int_equal(run_sluice_cli(e.db.url, args, plain_env, &out), 0);
    assert_non_null(strstr(out, "0 centres inserted; 0 machine_logs.ingest job(s)"));
    assert_non_null(strstr(out, "orders: from the ERP (orders.sync ran or is queued)"));
    free(out);
    char *after = tables_digest(e.db.url);
    assert_string_equal(before, after);
    free(after);
    assert_int_equal(sluice_stop(e.proc, SIGTERM), 0);
    e.proc = sluice_start(e.db.url, seed_env);
    assert_non_null(e.proc);
    after = tables_digest(e.db.url);
    assert_string_equal(before, after);
    free(after);
    free(before);
    api_env_stop(&e);
    remove_tree(root);
    free(root);
}

static void existing_data_kept(void **state) {
    (void)state;
    struct api_env e;
    char *root = fresh_log_root();
    assert_int_equal(api_env_start(&e, plain_env), 0); /* SEED_DEMO unset: nothing loaded */
    assert_int_equal(db_long(e.db.url, "SELECT count(*) FROM centre_usinage"), 0);
    assert_int_equal(db_long(e.db.url, "SELECT count(*) FROM commandes_volets_roulants"), 0);
    struct http_response r;
    api_call(&e, e.operator_, "POST", "/centres/",
             "{\"code\":\"DEM12\",\"nom\":\"Mon DEM12\",\"type_cu\":\"PVC\","
             "\"log_folder\":\"dem12\"}",
             201, &r);
    http_response_cleanup(&r);
    api_call(&e, e.operator_, "POST", "/commandes-volets/",
             "{\"numero_commande\":\"1\",\"status\":\"Planifiee\"}", 201, &r);
    http_response_cleanup(&r);

    static const char *const args[] = {"seed", "demo", NULL};
    char *out = NULL;
    assert_int_equal(run_sluice_cli(e.db.url, args, plain_env, &out), 0);
    assert_non_null(strstr(out, "demo data: 2 centres"));
    assert_non_null(strstr(out, "orders: an orders.sync job was queued"));
    free(out);
    json_t *c = api_get_json(&e, e.viewer, "/centres/DEM12");
    assert_string_equal(jstr(c, "nom"), "Mon DEM12"); /* kept as it was */
    assert_string_equal(jstr(c, "log_folder"), "dem12");
    json_decref(c);
    /* It had no session: it gets the demo month too, read by the server's workers. */
    wait_demo_ingests(e.db.url);
    assert_true(db_long(e.db.url, "SELECT count(*) FROM session_production s JOIN"
                                  " centre_usinage c ON c.id = s.centre_usinage_id"
                                  " WHERE c.code = 'DEM12'") >= 20);
    assert_int_equal(db_long(e.db.url, "SELECT count(*) FROM commandes_volets_roulants"), 1);
    check_consistency(e.db.url);
    api_env_stop(&e);
    remove_tree(root);
    free(root);
}

static void command_usage(void **state) {
    (void)state;
    static const char *const bad[] = {"seed", "nothing", NULL};
    char *out = NULL;
    assert_int_equal(run_sluice_cli("postgresql://unused", bad, NULL, &out), 2);
    assert_non_null(strstr(out, "usage: sluice seed demo"));
    free(out);
    static const char *const help[] = {"seed", "--help", NULL};
    assert_int_equal(run_sluice_cli("postgresql://unused", help, NULL, &out), 0);
    assert_non_null(strstr(out, "Idempotent"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seeded_at_start_up),
        cmocka_unit_test(existing_data_kept),
        cmocka_unit_test(command_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
