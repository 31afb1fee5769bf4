/* audit_refusals: refused tokens aggregated per (address, reason) and window; see
 * audit_refusals.h. The group table (a set-associative table plus one overflow group per
 * reason) and the flusher's copy buffer are malloc'd by audit_refusals_start and freed by
 * audit_refusals_stop; the flusher thread owns its struct db. */
#include "auth/audit_refusals.h"

#include "core/log.h"
#include "core/set_table.h"
#include "db/db.h"
#include "http/metrics.h"
#include "http/request.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAYS 8

static const char *const code_names[REFUSAL_CODES] = {
    "malformed",     "bad_algorithm", "unknown_key",       "bad_signature", "expired",
    "not_yet_valid", "bad_issuer",    "bad_audience",      "bad_claims",    "user_gone",
    "user_disabled", "revoked",       "insufficient_role",
};

const char *refusal_code_name(enum refusal_code code) {
    return code >= 0 && code < REFUSAL_CODES ? code_names[code] : "unknown";
}

struct group {
    bool used;
    bool inserting; /* its first row is being written by a request worker */
    int code;
    char addr[64]; /* "" in an overflow group */
    long count;    /* refusals in this window */
    long written;  /* how many the row already says */
    int64_t row_id;
    double opened; /* monotonic seconds */
    char last_at[32];
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct group *sets;
    size_t nsets;
    struct group overflow[REFUSAL_CODES];
    struct group *todo; /* the flusher's copies: nsets * WAYS + REFUSAL_CODES */
    long window;
    char *url;
    pthread_t thread;
    bool running, stopping;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_long counts[REFUSAL_CODES];
static bool metrics_registered;

static struct db_stmt q_insert =
    DB_STMT("INSERT INTO audit_log (actor_id, action, target, client_addr, request_id, details) "
            "VALUES ($1::bigint, 'token.refused', $2, $3, $4, $5::jsonb) RETURNING id");
static struct db_stmt q_insert_closed =
    DB_STMT("INSERT INTO audit_log (action, client_addr, details) "
            "VALUES ('token.refused', $1, $2::jsonb)");
static struct db_stmt q_close =
    DB_STMT("UPDATE audit_log SET details = details || jsonb_build_object('count', $2::bigint, "
            "'last_at', $3::text) WHERE id = $1::bigint");

long audit_refusals_count(enum refusal_code code) {
    return code >= 0 && code < REFUSAL_CODES ? atomic_load(&counts[code]) : 0;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void utc_now(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void render(struct textbuf *out, struct db *db) {
    (void)db;
    textbuf_printf(out, "# HELP sluice_auth_token_refusals_total Bearer tokens refused, by "
                        "reason (the audit log aggregates them per address and window).\n"
                        "# TYPE sluice_auth_token_refusals_total counter\n");
    for (int i = 0; i < REFUSAL_CODES; i++)
        textbuf_printf(out, "sluice_auth_token_refusals_total{reason=\"%s\"} %ld\n", code_names[i],
                       atomic_load(&counts[i]));
}

/* ---- writing -------------------------------------------------------------------------- */

/* The first row of a group (count 1); its id, or 0 when it could not be written. */
static int64_t insert_first(struct request *req, int64_t user_id, enum refusal_code code,
                            const char *reason, bool other_addresses) {
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i}", "reason", reason, "code", code_names[code],
                          "method", req->method, "path", req->path, "count", 1, "window_seconds",
                          (int)(R.window > 0 ? R.window : 0));
    if (d && other_addresses) json_object_set_new(d, "other_addresses", json_true());
    char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!details) return 0;
    char actor[24], target[32];
    snprintf(actor, sizeof actor, "%lld", (long long)user_id);
    snprintf(target, sizeof target, "user:%lld", (long long)user_id);
    const char *params[] = {user_id > 0 ? actor : NULL, user_id > 0 ? target : NULL,
                            other_addresses ? NULL : req->client_addr, req->request_id, details};
    PGresult *r = db_exec(req->db, &q_insert, 5, params);
    free(details);
    int64_t id = 0;
    if (r && PQntuples(r) == 1) id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (!id)
        log_event(LOG_WARN, "audit write failed", "action", "token.refused", "error",
                  db_last_error(req->db), (char *)NULL);
    return id;
}

/* Writes a closed window's count: into its row, or as a row of its own when the first
 * could not be written. */
static void write_closed(struct db *db, const struct group *g) {
    char count[24];
    snprintf(count, sizeof count, "%ld", g->count);
    PGresult *r;
    if (g->row_id > 0) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)g->row_id);
        const char *params[] = {id, count, g->last_at};
        r = db_exec(db, &q_close, 3, params);
    } else {
        json_t *d =
            json_pack("{s:s,s:I,s:s,s:i}", "code", code_names[g->code], "count",
                      (json_int_t)g->count, "last_at", g->last_at, "window_seconds", (int)R.window);
        if (d && !g->addr[0]) json_object_set_new(d, "other_addresses", json_true());
        char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        const char *params[] = {g->addr[0] ? g->addr : NULL, details ? details : "{}"};
        r = db_exec(db, &q_insert_closed, 2, params);
        free(details);
    }
    if (!r)
        log_event(LOG_WARN, "audit write failed: refused-token count lost", "code",
                  code_names[g->code], "count", count, "error", db_last_error(db), (char *)NULL);
    PQclear(r);
}

