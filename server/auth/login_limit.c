/* login_limit: failed-login counters in PostgreSQL; see login_limit.h. */
#include "auth/login_limit.h"

#include "auth/bytea.h"
#include "auth/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For each key, the max-th most recent failure inside the window: while it exists the
 * key is locked, until it leaves the window. */
static struct db_stmt q_check =
    DB_STMT("SELECT ceil(extract(epoch FROM max(t.at) + make_interval(secs => $3::int) "
            "- clock_timestamp()))::bigint FROM ("
            " SELECT (SELECT f.at FROM login_failures f WHERE f.key = k"
            "   AND f.at > clock_timestamp() - make_interval(secs => $3::int)"
            "   ORDER BY f.at DESC OFFSET $4::int - 1 LIMIT 1) AS at"
            " FROM unnest(ARRAY[$1::bytea, $2::bytea]) AS k) t");
static struct db_stmt q_record =
    DB_STMT("INSERT INTO login_failures (key) VALUES ($1::bytea), ($2::bytea)");
static struct db_stmt q_clear = DB_STMT("DELETE FROM login_failures WHERE key = $1::bytea");
/* One batch, oldest first; returns how many rows went. */
static struct db_stmt q_purge =
    DB_STMT("WITH gone AS (DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures"
            "              WHERE at < $1::timestamptz ORDER BY at LIMIT $2::int) RETURNING 1)"
            " SELECT count(*) FROM gone");

/* The two keys as bytea parameters (owned by the caller); -1 without PII keys. */
static int keys(const char *username, const char *addr, char **user_key, char **addr_key) {
    const struct pii_keys *k = pii_global();
    *user_key = *addr_key = NULL;
    if (!k) return -1;
    unsigned char h[PII_INDEX_BYTES];
    pii_limiter_key(k, "username", username, h);
    *user_key = bytea_param(h, sizeof h);
    if (addr) {
        pii_limiter_key(k, "address", addr, h);
        *addr_key = bytea_param(h, sizeof h);
    }
    if (!*user_key || (addr && !*addr_key)) {
        free(*user_key);
        free(*addr_key);
        return -1;
    }
    return 0;
}

int login_limit_check(struct db *db, const char *username, const char *client_addr, long max,
                      long window, long *retry_after) {
    *retry_after = 0;
    char *uk, *ak;
    if (keys(username, client_addr, &uk, &ak) != 0) return -1;
    char w[24], m[24];
    snprintf(w, sizeof w, "%ld", window);
    snprintf(m, sizeof m, "%ld", max);
    const char *params[] = {uk, ak, w, m};
    PGresult *r = db_exec(db, &q_check, 4, params);
    free(uk);
    free(ak);
    if (!r) return -1;
    if (!PQgetisnull(r, 0, 0)) {
        long s = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        *retry_after = s < 1 ? 1 : s;
    }
    PQclear(r);
    return 0;
}

int login_limit_record_failure(struct db *db, const char *username, const char *client_addr) {
    char *uk, *ak;
    if (keys(username, client_addr, &uk, &ak) != 0) return -1;
    const char *params[] = {uk, ak};
    PGresult *r = db_exec(db, &q_record, 2, params);
    free(uk);
    free(ak);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int login_limit_clear_user(struct db *db, const char *username) {
    char *uk, *ak;
    if (keys(username, NULL, &uk, &ak) != 0) return -1;
    const char *params[] = {uk};
    PGresult *r = db_exec(db, &q_clear, 1, params);
    free(uk);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int login_limit_purge(struct db *db, const char *before, long batch, long *deleted) {
    return db_purge_batch(db, &q_purge, before, batch, deleted);
}
