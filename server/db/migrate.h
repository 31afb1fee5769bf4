/* migrate: numbered SQL files (`NNNN_name.sql`) applied in order, each in its own
 * transaction, recorded in schema_migrations with a SHA-256 checksum, under an
 * advisory lock so that two processes never migrate at once. A migration_set owns
 * its entries and their SQL text. */
#ifndef SLUICE_MIGRATE_H
#define SLUICE_MIGRATE_H

#include "db/db.h"

#include <stdio.h>

struct migration {
    int version;
    char *name; /* file name */
    char *sql;
    char checksum[65];
};

struct migration_set {
    struct migration *items;
    size_t n;
};

/* Reads dir; entries sorted by version. Returns -1 and err on a bad or duplicate file
 * name (anything ending in .sql that isn't NNNN_name.sql). */
int migrate_scan(const char *dir, struct migration_set *set, char *err, size_t errlen);
void migrate_set_cleanup(struct migration_set *set);

/* Applies every pending migration. Refuses (-1, err) when an applied file changed or
 * an applied version is unknown to set. log each applied file. */
int migrate_apply(struct db *db, const struct migration_set *set, char *err, size_t errlen);

/* Prints applied and pending migrations to out; returns the number pending, -1 on error. */
int migrate_status(struct db *db, const struct migration_set *set, FILE *out, char *err,
                   size_t errlen);

/* 0 when every migration of set is applied with the same checksum; otherwise -1 with a
 * reason in err (for /readyz). */
int migrate_check_current(struct db *db, const struct migration_set *set, char *err, size_t errlen);

#endif
