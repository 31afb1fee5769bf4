/* test_machine_logs: machine-log ingestion through `sluice jobs run machine_logs.ingest`
 * against a real PostgreSQL (specs/machine-logs.md): every event and kind of dirty line,
 * counts and rejects in the registry, lineage, the figures of a day with clipping to the
 * window, a stop closed by the next day's file, incremental reads of an appended file, a
 * partial last line completed later, truncation and replacement without duplicates, the
 * autumn and spring DST changes, a file name without a date, the unknown-folder report,
 * the result counters, the last line of a closed file without its end, a file arriving
 * after a later one, a rewrite in place of a file's middle, and runs of NUL bytes. Each test has
 * its own database and LOG_ROOT. */
#include "logs_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define LIT(s) s, sizeof(s) - 1

static void assert_q(struct logs_env *e, const char *sql, const char *want) {
    char *got = logs_q(e, sql);
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", got ? got : "(error)");
    bool same = got && strcmp(got, want) == 0;
    free(got);
    if (!same) fail_msg("%s\n  got:  %s\n  want: %s", sql, copy, want);
}

static void assert_close(struct logs_env *e, const char *sql, double want) {
    char *got = logs_q(e, sql);
    assert_non_null(got);
    double v = strtod(got, NULL);
    if (fabs(v - want) > 1e-9 * (fabs(want) + 1)) fail_msg("%s: %s != %.12g", sql, got, want);
    free(got);
}

/* Day 1: every event, every kind of dirty line. */
static const char day1[] = "=== journal ===\r\n" /* 1 non-event */
                           "20250528 06:00:00|@MachineStart: D\xe9"
                           "but\r\n" /* 2 start, closes nothing */
                           "20250528 06:00:05|@JobProfiel: R:7001 L:6500 C:Ch\xeane\r\n" /* 3 */
                           "20250528 06:01:00|@StukUitgevoerd: p1\n" /* 4 piece 1 */
                           "\0\0\0\0\0\n"                            /* 5 NULs: blank */
                           "20250528 \xb0"
                           "06:02:00|@MachineWait: 30 sec\n"             /* 6 stray byte */
                           "20250528 06:03:00|@ToolChange: T1\n"         /* 7 unknown */
                           "2025052 06:03:30|@StukUitgevoerd: bad\n"     /* 8 rejected */
                           "20250528 06:04:00|@MachineWait: abc\n"       /* 9 rejected */
                           "20250528 06:05:00|@MachineStop: pause\n"     /* 10 opens a stop */
                           "20250528 06:06:00|@MachineStop\n"            /* 11 already stopped */
                           "20250528 06:15:00|@MachineStart\n"           /* 12 closes it: 600 s */
                           "20250528 06:20:00|@StukUitgevoerd: p2\n"     /* 13 piece 2 */
                           "   \n"                                       /* 14 blank */
                           "20250528 07:00:00|@StukUitgevoerd: p3\n"     /* 15 piece 3: end of W */
                           "20250528 07:30:00|@MachineWait: 3600\n"      /* 16 after W */
                           "20250528 06:59:00|@MachineWait: 120.5 sec\n" /* 17 60 s inside W */
                           "20250528 07:40:00|@MachineStop: fin\n";      /* 18 stays open */

