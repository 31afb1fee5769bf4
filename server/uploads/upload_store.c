/* upload_store: SQL and file handling of uploads; see upload_store.h. */
#include "uploads/upload_store.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct db_stmt q_find = DB_STMT("SELECT size, sha256 FROM uploads"
                                       " WHERE id = $1::bigint AND expires_at > now()");

/* The rows go in one statement; the files follow (a file whose row is gone is no
 * longer an upload, whatever happens to the unlink). */
static struct db_stmt q_purge =
    DB_STMT("DELETE FROM uploads WHERE id IN (SELECT id FROM uploads"
            " WHERE expires_at < $1::timestamptz ORDER BY expires_at LIMIT $2::int"
            " FOR UPDATE SKIP LOCKED) RETURNING id");

bool upload_store_path(const struct config *c, int64_t id, char *buf, size_t n) {
    int k = snprintf(buf, n, "%s/%" PRId64, c->upload_dir, id);
    return k > 0 && (size_t)k < n;
}

int upload_store_dir_ready(const struct config *c, char *err, size_t errlen) {
    const char *dir = c->upload_dir;
    if (!dir || !*dir) {
        snprintf(err, errlen, "UPLOAD_DIR is empty");
        return -1;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "UPLOAD_DIR=%s: cannot create it: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "UPLOAD_DIR=%s: not a writable folder", dir);
        return -1;
    }
    return 0;
}

int upload_store_find(struct db *db, const struct config *c, int64_t id, struct upload_info *out) {
    char idt[24];
    snprintf(idt, sizeof idt, "%" PRId64, id);
    const char *v[] = {idt};
    PGresult *r = db_exec(db, &q_find, 1, v);
    if (!r) return -1;
    int rc = 1;
    if (PQntuples(r) == 1) {
        out->id = id;
        out->size = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(out->sha256, sizeof out->sha256, "%s", PQgetvalue(r, 0, 1));
        rc = upload_store_path(c, id, out->path, sizeof out->path) ? 0 : 1;
    }
    PQclear(r);
    return rc;
}

int upload_store_purge(struct db *db, const struct config *c, const char *before, long batch,
                       long *rows) {
    char b[24];
    snprintf(b, sizeof b, "%ld", batch);
    const char *v[] = {before, b};
    PGresult *r = db_exec(db, &q_purge, 2, v);
    if (!r) return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        char path[4096];
        int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (upload_store_path(c, id, path, sizeof path) && unlink(path) != 0 && errno != ENOENT)
            log_warn("upload %" PRId64 ": cannot remove %s: %s", id, path, strerror(errno));
    }
    PQclear(r);
    *rows = n;
    return 0;
}
