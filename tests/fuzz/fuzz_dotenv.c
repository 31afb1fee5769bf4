/* fuzz_dotenv: feeds the input to dotenv_parse as a `.env` file and checks what callers
 * rely on: keys are well-formed names, values are no longer than the input, errors carry
 * a line within the file and a reason, and a callback's non-zero result stops the parse
 * and is returned as is. No memory is kept between inputs. */
#include "core/dotenv.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

struct state {
    size_t size; /* of the input */
    size_t calls;
    size_t stop_after; /* 0: never stop */
};

static int on_pair(const char *key, const char *value, void *ud) {
    struct state *st = ud;
    CHECK(isalpha((unsigned char)key[0]) || key[0] == '_');
    for (const char *k = key; *k; k++) CHECK(isalnum((unsigned char)*k) || *k == '_' || *k == '.');
    CHECK(strlen(key) + 1 <= st->size); /* the key and its '=' come from the input */
    CHECK(strlen(value) <= st->size);
    st->calls++;
    return st->stop_after && st->calls == st->stop_after ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += buf[i] == '\n';

    /* the whole file */
    struct state st = {size, 0, 0};
    struct dotenv_error err = {0, NULL};
    int rc = dotenv_parse(buf, size, on_pair, &st, &err);
    CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        CHECK(err.reason != NULL);
        CHECK(err.line >= 1 && err.line <= lines);
    }
    size_t total = st.calls;

    /* the same file, stopped by the callback after its last pair or earlier */
    if (total > 0) {
        struct state stop = {size, 0, 1 + (size ? data[0] : 0) % total};
        rc = dotenv_parse(buf, size, on_pair, &stop, NULL);
        CHECK(rc == 7);
        CHECK(stop.calls == stop.stop_after);
    }
    return 0;
}