static void test_rules_and_figures(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "RUL1", NULL), 0);
    assert_int_equal(logs_write(&e, "20250528.LOG", LIT(day1), false), 0);
    char *out = NULL;
    assert_int_equal(logs_ingest(&e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"pieces\":3"));
    assert_non_null(strstr(out, "\"rejected_lines\":2"));
    assert_non_null(strstr(out, "\"non_event_lines\":1"));
    assert_non_null(strstr(out, "\"unknown_events\":1"));
    assert_non_null(strstr(out, "\"waits\":3"));
    assert_non_null(strstr(out, "\"stops\":2"));
    assert_non_null(strstr(out, "\"job_profiles\":1"));
    assert_non_null(strstr(out, "\"sessions\":1"));
    free(out);
    /* the registry */
    assert_q(&e,
             "SELECT concat_ws(',', byte_offset, size, line_number, lines, non_event_lines,"
             " unknown_events, rejected_lines, date_production, first_read_at IS NOT NULL)"
             " FROM log_file",
             "599,599,18,16,1,1,2,2025-05-28,t");
    /* rejects: line, reason, the raw line as UTF-8 */
    assert_q(&e, "SELECT string_agg(line || ':' || raw, '|' ORDER BY line) FROM log_reject",
             "8:2025052 06:03:30|@StukUitgevoerd: bad|9:20250528 06:04:00|@MachineWait: abc");
    assert_q(&e, "SELECT reason FROM log_reject WHERE line = 8",
             "bad timestamp \"2025052 06:03:30\": expected YYYYMMDD HH:MM:SS");
    /* pieces: numbered in file order, UTC, with their line */
    assert_q(
        &e,
        "SELECT string_agg(numero_piece || '@' || sluice_rfc3339(timestamp_production) || '#'"
        " || log_line || '=' || details, ' ' ORDER BY numero_piece) FROM piece_production",
        "1@2025-05-28T04:01:00Z#4=p1 2@2025-05-28T04:20:00Z#13=p2 3@2025-05-28T05:00:00Z#15=p3");
    assert_q(&e,
             "SELECT concat_ws(',', reference, longueur, couleur, sluice_rfc3339(timestamp_debut),"
             " log_line) FROM job_profil",
             "7001,6500,Ch\xc3\xaane,2025-05-28T04:00:05Z,3");
    assert_q(&e,
             "SELECT string_agg(sluice_rfc3339(timestamp_debut) || '+' || duree_secondes || '=' ||"
             " sluice_rfc3339(timestamp_fin) || '#' || log_line, ' ' ORDER BY log_line)"
             " FROM periode_attente",
             "2025-05-28T04:02:00Z+30=2025-05-28T04:02:30Z#6 2025-05-28T05:30:00Z+3600="
             "2025-05-28T06:30:00Z#16 2025-05-28T04:59:00Z+120.5=2025-05-28T05:01:00.5Z#17");
    assert_q(&e,
             "SELECT string_agg(sluice_rfc3339(timestamp_debut) || '..' ||"
             " COALESCE(sluice_rfc3339(timestamp_fin), 'open') || '#' || log_line || '/' ||"
             " COALESCE(closed_by_line::text, '-'), ' ' ORDER BY log_line) FROM periode_arret",
             "2025-05-28T04:05:00Z..2025-05-28T04:15:00Z#10/12 2025-05-28T05:40:00Z..open#18/-");
    assert_q(&e,
             "SELECT string_agg(evenement || '#' || log_line || '=' || COALESCE(details, ''), ' '"
             " ORDER BY log_line) FROM evenement_log",
             "MachineStart#2=D\xc3\xa9"
             "but ToolChange#7=T1 MachineStop#10=pause MachineStop#11= "
             "MachineStart#12= MachineStop#18=fin");
    /* the figures: W = [04:01, 05:00] = 3540 s; waits 30 + 0 + 60 s; stops 600 + 0 s */
    assert_q(&e,
             "SELECT concat_ws(',', total_pieces, sluice_rfc3339(heure_premiere_piece),"
             " sluice_rfc3339(heure_derniere_piece), sluice_rfc3339(heure_premier_machine_start),"
             " sluice_rfc3339(heure_dernier_machine_stop), fichier_log_source)"
             " FROM session_production",
             "3,2025-05-28T04:01:00Z,2025-05-28T05:00:00Z,2025-05-28T04:00:00Z,"
             "2025-05-28T05:40:00Z,RUL1 (PVC)/20250528.LOG");
    assert_close(&e, "SELECT duree_production_totale FROM session_production", 3540.0 / 3600);
    assert_close(&e, "SELECT temps_attente FROM session_production", 90.0 / 3600);
    assert_close(&e, "SELECT temps_arret_volontaire FROM session_production", 600.0 / 3600);
    assert_close(&e, "SELECT temps_production_effectif FROM session_production", 2850.0 / 3600);
    assert_close(&e, "SELECT taux_occupation FROM session_production", 100.0 * 2850 / 3540);
    assert_close(&e, "SELECT taux_attente FROM session_production", 100.0 * 90 / 3540);
    assert_close(&e, "SELECT taux_arret_volontaire FROM session_production", 100.0 * 600 / 3540);

    /* a pass with nothing new changes nothing */
    assert_int_equal(logs_ingest(&e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"lines\":0"));
    free(out);
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM piece_production"), 3);

    /* day 2, a file of today (in the centre's zone, so still being written; its lines keep
     * the times of 2025-05-29): its MachineStart closes day 1's open stop; its last line has
     * no end yet */
    char today[16], iso[16], sql[1024], want[256];
    char *t = logs_q(&e, "SELECT to_char(now() AT TIME ZONE 'Europe/Paris', 'YYYYMMDD')");
    assert_non_null(t);
    snprintf(today, sizeof today, "%s.LOG", t);
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s", t, t + 4, t + 6);
    free(t);
    assert_int_equal(logs_write(&e, today,
                                LIT("20250529 06:00:00|@MachineStart\n"
                                    "20250529 06:10:00|@StukUitgevoerd: a\n"
                                    "20250529 06:20:00|@StukUitgevoerd: b"),
                                false),
                     0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    snprintf(want, sizeof want, "2025-05-29T04:00:00Z 80400 1 %s", today);
    assert_q(
        &e,
        "SELECT sluice_rfc3339(timestamp_fin) || ' ' || duree_secondes || ' ' ||"
        " closed_by_line || ' ' || (SELECT name FROM log_file f WHERE f.id = closed_by_file_id)"
        " FROM periode_arret WHERE log_line = 18",
        want);
    /* stored whole, it adds nothing to either day */
    assert_close(&e,
                 "SELECT temps_arret_volontaire FROM session_production"
                 " WHERE date_production = '2025-05-28'",
                 600.0 / 3600);
    snprintf(sql, sizeof sql,
             "SELECT concat_ws(',', s.total_pieces, f.byte_offset, f.line_number, f.size)"
             " FROM session_production s, log_file f WHERE s.date_production = '%s'"
             " AND f.name = '%s'",
             iso, today);
    assert_q(&e, sql, "1,69,2,105");
    /* the partial line completed, more appended: only the new lines are read */
    assert_int_equal(logs_write(&e, today, LIT("\n20250529 07:00:00|@StukUitgevoerd: c\n"), true),
                     0);
    assert_int_equal(logs_ingest(&e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"pieces\":2"));
    free(out);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(numero_piece || '=' || details || '#' || log_line, ' '"
             " ORDER BY numero_piece) FROM piece_production p JOIN session_production s"
             " ON s.id = p.session_id WHERE s.date_production = '%s'",
             iso);
    assert_q(&e, sql, "1=a#2 2=b#3 3=c#4");
    snprintf(sql, sizeof sql,
             "SELECT duree_production_totale FROM session_production"
             " WHERE date_production = '%s'",
             iso);
    assert_close(&e, sql, 50.0 / 60);

    /* replaced by different bytes: re-derived, nothing duplicated, the stop re-closed */
    assert_int_equal(logs_write(&e, today,
                                LIT("20250529 05:00:00|@MachineStart: plus t\xf4t\n"
                                    "20250529 05:30:00|@StukUitgevoerd: x\n"),
                                false),
                     0);
    assert_int_equal(logs_ingest(&e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"rereads\":1"));
    free(out);
    snprintf(want, sizeof want, "2025-05-28:1=p1 2025-05-28:2=p2 2025-05-28:3=p3 %s:1=x", iso);
    assert_q(&e,
             "SELECT string_agg(s.date_production || ':' || p.numero_piece || '=' || p.details,"
             " ' ' ORDER BY s.date_production, p.numero_piece) FROM piece_production p"
             " JOIN session_production s ON s.id = p.session_id",
             want);
    assert_q(&e,
             "SELECT sluice_rfc3339(timestamp_fin) || ' ' || closed_by_line FROM periode_arret"
             " WHERE log_line = 18",
             "2025-05-29T03:00:00Z 1");
    snprintf(sql, sizeof sql, "SELECT rereads || ',' || lines FROM log_file WHERE name = '%s'",
             today);
    assert_q(&e, sql, "1,2");
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM evenement_log"), 7);

    /* truncated: read again; the stop it closed is open again until a start comes */
    assert_int_equal(logs_write(&e, today, LIT("junk\n"), false), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e,
             "SELECT COALESCE(timestamp_fin::text, 'open') FROM periode_arret WHERE log_line = 18",
             "open");
    /* the day that file alone fed is gone with its rows */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM session_production WHERE date_production = '%s'", iso);
    assert_int_equal(logs_qi(&e, sql), 0);
    assert_int_equal(logs_qi(&e, "SELECT count(*) FROM piece_production"), 3);
    snprintf(sql, sizeof sql,
             "SELECT non_event_lines || ',' || rereads FROM log_file WHERE name = '%s'", today);
    assert_q(&e, sql, "1,2");
    logs_env_stop(&e);
}

