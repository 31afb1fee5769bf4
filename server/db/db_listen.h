/* db_listen: the one LISTEN loop of a process — one thread, one PostgreSQL connection
 * (a struct db, so it reconnects through the process-wide backoff gate of db_backoff.h
 * like every other connection), listening on the channels its subscribers name and
 * calling their callbacks. The job pool (sluice_jobs, sluice_cancel) and the principal
 * listener (sluice_user_changed) subscribe to the same loop.
 *
 * A subscriber gives a channel, a notify callback (each notification on that channel)
 * and a state callback: state(true) once LISTEN holds on a connection — on the first one
 * and after every reconnection, since notifications sent meanwhile were missed — and
 * state(false) when that connection is lost. Callbacks run on the listener's thread,
 * one at a time, under its mutex: keep them short and never call db_listen_* from one.
 * Subscribing is allowed before or after db_listen_start; once db_listen_unsubscribe
 * returns, no callback of that subscription runs any more.
 *
 * Memory: the struct is owned by the caller of db_listen_new and freed by
 * db_listen_free (which stops the thread); the url and channel names are copied;
 * the callbacks' arg is borrowed until the subscription ends. */
#ifndef SLUICE_DB_LISTEN_H
#define SLUICE_DB_LISTEN_H

#include <stdbool.h>

#define DB_LISTEN_MAX 8 /* subscriptions at once */

struct db_listen;

/* channel and payload are borrowed for the call. */
typedef void (*db_notify_fn)(const char *channel, const char *payload, void *arg);
typedef void (*db_listen_state_fn)(bool listening, void *arg);

/* A loop on url (copied), not started. NULL when out of memory or without a wake-up
 * pipe. */
struct db_listen *db_listen_new(const char *url);

/* Starts the thread; 0, or -1 when it cannot be created. */
int db_listen_start(struct db_listen *l);

/* Subscribes to channel ([a-z0-9_], 63 bytes at most). on_state may be NULL. Returns the
 * subscription's id (>= 0), or -1 on a bad channel name or when DB_LISTEN_MAX are taken. */
int db_listen_subscribe(struct db_listen *l, const char *channel, db_notify_fn on_notify,
                        db_listen_state_fn on_state, void *arg);

/* Ends a subscription (the channel stays LISTENed until the connection is next
 * reopened; its notifications are dropped). A negative id or NULL l is harmless. */
void db_listen_unsubscribe(struct db_listen *l, int id);

/* Stops the thread (prompt, except during a connection attempt: at most the connect
 * timeout of db.c), closes the connection and frees l. NULL is harmless. */
void db_listen_free(struct db_listen *l);

#endif
