/* patient_data: the patient_data.insert kind — DashMed's insertion script as a job
 * (seeds/dashmed-patient-data-insertion.md; README "patient_data.insert").
 *
 * With a CSV (csv = an upload id or a file): a first pass checks the header (a wrong one
 * fails the job before anything is written), fingerprints the file, counts the cycles
 * (runs of rows with the same timestamp) and notes which parameters it holds; the
 * reference sets (patients, parameters, users) are fetched once; the second pass, from
 * the start or from where a resumed load stopped, writes every valid row, ignores (⊘)
 * rows whose patient, parameter or user does not exist, counts as errors (✗) rows that
 * cannot be read (each a job event naming its line), and with fill_values adds a
 * generated value, for every cycle and patient, of each parameter the file lacks.
 * Without a CSV it generates `cycles` cycles of every patient × parameter.
 * Paced (delay_seconds > 0): one cycle every delay_seconds, each in one statement.
 * Bulk (0): COPY in batches of PATIENT_DATA_BATCH_ROWS, each committed with the load's
 * position so resume=true (or a retry) continues after the last committed row.
 * Memory stays flat: one read buffer, one CSV record, one COPY buffer or one cycle. */
#include "kinds/kinds.h"
#include "kinds/patient_data/pd_csv.h"
#include "kinds/patient_data/pd_load.h"
#include "kinds/patient_data/pd_row.h"

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "job_ctx.h"
#include "uploads/upload_store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1 << 20)

static const struct job_arg args[] = {
    {"csv", JOB_ARG_STRING, false, 1, 4096,
     "the CSV: an upload id, or a file name under IMPORT_DIR (any path from `sluice jobs run`); "
     "absent: generate data"},
    {"fill_values", JOB_ARG_BOOL, false, 0, 0,
     "with a CSV, generate values of the parameters it lacks (default true)"},
    {"cycles", JOB_ARG_INT, false, 1, 100000000, "cycles to generate without a CSV (default 100)"},
    {"delay_seconds", JOB_ARG_NUMBER, false, 0, 86400,
     "seconds between cycles; 0 (default): bulk load through COPY"},
    {"timestamps", JOB_ARG_STRING, false, 3, 3,
     "now (stamp each cycle with the current time) or csv (keep the file's); default now when "
     "paced, csv in bulk"},
    {"seed", JOB_ARG_INT, false, 0, INT64_MAX / 2, "seed of the generated values"},
    {"time_zone", JOB_ARG_STRING, false, 1, 64,
     "time zone of the CSV's timestamps without offset (default SCHEDULE_TZ)"},
    {"resume", JOB_ARG_BOOL, false, 0, 0,
     "continue the last load of the same csv after its last committed row"},
    {"target", JOB_ARG_STRING, false, 5, 8,
     "postgres (default) or mysql (DashMed's own database at DASHMED_MYSQL_URL)"},
    {"created_by", JOB_ARG_INT, false, 1, INT64_MAX / 2,
     "user id of generated rows (default: the first enabled admin)"},
    {NULL, 0, false, 0, 0, NULL},
};

static const char *arg_str(const json_t *a, const char *name) {
    return json_string_value(json_object_get(a, name));
}

