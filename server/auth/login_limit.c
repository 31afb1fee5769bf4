/* login_limit: failed-login counters in PostgreSQL; see login_limit.h. */
#include "auth/login_limit.h"

#include "auth/bytea.h"
#include "auth/pii.h"

#include <stdint.h>
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
/* Serializes the attempts on the same keys (class 'lgin', a 32-bit piece of each keyed
 * hash; a collision only serializes two unrelated keys). $1 <= $2: always the same order,
 * so two attempts never deadlock. */
static struct db_stmt q_lock = DB_STMT("SELECT pg_advisory_xact_lock(1818716526, $1::int),"
                                       " pg_advisory_xact_lock(1818716526, $2::int)");
static struct db_stmt q_record =
    DB_STMT("INSERT INTO login_failures (key) VALUES ($1::bytea), ($2::bytea)"
            " RETURNING id, key = $2::bytea");
static struct db_stmt q_succeeded =
    DB_STMT("DELETE FROM login_failures WHERE key = $1::bytea OR id = $2::bigint");
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

/* The lock id of a key ("\\x" and 64 hex digits): its first 32 bits, signed. */
static long lock_id(const char *bytea_hex) {
    char first[9];
    memcpy(first, bytea_hex + 2, 8);
    first[8] = '\0';
    return (long)(int32_t)(uint32_t)strtoul(first, NULL, 16);
}

struct reserve {
    const char *user_key, *addr_key, *window, *max;
    long retry_after;
    int64_t address_row;
};

static int reserve_in_tx(struct db *db, void *arg) {
    struct reserve *rv = arg;
    long a = lock_id(rv->user_key), b = lock_id(rv->addr_key);
    char lo[24], hi[24];
    snprintf(lo, sizeof lo, "%ld", a < b ? a : b);
    snprintf(hi, sizeof hi, "%ld", a < b ? b : a);
    const char *lock_params[] = {lo, hi};
    PGresult *r = db_exec(db, &q_lock, 2, lock_params);
    if (!r) return -1;
    PQclear(r);
    const char *check_params[] = {rv->user_key, rv->addr_key, rv->window, rv->max};
    r = db_exec(db, &q_check, 4, check_params);
    if (!r) return -1;
    rv->retry_after = 0;
    if (!PQgetisnull(r, 0, 0)) {
        long s = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        rv->retry_after = s < 1 ? 1 : s;
    }
    PQclear(r);
    if (rv->retry_after > 0) return 0; /* refused: nothing recorded */
    const char *record_params[] = {rv->user_key, rv->addr_key};
    r = db_exec(db, &q_record, 2, record_params);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 1), "t") == 0)
            rv->address_row = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int login_limit_reserve(struct db *db, const char *username, const char *client_addr, long max,
                        long window, long *retry_after, int64_t *address_row) {
    *retry_after = 0;
    *address_row = 0;
    char *uk, *ak;
    if (keys(username, client_addr ? client_addr : "unknown", &uk, &ak) != 0) return -1;
    char w[24], m[24];
    snprintf(w, sizeof w, "%ld", window);
    snprintf(m, sizeof m, "%ld", max);
    struct reserve rv = {.user_key = uk, .addr_key = ak, .window = w, .max = m};
    int rc = db_transaction(db, reserve_in_tx, &rv);
    free(uk);
    free(ak);
    if (rc != 0) return -1;
    *retry_after = rv.retry_after;
    *address_row = rv.address_row;
    return 0;
}

int login_limit_succeeded(struct db *db, const char *username, int64_t address_row) {
    char *uk, *ak;
    if (keys(username, NULL, &uk, &ak) != 0) return -1;
    char row[24];
    snprintf(row, sizeof row, "%lld", (long long)address_row);
    const char *params[] = {uk, row};
    PGresult *r = db_exec(db, &q_succeeded, 2, params);
    free(uk);
    free(ak);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int login_limit_purge(struct db *db, const char *before, long batch, long *deleted) {
    return db_purge_batch(db, &q_purge, before, batch, deleted);
}
