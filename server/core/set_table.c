/* set_table: see set_table.h. */
#include "core/set_table.h"

#include <stdlib.h>

void *set_table_new(long capacity, size_t ways, size_t entry_size, size_t *nsets, bool *failed) {
    *nsets = 0;
    *failed = false;
    if (capacity <= 0 || ways == 0) return NULL;
    size_t sets = ((size_t)capacity + ways - 1) / ways;
    void *table = calloc(sets * ways, entry_size);
    if (!table) {
        *failed = true;
        return NULL;
    }
    *nsets = sets;
    return table;
}
