/* principal_listener: sluice_user_changed → principal_cache_invalidate; see
 * principal_listener.h. The callbacks run on the LISTEN loop's thread. */
#include "auth/principal_listener.h"

#include "auth/principal_cache.h"
#include "core/log.h"
#include "db/db_listen.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define CHANNEL "sluice_user_changed"

/* The payload is the user's id. */
static void on_notify(const char *channel, const char *payload, void *arg) {
    (void)channel;
    (void)arg;
    char *end = NULL;
    long long id = strtoll(payload, &end, 10);
    if (end != payload && *end == '\0' && id > 0)
        principal_cache_invalidate((int64_t)id);
    else
        principal_cache_flush(); /* not ours to parse: forget everything */
}

static void on_state(bool listening, void *arg) {
    (void)arg;
    if (listening) {
        /* From here on every change is heard; what happened before is forgotten. */
        principal_cache_suspend(false);
        principal_cache_flush();
        log_event(LOG_DEBUG, "user change listener: listening", (char *)NULL);
    } else {
        principal_cache_suspend(true);
        log_event(LOG_WARN, "user change listener: disconnected; caching paused", (char *)NULL);
    }
}

int principal_listener_attach(struct db_listen *loop) {
    principal_cache_suspend(true); /* until LISTEN holds */
    return db_listen_subscribe(loop, CHANNEL, on_notify, on_state, NULL);
}

void principal_listener_detach(struct db_listen *loop, int id) {
    db_listen_unsubscribe(loop, id);
    principal_cache_suspend(true);
}
