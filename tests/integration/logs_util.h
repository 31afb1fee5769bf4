/* logs_util: what the machine-log integration tests share — a migrated database with one
 * centre, a LOG_ROOT folder, writing LOG files, running `sluice jobs run
 * machine_logs.ingest` and reading single values back with SQL.
 *
 * Memory: strings returned are malloc'd, freed by the caller; struct logs_env owns its
 * database and folder (logs_env_stop). */
#ifndef SLUICE_TEST_LOGS_UTIL_H
#define SLUICE_TEST_LOGS_UTIL_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>

struct logs_env {
    struct test_db db;
    char *root;       /* LOG_ROOT */
    char folder[256]; /* the centre's folder under root: "<CODE> (PVC)" */
    char code[32];
    char env_root[4200];
    const char *env[8];
};

/* A fresh migrated database with centre `code` (folder "<code> (PVC)", Europe/Paris) and
 * an empty LOG_ROOT holding its folder. extra_env: more KEY=VALUE for every run (may be
 * NULL; at most 4). 0 or -1. */
int logs_env_start(struct logs_env *e, const char *code, const char *const *extra_env);
void logs_env_stop(struct logs_env *e);

/* Writes (or appends to) a file of the centre's folder. 0 or -1. */
int logs_write(struct logs_env *e, const char *name, const char *data, size_t len, bool append);

/* `sluice jobs run machine_logs.ingest --arg centre=<code>` (+ more "--arg", "k=v" pairs,
 * NULL-terminated); its exit status; *out (may be NULL) gets its output. */
int logs_ingest(struct logs_env *e, char **out, ...);

/* The first column of the first row of sql (malloc'd; "" when no row), or NULL. */
char *logs_q(struct logs_env *e, const char *sql);
/* Same as a long long (-1 on error). */
long long logs_qi(struct logs_env *e, const char *sql);

#endif
