/* fuzz_mdb_url: feeds the input (made a C string) to mdb_url_parse and checks what
 * mdb_connect relies on: on success the host is set and NUL-free, the port in 1..65535,
 * every decoded component no longer than the input, timeouts in 1..3600 when given, and
 * the redacted form does not depend on the password; on failure the struct is empty and the
 * error names MYSQL_URL. Nothing is kept between inputs. */
#include "db/mdb_url.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static void check_len(const char *s, size_t size) {
    if (s) CHECK(strlen(s) <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct mdb_url u;
    char err[256];
    if (mdb_url_parse(s, &u, err, sizeof err) != 0) {
        CHECK(strncmp(err, "MYSQL_URL: ", 11) == 0);
        CHECK(u.host == NULL && u.user == NULL && u.password == NULL && u.database == NULL);
        free(s);
        return 0;
    }
    CHECK(u.host && u.host[0]);
    CHECK(u.port >= 1 && u.port <= 65535);
    check_len(u.host, size > 9 ? size : 9);
    check_len(u.user, size);
    check_len(u.password, size);
    check_len(u.database, size);
    check_len(u.ssl_ca, size);
    CHECK(u.connect_timeout <= 3600 && u.read_timeout <= 3600 && u.write_timeout <= 3600);
    CHECK(u.ssl_mode >= MDB_SSL_UNSET && u.ssl_mode <= MDB_SSL_VERIFY_IDENTITY);
    /* the redacted form does not depend on the password's value */
    char red[8192], red2[8192];
    mdb_url_redacted(&u, red, sizeof red);
    char *pw = u.password;
    char other[] = "x";
    if (pw) u.password = other;
    mdb_url_redacted(&u, red2, sizeof red2);
    u.password = pw;
    CHECK(strcmp(red, red2) == 0);
    mdb_url_cleanup(&u);
    free(s);
    return 0;
}
