/* test_pagination_walk: keyset pagination holds under concurrent writes. 10,000 orders
 * (even numbers W00000..W19998, 40 modification dates) are created through the API in
 * arrays of 1,000; then the list is walked page by page while a second thread keeps
 * inserting orders with odd numbers (falling between and around the rows already
 * there) through the API, the walker waiting for at least one new insert before each
 * next page. Every one of the 10,000 rows must be seen exactly once, no row twice, in
 * strictly increasing (or decreasing) sort order — for sort=numero and for
 * sort=-date_modification. The group owns the environment; the inserter thread owns
 * nothing but its counters, and inserts about five rows per page fetched. */
#include "production_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INITIAL 10000
#define SPACE (2 * INITIAL) /* numbers W00000..W19999: even initial, odd concurrent */

static struct api_env env;

static void date_of(int n, char out[11]) {
    /* 40 dates from 2025-01-01, many rows sharing each (ties broken by number). */
    struct tm tm = {.tm_year = 125, .tm_mon = 0, .tm_mday = 1 + (n * 7919) % 40};
    mktime(&tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int group_setup(void **state) {
    (void)state;
    if (api_env_start(&env, NULL) != 0) return -1;
    http_recording(false); /* 100s of pages of the same shape: not worth recording */
    size_t cap = 1000 * 96;
    char *body = malloc(cap);
    if (!body) return -1;
    for (int batch = 0; batch < INITIAL / 1000; batch++) {
        size_t len = 0;
        for (int i = 0; i < 1000; i++) {
            int n = 2 * (batch * 1000 + i);
            char date[11];
            date_of(n, date);
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"numero_commande\":\"W%05d\",\"status\":\"Planifiee\","
                                    "\"date_modification\":\"%s\"}",
                                    i ? "," : "[", n, date);
        }
        snprintf(body + len, cap - len, "]");
        struct http_response r;
        int rc = bearer_do(env.proc, "POST", "/commandes-volets/", env.operator_, body, &r);
        long status = r.status;
        http_response_cleanup(&r);
        if (rc != 0 || status != 201) {
            fprintf(stderr, "batch %d: status %ld\n", batch, status);
            free(body);
            return -1;
        }
    }
    free(body);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    http_recording(true);
    api_env_stop(&env);
    return 0;
}

/* ---- the concurrent inserter ------------------------------------------------------ */

struct inserter {
    atomic_bool stop;
    atomic_long inserted;
    atomic_long failed;
    atomic_long pages; /* pages the walker fetched: about 5 inserts per page */
    unsigned next;     /* position in the permutation of the odd numbers */
    unsigned salt;
};

static void *insert_loop(void *arg) {
    struct inserter *ins = arg;
    while (!atomic_load(&ins->stop)) {
        if (atomic_load(&ins->inserted) >= 5 * (atomic_load(&ins->pages) + 1)) {
            usleep(200);
            continue;
        }
        /* Odd numbers in a scattered order: i -> (i * 7919 + salt) mod INITIAL is a
         * permutation (7919 is prime and does not divide 10,000). */
        if (ins->next >= INITIAL) break;
        int n = 2 * (int)((ins->next++ * 7919u + ins->salt) % INITIAL) + 1;
        char body[160], date[11];
        date_of(n, date);
        snprintf(body, sizeof body,
                 "{\"numero_commande\":\"W%05d\",\"status\":\"vitrage\","
                 "\"date_modification\":\"%s\"}",
                 n, date);
        struct http_response r;
        if (bearer_do(env.proc, "POST", "/commandes-volets/", env.operator_, body, &r) == 0 &&
            r.status == 201)
            atomic_fetch_add(&ins->inserted, 1);
        else
            atomic_fetch_add(&ins->failed, 1);
        http_response_cleanup(&r);
    }
    return NULL;
}

/* Waits until the inserter has added one more row than `since` (it never stops before
 * being told to, so this only waits for progress). */
static long wait_progress(struct inserter *ins, long since) {
    for (int i = 0; i < 200000; i++) {
        long now = atomic_load(&ins->inserted);
        if (now > since) return now;
        if (atomic_load(&ins->failed) > 0) fail_msg("a concurrent insert failed");
        usleep(100);
    }
    fail_msg("the inserter made no progress");
    return since;
}

/* ---- the walk ---------------------------------------------------------------------- */

static void walk(const char *sort, int limit, int direction, unsigned salt) {
    static unsigned char seen[SPACE];
    memset(seen, 0, sizeof seen);
    struct inserter ins = {.next = 0, .salt = salt};
    atomic_init(&ins.stop, false);
    atomic_init(&ins.inserted, 0);
    atomic_init(&ins.failed, 0);
    atomic_init(&ins.pages, 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, insert_loop, &ins), 0);

    char path[512], prev_key[32] = "";
    char *cursor = NULL;
    long progress = 0;
    int pages = 0, rows = 0;
    for (;;) {
        progress = wait_progress(&ins, progress);
        snprintf(path, sizeof path, "/commandes-volets/?sort=%s&limit=%d%s%s", sort, limit,
                 cursor ? "&cursor=" : "", cursor ? cursor : "");
        struct http_response r;
        api_call(&env, env.viewer, "GET", path, NULL, 200, &r);
        pages++;
        atomic_store(&ins.pages, pages);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.json, "items"), i, item) {
            const char *numero = jstr(item, "numero_commande");
            int n = atoi(numero + 1);
            assert_true(n >= 0 && n < SPACE);
            if (seen[n]) fail_msg("%s seen twice (sort=%s, page %d)", numero, sort, pages);
            seen[n] = 1;
            rows++;
            /* Strictly monotonic in the sort key (date first for the date sort). */
            char key[32];
            snprintf(key, sizeof key, "%s%s",
                     strstr(sort, "date") ? jstr(item, "date_modification") : "", numero);
            if (prev_key[0] && strcmp(key, prev_key) * direction <= 0)
                fail_msg("sort=%s: %s after %s", sort, key, prev_key);
            snprintf(prev_key, sizeof prev_key, "%s", key);
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        free(cursor);
        cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        http_response_cleanup(&r);
        if (!cursor) break;
    }
    atomic_store(&ins.stop, true);
    pthread_join(thread, NULL);

    int missing = 0, concurrent_seen = 0;
    for (int n = 0; n < SPACE; n++) {
        if (n % 2 == 0 && !seen[n]) missing++;
        if (n % 2 == 1 && seen[n]) concurrent_seen++;
    }
    if (missing) fail_msg("sort=%s: %d of the %d rows were never seen", sort, missing, INITIAL);
    long inserted = atomic_load(&ins.inserted);
    fprintf(stderr, "sort=%s: %d pages, %d rows seen (%d of the %ld inserted meanwhile)\n", sort,
            pages, rows, concurrent_seen, inserted);
    assert_true(pages >= INITIAL / limit);
    assert_true(inserted >= pages); /* at least one insert between any two pages */
    assert_int_equal(atomic_load(&ins.failed), 0);

    /* Clean up the concurrent rows so that the next walk starts from the same 10,000. */
    sql_exec(&env, "DELETE FROM commandes_volets_roulants WHERE numero_commande LIKE 'W%'"
                   " AND status = 'vitrage' RETURNING 1");
    assert_int_equal(db_long(env.db.url, "SELECT count(*) FROM commandes_volets_roulants"),
                     INITIAL);
}

static void walk_by_numero(void **state) {
    (void)state;
    walk("numero", 100, 1, 17);
}

static void walk_by_date_desc(void **state) {
    (void)state;
    walk("-date_modification", 250, -1, 4242);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_by_numero),
        cmocka_unit_test(walk_by_date_desc),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
