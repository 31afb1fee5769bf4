/* migrate: scanning, checksums, apply and status of SQL migrations; see migrate.h.
 * The SQL text of a migration file is trusted code of the project (not input), so it
 * runs through PQexec as a whole script. */
#include "db/migrate.h"

#include "core/log.h"
#include "core/text.h"

#include <ctype.h>
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7303390101" /* arbitrary, constant advisory-lock key */

static const char *const create_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                        " version integer PRIMARY KEY,"
                                        " name text NOT NULL,"
                                        " checksum text NOT NULL,"
                                        " applied_at timestamptz NOT NULL DEFAULT now())";

static int by_version(const void *a, const void *b) {
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* NNNN_name.sql with name in [a-z0-9_]. Returns version or -1. */
static int parse_name(const char *name) {
    size_t n = strlen(name);
    if (n < 10 || strcmp(name + n - 4, ".sql") != 0) return -1;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)name[i])) return -1;
    if (name[4] != '_') return -1;
    for (size_t i = 5; i < n - 4; i++)
        if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
            return -1;
    return atoi(name) > 0 ? atoi(name) : -1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

void migrate_set_cleanup(struct migration_set *set) {
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].name);
        free(set->items[i].sql);
    }
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

int migrate_scan(const char *dir, struct migration_set *set, char *err, size_t errlen) {
    memset(set, 0, sizeof *set);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open migrations folder %s", dir);
        return -1;
    }
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 4 || strcmp(e->d_name + nl - 4, ".sql") != 0) continue;
        int version = parse_name(e->d_name);
        if (version < 0) {
            snprintf(err, errlen, "%s/%s: a migration is named NNNN_name.sql (a-z, 0-9, _)", dir,
                     e->d_name);
            rc = -1;
            break;
        }
        if (set->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct migration *p = realloc(set->items, cap * sizeof *p);
            if (!p) {
                rc = -1;
                snprintf(err, errlen, "out of memory");
                break;
            }
            set->items = p;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *sql = read_file(path, &len);
        if (!sql) {
            snprintf(err, errlen, "cannot read %s", path);
            rc = -1;
            break;
        }
        struct migration *m = &set->items[set->n++];
        m->version = version;
        m->name = strdup(e->d_name);
        m->sql = sql;
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, (const unsigned char *)sql, len);
        text_hex(hash, sizeof hash, m->checksum);
    }
    closedir(d);
    if (rc == 0 && set->n) {
        qsort(set->items, set->n, sizeof set->items[0], by_version);
        for (size_t i = 1; i < set->n; i++) {
            if (set->items[i].version == set->items[i - 1].version) {
                snprintf(err, errlen, "%s and %s have the same version number",
                         set->items[i - 1].name, set->items[i].name);
                rc = -1;
            }
        }
    }
    if (rc != 0) migrate_set_cleanup(set);
    return rc;
}

/* The applied rows: version, name, checksum. */
static PGresult *applied(struct db *db) {
    PGresult *r = db_exec_sql(db, create_table, 0, NULL);
    if (!r) return NULL;
    PQclear(r);
    return db_exec_sql(db, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                       0, NULL);
}

static const struct migration *find(const struct migration_set *set, int version) {
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].version == version) return &set->items[i];
    return NULL;
}

/* Every applied row must match a file with the same checksum. */
static int verify_applied(PGresult *rows, const struct migration_set *set, char *err,
                          size_t errlen) {
    for (int i = 0; i < PQntuples(rows); i++) {
        int version = atoi(PQgetvalue(rows, i, 0));
        const struct migration *m = find(set, version);
        if (!m) {
            snprintf(err, errlen,
                     "migration %04d (%s) is applied in the database but has no file here: "
                     "is this an older sluice?",
                     version, PQgetvalue(rows, i, 1));
            return -1;
        }
        if (strcmp(m->checksum, PQgetvalue(rows, i, 2)) != 0) {
            snprintf(err, errlen,
                     "migration %s was changed after it was applied (checksum %.12s… in the "
                     "database, %.12s… on disk): add a new migration instead of editing it",
                     m->name, PQgetvalue(rows, i, 2), m->checksum);
            return -1;
        }
    }
    return 0;
}

