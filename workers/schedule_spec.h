/* schedule_spec: the SCHEDULES configuration value — entries separated by `;`, each
 *   NAME=CRON [KIND [ARGS]]
 * where CRON is five fields or an @macro, KIND defaults to NAME and ARGS is a JSON
 * object (default {}); `;` inside the JSON does not split. Example:
 *   maintenance.prune=0 3 * * *; nightly-prune=30 2 * * sun maintenance.prune {"batch_size":500}
 * Every entry is checked: name, cron expression, kind registered, arguments valid.
 * Pure (no I/O). struct schedule_specs owns its entries (schedule_specs_cleanup). */
#ifndef SLUICE_SCHEDULE_SPEC_H
#define SLUICE_SCHEDULE_SPEC_H

#include "cron.h"

#include <stddef.h>

struct schedule_spec {
    char name[72];
    char cron[CRON_MAX_LENGTH + 1];
    char kind[72];
    char *args_json; /* compact JSON object, owned */
    char *entry;     /* the entry as written (trimmed), owned */
};

struct schedule_specs {
    struct schedule_spec *items;
    size_t n;
};

/* Parses text (NULL or blank: no schedules). 0, or -1 with err naming the entry. */
int schedule_specs_parse(const char *text, struct schedule_specs *out, char *err, size_t errlen);
void schedule_specs_cleanup(struct schedule_specs *s);

/* Whether name is a valid schedule name: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
int schedule_name_valid(const char *name);

#endif
