/* fuzz_erp_clean: splits the input at 0x1F bytes into the six values of a raw ERP row
 * (a missing part is SQL NULL; a part "\x1E" alone too) and checks the rules' promises:
 * erp_clean_text never grows a value and leaves no NUL and no edge space unless the
 * repair made one; a kept row has a non-empty numero of at most 20 characters, an
 * extension of at most 5, a canonical status, a valid date, a coffre of 1..50
 * characters or NULL, all valid UTF-8; erp_order_better is irreflexive and
 * antisymmetric. Nothing is kept between inputs. */
#include "kinds/orders/erp_clean.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct erp_raw raw = {0};
    const char *p = (const char *)data, *end = p + size;
    for (int c = 0; c < ERP_COL_COUNT && p <= end; c++) {
        const char *sep = memchr(p, 0x1F, (size_t)(end - p));
        size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
        if (!(len == 1 && p[0] == 0x1E)) {
            raw.values[c] = p;
            raw.lengths[c] = len;
        }
        if (!sep) break;
        p = sep + 1;
    }
    char *scratch = malloc(size + 1);
    if (!scratch) return 0;
    for (int c = 0; c < ERP_COL_COUNT; c++) {
        if (!raw.values[c]) continue;
        size_t n = erp_clean_text(raw.values[c], raw.lengths[c], scratch);
        CHECK(n <= raw.lengths[c]);
        CHECK(strlen(scratch) == n);
        char *folded = malloc(2 * n + 1);
        CHECK(folded);
        CHECK(erp_fold(scratch, n, folded) <= 2 * n);
        free(folded);
    }
    struct erp_order o;
    enum erp_reject r = erp_clean_row(&raw, &o, scratch, size + 1);
    if (r == ERP_OK) {
        long n = erp_utf8_chars(o.numero, strlen(o.numero));
        CHECK(n >= 1 && n <= ERP_NUMERO_MAX);
        n = erp_utf8_chars(o.extension, strlen(o.extension));
        CHECK(n >= 0 && n <= ERP_EXTENSION_MAX);
        bool known = false;
        for (int i = 0; i < ERP_STATUS_COUNT; i++) known |= o.status == erp_statuses[i];
        CHECK(known);
        CHECK(erp_utf8_chars(o.status_text, strlen(o.status_text)) >= 0);
        int32_t days;
        char iso[11];
        CHECK(erp_parse_date(o.date, 10, &days, iso) == 0 && days == o.days);
        n = erp_utf8_chars(o.coffre, strlen(o.coffre));
        CHECK(o.coffre_null ? 1 : (n >= 1 && n <= ERP_COFFRE_MAX));
        CHECK(!erp_order_better(&o, &o));
        struct erp_order b = o;
        b.stock = !o.stock;
        CHECK(erp_order_better(&o, &b) != erp_order_better(&b, &o));
    } else {
        CHECK(r >= ERP_REJECT_NUMERO && r <= ERP_REJECT_STOCK);
    }
    free(scratch);
    return 0;
}
