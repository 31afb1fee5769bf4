/* upload_store: SQL and file handling of uploads; see upload_store.h. */
#include "uploads/upload_store.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct db_stmt q_find = DB_STMT("SELECT size, sha256 FROM uploads"
                                       " WHERE id = $1::bigint AND expires_at > now()");

/* The rows go in one statement; the files follow (a file whose row is gone is no
 * longer an upload, whatever happens to the unlink). */
static struct db_stmt q_purge =
    DB_STMT("DELETE FROM uploads WHERE id IN (SELECT id FROM uploads"
            " WHERE expires_at < $1::timestamptz ORDER BY expires_at LIMIT $2::int"
            " FOR UPDATE SKIP LOCKED) RETURNING id");

/* Of the ids given (a bigint[] literal), those without a row. */
static struct db_stmt q_rowless =
    DB_STMT("SELECT x FROM unnest($1::bigint[]) AS x"
            " WHERE NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = x)");

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

#define SWEEP_BATCH 500 /* ids asked about per statement */

/* A name an upload can have: digits (no leading zero, 18 at most). */
static bool id_name(const char *name) {
    size_t n = strspn(name, "0123456789");
    return n > 0 && n <= 18 && name[n] == '\0' && name[0] != '0';
}

/* A temporary name of http/body_file.c: ".<name>.<random>.part". */
static bool temporary_name(const char *name) {
    size_t n = strlen(name);
    return n > 6 && name[0] == '.' && strcmp(name + n - 5, ".part") == 0;
}

static bool old_enough(int dirfd, const char *name, time_t cut) {
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
           st.st_mtime < cut;
}

static void remove_orphan(int dirfd, const char *dir, const char *name, long *removed) {
    if (unlinkat(dirfd, name, 0) == 0) {
        (*removed)++;
        log_event(LOG_INFO, "orphan upload file removed", "folder", dir, "file", name,
                  (char *)NULL);
    } else if (errno != ENOENT) {
        log_warn("upload folder %s: cannot remove %s: %s", dir, name, strerror(errno));
    }
}

/* Removes the files of ids (a bigint[] literal, "{...}") that have no row. */
static int remove_rowless(struct db *db, int dirfd, const char *dir, const char *ids,
                          long *removed) {
    const char *v[] = {ids};
    PGresult *r = db_exec(db, &q_rowless, 1, v);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) remove_orphan(dirfd, dir, PQgetvalue(r, i, 0), removed);
    PQclear(r);
    return 0;
}

int upload_store_sweep(struct db *db, const struct config *c, long *removed) {
    long n = 0;
    if (removed) *removed = 0;
    int dirfd = open(c->upload_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dirfd >= 0 ? fdopendir(dirfd) : NULL;
    if (!d) {
        db_set_error(db, "UPLOAD_DIR=%s: %s", c->upload_dir, strerror(errno));
        if (dirfd >= 0) close(dirfd);
        return -1;
    }
    time_t cut = time(NULL) - UPLOAD_ORPHAN_GRACE_SECONDS;
    char ids[SWEEP_BATCH * 20 + 3];
    size_t used = 0;
    int nids = 0, rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (temporary_name(e->d_name)) {
            if (old_enough(dirfd, e->d_name, cut))
                remove_orphan(dirfd, c->upload_dir, e->d_name, &n);
            continue;
        }
        if (!id_name(e->d_name) || !old_enough(dirfd, e->d_name, cut)) continue;
        used +=
            (size_t)snprintf(ids + used, sizeof ids - used, "%c%s", nids ? ',' : '{', e->d_name);
        if (++nids == SWEEP_BATCH) {
            snprintf(ids + used, sizeof ids - used, "}");
            rc = remove_rowless(db, dirfd, c->upload_dir, ids, &n);
            used = 0;
            nids = 0;
        }
    }
    if (rc == 0 && nids > 0) {
        snprintf(ids + used, sizeof ids - used, "}");
        rc = remove_rowless(db, dirfd, c->upload_dir, ids, &n);
    }
    closedir(d); /* closes dirfd */
    if (removed) *removed = n;
    return rc;
}

void upload_store_sweep_at_start(const struct config *c) {
    struct db *db = db_new(c->database_url);
    long removed = 0;
    if (upload_store_sweep(db, c, &removed) != 0)
        log_warn("orphan upload files: not swept at start: %s", db_last_error(db));
    else if (removed > 0)
        log_info("orphan upload files: %ld removed at start", removed);
    db_free(db);
}
