/* principal_listener: keeps the principal cache right across processes — it subscribes
 * to `sluice_user_changed` on the process's LISTEN loop (db/db_listen.h); the trigger of
 * migrations/0005_user_change_notify.sql sends it whenever a users row is updated or
 * deleted, by any sluice copy or by hand, and the named user is dropped from the cache.
 * While LISTEN does not hold the cache is suspended (every request reads the user from
 * the database), and each (re)connection flushes the cache, since notifications may
 * have been missed meanwhile.
 *
 * Memory: nothing of its own; the loop is borrowed for the subscription's life. */
#ifndef SLUICE_PRINCIPAL_LISTENER_H
#define SLUICE_PRINCIPAL_LISTENER_H

struct db_listen;

/* Suspends the cache until LISTEN holds and subscribes; returns the subscription id,
 * or -1 when the loop has no room (the cache then stays suspended). */
int principal_listener_attach(struct db_listen *loop);
/* Ends the subscription and suspends the cache. A negative id is harmless. */
void principal_listener_detach(struct db_listen *loop, int id);

#endif
