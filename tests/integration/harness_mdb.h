/* harness_mdb: what integration tests need from the real MariaDB that scripts/test
 * starts (SLUICE_TEST_MYSQL_ADMIN_URL, root over TCP): a throwaway database per test,
 * with or without a read-only account, statements and SQL files run on it, and a way to
 * kill another session's connection (for lost-connection faults).
 *
 * Built on db/mdb.h (sluice_core). A struct test_mdb is a plain value; testmdb_drop
 * drops its database and account. Databases a failed test left behind are dropped
 * at exit (atexit). Strings returned as char * are malloc'd, owned by the caller. */
#ifndef SLUICE_TEST_HARNESS_MDB_H
#define SLUICE_TEST_HARNESS_MDB_H

#include <stdbool.h>

struct test_mdb {
    char name[64];        /* sluice_mtest_<pid>_<n> */
    char url[512];        /* root URL on this database */
    char reader_url[512]; /* a SELECT-only account on it (sluice_r_<pid>_<n>) */
    char reader[64];
    char host[64];
    unsigned port;
};

/* The admin URL, or NULL when the tests have no MariaDB (then skip: exit 77). Borrowed. */
const char *testmdb_admin_url(void);

/* Creates a fresh database (latin1 default, as legacy ERPs are) and a read-only account
 * on it; 0 or -1 (message on stderr). */
int testmdb_create(struct test_mdb *db);
/* Drops the database and the account; harmless when never created. */
void testmdb_drop(struct test_mdb *db);

/* Runs SQL text (several statements separated by ';' allowed) on url; 0 or -1 (printed). */
int testmdb_exec(const char *url, const char *sql);
/* Runs the statements of a file; 0 or -1. */
int testmdb_exec_file(const char *url, const char *path);
/* First column of the first row of a query as a malloc'd string ("" when no rows; NULL
 * on error, printed). */
char *testmdb_query(const char *url, const char *sql);
/* Kills (KILL CONNECTION) every session connected to database name from another
 * connection, except the caller's; returns how many were killed, -1 on error. */
int testmdb_kill_sessions(const char *name);

#endif
