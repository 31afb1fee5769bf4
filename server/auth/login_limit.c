/* login_limit: failed-login counters in PostgreSQL; see login_limit.h. */
#include "auth/login_limit.h"

#include "auth/bytea.h"
#include "auth/pii.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 pair, $2 username, $3 address keys; $4 window, $5 pair_max, $6 user_window,
 * $7 user_max, $8 address_max, $9 max_delay. Seconds to wait for the pair, the address
 * and the username (NULL or <= 0: free), and whether the pair is known. For a key with a
 * hard limit, the max-th most recent failure in the window locks it until it leaves the
 * window; for the username, past user_max failures the next one must wait
 * 2^(failures - user_max) seconds (at most max_delay) after the last. */
static struct db_stmt q_check =
    DB_STMT("WITH w AS (SELECT clock_timestamp() AS now, make_interval(secs => $4::int) AS win,"
            "                  make_interval(secs => $6::int) AS uwin),"
            " s AS (SELECT"
            "  (SELECT f.at FROM login_failures f WHERE f.key = $1::bytea AND f.at > w.now - w.win"
            "    ORDER BY f.at DESC OFFSET $5::int - 1 LIMIT 1) AS pair_nth,"
            "  (SELECT f.at FROM login_failures f WHERE f.key = $3::bytea AND f.at > w.now - w.uwin"
            "    ORDER BY f.at DESC OFFSET $8::int - 1 LIMIT 1) AS addr_nth,"
            "  (SELECT count(*) FROM login_failures f WHERE f.key = $2::bytea"
            "    AND f.at > w.now - w.uwin) AS user_n,"
            "  (SELECT max(f.at) FROM login_failures f WHERE f.key = $2::bytea"
            "    AND f.at > w.now - w.uwin) AS user_last,"
            "  EXISTS (SELECT 1 FROM login_known_addresses k WHERE k.key = $1::bytea) AS known"
            "  FROM w)"
            " SELECT ceil(extract(epoch FROM s.pair_nth + w.win - w.now))::bigint,"
            "  ceil(extract(epoch FROM s.addr_nth + w.uwin - w.now))::bigint,"
            "  CASE WHEN s.user_n >= $7::int THEN ceil(extract(epoch FROM s.user_last"
            "   + make_interval(secs => least($9::int, power(2, least(s.user_n - $7::int, 30))))"
            "   - w.now))::bigint END,"
            "  s.known"
            " FROM s, w");
/* Serializes the attempts on the same keys (class 'lgin', a 32-bit piece of each keyed
 * hash; a collision only serializes two unrelated keys). The caller sorts the ids: always
 * the same order, so two attempts never deadlock. */
static struct db_stmt q_lock = DB_STMT("SELECT pg_advisory_xact_lock(1818716526, $1::int),"
                                       " pg_advisory_xact_lock(1818716526, $2::int),"
                                       " pg_advisory_xact_lock(1818716526, $3::int)");
static struct db_stmt q_record =
    DB_STMT("INSERT INTO login_failures (key) VALUES ($1::bytea), ($2::bytea), ($3::bytea)"
            " RETURNING id, CASE key WHEN $1::bytea THEN 0 WHEN $2::bytea THEN 1 ELSE 2 END");
static struct db_stmt q_succeeded =
    DB_STMT("WITH forget AS (DELETE FROM login_failures WHERE key = $1::bytea"
            "   OR id = ANY (ARRAY[$2::bigint, $3::bigint, $4::bigint]))"
            " INSERT INTO login_known_addresses (key) VALUES ($1::bytea)"
            " ON CONFLICT (key) DO UPDATE SET last_at = clock_timestamp()");
/* One batch, oldest first; returns how many rows went. */
static struct db_stmt q_purge =
    DB_STMT("WITH gone AS (DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures"
            "              WHERE at < $1::timestamptz ORDER BY at LIMIT $2::int) RETURNING 1)"
            " SELECT count(*) FROM gone");
static struct db_stmt q_purge_known =
    DB_STMT("WITH gone AS (DELETE FROM login_known_addresses WHERE key IN (SELECT key FROM "
            "  login_known_addresses WHERE last_at < now() - interval '180 days' ORDER BY last_at"
            "  LIMIT $1::int) RETURNING 1)"
            " SELECT count(*) FROM gone");

enum { PAIR, USER, ADDRESS, NKEYS };

/* The three keys as bytea parameters (owned by the caller: free_keys); -1 without PII
 * keys or memory. */
static int make_keys(const char *username, const char *addr, char *out[NKEYS]) {
    const struct pii_keys *k = pii_global();
    for (int i = 0; i < NKEYS; i++) out[i] = NULL;
    if (!k) return -1;
    if (!addr) addr = "unknown";
    size_t n = strlen(username) + strlen(addr) + 2;
    char *pair = malloc(n);
    if (!pair) return -1;
    snprintf(pair, n, "%s\n%s", username, addr);
    unsigned char h[PII_INDEX_BYTES];
    pii_limiter_key(k, "pair", pair, h);
    out[PAIR] = bytea_param(h, sizeof h);
    pii_limiter_key(k, "username", username, h);
    out[USER] = bytea_param(h, sizeof h);
    pii_limiter_key(k, "address", addr, h);
    out[ADDRESS] = bytea_param(h, sizeof h);
    free(pair);
    if (!out[PAIR] || !out[USER] || !out[ADDRESS]) {
        for (int i = 0; i < NKEYS; i++) free(out[i]);
        return -1;
    }
    return 0;
}

