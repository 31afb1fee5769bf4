/* production_util: see production_util.h. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPERATOR_PASSWORD "operator-password-123"
#define VIEWER_PASSWORD "viewer-password-1234"

int api_env_start(struct api_env *e, const char *const *extra_env) {
    memset(e, 0, sizeof *e);
    if (test_server_start(&e->db, extra_env, &e->proc) != 0) return -1;
    e->admin = test_login(e->proc, TEST_ADMIN_USER, TEST_ADMIN_PASSWORD);
    if (!e->admin) return -1;
    e->operator_ =
        create_user_login(e->proc, e->admin, "operator1", OPERATOR_PASSWORD, "operator", NULL);
    e->viewer = create_user_login(e->proc, e->admin, "viewer1", VIEWER_PASSWORD, "viewer", NULL);
    return e->operator_ && e->viewer ? 0 : -1;
}

void api_env_stop(struct api_env *e) {
    free(e->admin);
    free(e->operator_);
    free(e->viewer);
    test_server_stop(&e->db, &e->proc);
    memset(e, 0, sizeof *e);
}

void api_call(struct api_env *e, const char *token, const char *method, const char *path,
              const char *json, long status, struct http_response *r) {
    if (bearer_do(e->proc, method, path, token, json, r) != 0)
        fail_msg("%s %s: no response", method, path);
    if (r->status != status)
        fail_msg("%s %s: status %ld, expected %ld: %.600s", method, path, r->status, status,
                 r->body ? r->body : "");
}

json_t *api_get_json(struct api_env *e, const char *token, const char *path) {
    struct http_response r;
    api_call(e, token, "GET", path, NULL, 200, &r);
    if (!r.json) fail_msg("GET %s: not JSON: %.300s", path, r.body);
    json_t *body = json_incref(r.json);
    http_response_cleanup(&r);
    return body;
}

void expect_problem(struct api_env *e, const char *token, const char *method, const char *path,
                    const char *json, long status, const char *slug, const char *field) {
    struct http_response r;
    if (bearer_do(e->proc, method, path, token, json, &r) != 0)
        fail_msg("%s %s: no response", method, path);
    const char *why = problem_check(&r, status, slug);
    if (why) fail_msg("%s %s: %s (%ld %.400s)", method, path, why, r.status, r.body);
    if (field) {
        const char *got = json_string_value(json_object_get(r.json, "field"));
        if (!got || strcmp(got, field) != 0)
            fail_msg("%s %s: field is %s, expected %s (%.400s)", method, path, got ? got : "(none)",
                     field, r.body);
    }
    http_response_cleanup(&r);
}

void sql_exec(struct api_env *e, const char *sql) {
    char *v = testdb_query(e->db.url, sql);
    if (!v) fail_msg("SQL failed: %.300s", sql);
    free(v);
}

int walk_pages(struct api_env *e, const char *token, const char *path,
               void (*visit)(json_t *item, void *arg), void *arg) {
    char url[4096];
    snprintf(url, sizeof url, "%s", path);
    int pages = 0;
    for (;;) {
        struct http_response r;
        api_call(e, token, "GET", url, NULL, 200, &r);
        pages++;
        json_t *items = json_object_get(r.json, "items");
        if (!json_is_array(items)) fail_msg("GET %s: no items", url);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) visit(item, arg);
        json_t *next = json_object_get(r.json, "next_cursor");
        const char *link = http_header(&r, "Link");
        if (json_is_null(next)) {
            if (link) fail_msg("GET %s: Link without next_cursor: %s", url, link);
            http_response_cleanup(&r);
            return pages;
        }
        const char *cursor = json_string_value(next);
        if (!cursor || !link) fail_msg("GET %s: next_cursor without Link", url);
        /* The Link target is the same query with cursor=next_cursor: follow it. */
        char want[1200];
        snprintf(want, sizeof want, "cursor=%s>; rel=\"next\"", cursor);
        if (link[0] != '<' || !strstr(link, want))
            fail_msg("GET %s: Link %s does not carry next_cursor %s", url, link, cursor);
        size_t n = (size_t)(strchr(link, '>') - link - 1);
        if (n >= sizeof url) fail_msg("Link too long");
        memcpy(url, link + 1, n);
        url[n] = '\0';
        http_response_cleanup(&r);
    }
}

long long jint(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) fail_msg("member %s is not an integer", key);
    return json_integer_value(v);
}

const char *jstr(json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s) fail_msg("member %s is not a string", key);
    return s;
}

double jnum(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v)) fail_msg("member %s is not a number", key);
    return json_number_value(v);
}

int production_env_start(struct api_env *e) {
    if (api_env_start(e, NULL) != 0) return -1;
    production_fixture(e);
    return 0;
}

