/* fuzz_logparse: feeds the input to the LOG line decoder line by line (as the ingest splits
 * a file on '\n'), resolving each event's time in Europe/Paris in file order, and checks:
 * the decoded text is valid UTF-8 without NUL bytes, a reject has a reason, an event has a
 * name (empty only for an unknown event), a wait is within bounds, a job profile has a reference
 * and a decimal length, and UTC formatting round-trips the date. Also feeds the input to
 * logparse_file_day and logparse_wanted_name as a file name. The zone is loaded once in
 * LLVMFuzzerInitialize. */
#include "core/text.h"
#include "machine_logs/logparse.h"
#include "machine_logs/tz.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static struct tz_zone paris;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char err[256];
    if (tz_load(&paris, "Europe/Paris", err, sizeof err) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    struct logparse_buf b;
    logparse_buf_init(&b);
    struct logparse_dst dst;
    logparse_dst_init(&dst);
    const uint8_t *p = data, *end = data + size;
    while (p <= end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        struct logparse_line ln;
        CHECK(logparse_line(&b, p, n, &ln) == 0);
        CHECK(text_utf8_valid(ln.text.ptr ? ln.text.ptr : "", ln.text.len));
        CHECK(!ln.text.ptr || !memchr(ln.text.ptr, 0, ln.text.len));
        if (ln.kind == LOGPARSE_REJECT) CHECK(ln.reason && ln.reason[0]);
        if (ln.kind >= LOGPARSE_PIECE) {
            CHECK(ln.name.ptr && (ln.name.len > 0 || ln.kind == LOGPARSE_UNKNOWN));
            CHECK(text_utf8_valid(ln.name.ptr, ln.name.len));
            CHECK(text_utf8_valid(ln.details.ptr ? ln.details.ptr : "", ln.details.len));
            int64_t t = logparse_to_utc(&paris, &dst, ln.local);
            CHECK(t - ln.local <= 4 * 3600 && ln.local - t <= 4 * 3600);
            char out[40];
            logparse_format_utc(t * 1000000, out);
            CHECK(strlen(out) >= 22);
        }
        if (ln.kind == LOGPARSE_WAIT)
            CHECK(ln.wait_us >= 0 && ln.wait_us <= (int64_t)LOGPARSE_MAX_WAIT_SECONDS * 1000000);
        if (ln.kind == LOGPARSE_JOB) CHECK(ln.reference.len > 0 && ln.length.len > 0);
        if (!nl) break;
        p = nl + 1;
    }
    logparse_buf_cleanup(&b);
    char name[300];
    size_t k = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, k);
    name[k] = '\0';
    int64_t day;
    if (logparse_file_day(name, &day)) CHECK(day > -800000 && day < 3000000);
    (void)logparse_wanted_name(name);
    return 0;
}
