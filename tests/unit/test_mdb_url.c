/* Unit tests of db/mdb_url.c: the MYSQL_URL parser — components, percent-decoding,
 * IPv6 hosts, defaults, TLS and timeout parameters, and refusals whose error text names
 * the problem and never the password. Every parsed URL is cleaned up by its test. */
#include "db/mdb_url.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void full_url(void **state) {
    (void)state;
    struct mdb_url u;
    char err[256];
    assert_int_equal(mdb_url_parse("mysql://reader:s3cret@erp.example.com:3307/erp_prod?"
                                   "ssl-mode=VERIFY_CA&ssl-ca=%2Fetc%2Fca.pem&connect-timeout=5",
                                   &u, err, sizeof err),
                     0);
    assert_string_equal(u.user, "reader");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "erp.example.com");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.database, "erp_prod");
    assert_int_equal(u.ssl_mode, MDB_SSL_VERIFY_CA);
    assert_string_equal(u.ssl_ca, "/etc/ca.pem");
    assert_int_equal(u.connect_timeout, 5);
    assert_int_equal(u.read_timeout, 0);
    mdb_url_cleanup(&u);
    assert_null(u.user);
}

static void defaults(void **state) {
    (void)state;
    struct mdb_url u;
    char err[256];
    assert_int_equal(mdb_url_parse("mysql://", &u, err, sizeof err), 0);
    assert_null(u.user);
    assert_null(u.password);
    assert_string_equal(u.host, MDB_URL_DEFAULT_HOST);
    assert_int_equal(u.port, 3306);
    assert_null(u.database);
    assert_int_equal(u.ssl_mode, MDB_SSL_UNSET);
    mdb_url_cleanup(&u);

    assert_int_equal(mdb_url_parse("MariaDB://bob@db/", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "bob");
    assert_null(u.password);
    assert_string_equal(u.host, "db");
    assert_null(u.database);
    mdb_url_cleanup(&u);

    assert_int_equal(mdb_url_parse("mysql://bob:@db", &u, err, sizeof err), 0);
    assert_string_equal(u.password, ""); /* an empty password, given */
    mdb_url_cleanup(&u);
}

static void percent_decoding(void **state) {
    (void)state;
    struct mdb_url u;
    char err[256];
    assert_int_equal(
        mdb_url_parse("mysql://us%40er:p%3Aa%2Fs%25s%20w@h/d%C3%A9p%C3%B4t", &u, err, sizeof err),
        0);
    assert_string_equal(u.user, "us@er");
    assert_string_equal(u.password, "p:a/s%s w");
    assert_string_equal(u.database, "d\xC3\xA9p\xC3\xB4t");
    mdb_url_cleanup(&u);
    /* a raw '@' in the password: the last '@' ends the user info */
    assert_int_equal(mdb_url_parse("mysql://u:p@ss@host:1", &u, err, sizeof err), 0);
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "host");
    assert_int_equal(u.port, 1);
    mdb_url_cleanup(&u);
}

