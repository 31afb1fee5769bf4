/* harness_mdb: see harness_mdb.h. Each call opens its own admin connection (mdb.h) and
 * closes it before returning; nothing is cached but the list of databases to drop. */
#include "harness_mdb.h"

#include "db/mdb.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CREATED 32
static struct test_mdb *created[MAX_CREATED];
static int ncreated;
static int counter;

const char *testmdb_admin_url(void) {
    const char *u = getenv("SLUICE_TEST_MYSQL_ADMIN_URL");
    return u && *u ? u : NULL;
}

static struct mdb *admin(const char *url) {
    struct mdb_error err;
    struct mdb *c = mdb_connect(url, NULL, &err);
    if (!c) fprintf(stderr, "harness_mdb: %s\n", err.text);
    if (c) mysql_set_server_option(mdb_handle(c), MYSQL_OPTION_MULTI_STATEMENTS_ON);
    return c;
}

int testmdb_exec(const char *url, const char *sql) {
    struct mdb *c = admin(url);
    if (!c) return -1;
    MYSQL *m = mdb_handle(c);
    int rc = 0;
    if (mysql_real_query(m, sql, strlen(sql)) != 0) rc = -1;
    while (rc == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res) mysql_free_result(res);
        if (mysql_errno(m)) {
            rc = -1;
            break;
        }
        int more = mysql_next_result(m);
        if (more > 0) rc = -1;
        if (more != 0) break;
    }
    if (rc != 0) fprintf(stderr, "harness_mdb: %s: %s\n", mysql_error(m), sql);
    mdb_close(c);
    return rc;
}

int testmdb_exec_file(const char *url, const char *path) {
    char *sql = read_file_all(path, NULL);
    if (!sql) {
        fprintf(stderr, "harness_mdb: cannot read %s\n", path);
        return -1;
    }
    int rc = testmdb_exec(url, sql);
    free(sql);
    return rc;
}

struct first {
    char *value;
};

static int keep_first(void *arg, const struct mdb_row *row) {
    struct first *f = arg;
    if (!f->value && row->ncols > 0)
        f->value = row->values[0] ? strndup(row->values[0], row->lengths[0]) : strdup("");
    return 0;
}

char *testmdb_query(const char *url, const char *sql) {
    struct mdb *c = admin(url);
    if (!c) return NULL;
    struct first f = {0};
    struct mdb_error err;
    if (mdb_stream(c, sql, keep_first, &f, &err) != 0) {
        fprintf(stderr, "harness_mdb: %s: %s\n", err.text, sql);
        free(f.value);
        mdb_close(c);
        return NULL;
    }
    mdb_close(c);
    return f.value ? f.value : strdup("");
}

/* Replaces the database part of the admin URL (mysql://user:pw@host:port/db?...). */
static int with_db(const char *admin_url, const char *user, const char *pass, const char *db,
                   char *out, size_t len) {
    const char *scheme = strstr(admin_url, "://");
    if (!scheme) return -1;
    const char *auth = scheme + 3;
    const char *at = strchr(auth, '@');
    const char *host = at ? at + 1 : auth;
    size_t hlen = strcspn(host, "/?");
    int n;
    if (user)
        n = snprintf(out, len, "mysql://%s:%s@%.*s/%s", user, pass, (int)hlen, host, db);
    else
        n = snprintf(out, len, "mysql://%.*s%.*s/%s", (int)(host - auth), auth, (int)hlen, host,
                     db);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static void drop_all(void) {
    for (int i = 0; i < ncreated; i++)
        if (created[i]) testmdb_drop(created[i]);
}

int testmdb_create(struct test_mdb *db) {
    const char *admin_url = testmdb_admin_url();
    memset(db, 0, sizeof *db);
    if (!admin_url) {
        fprintf(stderr, "harness_mdb: SLUICE_TEST_MYSQL_ADMIN_URL is not set\n");
        return -1;
    }
    int n = ++counter;
    snprintf(db->name, sizeof db->name, "sluice_mtest_%d_%d", (int)getpid(), n);
    snprintf(db->reader, sizeof db->reader, "sluice_r_%d_%d", (int)getpid(), n);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s CHARACTER SET latin1 COLLATE latin1_swedish_ci;"
             "CREATE USER '%s'@'%%' IDENTIFIED BY 'reader-pw-%d';"
             "GRANT SELECT ON %s.* TO '%s'@'%%'",
             db->name, db->reader, n, db->name, db->reader);
    if (testmdb_exec(admin_url, sql) != 0) return -1;
    char pw[64];
    snprintf(pw, sizeof pw, "reader-pw-%d", n);
    if (with_db(admin_url, NULL, NULL, db->name, db->url, sizeof db->url) != 0 ||
        with_db(admin_url, db->reader, pw, db->name, db->reader_url, sizeof db->reader_url) != 0) {
        testmdb_drop(db);
        return -1;
    }
    struct mdb_url u;
    char err[256];
    if (mdb_url_parse(admin_url, &u, err, sizeof err) == 0) {
        snprintf(db->host, sizeof db->host, "%s", u.host);
        db->port = u.port;
        mdb_url_cleanup(&u);
    }
    if (ncreated == 0) atexit(drop_all);
    if (ncreated < MAX_CREATED) created[ncreated++] = db;
    return 0;
}

void testmdb_drop(struct test_mdb *db) {
    const char *admin_url = testmdb_admin_url();
    if (!db->name[0] || !admin_url) return;
    char sql[512];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s; DROP USER IF EXISTS '%s'@'%%'", db->name,
             db->reader);
    testmdb_exec(admin_url, sql);
    for (int i = 0; i < ncreated; i++)
        if (created[i] == db) created[i] = NULL;
    db->name[0] = '\0';
}

struct ids {
    unsigned long v[64];
    int n;
};

static int collect(void *arg, const struct mdb_row *row) {
    struct ids *ids = arg;
    if (ids->n < 64 && row->values[0]) ids->v[ids->n++] = strtoul(row->values[0], NULL, 10);
    return 0;
}

int testmdb_kill_sessions(const char *name) {
    const char *admin_url = testmdb_admin_url();
    if (!admin_url) return -1;
    struct mdb *c = admin(admin_url);
    if (!c) return -1;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '%s' AND ID <> "
             "CONNECTION_ID()",
             name);
    struct ids ids = {0};
    struct mdb_error err;
    if (mdb_stream(c, sql, collect, &ids, &err) != 0) {
        fprintf(stderr, "harness_mdb: %s\n", err.text);
        mdb_close(c);
        return -1;
    }
    int killed = 0;
    for (int i = 0; i < ids.n; i++) {
        snprintf(sql, sizeof sql, "KILL CONNECTION %lu", ids.v[i]);
        if (mdb_exec(c, sql, &err) == 0) killed++;
    }
    mdb_close(c);
    return killed;
}