/* A night shift through the autumn change (file order), and the spring gap. */
static void test_dst(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "DST1", NULL), 0);
    assert_int_equal(logs_write(&e, "20251026.LOG",
                                LIT("20251026 01:50:00|@StukUitgevoerd: a\n"
                                    "20251026 02:10:00|@StukUitgevoerd: b\n"
                                    "20251026 02:50:00|@StukUitgevoerd: c\n"
                                    "20251026 02:05:00|@StukUitgevoerd: d\n"
                                    "20251026 02:40:00|@StukUitgevoerd: e\n"
                                    "20251026 03:05:00|@StukUitgevoerd: f\n"),
                                false),
                     0);
    assert_int_equal(logs_write(&e, "20250330.LOG",
                                LIT("20250330 01:59:59|@StukUitgevoerd: a\n"
                                    "20250330 03:00:00|@StukUitgevoerd: b\n"),
                                false),
                     0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e,
             "SELECT string_agg(details || '=' || sluice_rfc3339(timestamp_production), ' '"
             " ORDER BY numero_piece) FROM piece_production p JOIN session_production s"
             " ON s.id = p.session_id WHERE s.date_production = '2025-10-26'",
             "a=2025-10-25T23:50:00Z b=2025-10-26T00:10:00Z c=2025-10-26T00:50:00Z "
             "d=2025-10-26T01:05:00Z e=2025-10-26T01:40:00Z f=2025-10-26T02:05:00Z");
    /* 01:50 CEST to 03:05 CET is 2 h 15 min */
    assert_close(&e,
                 "SELECT duree_production_totale FROM session_production"
                 " WHERE date_production = '2025-10-26'",
                 2.25);
    assert_close(&e,
                 "SELECT duree_production_totale FROM session_production"
                 " WHERE date_production = '2025-03-30'",
                 1.0 / 3600);
    logs_env_stop(&e);
}