static void ipv6(void **state) {
    (void)state;
    struct mdb_url u;
    char err[256];
    assert_int_equal(mdb_url_parse("mysql://u@[::1]:3310/x", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 3310);
    mdb_url_cleanup(&u);
    assert_int_equal(mdb_url_parse("mysql://[fe80::1%25eth0]", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "fe80::1%eth0");
    assert_int_equal(u.port, 3306);
    char red[256];
    assert_string_equal(mdb_url_redacted(&u, red, sizeof red), "mysql://[fe80::1%eth0]:3306/");
    mdb_url_cleanup(&u);
}

struct bad {
    const char *url;
    const char *says;
};

static void refusals(void **state) {
    (void)state;
    static const struct bad cases[] = {
        {"postgresql://u@h/d", "must start with mysql://"},
        {"mysql://u:pw@h:0/d", "port must be a number"},
        {"mysql://u:pw@h:65536/d", "port must be a number"},
        {"mysql://u:pw@h:/d", "port must be a number"},
        {"mysql://u:pw@h:3x/d", "port must be a number"},
        {"mysql://u:pw@::1/d", "IPv6 host must be written in brackets"},
        {"mysql://u:pw@[::1/d", "closing ']'"},
        {"mysql://u:pw@[]/d", "empty"},
        {"mysql://u:pw@[::1]x/d", "only ':port'"},
        {"mysql://u:pw@h/a/b", "database name holds a '/'"},
        {"mysql://u:pw@h/d?ssl-mode=sometimes", "ssl-mode must be"},
        {"mysql://u:pw@h/d?sslmode=required", "unknown parameter 'sslmode'"},
        {"mysql://u:pw@h/d?ssl-mode=required&ssl-mode=disabled", "given twice"},
        {"mysql://u:pw@h/d?ssl-ca=", "ssl-ca is empty"},
        {"mysql://u:pw@h/d?connect-timeout=0", "connect-timeout must be"},
        {"mysql://u:pw@h/d?read-timeout=99999", "read-timeout must be"},
        {"mysql://u:pw@h/d?ssl-mode", "has no '=value'"},
        {"mysql://u:pw@h/d?ssl-mode=required&&b=2", "empty parameter"},
        {"mysql://u:pw@h/d?ssl-mode=required&", "ends with '&'"},
        {"mysql://u:pw@h/d#frag", "'#'"},
        {"mysql://u:pw@h o/d", "space or control character"},
        {"mysql://u:pw@h/d%zz", "database name holds a '%' not followed"},
        {"mysql://u:pw@h/d%00", "NUL"},
        {"mysql://u%2:pw@h/d", "user name holds a '%'"},
        {"mysql://u@h!/d", "character not allowed"},
        {NULL, "is not set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mdb_url u;
        char err[256];
        if (mdb_url_parse(cases[i].url, &u, err, sizeof err) != -1)
            fail_msg("accepted %s", cases[i].url);
        if (!strstr(err, cases[i].says))
            fail_msg("%s: '%s' does not say '%s'", cases[i].url, err, cases[i].says);
        assert_non_null(strstr(err, "MYSQL_URL"));
        assert_null(u.host);
    }
}

static void password_never_in_errors(void **state) {
    (void)state;
    static const char *const urls[] = {
        "mysql://u:TOPSECRET@h:99999/d",       "mysql://u:TOPSECRET%zz@h/d",
        "mysql://u:TOPSECRET@h/d?TOPSECRET=1", "mysql://u:TOPSECRET@h/d?ssl-mode=TOPSECRET",
        "mysql://u:TOPSECRET@[::1/d",          "mysql://u:TOPSECRET@h x/d",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        struct mdb_url u;
        char err[256];
        assert_int_equal(mdb_url_parse(urls[i], &u, err, sizeof err), -1);
        if (strstr(err, "TOPSECRET")) {
            /* only the parameter name may echo, and only when it is not the password */
            assert_true(i == 2);
        }
    }
    struct mdb_url u;
    char err[256], red[256];
    assert_int_equal(
        mdb_url_parse("mysql://u:TOPSECRET@h/d?ssl-mode=required", &u, err, sizeof err), 0);
    assert_string_equal(mdb_url_redacted(&u, red, sizeof red),
                        "mysql://u:***@h:3306/d?ssl-mode=required");
    mdb_url_cleanup(&u);
}

static void ssl_mode_names(void **state) {
    (void)state;
    enum mdb_ssl_mode m;
    assert_int_equal(mdb_ssl_mode_parse("verify_identity", &m), 0);
    assert_int_equal(m, MDB_SSL_VERIFY_IDENTITY);
    assert_int_equal(mdb_ssl_mode_parse("Disabled", &m), 0);
    assert_int_equal(m, MDB_SSL_DISABLED);
    assert_int_equal(mdb_ssl_mode_parse("", &m), -1);
    assert_int_equal(mdb_ssl_mode_parse("verify-everything-please", &m), -1);
    assert_string_equal(mdb_ssl_mode_name(MDB_SSL_REQUIRED), "required");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_url),         cmocka_unit_test(defaults),
        cmocka_unit_test(percent_decoding), cmocka_unit_test(ipv6),
        cmocka_unit_test(refusals),         cmocka_unit_test(password_never_in_errors),
        cmocka_unit_test(ssl_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
