/* registry: THE table of job kinds. A kind listed here can be enqueued (API, CLI,
 * schedules), claimed by the workers of this binary and run in the foreground.
 * Test-only kinds exist only when JOB_TEST_KINDS is true. The table is static; the
 * test switch is written once at start-up (job_registry_init), before threads. */
#include "job.h"

#include "job_queues.h"
#include "kinds/kinds.h"

#include <string.h>

static const struct {
    const struct job_kind *kind;
    bool test_only;
} table[] = {
    {&job_kind_maintenance_prune, false},   {&job_kind_orders_sync, false},
    {&job_kind_machine_logs_ingest, false}, {&job_kind_patient_data_insert, false},
    {&job_kind_test_sleep, true},           {&job_kind_test_fail, true},
    {&job_kind_test_count, true},           {&job_kind_test_ingest, true},
    {&job_kind_test_fenced, true},          {&job_kind_test_sql_sleep, true},
};
#define TABLE_SIZE (sizeof table / sizeof table[0])

static const struct job_kind *active[TABLE_SIZE];
static size_t nactive;
static bool initialised;

void job_registry_init(bool with_test_kinds) {
    nactive = 0;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        if (!table[i].test_only || with_test_kinds) active[nactive++] = table[i].kind;
    initialised = true;
}

const struct job_kind *job_kind_find(const char *name) {
    if (!initialised) job_registry_init(false);
    for (size_t i = 0; name && i < nactive; i++)
        if (strcmp(active[i]->name, name) == 0) return active[i];
    return NULL;
}

size_t job_kind_count(void) {
    if (!initialised) job_registry_init(false);
    return nactive;
}

const char *job_kind_queue(const struct job_kind *kind) {
    return kind && kind->queue ? kind->queue : JOB_QUEUE_DEFAULT;
}

const struct job_kind *job_kind_at(size_t i) {
    if (!initialised) job_registry_init(false);
    return i < nactive ? active[i] : NULL;
}
