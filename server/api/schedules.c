/* schedules: GET /schedules (every schedule with its next fire time in SCHEDULE_TZ and
 * its last job) and PATCH /schedules/{name} (admin: enabled, cron, args; 422 naming the
 * field; audited as schedule.update). Schedules are created by SCHEDULES (see
 * workers/scheduler.h). The SQL is in workers/schedule_store.c; req->json is borrowed;
 * everything else is freed before returning. */
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

static void invalid(struct request *req, const char *field, const char *msg) {
    reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", field), "%s: %s", field,
                       msg);
}

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
    json_t *body = req->json;
    if (!json_is_object(body)) {
        invalid(req, "body", "expected a JSON object with enabled, cron and/or args");
        return;
    }
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        if (strcmp(key, "enabled") != 0 && strcmp(key, "cron") != 0 && strcmp(key, "args") != 0) {
            invalid(req, key, "unknown member (accepted: enabled, cron, args)");
            return;
        }
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
    json_t *jenabled = json_object_get(body, "enabled"), *jcron = json_object_get(body, "cron"),
           *jargs = json_object_get(body, "args");
    int enabled = -1;
    if (jenabled) {
        if (!json_is_boolean(jenabled)) {
            invalid(req, "enabled", "expected true or false");
            return;
        }
        enabled = json_is_true(jenabled);
    }
    const char *cron_text = NULL;
    if (jcron) {
        struct cron c;
        char why[256];
        if (!json_is_string(jcron)) {
            invalid(req, "cron", "expected a cron expression");
            return;
        }
        cron_text = json_string_value(jcron);
        if (strlen(cron_text) != json_string_length(jcron) ||
            cron_parse(cron_text, &c, why, sizeof why) != 0) {
            reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", "cron"),
                               "cron: %s", why);
            return;
        }
    }
    char *args_text = NULL;
    if (jargs) {
        const struct job_kind *kind = job_kind_find(kind_name);
        struct job_error err;
        if (!kind) {
            invalid(req, "args", "this binary does not know the schedule's job kind");
            return;
        }
        if (!json_is_object(jargs) || job_args_check(kind, jargs, &err) != 0) {
            if (!json_is_object(jargs))
                invalid(req, "args", "expected a JSON object");
            else
                reply_problem_with(req, PROBLEM_VALIDATION, json_pack("{s:s}", "field", err.field),
                                   "%s: %s", err.field, err.message);
            return;
        }
        args_text = json_dumps(jargs, JSON_COMPACT | JSON_SORT_KEYS);
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
