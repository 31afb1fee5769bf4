/* test_machine_logs_crash: the crash-safety proof of machine-log ingestion. The same
 * generated files (a week and a half of a centre, DST change included, stops open across
 * files) are ingested into two databases: once without interruption, and once by a
 * `sluice jobs run machine_logs.ingest` killed with SIGKILL again and again at growing
 * delays (many points of the multi-file ingest: small LOG_CHUNK_BYTES make ~100
 * transactions), then run to its end. Every table the ingest writes (sessions and their
 * figures, pieces, job profiles, waits, stops, events, rejects, the registry, the
 * session-file links) must then be the same in both, compared on their content (ids and
 * read times aside). */
#include "harness_internal.h"
#include "logs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const chunk_env[] = {"LOG_CHUNK_BYTES=4096", NULL};

/* One md5 per table, over a canonical text of its rows. */
static const char dump_sql[] =
    "SELECT concat_ws(' ',"
    " (SELECT count(*) FROM piece_production),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  date_production, heure_premiere_piece, heure_derniere_piece, heure_premier_machine_start,"
    "  heure_dernier_machine_stop, total_pieces, duree_production_totale, temps_attente,"
    "  temps_arret_volontaire, temps_production_effectif, taux_occupation, taux_attente,"
    "  taux_arret_volontaire, fichier_log_source) x FROM session_production) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, p.numero_piece, p.timestamp_production, p.details, f.name, p.log_line) x"
    "  FROM piece_production p JOIN session_production s ON s.id = p.session_id"
    "  JOIN log_file f ON f.id = p.log_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, j.reference, j.longueur, j.couleur, j.timestamp_debut, f.name,"
    "  j.log_line) x FROM job_profil j JOIN session_production s ON s.id = j.session_id"
    "  JOIN log_file f ON f.id = j.log_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, a.timestamp_debut, a.timestamp_fin, a.duree_secondes, f.name,"
    "  a.log_line) x FROM periode_attente a JOIN session_production s ON s.id = a.session_id"
    "  JOIN log_file f ON f.id = a.log_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, r.timestamp_debut, r.timestamp_fin, r.duree_secondes, f.name,"
    "  r.log_line, c.name, r.closed_by_line) x FROM periode_arret r"
    "  JOIN session_production s ON s.id = r.session_id JOIN log_file f ON f.id = r.log_file_id"
    "  LEFT JOIN log_file c ON c.id = r.closed_by_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, e.evenement, e.timestamp_evenement, e.details, f.name, e.log_line) x"
    "  FROM evenement_log e JOIN session_production s ON s.id = e.session_id"
    "  JOIN log_file f ON f.id = e.log_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  f.name, r.line, r.reason, r.raw) x FROM log_reject r JOIN log_file f ON f.id = "
    "r.log_file_id) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  name, date_production, size, byte_offset, line_number, lines, non_event_lines,"
    "  unknown_events, rejected_lines, encode(fingerprint, 'hex'), encode(tail_hash, 'hex'),"
    "  encode(prefix_state, 'hex'), dst_last_ambiguous, dst_second, rereads,"
    "  first_read_at IS NULL) x FROM log_file) t),"
    " (SELECT md5(COALESCE(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws('|',"
    "  s.date_production, f.name) x FROM session_log_file l"
    "  JOIN session_production s ON s.id = l.session_id JOIN log_file f ON f.id = l.log_file_id) "
    "t))";

static int generate(struct logs_env *e) {
    char out[4600];
    snprintf(out, sizeof out, "%s/%s", e->root, e->folder);
    const char *args[] = {"generate", "machine-logs", "--centre", "DEM12", "--days", "9",
                          "--start",  "2025-10-21",   "--seed",   "42",    "--out",  out,
                          NULL};
    char *o = NULL;
    int rc = run_sluice_cli(e->db.url, args, e->env, &o);
    if (rc != 0) fprintf(stderr, "generate: %s\n", o ? o : "");
    free(o);
    return rc;
}

/* Starts the ingest, kills it after ms milliseconds unless it ended first. Returns the
 * exit status (128+9 when killed). */
static int run_and_kill(struct logs_env *e, int ms) {
    struct env env = {0};
    harness_env_base(&env, e->db.url, 0);
    for (size_t i = 0; e->env[i]; i++) harness_env_set(&env, e->env[i]);
    char centre[64];
    snprintf(centre, sizeof centre, "centre=%s", e->code);
    char *argv[] = {
        (char *)harness_sluice_bin(), "jobs", "run", "machine_logs.ingest", "--arg", centre, NULL};
    int devnull = -1;
    pid_t pid = harness_spawn(argv, env.v, NULL, devnull);
    harness_env_free(&env);
    if (pid < 0) return -1;
    int st = 0;
    for (int waited = 0; waited < ms; waited += 5) {
        if (waitpid(pid, &st, WNOHANG) == pid) return harness_decode_status(st);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return harness_decode_status(st);
}

static void test_kill_at_many_points(void **state) {
    (void)state;
    struct logs_env ref, crash;
    assert_int_equal(logs_env_start(&ref, "CRA1", chunk_env), 0);
    assert_int_equal(logs_env_start(&crash, "CRA1", chunk_env), 0);
    assert_int_equal(generate(&ref), 0);
    assert_int_equal(generate(&crash), 0);

    assert_int_equal(logs_ingest(&ref, NULL, NULL), 0);
    char *want = logs_q(&ref, dump_sql);
    assert_non_null(want);
    assert_true(strtol(want, NULL, 10) > 3000); /* a real amount of rows */

    int kills = 0, finished = 0;
    long long offsets[64];
    int distinct = 0;
    for (int i = 0; i < 60 && !finished; i++) {
        int rc = run_and_kill(&crash, 120 + 45 * i);
        if (rc == 128 + SIGKILL) {
            kills++;
            long long off = logs_qi(&crash, "SELECT COALESCE(sum(byte_offset), 0) FROM log_file");
            bool seen = false;
            for (int k = 0; k < distinct; k++) seen |= offsets[k] == off;
            if (!seen && distinct < 64) offsets[distinct++] = off;
        } else {
            assert_int_equal(rc, 0);
            finished = 1;
        }
    }
    fprintf(stderr, "killed %d times, at %d distinct points of progress\n", kills, distinct);
    assert_true(kills >= 3);
    assert_true(distinct >= 3);
    if (!finished) assert_int_equal(logs_ingest(&crash, NULL, NULL), 0);
    /* one more pass reads nothing and changes nothing */
    assert_int_equal(logs_ingest(&crash, NULL, NULL), 0);
    char *got = logs_q(&crash, dump_sql);
    assert_non_null(got);
    char w[1024], g[1024];
    snprintf(w, sizeof w, "%s", want);
    snprintf(g, sizeof g, "%s", got);
    free(want);
    free(got);
    logs_env_stop(&ref);
    logs_env_stop(&crash);
    assert_string_equal(g, w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_at_many_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
