/* user_cmd: `sluice user create|passwd|list` — manage users from the command line
 * (e.g. the first admin, or a lost admin password). Passwords are read from standard
 * input (asked twice without echo on a terminal) or from the first line of a file
 * (--password-file), never from arguments (visible in ps).
 * Every change is audited with source "cli". Buffers holding passwords are wiped. */
#include "app.h"
#include "auth/audit.h"
#include "auth/auth_setup.h"
#include "auth/password.h"
#include "auth/role.h"
#include "auth/user_store.h"
#include "cli/commands.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_INPUT_MAX 8192

static const char usage[] =
    "usage: sluice user create USERNAME [--role admin|operator|viewer] [--email ADDRESS]\n"
    "                          [--full-name NAME] [--password-file FILE]\n"
    "       sluice user passwd USERNAME [--password-file FILE]\n"
    "       sluice user list\n\n"
    "create adds a user (role viewer unless --role says otherwise); passwd sets a new\n"
    "password; list prints id, username, role, enabled and creation time of every user.\n"
    "The password is the first line of FILE with --password-file; otherwise it is read\n"
    "from standard input: asked twice without echo on a terminal, else the first line\n"
    "(e.g. `printf '%s\\n' \"$PW\" | sluice user create alice`). Passwords are 12 to 1024\n"
    "characters. Uses DATABASE_URL and PII_KEY.";

/* Reads one line of in into buf without its newline; echo off on a terminal. -1 at EOF. */
static int read_line(FILE *in, const char *prompt, char *buf, size_t cap, size_t *len) {
    bool tty = in == stdin && isatty(STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        tcgetattr(STDIN_FILENO, &saved);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)cap, in);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (!got) return -1;
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    *len = n;
    return 0;
}

/* Reads a new password (from file, or stdin when NULL), checks it and hashes it into
 * hash. 0 or -1 (message printed). */
static int new_password_hash(const char *file, char hash[PASSWORD_HASH_BYTES]) {
    char pw[PASSWORD_INPUT_MAX], again[PASSWORD_INPUT_MAX];
    size_t len = 0, len2 = 0;
    int rc = -1;
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "sluice user: cannot open the password file %s\n", file);
        return -1;
    }
    bool tty = !file && isatty(STDIN_FILENO);
    if (read_line(in, "New password: ", pw, sizeof pw, &len) != 0) {
        fprintf(stderr, "sluice user: no password in %s\n", file ? file : "standard input");
    } else if (tty && (read_line(in, "Again: ", again, sizeof again, &len2) != 0 || len != len2 ||
                       sodium_memcmp(pw, again, len) != 0)) {
        fputs("sluice user: the passwords differ\n", stderr);
    } else {
        const char *why = password_check_rules(pw, len);
        if (why)
            fprintf(stderr, "sluice user: %s\n", why);
        else if (password_hash(pw, len, hash) != 0)
            fputs("sluice user: the password could not be hashed (out of memory?)\n", stderr);
        else
            rc = 0;
    }
    if (file) fclose(in);
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(again, sizeof again);
    return rc;
}

static int audit_cli(struct db *db, const char *action, int64_t id, json_t *details) {
    char target[32];
    snprintf(target, sizeof target, "user:%lld", (long long)id);
    json_object_set_new(details, "source", json_string("cli"));
    struct audit_entry e = {.action = action, .target = target, .details = details};
    return audit_write(db, &e);
}

struct create_tx {
    struct user_new in;
    int64_t id;
};

static int create_tx(struct db *db, void *arg) {
    struct create_tx *t = arg;
    int rc = user_store_create(db, &t->in, &t->id);
    if (rc != USER_OK) return rc;
    json_t *details =
        json_pack("{s:s,s:s}", "username", t->in.username, "role", role_name(t->in.role));
    return audit_cli(db, "user.create", t->id, details) == 0 ? USER_OK : USER_ERROR;
}

static int report(struct db *db, int rc, const char *username) {
    switch (rc) {
    case USER_OK: return 0;
    case USER_NOT_FOUND: fprintf(stderr, "sluice user: no user named \"%s\"\n", username); break;
    case USER_TAKEN_USERNAME:
        fprintf(stderr, "sluice user: the username \"%s\" is taken (usernames ignore case)\n",
                username);
        break;
    case USER_TAKEN_EMAIL:
        fputs("sluice user: another user has this email address\n", stderr);
        break;
    case USER_CRYPTO:
        fputs("sluice user: personal data could not be sealed or opened\n", stderr);
        break;
    default: fprintf(stderr, "sluice user: database error: %s\n", db_last_error(db)); break;
    }
    return 1;
}

