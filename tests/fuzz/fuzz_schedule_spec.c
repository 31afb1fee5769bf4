/* fuzz_schedule_spec: feeds the input (as a NUL-terminated string, cut at its first NUL)
 * to schedule_specs_parse as the SCHEDULES value, with the test job kinds registered too
 * (more argument tables to check against). Checks: on failure the result is empty and
 * the error, also with a tiny error buffer, is a non-empty NUL-terminated string naming
 * the entry; on success every entry has a valid unique name, a cron expression cron_parse
 * accepts, a registered kind, a JSON object of arguments that job_args_check accepts and
 * its trimmed text, and parsing the entries joined with ";" again gives the same
 * entries. Every result is cleaned up with schedule_specs_cleanup, so nothing is kept. */
#include "cron.h"
#include "job.h"
#include "schedule_spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    job_registry_init(true);
    return 0;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void check_spec(const struct schedule_spec *sp) {
    CHECK(schedule_name_valid(sp->name));
    struct cron c;
    char why[256];
    CHECK(cron_parse(sp->cron, &c, why, sizeof why) == 0);
    const struct job_kind *kind = job_kind_find(sp->kind);
    CHECK(kind != NULL);
    CHECK(sp->args_json != NULL);
    json_t *args = json_loads(sp->args_json, 0, NULL);
    CHECK(json_is_object(args));
    struct job_error je;
    CHECK(job_args_check(kind, args, &je) == 0);
    json_decref(args);
    CHECK(sp->entry != NULL && sp->entry[0] != '\0');
    CHECK(!blank(sp->entry[0]) && !blank(sp->entry[strlen(sp->entry) - 1]));
}

static bool same_spec(const struct schedule_spec *a, const struct schedule_spec *b) {
    return strcmp(a->name, b->name) == 0 && strcmp(a->cron, b->cron) == 0 &&
           strcmp(a->kind, b->kind) == 0 && strcmp(a->args_json, b->args_json) == 0 &&
           strcmp(a->entry, b->entry) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct schedule_specs s;
    char err[256] = "";
    if (schedule_specs_parse(text, &s, err, sizeof err) != 0) {
        CHECK(s.n == 0 && s.items == NULL);
        CHECK(memchr(err, '\0', sizeof err) != NULL);
        CHECK(strncmp(err, "SCHEDULES entry ", 16) == 0);
        char tiny[12] = "";
        struct schedule_specs t;
        CHECK(schedule_specs_parse(text, &t, tiny, sizeof tiny) != 0);
        CHECK(t.n == 0 && t.items == NULL);
        CHECK(memchr(tiny, '\0', sizeof tiny) != NULL && tiny[0] != '\0');
        free(text);
        return 0;
    }
    free(text);
    CHECK(s.n == 0 || s.items != NULL);
    size_t joined_len = 1;
    for (size_t i = 0; i < s.n; i++) {
        check_spec(&s.items[i]);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(s.items[j].name, s.items[i].name) != 0);
        joined_len += strlen(s.items[i].entry) + 1;
    }
    char *joined = malloc(joined_len);
    CHECK(joined != NULL);
    joined[0] = '\0';
    for (size_t i = 0; i < s.n; i++) {
        if (i) strcat(joined, ";");
        strcat(joined, s.items[i].entry);
    }
    struct schedule_specs again;
    char err2[256] = "";
    CHECK(schedule_specs_parse(joined, &again, err2, sizeof err2) == 0);
    CHECK(again.n == s.n);
    for (size_t i = 0; i < s.n; i++) CHECK(same_spec(&s.items[i], &again.items[i]));
    free(joined);
    schedule_specs_cleanup(&again);
    schedule_specs_cleanup(&s);
    CHECK(s.n == 0 && s.items == NULL);
    return 0;
}