/* The autumn hour split between two reads: the state carries over in the registry. */
static void test_dst_across_reads(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "DST2", NULL), 0);
    assert_int_equal(
        logs_write(&e, "20251026.LOG", LIT("20251026 02:50:00|@StukUitgevoerd: a\n"), false), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_int_equal(
        logs_write(&e, "20251026.LOG", LIT("20251026 02:10:00|@StukUitgevoerd: b\n"), true), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e,
             "SELECT string_agg(details || '=' || sluice_rfc3339(timestamp_production), ' '"
             " ORDER BY numero_piece) FROM piece_production",
             "a=2025-10-26T00:50:00Z b=2025-10-26T01:10:00Z");
    logs_env_stop(&e);
}

/* A file whose name carries no date: each event goes to its own local date. Names that are
 * uploads in progress or not LOG files are not read. An unknown folder is reported. */
static void test_names_and_folders(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "NAM1", NULL), 0);
    assert_int_equal(logs_write(&e, "equipe-nuit.log",
                                LIT("20250601 23:50:00|@StukUitgevoerd: a\n"
                                    "20250602 00:10:00|@StukUitgevoerd: b\n"),
                                false),
                     0);
    assert_int_equal(
        logs_write(&e, ".20250603.LOG", LIT("20250603 08:00:00|@StukUitgevoerd: x\n"), false), 0);
    assert_int_equal(
        logs_write(&e, "20250603.LOG.part", LIT("20250603 08:00:00|@StukUitgevoerd: x\n"), false),
        0);
    assert_int_equal(
        logs_write(&e, "20250603.txt", LIT("20250603 08:00:00|@StukUitgevoerd: x\n"), false), 0);
    char dir[4600];
    snprintf(dir, sizeof dir, "%s/Inconnu (ALU)", e.root);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *args[] = {"jobs", "run", "machine_logs.ingest", NULL};
    char *out = NULL;
    assert_int_equal(run_sluice_cli(e.db.url, args, e.env, &out), 0);
    assert_non_null(strstr(out, "folder \"Inconnu (ALU)\" under LOG_ROOT matches no centre"));
    free(out);
    assert_q(&e,
             "SELECT string_agg(s.date_production || '=' || p.details, ' ' ORDER BY p.details)"
             " FROM piece_production p JOIN session_production s ON s.id = p.session_id",
             "2025-06-01=a 2025-06-02=b");
    assert_q(&e, "SELECT string_agg(name, ',') FROM log_file", "equipe-nuit.log");
    /* a bad argument is refused before any run */
    const char *bad[] = {"jobs", "run", "machine_logs.ingest", "--arg", "file=x.LOG", NULL};
    assert_int_not_equal(run_sluice_cli(e.db.url, bad, e.env, &out), 0);
    free(out);
    logs_env_stop(&e);
}

