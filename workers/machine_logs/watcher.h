/* watcher: the LOG_WATCH thread of `sluice serve` — inotify on LOG_ROOT and each centre
 * folder under it; when a LOG file is closed after writing or moved into a folder, it
 * queues one machine_logs.ingest for that folder's centre, to run LOG_WATCH_DELAY_SECONDS
 * later, through ml_enqueue_ingest (machine_logs/ingest_queue.h: dedupe key
 * "machine_logs.ingest:<code>") — so a burst of files, or
 * several sluice copies watching one shared folder, give one queued job per centre (the
 * kind drops the key when it starts, so files arriving while it runs queue the next one).
 * Folders created later are watched as they appear. Files no event told of are queued
 * too: one ingest per centre folder at start, and one when a folder appears (created, or
 * moved in whole with its files).
 *
 * Memory: the watcher owns its thread, inotify descriptor, database connection and
 * folder table; the config is borrowed for its life. */
#ifndef SLUICE_ML_WATCHER_H
#define SLUICE_ML_WATCHER_H

#include <stddef.h>

struct config;
struct log_watcher;

/* Starts watching; NULL with err when LOG_ROOT cannot be watched. */
struct log_watcher *log_watcher_start(const struct config *c, char *err, size_t errlen);
/* Stops the thread and frees w (NULL is fine). */
void log_watcher_stop(struct log_watcher *w);

#endif
