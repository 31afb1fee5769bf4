/* upload_store: the uploads table (migration 0008) and the files it describes, kept in
 * UPLOAD_DIR under their id. For the /uploads handlers, the jobs that read an upload
 * (e.g. `csv` arguments given as an upload id) and maintenance.prune. Nothing here keeps
 * memory: results go to caller-owned structs. */
#ifndef SLUICE_UPLOAD_STORE_H
#define SLUICE_UPLOAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;

struct upload_info {
    int64_t id;
    int64_t size;
    char sha256[65];
    char path[4096]; /* UPLOAD_DIR/<id> */
};

/* UPLOAD_DIR/<id> into buf; false when it does not fit. */
bool upload_store_path(const struct config *c, int64_t id, char *buf, size_t n);

/* Creates UPLOAD_DIR when missing (one level, mode 0750) and checks it is a writable
 * folder. 0, or -1 with the reason in err. */
int upload_store_dir_ready(const struct config *c, char *err, size_t errlen);

/* The upload `id` if it exists and has not expired: 0 (out filled), 1 when there is no
 * such upload, -1 on a database error (db_last_error). */
int upload_store_find(struct db *db, const struct config *c, int64_t id, struct upload_info *out);

/* Deletes at most batch uploads that expired before `before` (a timestamptz text): the
 * rows (one statement), then their files. *rows gets how many. 0, or -1 on a database
 * error (nothing deleted). */
int upload_store_purge(struct db *db, const struct config *c, const char *before, long batch,
                       long *rows);

/* Orphans: files of UPLOAD_DIR that no upload owns — temporary files of an upload cut
 * by a crash (".<id>.<random>.part") and files named by an id whose row is gone (a crash
 * between the file and its row, an unlink that failed). Only files untouched for
 * UPLOAD_ORPHAN_GRACE_SECONDS are taken, so an upload in flight (in this process or
 * another copy sharing the folder) is never touched; other names are left alone.
 * Removes them; *removed (NULL: not wanted) gets how many. 0, or -1 when the folder or
 * the database could not be read (what was removed stays removed). */
#define UPLOAD_ORPHAN_GRACE_SECONDS 3600
int upload_store_sweep(struct db *db, const struct config *c, long *removed);

/* The sweep at start-up, on a connection of its own; the outcome is logged. */
void upload_store_sweep_at_start(const struct config *c);

#endif