/* Lines longer than LOG_MAX_LINE_BYTES are rejected alone, their first bytes kept. */
static void test_long_line(void **state) {
    (void)state;
    static const char *const extra[] = {"LOG_MAX_LINE_BYTES=256", "LOG_CHUNK_BYTES=4096", NULL};
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "LNG1", extra), 0);
    size_t n = 20000;
    char *big = malloc(n + 200);
    assert_non_null(big);
    size_t k = (size_t)sprintf(
        big, "20250601 08:00:00|@StukUitgevoerd: a\n20250601 08:01:00|@StukUitgevoerd: ");
    memset(big + k, 'x', n);
    k += n;
    k += (size_t)sprintf(big + k, "\n20250601 08:02:00|@StukUitgevoerd: c\n");
    assert_int_equal(logs_write(&e, "20250601.LOG", big, k, false), 0);
    free(big);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e, "SELECT string_agg(details, ',' ORDER BY numero_piece) FROM piece_production",
             "a,c");
    assert_q(&e, "SELECT line || ':' || length(raw) || ':' || reason FROM log_reject",
             "2:256:line longer than 256 bytes (LOG_MAX_LINE_BYTES)");
    assert_q(&e, "SELECT line_number || ',' || rejected_lines FROM log_file", "3,1");
    logs_env_stop(&e);
}

/* A last line without its end, in a file whose day is over, is read; a "\r\n" appended to it
 * later only ends it: line numbers and counts are those of one read of the final file. A
 * file named without a date is closed once untouched for LOG_WATCH_DELAY_SECONDS. */
static void test_unterminated_last_line(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "UNT1", NULL), 0);
    assert_int_equal(logs_write(&e, "20250528.LOG",
                                LIT("20250528 06:00:00|@StukUitgevoerd: a\n"
                                    "20250528 07:00:00|@StukUitgevoerd: b"),
                                false),
                     0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e, "SELECT total_pieces FROM session_production", "2");
    assert_q(&e, "SELECT concat_ws(',', byte_offset, line_number, lines) FROM log_file", "73,2,2");
    assert_int_equal(
        logs_write(&e, "20250528.LOG", LIT("\r\n20250528 08:00:00|@StukUitgevoerd: c"), true), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_int_equal(logs_write(&e, "20250528.LOG", LIT("\n"), true), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e,
             "SELECT string_agg(numero_piece || '=' || details || '#' || log_line, ' '"
             " ORDER BY numero_piece) FROM piece_production",
             "1=a#1 2=b#2 3=c#3");
    assert_q(&e,
             "SELECT concat_ws(',', byte_offset, line_number, lines, rejected_lines, rereads)"
             " FROM log_file",
             "112,3,3,0,0");
    assert_q(&e, "SELECT total_pieces FROM session_production", "3");
    /* a name without a date, untouched for an hour: closed too */
    assert_int_equal(
        logs_write(&e, "equipe.log", LIT("20250601 06:00:00|@StukUitgevoerd: x"), false), 0);
    char path[4600];
    snprintf(path, sizeof path, "%s/%s/equipe.log", e.root, e.folder);
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e, "SELECT line_number || ',' || lines FROM log_file WHERE name = 'equipe.log'",
             "1,1");
    logs_env_stop(&e);
}

