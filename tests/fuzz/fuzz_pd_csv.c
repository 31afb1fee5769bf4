/* fuzz_pd_csv: feeds the input to the patient-data CSV reader twice — whole, then in
 * chunks whose sizes come from the input itself — with a small record limit, and checks
 * that both readings give the same records (fields, lines, offsets), that offsets only
 * grow and stay within the input, and that resuming at any record's end (with its
 * next_line) gives exactly the records that followed it. Every record also goes through
 * the header and row checks (pd_row.c), which must give a reason whenever they refuse.
 * Memory is freed before returning. */
#include "kinds/patient_data/pd_csv.h"
#include "kinds/patient_data/pd_row.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

#define MAX_RECORDS 256
#define MAX_RECORD_BYTES 200

struct rec_copy {
    uint64_t hash; /* of the fields (or the error text) */
    int64_t line, offset, end, next_line;
    size_t nfields;
};

struct log {
    struct rec_copy r[MAX_RECORDS];
    size_t n;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int collect(void *arg, const struct pdcsv_record *rec) {
    struct log *l = arg;
    CHECK(rec->offset < rec->end);
    CHECK(rec->line <= rec->next_line);
    if (l->n) CHECK(rec->offset >= l->r[l->n - 1].end);
    uint64_t h = 1469598103934665603ULL;
    if (rec->error) {
        h = fnv(h, rec->error, strlen(rec->error));
    } else {
        for (size_t i = 0; i < rec->nfields && i < PDCSV_MAX_FIELDS; i++) {
            CHECK(rec->field[i][rec->len[i]] == '\0');
            h = fnv(h, rec->field[i], rec->len[i] + 1);
        }
    }
    char why[512];
    why[0] = '\0';
    if (!pdrow_header_ok(rec, why, sizeof why)) CHECK(why[0]);
    struct pdrow row;
    why[0] = '\0';
    if (pdrow_parse(rec, &row, why, sizeof why)) {
        CHECK(row.id_patient > 0 && row.created_by > 0);
    } else {
        CHECK(why[0]);
    }
    if (l->n < MAX_RECORDS)
        l->r[l->n] =
            (struct rec_copy){h, rec->line, rec->offset, rec->end, rec->next_line, rec->nfields};
    l->n++;
    return 0;
}

static void read_from(const uint8_t *data, size_t size, int64_t offset, int64_t line,
                      size_t chunk_seed, struct log *l) {
    struct pdcsv r;
    pdcsv_init(&r, MAX_RECORD_BYTES, offset, line);
    size_t i = (size_t)offset;
    size_t k = chunk_seed;
    while (i < size) {
        size_t chunk = chunk_seed ? 1 + (k * 7919 + data[i]) % 97 : size - i;
        if (chunk > size - i) chunk = size - i;
        CHECK(pdcsv_feed(&r, (const char *)data + i, chunk, collect, l) == 0);
        i += chunk;
        k++;
    }
    CHECK(pdcsv_finish(&r, collect, l) == 0);
    pdcsv_cleanup(&r);
}

static bool same(const struct rec_copy *a, const struct rec_copy *b) {
    return a->hash == b->hash && a->line == b->line && a->offset == b->offset && a->end == b->end &&
           a->next_line == b->next_line && a->nfields == b->nfields;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct log whole, chunked, resumed;
    memset(&whole, 0, sizeof whole);
    memset(&chunked, 0, sizeof chunked);
    read_from(data, size, 0, 1, 0, &whole);
    read_from(data, size, 0, 1, size ? data[0] + 1 : 1, &chunked);
    CHECK(whole.n == chunked.n);
    size_t kept = whole.n < MAX_RECORDS ? whole.n : MAX_RECORDS;
    for (size_t i = 0; i < kept; i++) {
        CHECK(same(&whole.r[i], &chunked.r[i]));
        CHECK(whole.r[i].end <= (int64_t)size);
    }
    /* Resume after a record picked by the input (a byte-order mark is only skipped at
     * offset 0, so resuming is exact from the first record on). */
    if (kept > 1) {
        size_t at = data[size - 1] % (kept - 1);
        memset(&resumed, 0, sizeof resumed);
        read_from(data, size, whole.r[at].end, whole.r[at].next_line, 3, &resumed);
        CHECK(resumed.n == whole.n - at - 1);
        for (size_t i = 0; i + at + 1 < kept; i++) CHECK(same(&resumed.r[i], &whole.r[i + at + 1]));
    }
    return 0;
}