static void free_keys(char *keys[NKEYS]) {
    for (int i = 0; i < NKEYS; i++) free(keys[i]);
}

/* The lock id of a key ("\\x" and 64 hex digits): its first 32 bits, signed. */
static long lock_id(const char *bytea_hex) {
    char first[9];
    memcpy(first, bytea_hex + 2, 8);
    first[8] = '\0';
    return (long)(int32_t)(uint32_t)strtoul(first, NULL, 16);
}

struct reserve {
    char **keys;
    const struct login_limits *l;
    struct login_attempt *out;
};

static long seconds(PGresult *r, int col) {
    return PQgetisnull(r, 0, col) ? 0 : strtol(PQgetvalue(r, 0, col), NULL, 10);
}

static int reserve_in_tx(struct db *db, void *arg) {
    struct reserve *rv = arg;
    struct login_attempt *out = rv->out;
    const struct login_limits *l = rv->l;
    long id[NKEYS];
    for (int i = 0; i < NKEYS; i++) id[i] = lock_id(rv->keys[i]);
    for (int i = 1; i < NKEYS; i++) /* sorted: always the same order */
        for (int j = i; j > 0 && id[j - 1] > id[j]; j--) {
            long t = id[j];
            id[j] = id[j - 1];
            id[j - 1] = t;
        }
    char ids[NKEYS][24];
    const char *lock_params[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(ids[i], sizeof ids[i], "%ld", id[i]);
        lock_params[i] = ids[i];
    }
    PGresult *r = db_exec(db, &q_lock, NKEYS, lock_params);
    if (!r) return -1;
    PQclear(r);
    char v[6][24];
    long values[6] = {l->window,   l->pair_max,    l->user_window,
                      l->user_max, l->address_max, l->max_delay};
    for (int i = 0; i < 6; i++) snprintf(v[i], sizeof v[i], "%ld", values[i]);
    const char *check_params[] = {
        rv->keys[PAIR], rv->keys[USER], rv->keys[ADDRESS], v[0], v[1], v[2], v[3], v[4], v[5]};
    r = db_exec(db, &q_check, 9, check_params);
    if (!r) return -1;
    long pair = seconds(r, 0), address = seconds(r, 1), user = seconds(r, 2);
    out->known = PQgetvalue(r, 0, 3)[0] == 't';
    PQclear(r);
    out->retry_after = 0;
    out->locked = NULL;
    if (pair > 0) {
        out->retry_after = pair;
        out->locked = "pair";
    } else if (!out->known && address > 0) {
        out->retry_after = address;
        out->locked = "address";
    } else if (!out->known && user > 0) {
        out->retry_after = user;
        out->locked = "user";
    }
    if (out->locked) return 0; /* refused: nothing recorded */
    const char *record_params[] = {rv->keys[PAIR], rv->keys[USER], rv->keys[ADDRESS]};
    r = db_exec(db, &q_record, NKEYS, record_params);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int k = atoi(PQgetvalue(r, i, 1));
        if (k >= 0 && k < NKEYS) out->rows[k] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    }
    PQclear(r);
    return 0;
}

int login_limit_reserve(struct db *db, const char *username, const char *client_addr,
                        const struct login_limits *l, struct login_attempt *out) {
    memset(out, 0, sizeof *out);
    char *keys[NKEYS];
    if (make_keys(username, client_addr, keys) != 0) return -1;
    struct reserve rv = {.keys = keys, .l = l, .out = out};
    int rc = db_transaction(db, reserve_in_tx, &rv);
    free_keys(keys);
    return rc == 0 ? 0 : -1;
}

int login_limit_succeeded(struct db *db, const char *username, const char *client_addr,
                          const struct login_attempt *a) {
    char *keys[NKEYS];
    if (make_keys(username, client_addr, keys) != 0) return -1;
    char rows[NKEYS][24];
    for (int k = 0; k < NKEYS; k++)
        snprintf(rows[k], sizeof rows[k], "%lld", (long long)a->rows[k]);
    const char *params[] = {keys[PAIR], rows[0], rows[1], rows[2]};
    PGresult *r = db_exec(db, &q_succeeded, 4, params);
    free_keys(keys);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int login_limit_purge(struct db *db, const char *before, long batch, long *deleted) {
    long n = 0;
    if (db_purge_batch(db, &q_purge, before, batch, &n) != 0) return -1;
    if (n < batch) {
        char b[24];
        snprintf(b, sizeof b, "%ld", batch - n);
        const char *params[] = {b};
        PGresult *r = db_exec(db, &q_purge_known, 1, params);
        if (!r) return -1;
        n += strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (deleted) *deleted = n;
    return 0;
}