static bool is_applied(PGresult *rows, int version) {
    for (int i = 0; i < PQntuples(rows); i++)
        if (atoi(PQgetvalue(rows, i, 0)) == version) return true;
    return false;
}

static int run_one(struct db *db, const struct migration *m, char *err, size_t errlen) {
    PGconn *c = db_conn(db);
    if (!c) {
        snprintf(err, errlen, "database unreachable: %s", db_last_error(db));
        return -1;
    }
    PGresult *r = PQexec(c, "BEGIN");
    PQclear(r);
    r = PQexec(c, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "migration %s failed: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *vals[] = {version, m->name, m->checksum};
    r = db_exec_sql(
        db, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3, vals);
    if (!r) {
        snprintf(err, errlen, "recording %s failed: %s", m->name, db_last_error(db));
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    r = PQexec(c, "COMMIT");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(err, errlen, "commit of %s failed: %s", m->name, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

int migrate_apply(struct db *db, const struct migration_set *set, char *err, size_t errlen) {
    PGresult *r = db_exec_sql(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL);
    if (!r) {
        snprintf(err, errlen, "cannot take the migration lock: %s", db_last_error(db));
        return -1;
    }
    PQclear(r);
    int rc = 0, count = 0;
    PGresult *rows = applied(db);
    if (!rows) {
        snprintf(err, errlen, "cannot read schema_migrations: %s", db_last_error(db));
        rc = -1;
    } else {
        rc = verify_applied(rows, set, err, errlen);
        for (size_t i = 0; rc == 0 && i < set->n; i++) {
            if (is_applied(rows, set->items[i].version)) continue;
            rc = run_one(db, &set->items[i], err, errlen);
            if (rc == 0) {
                log_event(LOG_INFO, "migration applied", "file", set->items[i].name, (char *)NULL);
                count++;
            }
        }
        PQclear(rows);
    }
    r = db_exec_sql(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", 0, NULL);
    if (r) PQclear(r);
    if (rc == 0 && count == 0) log_event(LOG_DEBUG, "migrations: nothing to apply", (char *)NULL);
    return rc;
}

int migrate_status(struct db *db, const struct migration_set *set, FILE *out, char *err,
                   size_t errlen) {
    PGresult *rows = applied(db);
    if (!rows) {
        snprintf(err, errlen, "cannot read schema_migrations: %s", db_last_error(db));
        return -1;
    }
    int pending = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct migration *m = &set->items[i];
        const char *state = "pending";
        for (int j = 0; j < PQntuples(rows); j++) {
            if (atoi(PQgetvalue(rows, j, 0)) != m->version) continue;
            state = strcmp(PQgetvalue(rows, j, 2), m->checksum) == 0 ? "applied" : "CHANGED";
        }
        if (strcmp(state, "pending") == 0) pending++;
        fprintf(out, "%-8s %s\n", state, m->name);
    }
    for (int j = 0; j < PQntuples(rows); j++)
        if (!find(set, atoi(PQgetvalue(rows, j, 0))))
            fprintf(out, "%-8s %s\n", "UNKNOWN", PQgetvalue(rows, j, 1));
    PQclear(rows);
    return pending;
}

int migrate_check_current(struct db *db, const struct migration_set *set, char *err,
                          size_t errlen) {
    PGresult *rows = db_exec_sql(
        db, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, NULL);
    if (!rows) {
        snprintf(err, errlen, "%s",
                 db_is_down(db) ? "database unreachable" : "schema_migrations is missing");
        return -1;
    }
    int rc = verify_applied(rows, set, err, errlen);
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        if (!is_applied(rows, set->items[i].version)) {
            snprintf(err, errlen, "migration %s is pending", set->items[i].name);
            rc = -1;
        }
    }
    PQclear(rows);
    return rc;
}
