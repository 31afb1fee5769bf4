/* auth_setup: start-up of the authentication module from the configuration: checks the
 * keys (SECRET_KEY, SECRET_KEY_PREVIOUS, PII_KEY) and sets up the process-wide state
 * (password semaphore and dummy hash, PII keys). Called once before threads start. */
#ifndef SLUICE_AUTH_SETUP_H
#define SLUICE_AUTH_SETUP_H

#include "auth/jwt.h"
#include "core/config.h"

#include <stdbool.h>
#include <stddef.h>

/* need_jwt: SECRET_KEY is required (serve); the CLI's user commands need only PII_KEY.
 * On a bad key writes a message naming it to err and returns -1. */
int auth_setup(const struct config *c, bool need_jwt, char *err, size_t errlen);

/* JWT settings borrowing the configuration's strings. */
struct jwt_settings auth_jwt_settings(const struct config *c);

#endif