static int validate(const json_t *a, struct job_error *err) {
    const char *ts = arg_str(a, "timestamps"), *target = arg_str(a, "target");
    const char *field = NULL, *msg = NULL;
    if (ts && strcmp(ts, "now") != 0 && strcmp(ts, "csv") != 0) {
        field = "args.timestamps";
        msg = "must be now or csv";
    } else if (target && strcmp(target, "postgres") != 0 && strcmp(target, "mysql") != 0) {
        field = "args.target";
        msg = "must be postgres or mysql";
    } else if (!json_object_get(a, "csv") && ts && strcmp(ts, "csv") == 0) {
        field = "args.timestamps";
        msg = "csv needs a csv file (generated data is stamped now)";
    } else if (json_object_get(a, "csv") && json_object_get(a, "cycles")) {
        field = "args.cycles";
        msg = "applies only without csv (the file's timestamps make the cycles)";
    } else if (!json_object_get(a, "csv") && json_is_true(json_object_get(a, "resume"))) {
        field = "args.resume";
        msg = "needs csv (only a file load can be resumed)";
    } else if (target && strcmp(target, "mysql") == 0 &&
               json_is_true(json_object_get(a, "resume"))) {
        field = "args.resume";
        msg = "is only available with target postgres (the load record lives there)";
    }
    if (!field) return 0;
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* ---- small helpers ---------------------------------------------------------------- */

double pd_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t pd_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void load_cleanup(struct pd_load *L) {
    pd_refs_cleanup(&L->refs);
    free(L->param_in_csv);
    free(L->cycle_patients);
    free(L->cycle_creators);
    free(L->pending_errors);
    json_decref(L->error_rows);
    db_copy_buf_cleanup(&L->copy);
    free(L->a_pat.data);
    free(L->a_par.data);
    free(L->a_val.data);
    free(L->a_alert.data);
    free(L->a_by.data);
    free(L->a_arch.data);
}

static int add(struct pd_load *L, const struct pd_out *row) {
    L->batch.rows++;
    return L->mysql ? pd_mysql_add(L, row) : pd_pg_add(L, row);
}

static int commit(struct pd_load *L, const struct pd_pos *next, bool finished, const char *ts) {
    return L->mysql ? pd_mysql_commit(L) : pd_pg_commit(L, next, finished, ts);
}

static void note_error(struct pd_load *L, int64_t line, const char *why) {
    L->batch.errors++;
    if (json_array_size(L->error_rows) < PD_ERROR_ROWS_IN_RESULT)
        json_array_append_new(L->error_rows,
                              json_pack("{s:I,s:s}", "line", (json_int_t)line, "reason", why));
    if (L->npending_errors >= PD_ERROR_EVENTS_PER_BATCH) {
        L->errors_unlisted++;
        return;
    }
    struct pd_error_row *e = &L->pending_errors[L->npending_errors++];
    e->line = line;
    snprintf(e->why, sizeof e->why, "%.230s", why);
}

void pd_batch_committed(struct pd_load *L, int64_t rows_in) {
    struct pd_counts *b = &L->batch, *d = &L->done;
    int64_t ignored = b->ign_patient + b->ign_parameter + b->ign_user;
    d->rows += rows_in;
    d->filled += b->filled;
    d->ign_patient += b->ign_patient;
    d->ign_parameter += b->ign_parameter;
    d->ign_user += b->ign_user;
    d->errors += b->errors;
    d->cycles += b->cycles;
    job_count(L->ctx, rows_in, ignored, b->errors);
    job_progress(L->ctx, L->cycles_before + d->cycles, L->total_cycles, "cycles");
    if (job_id(L->ctx) == 0) /* foreground: queued jobs stored them with the batch */
        for (size_t i = 0; i < L->npending_errors; i++)
            job_event(L->ctx, LOG_WARN, "line %lld: %s", (long long)L->pending_errors[i].line,
                      L->pending_errors[i].why);
    L->npending_errors = 0;
    memset(b, 0, sizeof *b);
}

/* Sleeps until the monotonic time due, checking for cancellation; false if cancelled. */
static bool wait_until(struct pd_load *L, double due) {
    for (;;) {
        if (job_cancelled(L->ctx)) return false;
        double left = due - pd_mono();
        if (left <= 0) return true;
        if (left > 0.1) left = 0.1;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* timestamps=now: partitions up to a month ahead, renewed as time goes by. */
static int ensure_now_partitions(struct pd_load *L, int64_t now_us) {
    if (L->mysql || now_us < L->ensured_until_us) return 0;
    char from[64], to[64];
    pd_gen_time_text(now_us, 1, from);
    pd_gen_time_text(now_us + (int64_t)40 * 86400 * 1000000, 1, to);
    if (pd_pg_partitions(L, from, to) != 0) return -1;
    L->ensured_until_us = now_us + (int64_t)30 * 86400 * 1000000;
    return 0;
}

/* ---- cycles ---------------------------------------------------------------------------- */

static bool need_fill(const struct pd_load *L) {
    if (!L->fill || !L->have_csv) return false;
    for (size_t i = 0; i < L->refs.nparameters; i++)
        if (!L->param_in_csv[i]) return true;
    return false;
}

static int start_cycle(struct pd_load *L, int64_t key, const char *csv_ts, bool has_offset) {
    L->cycle_open = true;
    L->cycle_key = key;
    L->cycle_has_offset = has_offset;
    L->ncycle_patients = 0;
    if (L->ts_now) {
        int64_t now = pd_now_us();
        if (ensure_now_partitions(L, now) != 0) return -1;
        pd_gen_time_text(now, 1, L->cycle_ts);
    } else {
        snprintf(L->cycle_ts, sizeof L->cycle_ts, "%s", csv_ts);
    }
    return 0;
}

static int note_patient(struct pd_load *L, int32_t patient, int64_t created_by) {
    for (size_t i = 0; i < L->ncycle_patients; i++)
        if (L->cycle_patients[i] == patient) return 0;
    if (L->ncycle_patients == L->cap_cycle_patients) {
        size_t cap = L->cap_cycle_patients ? L->cap_cycle_patients * 2 : 16;
        int32_t *p = realloc(L->cycle_patients, cap * sizeof *p);
        if (!p) return -1;
        L->cycle_patients = p;
        int64_t *c = realloc(L->cycle_creators, cap * sizeof *c);
        if (!c) return -1;
        L->cycle_creators = c;
        L->cap_cycle_patients = cap;
    }
    L->cycle_patients[L->ncycle_patients] = patient;
    L->cycle_creators[L->ncycle_patients++] = created_by;
    return 0;
}

/* The generated rows of `patient` for every parameter that wanted[] selects. */
static int generate_rows(struct pd_load *L, int32_t patient, int64_t created_by, const bool *skip) {
    for (size_t p = 0; p < L->refs.nparameters; p++) {
        if (skip && skip[p]) continue;
        const struct pd_parameter *par = &L->refs.parameters[p];
        char value[24];
        pd_gen_value(&L->rng, par->min_cents, par->max_cents, value);
        struct pd_out row = {.patient = patient,
                             .parameter = par->id,
                             .value = value,
                             .ts = L->cycle_ts,
                             .ts_key = L->cycle_key,
                             .ts_has_offset = L->cycle_has_offset,
                             .created_by = created_by};
        if (add(L, &row) != 0) return -1;
        if (skip) L->batch.filled++;
    }
    return 0;
}

/* Ends the current cycle: fill, then (paced) wait for its turn and write it, or (bulk)
 * commit when the batch is full or this is the last. next: where the load stands after
 * it. */
static int end_cycle(struct pd_load *L, const struct pd_pos *next_in, bool last) {
    if (need_fill(L))
        for (size_t i = 0; i < L->ncycle_patients; i++)
            if (generate_rows(L, L->cycle_patients[i], L->cycle_creators[i], L->param_in_csv) != 0)
                return -1;
    L->batch.cycles++;
    L->cycle_open = false;
    struct pd_pos next = *next_in;
    next.cycles_done = L->cycles_before + L->done.cycles + L->batch.cycles;
    if (L->paced) {
        int64_t k = L->done.cycles;         /* cycles written by this run before this one */
        if (k == 0) L->t_start = pd_mono(); /* the schedule starts with the first write */
        if (k > 0 && !wait_until(L, L->t_start + (double)k * L->delay)) return 1;
        char ts[64];
        if (L->ts_now) {
            int64_t now = pd_now_us();
            if (ensure_now_partitions(L, now) != 0) return -1;
            pd_gen_time_text(now, 1, ts);
        } else {
            snprintf(ts, sizeof ts, "%s", L->cycle_ts);
        }
        return commit(L, &next, last, ts);
    }
    if (last || L->batch.rows >= L->batch_rows) return commit(L, &next, last, NULL);
    return 0;
}

/* ---- the file: scan, then load --------------------------------------------------------- */

struct scan {
    struct pd_load *L;
    bool header_seen, sorted;
    int64_t last_key, runs, rows, unsorted_line;
    int64_t min_local, max_local, min_utc, max_utc; /* keys: without / with an offset */
    bool any_local, any_utc;
};

static int scan_record(void *arg, const struct pdcsv_record *rec) {
    struct scan *s = arg;
    char why[512];
    if (!s->header_seen) {
        s->header_seen = true;
        if (!pdrow_header_ok(rec, why, sizeof why)) {
            snprintf(s->L->error, sizeof s->L->error, "%s", why);
            return 1;
        }
        return 0;
    }
    struct pdrow row;
    if (!pdrow_parse(rec, &row, why, sizeof why)) return 0;
    s->rows++;
    if (s->runs == 0 || row.ts_key != s->last_key) {
        if (s->runs && row.ts_key < s->last_key && s->sorted) {
            s->sorted = false;
            s->unsorted_line = rec->line;
        }
        s->runs++;
        s->last_key = row.ts_key;
    }
    if (row.has_offset) {
        if (!s->any_utc || row.ts_key < s->min_utc) s->min_utc = row.ts_key;
        if (!s->any_utc || row.ts_key > s->max_utc) s->max_utc = row.ts_key;
        s->any_utc = true;
    } else {
        if (!s->any_local || row.ts_key < s->min_local) s->min_local = row.ts_key;
        if (!s->any_local || row.ts_key > s->max_local) s->max_local = row.ts_key;
        s->any_local = true;
    }
    long p = pd_refs_parameter(&s->L->refs, row.parameter_id);
    if (p >= 0) s->L->param_in_csv[p] = true;
    return 0;
}

static int open_file(struct pd_load *L) {
    int fd = open(L->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        snprintf(L->error, sizeof L->error, "cannot open %.300s: %.300s", L->path, strerror(errno));
    return fd;
}

/* Reads the file from offset through the reader (fn for each record); hashes what it
 * reads when st is not NULL. The scan (bounded false) reads to the end and sets
 * L->file_size; the load (bounded true) reads exactly to L->file_size, so rows appended
 * since the scan are not loaded, and a file that shrank, or whose unterminated last line
 * grew, is an error, never a silent early end or a cut value. 0, 1 when fn stopped, -1 on a read
 * error (L->error). */
static int read_file(struct pd_load *L, int64_t offset, int64_t line, pdcsv_fn fn, void *arg,
                     crypto_generichash_state *st, bool bounded) {
    int fd = open_file(L);
    if (fd < 0) return -1;
    if (offset && lseek(fd, offset, SEEK_SET) != offset) {
        snprintf(L->error, sizeof L->error, "cannot seek %.300s to %lld: %.300s", L->path,
                 (long long)offset, strerror(errno));
        close(fd);
        return -1;
    }
    char *buf = malloc(READ_CHUNK);
    struct pdcsv r;
    pdcsv_init(&r, L->max_record, offset, line);
    int rc = buf ? 0 : -1;
    int64_t total = offset;
    char last = '\n'; /* the last byte read (from offset: a committed record ended there) */
    while (rc == 0) {
        size_t want = READ_CHUNK;
        if (bounded && L->file_size - total < (int64_t)want) want = (size_t)(L->file_size - total);
        ssize_t n = want ? read(fd, buf, want) : 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(L->error, sizeof L->error, "reading %.300s at byte %lld: %.300s", L->path,
                     (long long)total, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0 && bounded && total < L->file_size) {
            snprintf(L->error, sizeof L->error,
                     "%.300s shrank while it was being loaded: it ends at byte %lld, where the "
                     "first pass read %lld bytes",
                     L->path, (long long)total, (long long)L->file_size);
            rc = -1;
            break;
        }
        char more;
        if (n == 0 && bounded && last != '\n' && pread(fd, &more, 1, total) == 1) {
            /* The scan ended in a line without its end of line, and that line has grown
             * since: finishing it here would load a cut value. */
            snprintf(L->error, sizeof L->error,
                     "%.300s grew while it was being loaded, and the line that ended it at "
                     "byte %lld had no end of line: load it again once it is complete",
                     L->path, (long long)total);
            rc = -1;
            break;
        }
        if (n == 0) {
            rc = pdcsv_finish(&r, fn, arg);
            break;
        }
        last = buf[n - 1];
        total += n;
        if (st) crypto_generichash_update(st, (const unsigned char *)buf, (size_t)n);
        rc = pdcsv_feed(&r, buf, (size_t)n, fn, arg);
    }
    if (rc == -1 && !L->error[0]) snprintf(L->error, sizeof L->error, "out of memory");
    if (!bounded) L->file_size = total;
    pdcsv_cleanup(&r);
    free(buf);
    close(fd);
    return rc > 0 ? 1 : rc;
}

struct loader {
    struct pd_load *L;
    bool skip_header; /* reading from offset 0: the first record is the header */
    int64_t seen, end, next_line;
    int rc; /* -1 failed, 1 cancelled */
};

static int load_record(void *arg, const struct pdcsv_record *rec) {
    struct loader *ld = arg;
    struct pd_load *L = ld->L;
    ld->end = rec->end;
    ld->next_line = rec->next_line;
    if (ld->skip_header) {
        ld->skip_header = false;
        return 0;
    }
    if ((++ld->seen & 4095) == 0 && job_cancelled(L->ctx)) {
        ld->rc = 1;
        return 1;
    }
    char why[512];
    struct pdrow row;
    if (!pdrow_parse(rec, &row, why, sizeof why)) {
        note_error(L, rec->line, why);
        return 0;
    }
    if (L->cycle_open && row.ts_key != L->cycle_key) {
        struct pd_pos next = {.offset = rec->offset, .line = rec->line};
        int rc = end_cycle(L, &next, false);
        if (rc) {
            ld->rc = rc;
            return 1;
        }
    }
    if (!L->cycle_open && start_cycle(L, row.ts_key, row.timestamp, row.has_offset) != 0) {
        ld->rc = -1;
        return 1;
    }
    if (!pd_refs_has_patient(&L->refs, row.id_patient)) {
        L->batch.ign_patient++;
        return 0;
    }
    if (pd_refs_parameter(&L->refs, row.parameter_id) < 0) {
        L->batch.ign_parameter++;
        return 0;
    }
    if (!pd_refs_has_user(&L->refs, row.created_by)) {
        L->batch.ign_user++;
        return 0;
    }
    struct pd_out out = {.patient = row.id_patient,
                         .parameter = row.parameter_id,
                         .value = row.value,
                         .ts = L->ts_now ? L->cycle_ts : row.timestamp,
                         .ts_key = row.ts_key,
                         .ts_has_offset = row.has_offset,
                         .alert = row.alert_flag,
                         .archived = row.archived,
                         .created_by = row.created_by};
    if (add(L, &out) != 0 || (need_fill(L) && note_patient(L, row.id_patient, row.created_by))) {
        ld->rc = -1;
        return 1;
    }
    return 0;
}

/* ---- run ----------------------------------------------------------------------------- */

static struct db_stmt q_default_user =
    DB_STMT("SELECT id FROM users WHERE role = 'admin' AND enabled ORDER BY id LIMIT 1");

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
static int resolve_csv(struct pd_load *L, const char *csv) {
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

static json_t *result_json(struct pd_load *L, double elapsed) {
    struct pd_counts *d = &L->done;
    json_t *res = json_pack(
        "{s:I,s:I,s:I,s:{s:I,s:I,s:I},s:I,s:f,s:f,s:s,s:s,s:s,s:I}", "cycles",
        (json_int_t)d->cycles, "inserted", (json_int_t)d->rows, "filled", (json_int_t)d->filled,
        "ignored", "patient", (json_int_t)d->ign_patient, "parameter", (json_int_t)d->ign_parameter,
        "user", (json_int_t)d->ign_user, "errors", (json_int_t)d->errors, "duration_seconds",
        round(elapsed * 1000) / 1000, "rows_per_second",
        elapsed > 0 ? round((double)d->rows / elapsed * 10) / 10 : 0.0, "mode",
        L->paced ? "paced" : "bulk", "target", L->mysql ? "mysql" : "postgres", "timestamps",
        L->ts_now ? "now" : "csv", "cycles_total", (json_int_t)L->total_cycles);
    if (L->have_csv) {
        json_object_set_new(res, "csv", json_string(L->path));
        json_object_set_new(res, "started_at_line", json_integer(L->start.line));
        json_object_set_new(res, "error_rows", json_incref(L->error_rows));
    }
    return res;
}

static enum job_outcome finish(struct pd_load *L, enum job_outcome outcome, double t0) {
    if (outcome != JOB_SUCCEEDED) {
        if (L->mysql)
            pd_mysql_abort(L);
        else
            pd_pg_abort(L);
    }
    double elapsed = pd_mono() - t0;
    if (L->errors_unlisted)
        job_event(L->ctx, LOG_WARN, "%lld more error rows were not listed as events",
                  (long long)L->errors_unlisted);
    struct pd_counts *d = &L->done;
    job_event(L->ctx, outcome == JOB_SUCCEEDED ? LOG_INFO : LOG_WARN,
              "cycles: %lld, inserted: %lld (%lld filled), ignored: %lld (patient %lld, "
              "parameter %lld, user %lld), errors: %lld, duration: %.2fs, rate: %.1f insert/s",
              (long long)d->cycles, (long long)d->rows, (long long)d->filled,
              (long long)(d->ign_patient + d->ign_parameter + d->ign_user),
              (long long)d->ign_patient, (long long)d->ign_parameter, (long long)d->ign_user,
              (long long)d->errors, elapsed, elapsed > 0 ? (double)d->rows / elapsed : 0);
    if (outcome != JOB_SUCCEEDED && outcome != JOB_CANCELLED && L->error[0])
        job_set_error(L->ctx, "%s (%lld rows are in%s)", L->error, (long long)d->rows,
                      L->have_csv && !L->mysql ? "; resume=true continues after them" : "");
    job_set_result(L->ctx, result_json(L, elapsed));
    if (!L->mysql) pd_pg_session_end(L);
    if (L->mysql) pd_mysql_close(L);
    load_cleanup(L);
    free(L);
    return outcome;
}

static int load_refs(struct pd_load *L) {
    int rc = L->mysql ? pd_mysql_refs(L, &L->refs) : pd_refs_load_pg(L->db, &L->refs);
    if (rc != 0) {
        if (!L->error[0])
            snprintf(L->error, sizeof L->error, "reading patients, parameters and users: %.300s",
                     db_last_error(L->db));
        return -1;
    }
    char p[1024], q[1024], u[1024];
    pd_refs_describe(&L->refs, p, q, u, sizeof p);
    job_event(L->ctx, LOG_INFO, "%s", p);
    job_event(L->ctx, LOG_INFO, "%s", q);
    job_event(L->ctx, LOG_INFO, "%s", u);
    L->param_in_csv = calloc(L->refs.nparameters + 1, sizeof *L->param_in_csv);
    return L->param_in_csv ? 0 : -1;
}

static enum job_outcome run_generate(struct pd_load *L, double t0) {
    L->total_cycles = L->cycles_arg;
    int64_t rows = L->cycles_arg * (int64_t)L->refs.npatients * (int64_t)L->refs.nparameters;
    job_event(L->ctx, LOG_INFO,
              "no CSV: generating %lld cycles × %zu patients × %zu parameters = %lld rows",
              (long long)L->cycles_arg, L->refs.npatients, L->refs.nparameters, (long long)rows);
    job_progress(L->ctx, 0, L->total_cycles, "cycles");
    int64_t start_us = pd_now_us();
    if (!L->paced && !L->mysql) { /* bulk: one cycle a second, the last one now */
        char from[64], to[64];
        pd_gen_time_text(start_us - (L->cycles_arg - 1) * 1000000, 1, from);
        pd_gen_time_text(start_us, 1, to);
        if (pd_pg_partitions(L, from, to) != 0) return finish(L, JOB_RETRY, t0);
    }
    for (int64_t k = 0; k < L->cycles_arg; k++) {
        if (job_cancelled(L->ctx)) return finish(L, JOB_CANCELLED, t0);
        if (L->paced || L->ts_now) {
            if (L->paced) {
                if (start_cycle(L, k, NULL, false) != 0) return finish(L, JOB_FAILED, t0);
            } else {
                L->cycle_open = true;
                pd_gen_time_text(start_us - (L->cycles_arg - 1 - k) * 1000000, 1, L->cycle_ts);
            }
        }
        for (size_t i = 0; i < L->refs.npatients; i++)
            if (generate_rows(L, L->refs.patients[i], L->created_by, NULL) != 0)
                return finish(L, JOB_FAILED, t0);
        struct pd_pos next = {0};
        int rc = end_cycle(L, &next, k == L->cycles_arg - 1);
        if (rc) return finish(L, rc > 0 ? JOB_CANCELLED : JOB_FAILED, t0);
    }
    return finish(L, JOB_SUCCEEDED, t0);
}

static enum job_outcome run_file(struct pd_load *L, double t0) {
    struct scan s = {.L = L, .sorted = true};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof L->fingerprint);
    int rc = read_file(L, 0, 1, scan_record, &s, &st, false);
    crypto_generichash_final(&st, L->fingerprint, sizeof L->fingerprint);
    if (rc < 0) return finish(L, JOB_FAILED, t0);
    if (rc > 0 || !s.header_seen) {
        if (!s.header_seen)
            snprintf(L->error, sizeof L->error, "the file is empty: the header must be %.300s",
                     PDROW_HEADER);
        return finish(L, JOB_FAILED, t0); /* a wrong header: nothing written */
    }
    if (L->paced && !s.sorted) {
        snprintf(L->error, sizeof L->error,
                 "line %lld: timestamps go back in time; paced mode replays a file in time order "
                 "(sort it by timestamp, or load it in bulk with delay_seconds=0)",
                 (long long)s.unsorted_line);
        return finish(L, JOB_FAILED, t0);
    }
    L->total_cycles = s.runs;
    L->start = (struct pd_pos){.offset = 0, .line = 1};
    if (L->fill) {
        char missing[600] = "";
        size_t n = 0, count = 0;
        for (size_t i = 0; i < L->refs.nparameters; i++)
            if (!L->param_in_csv[i]) {
                count++;
                if (n < sizeof missing - 60)
                    n += (size_t)snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "",
                                          L->refs.parameters[i].id);
            }
        if (count)
            job_event(L->ctx, LOG_INFO,
                      "fill_values: generating values for %zu parameters missing from the CSV: %s",
                      count, missing);
    }
    if (!L->mysql) {
        bool found = false, finished = false;
        if (L->resume || job_attempt(L->ctx) > 1) {
            int r = pd_pg_load_record(L, &found, &finished);
            if (r == -2 && !L->resume && L->record_job == job_id(L->ctx) && L->start.offset > 0) {
                /* This job committed rows of the file, which has changed since: starting
                 * over would load them twice. */
                snprintf(L->error, sizeof L->error,
                         "%.300s changed between attempts of this job, which had already "
                         "loaded part of it: nothing more is loaded (no row twice); load the "
                         "new file with a new job",
                         L->path);
                return finish(L, JOB_FAILED, t0);
            } else if (r == -2 && !L->resume) { /* a retry of a load of another file version */
                found = false;
                L->error[0] = '\0';
            } else if (r != 0) {
                return finish(L, r == -2 ? JOB_FAILED : JOB_RETRY, t0);
            }
            /* A retry continues only its own load, never one of another job. */
            if (found && !L->resume && L->record_job != job_id(L->ctx)) {
                found = finished = false;
                L->start = (struct pd_pos){.offset = 0, .line = 1};
                L->cycles_before = 0;
            }
            if (found && finished) {
                job_event(L->ctx, LOG_INFO, "%s was loaded completely already: nothing to do",
                          L->path);
                job_progress(L->ctx, L->cycles_before, L->total_cycles, "cycles");
                return finish(L, JOB_SUCCEEDED, t0);
            }
            if (found && L->start.offset > 0)
                job_event(L->ctx, LOG_INFO,
                          "resuming at line %lld (byte %lld): %lld cycles were loaded before",
                          (long long)L->start.line, (long long)L->start.offset,
                          (long long)L->cycles_before);
        }
        if (!found || L->start.offset == 0) {
            L->start = (struct pd_pos){.offset = 0, .line = 1};
            L->cycles_before = 0;
            if (pd_pg_load_begin(L) != 0) return finish(L, JOB_RETRY, t0);
        }
        if (!L->ts_now) {
            char from[64], to[64];
            if (s.any_local) {
                pd_gen_time_text(s.min_local, 0, from);
                pd_gen_time_text(s.max_local, 0, to);
                if (pd_pg_partitions(L, from, to) != 0) return finish(L, JOB_RETRY, t0);
            }
            if (s.any_utc) {
                pd_gen_time_text(s.min_utc, 1, from);
                pd_gen_time_text(s.max_utc, 1, to);
                if (pd_pg_partitions(L, from, to) != 0) return finish(L, JOB_RETRY, t0);
            }
        }
    }
    job_event(L->ctx, LOG_INFO, "%lld cycles, %lld rows in the file; %s", (long long)s.runs,
              (long long)s.rows,
              L->paced   ? "paced"
              : L->mysql ? "bulk load (multi-row INSERT)"
                         : "bulk load (COPY)");
    if (L->paced)
        job_event(L->ctx, LOG_INFO, "delay between cycles: %.3gs; estimated time: %.0fs", L->delay,
                  (double)(s.runs - L->cycles_before) * L->delay);
    job_progress(L->ctx, L->cycles_before, L->total_cycles, "cycles");
    L->t_start = pd_mono();

    struct loader ld = {.L = L,
                        .skip_header = L->start.offset == 0,
                        .end = L->start.offset,
                        .next_line = L->start.line};
    rc = read_file(L, L->start.offset, L->start.line, load_record, &ld, NULL, true);
    if (rc == 0) {
        struct pd_pos next = {.offset = ld.end, .line = ld.next_line};
        if (L->cycle_open) {
            rc = end_cycle(L, &next, true);
        } else {
            next.cycles_done = L->cycles_before + L->done.cycles;
            rc = commit(L, &next, true, L->cycle_ts);
        }
        if (rc > 0) return finish(L, JOB_CANCELLED, t0);
    } else if (rc > 0) {
        rc = ld.rc;
        if (rc > 0) return finish(L, JOB_CANCELLED, t0);
    }
    if (rc < 0) {
        /* A database failure may be passing: retrying resumes after the last commit. */
        bool db_failure = !L->mysql && (db_is_down(L->db) || strstr(L->error, "COPY") ||
                                        strstr(L->error, "batch") || strstr(L->error, "cycle"));
        return finish(L, db_failure ? JOB_RETRY : JOB_FAILED, t0);
    }
    return finish(L, JOB_SUCCEEDED, t0);
}

static enum job_outcome pd_run(struct job_ctx *ctx, const json_t *a) {
    double t0 = pd_mono();
    const struct config *c = job_config(ctx);
    struct pd_load *L = calloc(1, sizeof *L);
    if (!L) {
        job_set_error(ctx, "out of memory");
        return JOB_RETRY;
    }
    L->ctx = ctx;
    L->db = job_db(ctx);
    db_copy_buf_init(&L->copy);
    L->error_rows = json_array();
    L->pending_errors = calloc(PD_ERROR_EVENTS_PER_BATCH, sizeof *L->pending_errors);
    json_t *v = json_object_get(a, "delay_seconds");
    L->delay = v ? json_number_value(v) : 0;
    L->paced = L->delay > 0;
    const char *ts = arg_str(a, "timestamps");
    L->ts_now = ts ? strcmp(ts, "now") == 0 : (L->paced || !json_object_get(a, "csv"));
    v = json_object_get(a, "fill_values");
    L->fill = v ? json_is_true(v) : true;
    v = json_object_get(a, "cycles");
    L->cycles_arg = v ? json_integer_value(v) : 100;
    v = json_object_get(a, "seed");
    L->seed = v ? (uint64_t)json_integer_value(v) : (uint64_t)pd_now_us();
    pd_rng_seed(&L->rng, L->seed);
    L->resume = json_is_true(json_object_get(a, "resume"));
    const char *target = arg_str(a, "target");
    L->mysql = target && strcmp(target, "mysql") == 0;
    const char *tz = arg_str(a, "time_zone");
    snprintf(L->tz, sizeof L->tz, "%s", tz ? tz : (c->schedule_tz ? c->schedule_tz : "UTC"));
    L->batch_rows = c->patient_data_batch_rows > 0 ? c->patient_data_batch_rows : 200000;
    L->max_record = c->csv_max_record_bytes > 0 ? (size_t)c->csv_max_record_bytes : 65536;
    v = json_object_get(a, "created_by");
    L->created_by = v ? json_integer_value(v) : 0;
    if (!L->error_rows || !L->pending_errors) {
        snprintf(L->error, sizeof L->error, "out of memory");
        return finish(L, JOB_RETRY, t0);
    }

    if (!L->mysql && pd_pg_session(L) != 0) {
        if (strcmp(db_sqlstate(L->db), "22023") == 0) {
            snprintf(L->error, sizeof L->error, "time_zone: unknown time zone \"%.300s\"", L->tz);
            return finish(L, JOB_FAILED, t0);
        }
        return finish(L, JOB_RETRY, t0);
    }
    if (L->mysql) {
        if (!c->dashmed_mysql_url || !*c->dashmed_mysql_url) {
            snprintf(L->error, sizeof L->error,
                     "target mysql: DASHMED_MYSQL_URL is not set (DashMed's MariaDB/MySQL URL)");
            return finish(L, JOB_FAILED, t0);
        }
        if (pd_mysql_open(L, c->dashmed_mysql_url) != 0) return finish(L, JOB_RETRY, t0);
    }
    const char *csv = arg_str(a, "csv");
    int csv_rc = csv ? resolve_csv(L, csv) : 0;
    if (csv_rc != 0) return finish(L, csv_rc == -2 ? JOB_RETRY : JOB_FAILED, t0);
    if (load_refs(L) != 0) return finish(L, JOB_RETRY, t0);
    if (!L->created_by && !L->have_csv) {
        if (L->mysql) { /* DashMed's own users */
            L->created_by = L->refs.nusers ? L->refs.users[0] : 0;
        } else {
            PGresult *r = db_exec(L->db, &q_default_user, 0, NULL);
            if (!r) return finish(L, JOB_RETRY, t0);
            if (PQntuples(r) == 1) L->created_by = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    if (!L->have_csv && !pd_refs_has_user(&L->refs, L->created_by)) {
        snprintf(L->error, sizeof L->error,
                 "created_by: no user %lld to record generated rows under (give created_by)",
                 (long long)L->created_by);
        return finish(L, JOB_FAILED, t0);
    }
    return L->have_csv ? run_file(L, t0) : run_generate(L, t0);
}

const struct job_kind job_kind_patient_data_insert = {
    .name = "patient_data.insert",
    .queue = "ingest",
    .summary = "insert DashMed patient measurements from a CSV (or generated), paced or bulk",
    .args = args,
    .validate = validate,
    .run = pd_run,
    .max_attempts = 3,
    .backoff_base = 10,
    .backoff_max = 300,
};
