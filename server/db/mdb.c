/* mdb: see mdb.h. A struct mdb owns its MYSQL handle and its redacted URL. */
#include "db/mdb.h"

#include <errmsg.h>
#include <stdarg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct mdb {
    MYSQL *m;
    bool dead; /* the socket was shut down: no statement may be sent */
    char where[384];
};

static bool is_lost(unsigned code) {
    return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_CONN_HOST_ERROR ||
           code == CR_CONNECTION_ERROR || code == CR_UNKNOWN_HOST ||
           code == CR_SERVER_LOST_EXTENDED || code == ER_CONNECTION_KILLED ||
           code == ER_SERVER_SHUTDOWN;
}

void mdb_error_set(struct mdb_error *err, MYSQL *m, const char *where, const char *what) {
    if (!err) return;
    err->code = m ? mysql_errno(m) : 0;
    err->lost = is_lost(err->code);
    const char *msg = m && mysql_errno(m) ? mysql_error(m) : "unknown error";
    snprintf(err->text, sizeof err->text, "%s (%s): %s [MariaDB error %u]", what, where, msg,
             err->code);
}

static void error_text(struct mdb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void error_text(struct mdb_error *err, const char *fmt, ...) {
    if (!err) return;
    err->code = 0;
    err->lost = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

static int set_tls(MYSQL *m, const struct mdb_url *u, const struct mdb_opts *o,
                   struct mdb_error *err, const char *where) {
    enum mdb_ssl_mode mode = u->ssl_mode != MDB_SSL_UNSET ? u->ssl_mode : o->ssl_mode;
    if (mode == MDB_SSL_UNSET) mode = MDB_SSL_PREFERRED;
    const char *ca = u->ssl_ca ? u->ssl_ca : o->ssl_ca;
    if (mode == MDB_SSL_DISABLED) return 0;
    if ((mode == MDB_SSL_VERIFY_CA || mode == MDB_SSL_VERIFY_IDENTITY) && !ca && !u->ssl_capath) {
        error_text(err,
                   "connecting to %s: ssl-mode=%s needs a CA file (ssl-ca in the URL or "
                   "MYSQL_SSL_CA)",
                   where, mdb_ssl_mode_name(mode));
        return -1;
    }
    mysql_ssl_set(m, u->ssl_key, u->ssl_cert, ca, u->ssl_capath, NULL);
    my_bool enforce = mode != MDB_SSL_PREFERRED;
    my_bool verify = mode == MDB_SSL_VERIFY_CA || mode == MDB_SSL_VERIFY_IDENTITY;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    return 0;
}

struct mdb *mdb_connect(const char *url, const struct mdb_opts *opts, struct mdb_error *err) {
    static const struct mdb_opts none = {0};
    const struct mdb_opts *o = opts ? opts : &none;
    struct mdb_url u;
    char perr[256];
    if (mdb_url_parse(url, &u, perr, sizeof perr) != 0) {
        error_text(err, "%s", perr);
        return NULL;
    }
    struct mdb *c = calloc(1, sizeof *c);
    if (!c || !(c->m = mysql_init(NULL))) {
        error_text(err, "connecting: out of memory");
        free(c);
        mdb_url_cleanup(&u);
        return NULL;
    }
    mdb_url_redacted(&u, c->where, sizeof c->where);
    unsigned ct = u.connect_timeout    ? u.connect_timeout
                  : o->connect_timeout ? o->connect_timeout
                                       : 10;
    unsigned rt = u.read_timeout ? u.read_timeout : o->read_timeout ? o->read_timeout : 600;
    unsigned wt = u.write_timeout ? u.write_timeout : o->write_timeout ? o->write_timeout : 60;
    mysql_optionsv(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(c->m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(c->m, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_optionsv(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    my_bool no = 0;
    mysql_optionsv(c->m, MYSQL_OPT_RECONNECT, &no);
    mysql_optionsv(c->m, MYSQL_OPT_LOCAL_INFILE, &no);
    if (set_tls(c->m, &u, o, err, c->where) != 0) {
        mdb_close(c);
        mdb_url_cleanup(&u);
        return NULL;
    }
    if (!mysql_real_connect(c->m, u.host, u.user, u.password, u.database, u.port, NULL,
                            CLIENT_REMEMBER_OPTIONS)) {
        mdb_error_set(err, c->m, c->where, "connecting");
        if (err)
            err->lost = err->code != ER_ACCESS_DENIED_ERROR && err->code != ER_BAD_DB_ERROR &&
                        err->code != ER_DBACCESS_DENIED_ERROR;
        mdb_close(c);
        mdb_url_cleanup(&u);
        return NULL;
    }
    enum mdb_ssl_mode mode = u.ssl_mode != MDB_SSL_UNSET ? u.ssl_mode : o->ssl_mode;
    mdb_url_cleanup(&u);
    /* libmariadb 3.3 may fall back to plain text when the server offers no TLS: a mode
     * that requires TLS checks that it is really in use */
    if (mode >= MDB_SSL_REQUIRED && !mysql_get_ssl_cipher(c->m)) {
        error_text(err,
                   "connecting (%s): ssl-mode=%s but the server does not offer TLS "
                   "(no encrypted connection was made)",
                   c->where, mdb_ssl_mode_name(mode));
        mdb_close(c);
        return NULL;
    }
    return c;
}

void mdb_close(struct mdb *c) {
    if (!c) return;
    if (c->m) mysql_close(c->m);
    free(c);
}

/* Stops a streamed result without reading its remaining rows: the socket is shut down,
 * so libmariadb's skip of the rest fails at once; the connection is then unusable. */
static void abandon(struct mdb *c, MYSQL_RES *res) {
    int fd = (int)mysql_get_socket(c->m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    c->dead = true;
    mysql_free_result(res);
}

int mdb_stream(struct mdb *c, const char *sql, mdb_row_fn row_fn, void *arg,
               struct mdb_error *err) {
    return mdb_stream_columns(c, sql, NULL, row_fn, arg, err);
}

int mdb_stream_columns(struct mdb *c, const char *sql, mdb_columns_fn columns_fn, mdb_row_fn row_fn,
                       void *arg, struct mdb_error *err) {
    if (c->dead) {
        error_text(err, "querying %s: %s", c->where,
                   "the connection was closed after an earlier stop");
        if (err) err->lost = true;
        return -1;
    }
    if (mysql_real_query(c->m, sql, strlen(sql)) != 0) {
        mdb_error_set(err, c->m, c->where, "running the query");
        return -1;
    }
    MYSQL_RES *res = mysql_use_result(c->m);
    if (!res) {
        if (mysql_errno(c->m)) {
            mdb_error_set(err, c->m, c->where, "reading the result");
            return -1;
        }
        error_text(err, "running the query (%s): the statement returned no result set", c->where);
        return -1;
    }
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) {
        abandon(c, res);
        error_text(err, "reading the result (%s): out of memory", c->where);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) names[i] = fields[i].name;
    struct mdb_row row = {.ncols = n, .names = names};
    int rc = columns_fn ? columns_fn(arg, n, names) : 0;
    MYSQL_ROW r;
    while (rc == 0 && (r = mysql_fetch_row(res)) != NULL) {
        row.values = (const char *const *)r;
        row.lengths = mysql_fetch_lengths(res);
        rc = row_fn(arg, &row);
        row.index++;
        if (rc != 0) break;
    }
    free(names);
    if (rc != 0) {
        abandon(c, res);
        return rc;
    }
    if (mysql_errno(c->m)) {
        mdb_error_set(err, c->m, c->where, "reading the result");
        if (err) err->lost = true; /* a fetch error leaves the protocol mid-result */
        abandon(c, res);
        return -1;
    }
    mysql_free_result(res);
    return 0;
}

int mdb_exec(struct mdb *c, const char *sql, struct mdb_error *err) {
    if (c->dead || mysql_real_query(c->m, sql, strlen(sql)) != 0) {
        mdb_error_set(err, c->m, c->where, "running a statement");
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(c->m);
    if (res) mysql_free_result(res);
    if (mysql_errno(c->m)) {
        mdb_error_set(err, c->m, c->where, "running a statement");
        return -1;
    }
    return 0;
}

MYSQL *mdb_handle(struct mdb *c) { return c->m; }
unsigned long mdb_thread_id(struct mdb *c) { return mysql_thread_id(c->m); }
const char *mdb_where(const struct mdb *c) { return c->where; }
