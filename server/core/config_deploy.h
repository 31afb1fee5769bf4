/* config_deploy: the keys of `.env` that docker-compose.yaml reads (sluice does not), so
 * that `.env.example` lists them with sluice's own keys, and the placeholder rule: the
 * secrets in `.env.example` are placeholders, which `serve` accepts only in local mode
 * (HTTP_HOST a loopback address). Every string here is static or borrowed. */
#ifndef SLUICE_CONFIG_DEPLOY_H
#define SLUICE_CONFIG_DEPLOY_H

#include "core/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Marks every placeholder secret of `.env.example` (compared without regard to case). */
#define CONFIG_PLACEHOLDER_MARK "change-me"

struct config_deploy_key {
    const char *name;
    const char *example; /* the value written to .env.example */
    bool secret;         /* a placeholder here is refused outside local mode */
    const char *help;
};

/* The compose-only keys; borrowed, static. */
const struct config_deploy_key *config_deploy_keys(size_t *count);

/* The value `.env.example` gives sluice's key name instead of its default (a value for
 * the compose deployment, or a placeholder secret), or NULL. Static. */
const char *config_example_value(const char *name);

/* Writes the compose section of `.env.example` (called by config_write_example). */
void config_deploy_write_example(FILE *out);

/* Whether HTTP_HOST is a loopback address (127.0.0.0/8, ::1, localhost): only this
 * machine can reach the API, so example secrets are tolerated. */
bool config_is_local(const struct config *cfg);

/* Whether value is a placeholder: the example written to .env.example for its key
 * (example may be NULL) or any value containing CONFIG_PLACEHOLDER_MARK. An empty or
 * NULL value is not. */
bool config_is_placeholder(const char *value, const char *example);

/* The name of the first secret that still holds a placeholder: sluice's secret keys in
 * cfg, then the compose keys marked secret as lookup sees them (compose hands sluice the
 * whole `.env`). NULL when none does. */
const char *config_placeholder_key(const struct config *cfg, config_lookup_fn lookup, void *ud);

#endif