/* The stops of a centre as text, with their files and lines (for comparing two databases). */
static char *stops_text(struct logs_env *e) {
    return logs_q(e, "SELECT string_agg(sluice_rfc3339(a.timestamp_debut) || '..' ||"
                     " COALESCE(sluice_rfc3339(a.timestamp_fin), 'open') || '/' ||"
                     " COALESCE(a.duree_secondes::text, '-') || '#' || f.name || ':' ||"
                     " a.log_line || '/' || COALESCE(c.name || ':' || a.closed_by_line, '-'),"
                     " ' ' ORDER BY a.timestamp_debut) FROM periode_arret a"
                     " JOIN log_file f ON f.id = a.log_file_id"
                     " LEFT JOIN log_file c ON c.id = a.closed_by_file_id");
}

static char *sessions_text(struct logs_env *e) {
    return logs_q(e, "SELECT string_agg(s.date_production || ':' || s.total_pieces || ':' ||"
                     " round(s.temps_arret_volontaire::numeric, 6) || ':' ||"
                     " round(s.duree_production_totale::numeric, 6) || ':' ||"
                     " (SELECT string_agg(p.numero_piece || '=' || p.details, ',' ORDER BY"
                     " p.numero_piece) FROM piece_production p WHERE p.session_id = s.id),"
                     " ' ' ORDER BY s.date_production) FROM session_production s");
}

/* A file that arrives after a later day's file was read: the later file is read again after
 * it, so the stops are those of reading all the files in name order. */
static void test_file_arrives_late(void **state) {
    (void)state;
    static const char d28[] = "20250528 06:00:00|@MachineStart\n"
                              "20250528 07:00:00|@StukUitgevoerd: a28\n"
                              "20250528 17:00:00|@StukUitgevoerd: b28\n"
                              "20250528 18:00:00|@MachineStop\n";
    static const char d29[] = "20250529 06:00:00|@MachineStart\n"
                              "20250529 07:00:00|@StukUitgevoerd: a29\n"
                              "20250529 17:00:00|@StukUitgevoerd: b29\n"
                              "20250529 18:00:00|@MachineStop\n";
    static const char d30[] = "20250530 06:00:00|@MachineStart\n"
                              "20250530 07:00:00|@StukUitgevoerd: a30\n"
                              "20250530 18:00:00|@MachineStop\n";
    struct logs_env late, inorder;
    assert_int_equal(logs_env_start(&late, "LAT1", NULL), 0);
    assert_int_equal(logs_env_start(&inorder, "LAT1", NULL), 0);
    assert_int_equal(logs_write(&late, "20250529.LOG", LIT(d29), false), 0);
    assert_int_equal(logs_ingest(&late, NULL, NULL), 0);
    assert_int_equal(logs_write(&late, "20250528.LOG", LIT(d28), false), 0);
    assert_int_equal(logs_ingest(&late, NULL, NULL), 0);
    assert_int_equal(logs_write(&late, "20250530.LOG", LIT(d30), false), 0);
    assert_int_equal(logs_ingest(&late, NULL, NULL), 0);
    assert_int_equal(logs_write(&inorder, "20250528.LOG", LIT(d28), false), 0);
    assert_int_equal(logs_write(&inorder, "20250529.LOG", LIT(d29), false), 0);
    assert_int_equal(logs_write(&inorder, "20250530.LOG", LIT(d30), false), 0);
    assert_int_equal(logs_ingest(&inorder, NULL, NULL), 0);
    const char *want_stops =
        "2025-05-28T16:00:00Z..2025-05-29T04:00:00Z/43200#20250528.LOG:4/20250529.LOG:1 "
        "2025-05-29T16:00:00Z..2025-05-30T04:00:00Z/43200#20250529.LOG:4/20250530.LOG:1 "
        "2025-05-30T16:00:00Z..open/-#20250530.LOG:3/-";
    char *a = stops_text(&late), *b = stops_text(&inorder);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(b, want_stops);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = sessions_text(&late), b = sessions_text(&inorder);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_q(&late, "SELECT count(*) FROM evenement_log", "6");
    /* the same for one file asked for by name: the later ones are read again too */
    assert_int_equal(
        logs_write(&late, "20250527.LOG", LIT("20250527 18:00:00|@MachineStop\n"), false), 0);
    assert_int_equal(logs_ingest(&late, NULL, "--arg", "file=20250527.LOG", NULL), 0);
    assert_int_equal(
        logs_write(&inorder, "20250527.LOG", LIT("20250527 18:00:00|@MachineStop\n"), false), 0);
    assert_int_equal(logs_ingest(&inorder, NULL, NULL), 0); /* the later files again */
    a = stops_text(&late), b = stops_text(&inorder);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "2025-05-27T16:00:00Z..2025-05-28T04:00:00Z/43200#20250527.LOG:1/"
                              "20250528.LOG:1"));
    free(a);
    free(b);
    /* a start never closes a stop that began after it (a file named without a date) */
    assert_int_equal(
        logs_write(&late, "zz-equipe.log", LIT("20250526 06:00:00|@MachineStart\n"), false), 0);
    assert_int_equal(logs_ingest(&late, NULL, NULL), 0);
    assert_q(&late,
             "SELECT COALESCE(timestamp_fin::text, 'open') FROM periode_arret"
             " WHERE timestamp_debut = '2025-05-30T16:00:00Z'",
             "open");
    logs_env_stop(&late);
    logs_env_stop(&inorder);
}