static int user_create(struct db *db, int argc, char **argv) {
    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    struct create_tx t = {.in = {.username = argv[0], .role = ROLE_VIEWER}};
    const char *password_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val || (strcmp(opt, "--role") && strcmp(opt, "--email") &&
                     strcmp(opt, "--full-name") && strcmp(opt, "--password-file"))) {
            fprintf(stderr, "sluice user create: unknown option or missing value \"%s\"\n", opt);
            return 2;
        }
        i++;
        if (strcmp(opt, "--role") == 0 && (t.in.role = role_parse(val)) < 0) {
            fprintf(stderr, "sluice user create: --role must be admin, operator or viewer\n");
            return 2;
        }
        if (strcmp(opt, "--email") == 0) t.in.email = val;
        if (strcmp(opt, "--full-name") == 0) t.in.full_name = val;
        if (strcmp(opt, "--password-file") == 0) password_file = val;
    }
    const char *why = user_check_username(t.in.username);
    if (!why && t.in.email) why = user_check_email(t.in.email);
    if (!why && t.in.full_name) why = user_check_full_name(t.in.full_name);
    if (why) {
        fprintf(stderr, "sluice user create: %s\n", why);
        return 2;
    }
    char hash[PASSWORD_HASH_BYTES];
    if (new_password_hash(password_file, hash) != 0) return 1;
    t.in.password_hash = hash;
    int rc = db_transaction(db, create_tx, &t);
    sodium_memzero(hash, sizeof hash);
    if (report(db, rc, t.in.username) != 0) return 1;
    printf("created user %lld: %s (%s)\n", (long long)t.id, t.in.username, role_name(t.in.role));
    return 0;
}

static int user_passwd(struct db *db, int argc, char **argv) {
    const char *password_file =
        argc == 3 && strcmp(argv[1], "--password-file") == 0 ? argv[2] : NULL;
    if ((argc != 1 && !password_file) || argv[0][0] == '-') {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    struct user_login u;
    int rc = user_store_find_login(db, argv[0], &u);
    if (rc != USER_OK) return report(db, rc, argv[0]);
    char hash[PASSWORD_HASH_BYTES];
    if (new_password_hash(password_file, hash) != 0) return 1;
    rc = user_store_set_password_hash(db, u.id, hash);
    sodium_memzero(hash, sizeof hash);
    if (rc == USER_OK &&
        audit_cli(db, "user.update", u.id, json_pack("{s:[s]}", "changed", "password")) != 0)
        rc = USER_ERROR;
    if (report(db, rc, argv[0]) != 0) return 1;
    printf("password of %s changed\n", argv[0]);
    return 0;
}

static int user_list(struct db *db) {
    printf("%-8s %-32s %-9s %-8s %s\n", "ID", "USERNAME", "ROLE", "ENABLED", "CREATED");
    int64_t after = 0;
    for (;;) {
        json_t *items = json_array();
        bool more = false;
        int rc = user_store_list(db, after, 200, items, &more);
        if (rc != USER_OK) {
            json_decref(items);
            return report(db, rc, "");
        }
        size_t i;
        json_t *u;
        json_array_foreach(items, i, u) {
            printf("%-8lld %-32s %-9s %-8s %s\n",
                   (long long)json_integer_value(json_object_get(u, "id")),
                   json_string_value(json_object_get(u, "username")),
                   json_string_value(json_object_get(u, "role")),
                   json_is_true(json_object_get(u, "enabled")) ? "yes" : "no",
                   json_string_value(json_object_get(u, "created_at")));
            after = (int64_t)json_integer_value(json_object_get(u, "id"));
        }
        json_decref(items);
        if (!more) return 0;
    }
}

int cmd_user(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts(usage);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") && strcmp(sub, "passwd") && strcmp(sub, "list")) {
        fprintf(stderr, "sluice user: unknown subcommand \"%s\"\n%s\n", sub, usage);
        return 2;
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    char err[512];
    if (auth_setup(&a->config, false, err, sizeof err) != 0) {
        fprintf(stderr, "sluice: configuration error: %s\n", err);
        config_cleanup(&a->config);
        return 2;
    }
    struct db *db = db_new(a->config.database_url);
    int rc;
    if (!db_conn(db)) {
        fprintf(stderr, "sluice user: database unreachable: %s\n", db_last_error(db));
        rc = 1;
    } else if (strcmp(sub, "create") == 0) {
        rc = user_create(db, argc - 2, argv + 2);
    } else if (strcmp(sub, "passwd") == 0) {
        rc = user_passwd(db, argc - 2, argv + 2);
    } else {
        rc = argc == 2 ? user_list(db) : 2;
        if (rc == 2) fprintf(stderr, "sluice user list: takes no arguments\n");
    }
    db_free(db);
    config_cleanup(&a->config);
    return rc;
}
