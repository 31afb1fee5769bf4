/* logs_util: shared set-up of the machine-log integration tests (see logs_util.h). */
#include "logs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int logs_env_start(struct logs_env *e, const char *code, const char *const *extra_env) {
    memset(e, 0, sizeof *e);
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->folder, sizeof e->folder, "%s (PVC)", code);
    e->root = make_temp_dir("sluice-logs");
    if (!e->root || testdb_create(&e->db) != 0) return -1;
    snprintf(e->env_root, sizeof e->env_root, "LOG_ROOT=%s", e->root);
    size_t n = 0;
    e->env[n++] = e->env_root;
    for (size_t i = 0; extra_env && extra_env[i] && n < 6; i++) e->env[n++] = extra_env[i];
    e->env[n] = NULL;
    static const char *const migrate[] = {"migrate", NULL};
    char *out = NULL;
    int rc = run_sluice_cli(e->db.url, migrate, e->env, &out);
    if (rc != 0) fprintf(stderr, "migrate: %d %s\n", rc, out ? out : "");
    free(out);
    if (rc != 0) return -1;
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO centre_usinage (code, nom, type_cu, log_folder) VALUES ('%s', 'Centre "
             "%s', 'PVC', '%s') RETURNING id",
             code, code, e->folder);
    char *id = testdb_query(e->db.url, sql);
    if (!id) return -1;
    free(id);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", e->root, e->folder);
    return mkdir(dir, 0755) == 0 ? 0 : -1;
}

void logs_env_stop(struct logs_env *e) {
    testdb_drop(&e->db);
    if (e->root) remove_tree(e->root);
    free(e->root);
    e->root = NULL;
}

int logs_write(struct logs_env *e, const char *name, const char *data, size_t len, bool append) {
    char path[4600];
    snprintf(path, sizeof path, "%s/%s/%s", e->root, e->folder, name);
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, data, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int logs_ingest(struct logs_env *e, char **out, ...) {
    const char *args[24];
    char centre[64];
    snprintf(centre, sizeof centre, "centre=%s", e->code);
    size_t n = 0;
    args[n++] = "jobs";
    args[n++] = "run";
    args[n++] = "machine_logs.ingest";
    args[n++] = "--arg";
    args[n++] = centre;
    va_list ap;
    va_start(ap, out);
    const char *a;
    while (n < 22 && (a = va_arg(ap, const char *)) != NULL) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char *o = NULL;
    int rc = run_sluice_cli(e->db.url, args, e->env, &o);
    if (rc != 0) fprintf(stderr, "ingest exited %d:\n%s\n", rc, o ? o : "");
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

char *logs_q(struct logs_env *e, const char *sql) { return testdb_query(e->db.url, sql); }

long long logs_qi(struct logs_env *e, const char *sql) {
    char *v = testdb_query(e->db.url, sql);
    if (!v) return -1;
    long long n = *v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}