/* ---- the table -------------------------------------------------------------------------- */

static uint64_t hash_key(const char *addr, int code) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)code;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

static void open_group(struct group *g, const char *addr, int code, double now) {
    memset(g, 0, sizeof *g);
    g->used = true;
    g->inserting = true;
    g->code = code;
    snprintf(g->addr, sizeof g->addr, "%s", addr);
    g->opened = now;
}

/* Under R.mu: the open group of (addr, code), opened if needed (*fresh). */
static struct group *find_group(const char *addr, int code, double now, bool *fresh) {
    *fresh = false;
    struct group *set = R.sets + (hash_key(addr, code) % R.nsets) * WAYS, *free_way = NULL;
    for (size_t i = 0; i < WAYS; i++) {
        struct group *g = &set[i];
        if (!g->used) {
            if (!free_way) free_way = g;
        } else if (g->code == code && strcmp(g->addr, addr) == 0) {
            return g;
        }
    }
    struct group *g = free_way;
    if (!g) {
        g = &R.overflow[code];
        if (g->used) return g;
        addr = "";
    }
    open_group(g, addr, code, now);
    *fresh = true;
    return g;
}

void audit_refusals_note(struct request *req, int64_t user_id, enum refusal_code code,
                         const char *reason) {
    if (code < 0 || code >= REFUSAL_CODES) code = REFUSAL_MALFORMED;
    atomic_fetch_add(&counts[code], 1);
    pthread_mutex_lock(&R.mu);
    if (!R.running) {
        pthread_mutex_unlock(&R.mu);
        (void)insert_first(req, user_id, code, reason, false);
        return;
    }
    bool fresh;
    struct group *g = find_group(req->client_addr, (int)code, mono(), &fresh);
    g->count++;
    utc_now(g->last_at);
    bool other = !g->addr[0];
    pthread_mutex_unlock(&R.mu);
    if (!fresh) return;
    /* The group stays in place while inserting is set: the flusher skips it. */
    int64_t id = insert_first(req, user_id, code, reason, other);
    pthread_mutex_lock(&R.mu);
    g->row_id = id;
    g->written = id ? 1 : 0;
    g->inserting = false;
    pthread_mutex_unlock(&R.mu);
}

/* Under R.mu: moves the groups to close (all, or those whose window ended) to R.todo
 * and frees their slots; returns how many. */
static size_t take_closed(bool all, double now) {
    size_t n = 0, total = R.nsets * WAYS;
    for (size_t i = 0; i < total + REFUSAL_CODES; i++) {
        struct group *g = i < total ? &R.sets[i] : &R.overflow[i - total];
        if (!g->used || g->inserting || (!all && now - g->opened < (double)R.window)) continue;
        if (g->count > g->written) R.todo[n++] = *g;
        g->used = false;
    }
    return n;
}

static void *flusher(void *arg) {
    struct db *db = arg;
    pthread_mutex_lock(&R.mu);
    for (;;) {
        bool stopping = R.stopping;
        size_t n = take_closed(stopping, mono());
        pthread_mutex_unlock(&R.mu);
        for (size_t i = 0; i < n; i++) write_closed(db, &R.todo[i]);
        pthread_mutex_lock(&R.mu);
        if (stopping) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (!R.stopping) pthread_cond_timedwait(&R.cv, &R.mu, &ts);
    }
    pthread_mutex_unlock(&R.mu);
    db_free(db);
    return NULL;
}

int audit_refusals_start(const char *database_url, long window_seconds, long max_keys) {
    if (!metrics_registered) {
        metrics_add_source(render);
        metrics_registered = true;
    }
    bool failed = false;
    size_t nsets = 0;
    struct group *sets =
        set_table_new(max_keys < 1 ? 1 : max_keys, WAYS, sizeof *sets, &nsets, &failed);
    struct group *todo = sets ? calloc(nsets * WAYS + REFUSAL_CODES, sizeof *todo) : NULL;
    if (!todo) {
        free(sets);
        return -1;
    }
    pthread_mutex_lock(&R.mu);
    R.sets = sets;
    R.nsets = nsets;
    R.todo = todo;
    memset(R.overflow, 0, sizeof R.overflow);
    R.window = window_seconds < 1 ? 1 : window_seconds;
    R.stopping = false;
    R.running = true;
    pthread_mutex_unlock(&R.mu);
    struct db *db = db_new(database_url);
    if (pthread_create(&R.thread, NULL, flusher, db) != 0) {
        db_free(db);
        pthread_mutex_lock(&R.mu);
        R.running = false;
        pthread_mutex_unlock(&R.mu);
        free(sets);
        free(todo);
        R.sets = R.todo = NULL;
        return -1;
    }
    return 0;
}

void audit_refusals_stop(void) {
    pthread_mutex_lock(&R.mu);
    if (!R.running) {
        pthread_mutex_unlock(&R.mu);
        return;
    }
    R.stopping = true;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    pthread_join(R.thread, NULL);
    pthread_mutex_lock(&R.mu);
    R.running = false;
    free(R.sets);
    free(R.todo);
    R.sets = R.todo = NULL;
    R.nsets = 0;
    pthread_mutex_unlock(&R.mu);
}
