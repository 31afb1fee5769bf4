/* schedule_store: the API side of schedules; see schedule_store.h. */
#include "schedule_store.h"

#include "core/json_out.h"
#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS(col) JSON_SQL_UTC(col) /* core/json_out.h: RFC 3339 UTC to the second */

#define SCHEDULE_SELECT                                                                            \
    "SELECT s.name, s.cron, s.kind, s.args::text, s.enabled, " TS(                                 \
        "s.last_fire_at") ","                                                                      \
                          " extract(epoch FROM s.last_fire_at)::float8, s.config_spec, " TS(       \
                              "s.updated_at") ","                                                  \
                                              " (SELECT json_build_object('id', j.id, 'status', "  \
                                              "j.status)::text FROM jobs j"                        \
                                              "  WHERE j.schedule_name = s.name ORDER BY j.id "    \
                                              "DESC LIMIT 1)"                                      \
                                              " FROM schedules s"

static struct db_stmt q_all = DB_STMT(SCHEDULE_SELECT " ORDER BY s.name");
static struct db_stmt q_one = DB_STMT(SCHEDULE_SELECT " WHERE s.name = $1");

static json_t *text_or_null(PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_t *row_json(PGresult *r, int i, const char *time_zone) {
    json_t *args = json_loads(PQgetvalue(r, i, 3), 0, NULL);
    bool enabled = PQgetvalue(r, i, 4)[0] == 't';
    json_t *next = json_null();
    struct cron c;
    if (enabled && cron_parse(PQgetvalue(r, i, 1), &c, NULL, 0) == 0) {
        time_t now = time(NULL);
        time_t base = PQgetisnull(r, i, 6) ? now : (time_t)strtod(PQgetvalue(r, i, 6), NULL);
        time_t t = cron_next(&c, base);
        if (t != (time_t)-1) {
            char buf[40];
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            json_decref(next);
            next = json_string(buf);
        }
    }
    json_t *last_job =
        PQgetisnull(r, i, 9) ? json_null() : json_loads(PQgetvalue(r, i, 9), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:b,s:s,s:o,s:o,s:o,s:s,s:s}", "name", PQgetvalue(r, i, 0),
                     "cron", PQgetvalue(r, i, 1), "kind", PQgetvalue(r, i, 2), "args",
                     args ? args : json_object(), "enabled", enabled, "time_zone", time_zone,
                     "last_fire_at", text_or_null(r, i, 5), "next_fire_at", next, "last_job",
                     last_job ? last_job : json_null(), "configured_as", PQgetvalue(r, i, 7),
                     "updated_at", PQgetvalue(r, i, 8));
}

json_t *schedule_store_get(struct db *db, const char *name, const char *time_zone, bool *found) {
    *found = true;
    const char *v[] = {name};
    PGresult *r = name ? db_exec(db, &q_one, 1, v) : db_exec(db, &q_all, 0, NULL);
    if (!r) return NULL;
    json_t *out;
    if (name) {
        *found = PQntuples(r) == 1;
        out = *found ? row_json(r, 0, time_zone) : NULL;
    } else {
        out = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(out, row_json(r, i, time_zone));
    }
    PQclear(r);
    return out;
}

static struct db_stmt q_kind = DB_STMT("SELECT kind FROM schedules WHERE name = $1");

int schedule_store_kind(struct db *db, const char *name, char kind[72]) {
    const char *v[] = {name};
    PGresult *r = db_exec(db, &q_kind, 1, v);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) snprintf(kind, 72, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

static struct db_stmt q_update =
    DB_STMT("UPDATE schedules SET enabled = coalesce($2::boolean, enabled),"
            " cron = coalesce($3, cron), args = coalesce($4::jsonb, args),"
            " last_fire_at = CASE WHEN ($3 IS NOT NULL AND $3 <> cron)"
            "   OR (coalesce($2::boolean, false) AND NOT enabled) THEN now() ELSE last_fire_at END"
            " WHERE name = $1");

int schedule_store_update(struct db *db, const char *name, int enabled, const char *cron,
                          const char *args_json) {
    const char *v[] = {name, enabled < 0 ? NULL : enabled ? "true" : "false", cron, args_json};
    PGresult *r = db_exec(db, &q_update, 4, v);
    if (!r) return -1;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n > 0;
}
