/* fuzz_cursor: feeds the input (as a NUL-terminated string, cut at its first NUL) to
 * page_cursor_decode as the `?cursor=` value, against every sort order the list
 * endpoints declare (server/api/centres.c, jobs.c, kpis.c, orders.c, sessions.c,
 * users.c). Checks what the handlers rely on: on failure no key is left allocated and
 * the reason is non-empty; on success exactly sort->nkeys keys are set (the others
 * NULL), each a NUL-terminated string of its declared type (TEXT: valid UTF-8 of at most
 * 1,000 bytes; INT: a decimal integer; DATE: a date parse_date accepts), re-encoding the
 * keys with page_cursor_encode and decoding again gives the same keys (and encoding is
 * then stable), and that cursor is refused by every sort of another name. Keys are freed
 * after each input; nothing is kept. */
#include "api/pagination.h"
#include "api/query_params.h"
#include "core/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

/* The sort tables of the list endpoints (same names may differ in key types). */
static const struct page_sort sorts[] = {
    {"code", 1, {PAGE_KEY_TEXT}},                                            /* centres */
    {"-code", 1, {PAGE_KEY_TEXT}},                                           /* centres */
    {"-id", 1, {PAGE_KEY_INT}},                                              /* jobs */
    {"id", 1, {PAGE_KEY_INT}},                                               /* jobs, users */
    {"seq", 1, {PAGE_KEY_INT}},                                              /* job events */
    {"centre", 1, {PAGE_KEY_TEXT}},                                          /* kpis */
    {"numero", 2, {PAGE_KEY_TEXT, PAGE_KEY_TEXT}},                           /* orders */
    {"-numero", 2, {PAGE_KEY_TEXT, PAGE_KEY_TEXT}},                          /* orders */
    {"date_modification", 3, {PAGE_KEY_DATE, PAGE_KEY_TEXT, PAGE_KEY_TEXT}}, /* orders */
    {"-date_modification", 3, {PAGE_KEY_DATE, PAGE_KEY_TEXT, PAGE_KEY_TEXT}},
    {"-date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}},                              /* sessions */
    {"date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}},                               /* sessions */
    {"numero", 1, {PAGE_KEY_INT}},                                            /* session numbers */
    {"-numero", 1, {PAGE_KEY_INT}},                                           /* session numbers */
    {"all4", 4, {PAGE_KEY_TEXT, PAGE_KEY_INT, PAGE_KEY_DATE, PAGE_KEY_TEXT}}, /* PAGE_MAX_KEYS */
};
#define NSORTS (sizeof sorts / sizeof sorts[0])

static void free_keys(char *keys[PAGE_MAX_KEYS]) {
    for (size_t i = 0; i < PAGE_MAX_KEYS; i++) {
        free(keys[i]);
        keys[i] = NULL;
    }
}

static bool int_text(const char *k) {
    size_t n = strlen(k);
    size_t i = k[0] == '-';
    if (n == i || n > 20) return false;
    for (; i < n; i++)
        if (k[i] < '0' || k[i] > '9') return false;
    return true;
}

static void check_key(enum page_key_type type, const char *k) {
    size_t n = strlen(k);
    switch (type) {
    case PAGE_KEY_TEXT: CHECK(n <= 1000 && text_utf8_valid(k, n)); break;
    case PAGE_KEY_INT: CHECK(int_text(k)); break;
    case PAGE_KEY_DATE: {
        struct query_date d;
        CHECK(n == 10 && parse_date(k, &d));
        break;
    }
    }
}

static void check_sort(const struct page_sort *sort, const char *cursor) {
    char *keys[PAGE_MAX_KEYS];
    char why[160] = "";
    if (!page_cursor_decode(sort, cursor, keys, why, sizeof why)) {
        for (size_t i = 0; i < PAGE_MAX_KEYS; i++) CHECK(keys[i] == NULL);
        CHECK(why[0] != '\0' && memchr(why, '\0', sizeof why) != NULL);
        return;
    }
    for (size_t i = 0; i < PAGE_MAX_KEYS; i++) {
        CHECK((keys[i] != NULL) == (i < sort->nkeys));
        if (keys[i]) check_key(sort->keys[i], keys[i]);
    }
    char *again = page_cursor_encode(sort, (const char *const *)keys);
    CHECK(again != NULL);
    char *keys2[PAGE_MAX_KEYS];
    CHECK(page_cursor_decode(sort, again, keys2, why, sizeof why));
    for (size_t i = 0; i < PAGE_MAX_KEYS; i++) {
        CHECK((keys2[i] != NULL) == (keys[i] != NULL));
        if (keys[i]) CHECK(strcmp(keys[i], keys2[i]) == 0);
    }
    char *third = page_cursor_encode(sort, (const char *const *)keys2);
    CHECK(third != NULL && strcmp(again, third) == 0);
    for (size_t s = 0; s < NSORTS; s++) {
        if (strcmp(sorts[s].name, sort->name) == 0) continue;
        char *other[PAGE_MAX_KEYS];
        CHECK(!page_cursor_decode(&sorts[s], again, other, why, sizeof why));
        for (size_t i = 0; i < PAGE_MAX_KEYS; i++) CHECK(other[i] == NULL);
    }
    free(third);
    free(again);
    free_keys(keys2);
    free_keys(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 6000) return 0; /* longer than any cursor page_cursor_decode reads */
    char *cursor = malloc(size + 1);
    if (!cursor) return 0;
    memcpy(cursor, data, size);
    cursor[size] = '\0';
    for (size_t s = 0; s < NSORTS; s++) check_sort(&sorts[s], cursor);
    free(cursor);
    return 0;
}
