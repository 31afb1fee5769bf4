/* body_file: a request body written to a file as it arrives, with bounded memory (two
 * buffers of BODY_FILE_BUFFER bytes) and without the event threads ever touching the disk:
 * the event thread copies bytes into one buffer while a writer thread writes and hashes
 * (SHA-256) the other; when both are full the event thread suspends its connection and the
 * writer resumes it. At the end the writer fsyncs the file, gives it its final name in its
 * folder (rename, then fsync of the folder) and reports. Until then the file has no name
 * (O_TMPFILE; a named ".<name>.<random>.part" where O_TMPFILE is not supported), so a body
 * that never completes leaves nothing behind, even after a crash.
 *
 * Threads: body_file_put and body_file_finish are called by the connection's event thread;
 * the callbacks run on a writer thread (suspend: on the caller's thread, under the file's
 * lock). A struct body_file is owned by its caller until body_file_close, which hands it to
 * a writer to free (the writer may still hold one of its buffers). */
#ifndef SLUICE_BODY_FILE_H
#define SLUICE_BODY_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BODY_FILE_BUFFER (128 * 1024)

struct body_file_writers;
struct body_file;

struct body_file_callbacks {
    /* Event thread, under the file's lock: stop feeding bytes (suspend the connection)
     * until `wake` or `done`. */
    void (*suspend)(void *arg);
    /* Writer thread: a buffer is free again, resume the connection. */
    void (*wake)(void *arg);
    /* Writer thread, after body_file_finish: err 0 when the file is in place under its
     * final name (see body_file_result), else the errno that stopped it (no file left). */
    void (*done)(void *arg, int err);
    void *arg;
};

struct body_file_result {
    const char *path; /* dir/name, borrowed from the body_file */
    uint64_t size;
    char sha256[65]; /* lowercase hex */
};

/* nthreads writer threads (at least 1); NULL when they cannot start. */
struct body_file_writers *body_file_writers_start(size_t nthreads);

/* Writes what is queued, then joins the writers and frees w. From then on, bodies still
 * arriving fail with ESHUTDOWN. NULL is accepted. */
void body_file_writers_stop(struct body_file_writers *w);

/* Whether name may be a final file name: not empty, at most 255 bytes, no '/', no NUL,
 * not starting with '.' (temporary names do), not "." or "..". */
bool body_file_name_ok(const char *name);

/* Creates the nameless file in the existing folder dir that will be called name. NULL
 * with errno (EINVAL for a bad name). Runs on any thread but the event threads (it
 * touches the disk). */
struct body_file *body_file_open(struct body_file_writers *w, const char *dir, const char *name,
                                 const struct body_file_callbacks *cb);

/* Event thread: takes up to len bytes and returns how many (at least one unless both
 * buffers are full: then suspend was called and wake follows). Returns 0 with *err set
 * (an errno) once writing has failed: the file is gone, stop. */
size_t body_file_put(struct body_file *f, const char *data, size_t len, int *err);

/* Event thread: the body is complete. Calls suspend (under the lock), then a writer writes
 * the last bytes, fsyncs, renames and calls done. */
void body_file_finish(struct body_file *f);

/* After done(arg, 0): the file's path, size and hash (borrowed from f). */
const struct body_file_result *body_file_result(const struct body_file *f);

/* Drops f (any thread, once): an incomplete file is removed; a complete one stays in place
 * unless remove_final. f must not be used afterwards. */
void body_file_close(struct body_file *f, bool remove_final);

#endif
