/* mdb_url: a pure parser of MYSQL_URL, the ERP's MariaDB/MySQL address:
 *
 *   mysql://[user[:password]@]host[:port][/database][?key=value&...]
 *
 * (`mariadb://` is accepted too). user, password, database and query values are
 * percent-decoded; an IPv6 host is written in brackets (`[::1]:3306`). Defaults: host
 * 127.0.0.1, port 3306, no user (libmariadb then uses the login name), no password, no
 * database. Query keys: ssl-mode (disabled, preferred, required, verify-ca,
 * verify-identity; `_` and case are ignored), ssl-ca (a CA file), ssl-capath,
 * ssl-cert, ssl-key, connect-timeout, read-timeout, write-timeout (seconds, 1..3600).
 * An unknown key is an error (a typo must not silently weaken TLS).
 *
 * No I/O. Error texts name the part of the URL that is wrong and never contain the
 * password. A struct mdb_url owns its strings (mdb_url_cleanup frees them; it accepts a
 * zeroed or half-filled struct). */
#ifndef SLUICE_MDB_URL_H
#define SLUICE_MDB_URL_H

#include <stdbool.h>
#include <stddef.h>

#define MDB_URL_DEFAULT_HOST "127.0.0.1"
#define MDB_URL_DEFAULT_PORT 3306
#define MDB_URL_MAX_LEN 4096

enum mdb_ssl_mode {
    MDB_SSL_UNSET, /* not given: the caller's default applies */
    MDB_SSL_DISABLED,
    MDB_SSL_PREFERRED,
    MDB_SSL_REQUIRED,
    MDB_SSL_VERIFY_CA,
    MDB_SSL_VERIFY_IDENTITY,
};

struct mdb_url {
    char *user;     /* NULL when absent */
    char *password; /* NULL when absent; never printed */
    char *host;     /* never NULL after a successful parse; IPv6 without brackets */
    unsigned port;
    char *database; /* NULL when absent or empty */
    enum mdb_ssl_mode ssl_mode;
    char *ssl_ca, *ssl_capath, *ssl_cert, *ssl_key;        /* NULL when absent */
    unsigned connect_timeout, read_timeout, write_timeout; /* seconds; 0: not given */
};

/* Parses url into *out (zeroed first). 0, or -1 with err ("MYSQL_URL: <what>") and *out
 * left empty. */
int mdb_url_parse(const char *url, struct mdb_url *out, char *err, size_t errlen);
void mdb_url_cleanup(struct mdb_url *u);

/* "disabled", "preferred", ... ("unset" for MDB_SSL_UNSET). Static. */
const char *mdb_ssl_mode_name(enum mdb_ssl_mode m);
/* Parses a mode name (case and `-`/`_` ignored); 0 or -1. */
int mdb_ssl_mode_parse(const char *s, enum mdb_ssl_mode *out);

/* The URL without its password (`mysql://user:***@host:port/db?...`), for logs; written
 * into buf (truncated to fit). Returns buf. */
char *mdb_url_redacted(const struct mdb_url *u, char *buf, size_t len);

#endif