void production_fixture(struct api_env *e) {
    static const char *const centres[] = {
        "{\"code\":\"TST\",\"nom\":\"Test\",\"type_cu\":\"PVC\"}",
        "{\"code\":\"NYC\",\"nom\":\"NY\",\"type_cu\":\"ALU\",\"time_zone\":\"America/New_York\"}",
        "{\"code\":\"EMPTY\",\"nom\":\"Vide\",\"type_cu\":\"HYBRIDE\"}",
    };
    for (size_t i = 0; i < sizeof centres / sizeof centres[0]; i++) {
        struct http_response r;
        api_call(e, e->operator_, "POST", "/centres/", centres[i], 201, &r);
        http_response_cleanup(&r);
    }
    sql_exec(e,
             "INSERT INTO session_production (centre_usinage_id, date_production,"
             " total_pieces, duree_production_totale, temps_attente, temps_arret_volontaire,"
             " temps_production_effectif, taux_occupation, taux_attente,"
             " taux_arret_volontaire, heure_premiere_piece, heure_derniere_piece,"
             " heure_premier_machine_start, heure_dernier_machine_stop, fichier_log_source)"
             " SELECT c.id, v.d::date, v.p, v.h, v.w, v.s, v.h - v.w - v.s,"
             " 100 * (v.h - v.w - v.s) / v.h, 100 * v.w / v.h, 100 * v.s / v.h,"
             " (v.d || ' 06:00')::timestamp AT TIME ZONE c.time_zone,"
             " (v.d || ' 06:00')::timestamp AT TIME ZONE c.time_zone + v.h * interval '1 h',"
             " (v.d || ' 05:55')::timestamp AT TIME ZONE c.time_zone,"
             " (v.d || ' 06:10')::timestamp AT TIME ZONE c.time_zone + v.h * interval '1 h',"
             " c.log_folder || '/' || replace(v.d, '-', '') || '.LOG'"
             " FROM centre_usinage c JOIN (VALUES"
             " ('TST', '2025-03-03', 100, 8.0, 1.0, 0.5), ('TST', '2025-03-04', 50, 4.0, 0.5, 0.5),"
             " ('TST', '2025-03-10', 30, 2.0, 0.0, 0.0), ('TST', '2025-04-01', 10, 1.0, 0.25, 0.0),"
             " ('NYC', '2025-03-04', 20, 2.0, 0.0, 0.0)) AS v(code, d, p, h, w, s)"
             " ON v.code = c.code ORDER BY c.code DESC, v.d");
    sql_exec(e, "INSERT INTO piece_production (session_id, numero_piece, timestamp_production,"
                " details) SELECT s.id, g, s.heure_premiere_piece + (g - 1) * interval '4 min',"
                " 'piece ' || g FROM session_production s JOIN centre_usinage c"
                " ON c.id = s.centre_usinage_id, generate_series(1, 100) g"
                " WHERE c.code = 'TST' AND s.date_production = '2025-03-03'");
    sql_exec(e, "INSERT INTO job_profil (session_id, reference, longueur, couleur,"
                " timestamp_debut) SELECT s.id, v.r, v.l, v.c, s.heure_premiere_piece + v.o"
                " FROM session_production s JOIN centre_usinage c ON c.id = s.centre_usinage_id,"
                " (VALUES ('7002', 6000.0, NULL, interval '2 h'),"
                " ('7001', 6500.0, 'Blanc', interval '0')) v(r, l, c, o)"
                " WHERE c.code = 'TST' AND s.date_production = '2025-03-03'");
    sql_exec(e, "INSERT INTO periode_attente (session_id, timestamp_debut, timestamp_fin,"
                " duree_secondes) SELECT s.id, s.heure_premiere_piece + v.o,"
                " s.heure_premiere_piece + v.o + v.sec * interval '1 s', v.sec"
                " FROM session_production s JOIN centre_usinage c ON c.id = s.centre_usinage_id"
                " JOIN (VALUES ('2025-03-03'::date, interval '1 h', 1800.0),"
                " ('2025-03-03', interval '3 h', 1800.0), ('2025-03-04', interval '1 h', 1800.0),"
                " ('2025-04-01', interval '10 min', 900.0)) v(d, o, sec)"
                " ON v.d = s.date_production WHERE c.code = 'TST'");
    sql_exec(e, "INSERT INTO periode_arret (session_id, timestamp_debut, timestamp_fin,"
                " duree_secondes) SELECT s.id, s.heure_premiere_piece + interval '4 h',"
                " s.heure_premiere_piece + interval '4 h 30 min', 1800"
                " FROM session_production s JOIN centre_usinage c ON c.id = s.centre_usinage_id"
                " WHERE c.code = 'TST' AND s.date_production = '2025-03-03'");
    sql_exec(e, "INSERT INTO periode_arret (session_id, timestamp_debut)"
                " SELECT s.id, s.heure_dernier_machine_stop"
                " FROM session_production s JOIN centre_usinage c ON c.id = s.centre_usinage_id"
                " WHERE c.code = 'TST' AND s.date_production = '2025-03-04'");
}
