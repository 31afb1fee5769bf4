/* schedules: GET /schedules (every schedule with its next fire time in SCHEDULE_TZ and
 * its last job) and PATCH /schedules/{name} (admin: enabled, cron, args; 422 naming the
 * field; audited as schedule.update). Schedules are created by SCHEDULES (see
 * workers/scheduler.h). The SQL is in workers/schedule_store.c; req->json is borrowed;
 * everything else is freed before returning. */
#include "api/body_fields.h"
#include "api/handlers.h"
#include "app.h"
#include "auth/audit.h"
#include "cron.h"
#include "http/reply.h"
#include "job.h"
#include "schedule_spec.h"
#include "schedule_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *time_zone(void) {
    const char *tz = app_get()->config.schedule_tz;
    return tz ? tz : "UTC";
}

static const char *cron_rule(const char *s, size_t len) {
    static _Thread_local char why[256];
    struct cron c;
    (void)len;
    return cron_parse(s, &c, why, sizeof why) == 0 ? NULL : why;
}

enum { F_ENABLED, F_CRON, F_ARGS, F_COUNT };

static const struct field_spec schedule_fields[F_COUNT] = {
    [F_ENABLED] = {.name = "enabled", .type = FIELD_BOOL},
    [F_CRON] = {.name = "cron", .type = FIELD_TEXT, .any_text = true, .explain = cron_rule},
    [F_ARGS] = {.name = "args", .type = FIELD_OBJECT},
};

void api_schedules_list(struct request *req) {
    bool found;
    json_t *items = schedule_store_get(req->db, NULL, time_zone(), &found);
    if (!items)
        reply_db_error(req, "list schedules");
    else
        reply_json(req, 200, json_pack("{s:o}", "items", items));
}

/* The update and its audit row, in one transaction. */
struct change {
    struct request *req;
    const char *name;
    int enabled;
    const char *cron, *args;
    int updated;
};

static int apply_change(struct db *db, void *arg) {
    struct change *ch = arg;
    ch->updated = schedule_store_update(db, ch->name, ch->enabled, ch->cron, ch->args);
    if (ch->updated <= 0) return ch->updated < 0 ? -1 : 1; /* 1: not found, roll back */
    char target[96];
    snprintf(target, sizeof target, "schedule:%s", ch->name);
    return audit_request(ch->req, "schedule.update", target, json_deep_copy(ch->req->json)) != 0
               ? -1
               : 0;
}

void api_schedule_patch(struct request *req) {
    const char *name = request_param(req, "name");
    if (!name || !schedule_name_valid(name)) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no schedule named \"%.64s\"", name ? name : "");
        return;
    }
    struct field_value f[F_COUNT];
    struct field_errors errs = {0};
    if (!body_fields_check(req->json, "", schedule_fields, F_COUNT, f, &errs)) {
        body_fields_reply(req, &errs);
        return;
    }
    char kind_name[72];
    int found = schedule_store_kind(req->db, name, kind_name);
    if (found < 0) {
        reply_db_error(req, "get a schedule");
        return;
    }
    if (!found) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no schedule named \"%s\"", name);
        return;
    }
    int enabled = f[F_ENABLED].present ? f[F_ENABLED].boolean : -1;
    const char *cron_text = f[F_CRON].text;
    char *args_text = NULL;
    if (f[F_ARGS].present) {
        const struct job_kind *kind = job_kind_find(kind_name);
        if (!kind) {
            body_fields_fail_rule(&errs, "args",
                                  "cannot be checked: this binary does not know the schedule's "
                                  "job kind");
            body_fields_reply(req, &errs);
            return;
        }
        if (!job_args_collect(kind, f[F_ARGS].json, &errs)) {
            body_fields_reply(req, &errs);
            return;
        }
        args_text = json_dumps(f[F_ARGS].json, JSON_COMPACT | JSON_SORT_KEYS);
    }
    struct change ch = {req, name, enabled, cron_text, args_text, 0};
    int rc = db_transaction(req->db, apply_change, &ch);
    free(args_text);
    if (rc == -1) {
        reply_db_error(req, "update a schedule");
        return;
    }
    if (!ch.updated) {
        reply_problem(req, PROBLEM_NOT_FOUND, "no schedule named \"%s\"", name);
        return;
    }
    bool exists;
    json_t *doc = schedule_store_get(req->db, name, time_zone(), &exists);
    if (!doc)
        reply_db_error(req, "get a schedule");
    else
        reply_json(req, 200, doc);
}