/* Different bytes of the same length in the middle of a file rewritten in place (same
 * inode, same size): detected by the hash of all the bytes read, re-derived, no duplicate. */
static void test_rewrite_in_place(void **state) {
    (void)state;
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "RIP1", NULL), 0);
    char *data = malloc(400 * 64);
    assert_non_null(data);
    size_t k = 0;
    for (int i = 0; i < 400; i++)
        k += (size_t)sprintf(data + k, "20250601 %02d:%02d:00|@StukUitgevoerd: p%04d\n", 6 + i / 60,
                             i % 60, i);
    assert_true(k > 13000);
    assert_int_equal(logs_write(&e, "20250601.LOG", data, k, false), 0);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    char *mid = strstr(data, "p0200");
    assert_non_null(mid);
    mid[0] = 'q';
    assert_int_equal(logs_write(&e, "20250601.LOG", data, k, false), 0); /* open(p, 'w') */
    free(data);
    char *out = NULL;
    assert_int_equal(logs_ingest(&e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"rereads\":1"));
    free(out);
    assert_q(&e, "SELECT count(*) || ',' || count(DISTINCT numero_piece) FROM piece_production",
             "400,400");
    assert_q(&e, "SELECT details FROM piece_production WHERE numero_piece = 201", "q0200");
    assert_q(&e, "SELECT total_pieces FROM session_production", "400");
    assert_q(&e, "SELECT rereads || ',' || lines FROM log_file", "1,400");
    logs_env_stop(&e);
}

/* NUL bytes are removed first: a run of them longer than LOG_MAX_LINE_BYTES does not make a
 * line too long (in a chunk, or longer than a chunk), nor does a line of NULs alone. */
static void test_nul_runs(void **state) {
    (void)state;
    static const char *const extra[] = {"LOG_MAX_LINE_BYTES=256", "LOG_CHUNK_BYTES=4096", NULL};
    struct logs_env e;
    assert_int_equal(logs_env_start(&e, "NUL1", extra), 0);
    char *big = calloc(1, 200000);
    assert_non_null(big);
    size_t k = 70000;
    k += (size_t)sprintf(big + k, "20250601 08:00:00|@StukUitgevoerd: a\n") + 1000;
    k += (size_t)sprintf(big + k, "20250601 08:01:00|@StukUitgevoerd: b\n") + 70000;
    big[k++] = '\n';
    k += (size_t)sprintf(big + k, "20250601 08:02:00|@StukUitgevoerd: c") + 300;
    big[k++] = '\n';
    assert_int_equal(logs_write(&e, "20250601.LOG", big, k, false), 0);
    free(big);
    assert_int_equal(logs_ingest(&e, NULL, NULL), 0);
    assert_q(&e, "SELECT string_agg(details, ',' ORDER BY numero_piece) FROM piece_production",
             "a,b,c");
    assert_q(&e, "SELECT count(*) FROM log_reject", "0");
    assert_q(&e, "SELECT line_number || ',' || lines || ',' || rejected_lines FROM log_file",
             "4,3,0");
    logs_env_stop(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_and_figures), cmocka_unit_test(test_dst),
        cmocka_unit_test(test_dst_across_reads),  cmocka_unit_test(test_names_and_folders),
        cmocka_unit_test(test_long_line),         cmocka_unit_test(test_unterminated_last_line),
        cmocka_unit_test(test_file_arrives_late), cmocka_unit_test(test_rewrite_in_place),
        cmocka_unit_test(test_nul_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
