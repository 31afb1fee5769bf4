/* erp_generate: `sluice generate erp-orders` — fills an ERP database (tables of
 * docker/mariadb/init.sql) with realistic dirty roller-shutter orders: several log-book
 * lines, accessories, articles and processes per order; statuses with and without
 * accents, in other cases and double-encoded; box codes in and out of the query's
 * patterns; trailing spaces, NUL bytes, empty and NULL extensions, zero dates, over-long
 * numbers and box codes. Deterministic for a seed. Orders are appended after the
 * highest ID already there; only the URL given is written to.
 *
 * erp_gen_order is pure (what one order holds, from the seed and its index); erp_generate
 * writes with bound prepared multi-row INSERTs, in transactions of a few thousand
 * orders. Memory: bounded by one batch; nothing outlives a call. */
#ifndef SLUICE_ERP_GENERATE_H
#define SLUICE_ERP_GENERATE_H

#include <stddef.h>
#include <stdint.h>

struct mdb;

#define ERP_GEN_TEXT 96 /* bytes of one generated value (with its NUL) */
#define ERP_GEN_MAX_LINES 4

struct erp_gen_text {
    char s[ERP_GEN_TEXT];
    size_t len;
    int null;
};

/* One order and its child rows, as generated. */
struct erp_gen_order {
    struct erp_gen_text numero, extension, status, customer, date;
    int nlog, nzubeh, nartikel, nvorgang;
    struct erp_gen_text log_date[ERP_GEN_MAX_LINES], log_note[ERP_GEN_MAX_LINES];
    struct erp_gen_text zcode[ERP_GEN_MAX_LINES];
    struct erp_gen_text artnr[ERP_GEN_MAX_LINES];
    struct erp_gen_text vorgang[ERP_GEN_MAX_LINES];
};

/* The order number index (0, 1, ...) of a run with seed, appended after first_id. */
void erp_gen_order(uint64_t seed, uint64_t index, uint64_t first_id, struct erp_gen_order *o);

struct erp_gen_counts {
    long orders, free_fields, logbook, accessories, articles, processes;
};

typedef void (*erp_gen_progress_fn)(void *arg, long done, long total);

/* Writes n orders; 0, or -1 with err. progress (may be NULL) is called now and then. */
int erp_generate(struct mdb *c, long n, uint64_t seed, erp_gen_progress_fn progress, void *arg,
                 struct erp_gen_counts *out, char *err, size_t errlen);

#endif
