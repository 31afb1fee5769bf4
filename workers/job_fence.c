/* job_fence: fenced commits for job kinds — job_fence checks, inside the kind's
 * transaction, that this worker still holds the job's lease, and job_transaction runs a
 * function in a transaction that commits only if that check passes at its end; see the
 * contract in job.h. Nothing is allocated beyond the statement's result. */
#include "core/log.h"
#include "db/db.h"
#include "job_ctx.h"

#include <stdio.h>
#include <string.h>

/* FOR KEY SHARE: held until the transaction ends, it keeps the reaper (and so any other
 * worker) from taking the job before the commit — they lock FOR UPDATE — while the
 * keeper's lease renewal, an UPDATE of non-key columns (FOR NO KEY UPDATE), never waits
 * for it. */
static struct db_stmt q_fence =
    DB_STMT("SELECT 1 FROM jobs WHERE id = $1::bigint AND lease_owner = $2 AND attempt = $3::int"
            " AND status = 'running' FOR KEY SHARE");

int job_fence(struct job_ctx *ctx) {
    if (ctx->id == 0 || !ctx->lease_owner) return 0; /* in the foreground: no lease */
    struct db *db = ctx->db;
    char id[24], attempt[16];
    snprintf(id, sizeof id, "%lld", (long long)ctx->id);
    snprintf(attempt, sizeof attempt, "%d", ctx->attempt);
    const char *v[] = {id, ctx->lease_owner, attempt};
    PGresult *r = db_exec(db, &q_fence, 3, v);
    if (!r) return -1;
    bool held = PQntuples(r) == 1;
    PQclear(r);
    if (held) return 0;
    atomic_store(&ctx->lease_lost, true);
    log_event(LOG_WARN, "job lease lost: its transaction is rolled back", "job", id, "owner",
              ctx->lease_owner, (char *)NULL);
    return JOB_LEASE_LOST;
}

struct fenced {
    struct job_ctx *ctx;
    int (*fn)(struct job_ctx *ctx, void *arg);
    void *arg;
};

/* One try of the transaction: the staged numbers start from the published ones. */
static int fenced_body(struct db *db, void *arg) {
    (void)db;
    struct fenced *f = arg;
    pthread_mutex_lock(&f->ctx->mu);
    f->ctx->staged = f->ctx->snap;
    f->ctx->in_txn = true;
    pthread_mutex_unlock(&f->ctx->mu);
    int rc = f->fn(f->ctx, f->arg);
    return rc != 0 ? rc : job_fence(f->ctx);
}

int job_transaction(struct job_ctx *ctx, int (*fn)(struct job_ctx *ctx, void *arg), void *arg) {
    struct fenced f = {ctx, fn, arg};
    int rc = db_transaction(ctx->db, fenced_body, &f);
    pthread_mutex_lock(&ctx->mu);
    if (rc == 0) {
        unsigned long version = ctx->snap.version;
        ctx->snap = ctx->staged;
        ctx->snap.version = version + 1;
    }
    ctx->in_txn = false;
    pthread_mutex_unlock(&ctx->mu);
    return rc;
}
