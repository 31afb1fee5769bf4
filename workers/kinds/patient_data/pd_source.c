/* pd_source: which file the csv argument of patient_data.insert names — an upload id
 * (the upload's stored file) or a file name, which a queued job may read only under
 * IMPORT_DIR; sets L->path and L->source (the key of the load record); see pd_load.h.
 * Allocates nothing. */
#include "kinds/patient_data/pd_load.h"

#include "core/config.h"
#include "db/db.h"
#include "uploads/upload_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An upload id: 1 to 18 digits. */
static bool upload_id(const char *csv, int64_t *id) {
    size_t n = strlen(csv);
    if (n == 0 || n > 18 || csv[0] == '0') return false;
    for (size_t i = 0; i < n; i++)
        if (csv[i] < '0' || csv[i] > '9') return false;
    *id = strtoll(csv, NULL, 10);
    return true;
}

/* 0, -1 when the csv cannot be used (L->error), -2 on a database error. */
int pd_resolve_csv(struct pd_load *L, const char *csv) {
    const struct config *c = job_config(L->ctx);
    int64_t id;
    if (upload_id(csv, &id)) {
        struct upload_info info;
        int rc = upload_store_find(L->db, c, id, &info);
        if (rc < 0) {
            snprintf(L->error, sizeof L->error, "csv: reading upload %lld: %.300s", (long long)id,
                     db_last_error(L->db));
            return -2;
        }
        if (rc > 0) {
            snprintf(L->error, sizeof L->error,
                     "csv: no upload with id %lld (uploads are deleted after "
                     "UPLOAD_RETENTION_HOURS)",
                     (long long)id);
            return -1;
        }
        snprintf(L->path, sizeof L->path, "%s", info.path);
        snprintf(L->source, sizeof L->source, "upload:%lld", (long long)id);
        L->have_csv = true;
        return 0;
    }
    char candidate[PATH_MAX];
    bool foreground = job_id(L->ctx) == 0;
    if (csv[0] == '/' || foreground)
        snprintf(candidate, sizeof candidate, "%s", csv);
    else
        snprintf(candidate, sizeof candidate, "%s/%s", c->import_dir ? c->import_dir : ".", csv);
    if (!realpath(candidate, L->path)) {
        snprintf(L->error, sizeof L->error, "csv: cannot open %.300s: %.300s", candidate,
                 strerror(errno));
        return -1;
    }
    if (!foreground) {
        char root[PATH_MAX];
        size_t n;
        if (!c->import_dir || !realpath(c->import_dir, root) || (n = strlen(root)) == 0 ||
            strncmp(L->path, root, n) != 0 || (L->path[n] != '/' && root[n - 1] != '/')) {
            snprintf(
                L->error, sizeof L->error,
                "csv: %.300s is not under IMPORT_DIR (%.300s): a queued job reads only files there "
                "or uploads",
                csv, c->import_dir ? c->import_dir : "unset");
            return -1;
        }
    }
    struct stat sb;
    if (stat(L->path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(L->error, sizeof L->error, "csv: %.300s is not a regular file", L->path);
        return -1;
    }
    snprintf(L->source, sizeof L->source, "file:%s", L->path);
    L->have_csv = true;
    return 0;
}
