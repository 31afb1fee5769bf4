/* jobs_run: `sluice jobs run KIND [--arg NAME=VALUE ...] [--args JSON]
 * [--progress-interval SECONDS]` — runs one job kind in the foreground, without a
 * server and without the queue (no jobs row). On a terminal (stderr) it draws a live
 * bar; otherwise it prints one plain progress line every few seconds and a last one at
 * the end. Events go to stderr, the summary to stdout. Ctrl-C (or SIGTERM) cancels
 * cleanly — the job stops at its next check — and a second Ctrl-C quits at once.
 * Exit status: 0 succeeded, 1 failed, 2 usage, 130 cancelled.
 * The job runs on its own thread with its own connection; this thread draws and takes
 * the signals (blocked everywhere, taken with sigtimedwait). Everything is freed here. */
#include "app.h"
#include "cli/commands.h"
#include "cli/jobs_cli.h"
#include "core/log.h"
#include "cron.h"
#include "db/db.h"
#include "job_ctx.h"
#include "progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct foreground {
    struct job_ctx ctx;
    const struct job_kind *kind;
    json_t *args;
    enum job_outcome outcome;
    atomic_bool done;
    double finished; /* monotonic, written before done */
    bool tty;
    pthread_mutex_t out; /* one writer at a time on stderr */
    bool bar_shown;      /* the bar is on the current line (tty) */
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_event(struct job_ctx *ctx, int level, const char *message) {
    struct foreground *f = ctx->owner;
    pthread_mutex_lock(&f->out);
    if (f->bar_shown) fputs("\r\033[K", stderr);
    f->bar_shown = false;
    fprintf(stderr, "[%s] %s\n", job_level_name(level), message);
    fflush(stderr);
    pthread_mutex_unlock(&f->out);
}

static void *run_thread(void *arg) {
    struct foreground *f = arg;
    f->outcome = f->kind->run(&f->ctx, f->args);
    f->finished = mono();
    db_reset_after_use(f->ctx.db);
    atomic_store(&f->done, true);
    return NULL;
}

static void draw(struct foreground *f, double elapsed, bool final) {
    struct job_snapshot s;
    job_ctx_snapshot(&f->ctx, &s);
    char line[1024];
    pthread_mutex_lock(&f->out);
    if (f->tty) {
        progress_bar(&s, elapsed, 30, line, sizeof line);
        fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
        f->bar_shown = !final;
    } else {
        progress_line(&s, elapsed, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    pthread_mutex_unlock(&f->out);
}

static const char usage[] =
    "usage: sluice jobs run KIND [--arg NAME=VALUE ...] [--args JSON] [--progress-interval S]\n\n"
    "Runs KIND in the foreground (no server, no queue): a live bar on a terminal, else one\n"
    "progress line every S seconds (default 5). Ctrl-C cancels cleanly. Exit status: 0\n"
    "succeeded, 1 failed, 130 cancelled. `sluice jobs kinds` lists kinds and arguments.\n";

int jobs_cli_run(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (cli_setup() != 0) return 2;
    struct app *a = app_get();
    struct config *c = &a->config;
    char err[512];
    job_registry_init(c->job_test_kinds);
    if (cron_use_timezone(c->schedule_tz, err, sizeof err) != 0) {
        fprintf(stderr, "sluice jobs: configuration error: %s\n", err);
        config_cleanup(c);
        return 2;
    }
    int rc = 2;
    struct foreground f;
    memset(&f, 0, sizeof f);
    f.args = json_object();
    f.kind = jobs_cli_kind(argv[1]);
    double interval = 5;
    struct db *db = db_new(c->database_url);
    if (!f.kind) goto out;
    for (int i = 2; i < argc; i++) {
        int used = jobs_cli_arg_option(f.kind, argc, argv, &i, f.args);
        if (used < 0) goto out;
        if (used) continue;
        if (strcmp(argv[i], "--progress-interval") == 0 && i + 1 < argc) {
            char *end;
            interval = strtod(argv[++i], &end);
            if (*end || !(interval >= 0.1 && interval <= 3600)) {
                fprintf(stderr, "sluice jobs run: --progress-interval takes 0.1 to 3600 "
                                "seconds\n");
                goto out;
            }
        } else {
            fprintf(stderr, "sluice jobs run: unknown option \"%s\"\n\n%s", argv[i], usage);
            goto out;
        }
    }
    struct job_error je;
    if (job_args_check(f.kind, f.args, &je) != 0) {
        fprintf(stderr, "sluice jobs run: %s %s\n", je.field, je.message);
        goto out;
    }
    if (!db_conn(db)) {
        fprintf(stderr, "sluice jobs run: database unreachable: %s\n", db_last_error(db));
        rc = 1;
        goto out;
    }
    job_ctx_init(&f.ctx, f.kind, db, c, 0, 1);
    f.ctx.on_event = on_event;
    f.ctx.owner = &f;
    f.tty = isatty(STDERR_FILENO);
    pthread_mutex_init(&f.out, NULL);
    atomic_init(&f.done, false);

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    double start = mono(), next_line = start + interval;
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_thread, &f) != 0) {
        fprintf(stderr, "sluice jobs run: cannot start a thread\n");
        rc = 1;
        job_ctx_cleanup(&f.ctx);
        pthread_mutex_destroy(&f.out);
        goto out;
    }
    int interrupts = 0;
    while (!atomic_load(&f.done)) {
        struct timespec wait = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        int sig = sigtimedwait(&stop, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
            if (++interrupts > 1) {
                fputs("\nsluice jobs run: interrupted again: quitting at once\n", stderr);
                _exit(130);
            }
            atomic_store(&f.ctx.cancel_requested, true);
            on_event(&f.ctx, LOG_WARN,
                     "cancelling: the job stops at its next check (Ctrl-C again to quit at "
                     "once)");
        }
        double now = mono();
        if (f.tty) {
            draw(&f, now - start, false);
        } else if (now >= next_line) {
            draw(&f, now - start, false);
            while (next_line <= now) next_line += interval;
        }
    }
    pthread_join(thread, NULL);
    double elapsed = f.finished - start;
    draw(&f, elapsed, true);
    const char *status = f.outcome == JOB_SUCCEEDED   ? "succeeded"
                         : f.outcome == JOB_CANCELLED ? "cancelled"
                                                      : "failed";
    struct job_snapshot snap;
    job_ctx_snapshot(&f.ctx, &snap);
    char summary[2048];
    progress_summary(&snap, elapsed, status, f.ctx.error, summary, sizeof summary);
    fputs(summary, stdout);
    if (f.ctx.result) {
        char *text = json_dumps(f.ctx.result, JSON_COMPACT | JSON_SORT_KEYS);
        if (text) printf("output: %s\n", text);
        free(text);
    }
    fflush(stdout);
    rc = f.outcome == JOB_SUCCEEDED ? 0 : f.outcome == JOB_CANCELLED ? 130 : 1;
    job_ctx_cleanup(&f.ctx);
    pthread_mutex_destroy(&f.out);
out:
    json_decref(f.args);
    db_free(db);
    config_cleanup(c);
    return rc;
}
