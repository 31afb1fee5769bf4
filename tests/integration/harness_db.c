/* harness_db: throwaway PostgreSQL databases through libpq (harness.h "databases"): created
 * with CREATE DATABASE through SLUICE_TEST_PG_ADMIN_URL, registered as leftovers until
 * dropped.
 *
 * Memory: struct test_db is the caller's (no heap inside); testdb_query returns a malloc'd
 * string the caller frees; every PGconn/PGresult is released before returning. */
#include "harness_internal.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- databases ------------------------------------------------------------------- */

static const char *admin_url(void) {
    const char *u = getenv("SLUICE_TEST_PG_ADMIN_URL");
    return u && *u ? u : NULL;
}

/* url with its database name replaced by name (URL form postgres[ql]://...). */
static int url_with_dbname(const char *url, const char *name, char *out, size_t outlen) {
    const char *scheme = strstr(url, "://");
    if (!scheme) return -1;
    const char *auth = scheme + 3;
    const char *slash = strchr(auth, '/');
    const char *query = strchr(auth, '?');
    if (query && slash && query < slash) slash = NULL;
    int n;
    if (!slash) {
        size_t authlen = query ? (size_t)(query - url) : strlen(url);
        n = snprintf(out, outlen, "%.*s/%s%s", (int)authlen, url, name, query ? query : "");
    } else {
        const char *rest = strchr(slash, '?');
        n = snprintf(out, outlen, "%.*s/%s%s", (int)(slash - url), url, name, rest ? rest : "");
    }
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int admin_exec(const char *sql) {
    const char *url = admin_url();
    if (!url) {
        fprintf(stderr, "harness: SLUICE_TEST_PG_ADMIN_URL is not set\n");
        return -1;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect to %s: %s", url, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc) fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

int testdb_create(struct test_db *db) {
    static unsigned counter;
    memset(db, 0, sizeof *db);
    if (!admin_url()) {
        fprintf(stderr, "harness: SLUICE_TEST_PG_ADMIN_URL is not set\n");
        return -1;
    }
    /* The name is made of our own digits only: no input reaches the SQL text. */
    snprintf(db->name, sizeof db->name, "sluice_test_%ld_%u_%ld", (long)getpid(), ++counter,
             (long)time(NULL) % 100000);
    if (url_with_dbname(admin_url(), db->name, db->url, sizeof db->url) != 0) {
        fprintf(stderr, "harness: cannot derive a URL from SLUICE_TEST_PG_ADMIN_URL\n");
        db->name[0] = '\0';
        return -1;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", db->name);
    if (admin_exec(sql) != 0) {
        db->name[0] = '\0';
        return -1;
    }
    harness_track_db(db->name, true);
    return 0;
}

void harness_drop_db_named(const char *name) {
    char sql[4200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    admin_exec(sql);
}

void testdb_drop(struct test_db *db) {
    if (!db || !db->name[0]) return;
    harness_drop_db_named(db->name);
    harness_track_db(db->name, false);
    db->name[0] = '\0';
}

char *testdb_query(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, sql);
    char *out = NULL;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK) {
        out = strdup(PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    } else if (st == PGRES_COMMAND_OK) {
        out = strdup("");
    } else {
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

int testdb_pg_ctl(const char *action) {
    const char *ctl = getenv("SLUICE_TEST_PG_CTL");
    if (!ctl || !*ctl) {
        fprintf(stderr, "harness: SLUICE_TEST_PG_CTL is not set\n");
        return -1;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", ctl, action);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "harness: `%s` failed (%d)\n", cmd, rc);
    return rc;
}
