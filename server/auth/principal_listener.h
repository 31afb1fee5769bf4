/* principal_listener: one thread with its own PostgreSQL connection that LISTENs on
 * `sluice_user_changed` (sent by the trigger of migrations/0005_user_change_notify.sql
 * whenever a users row is updated or deleted, by any sluice copy or by hand) and drops
 * the named user from the principal cache. While it is not connected the cache is
 * suspended (every request reads the user from the database), and each (re)connection
 * flushes the cache, since notifications may have been missed meanwhile.
 *
 * Memory: the struct is owned by the caller of start and freed by stop; the url is
 * copied. */
#ifndef SLUICE_PRINCIPAL_LISTENER_H
#define SLUICE_PRINCIPAL_LISTENER_H

struct principal_listener;

/* Starts the thread (it connects in the background); NULL when the thread or its pipe
 * cannot be created. */
struct principal_listener *principal_listener_start(const char *database_url);
/* Wakes the thread, joins it (prompt: it waits with poll on a wake-up pipe), frees l.
 * NULL is harmless. */
void principal_listener_stop(struct principal_listener *l);

#endif
