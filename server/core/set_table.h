/* set_table: the storage of a small set-associative cache (the principal and token
 * caches): capacity entries rounded up to whole sets of `ways` entries, zeroed. The
 * caller owns the returned block (free). */
#ifndef SLUICE_SET_TABLE_H
#define SLUICE_SET_TABLE_H

#include <stdbool.h>
#include <stddef.h>

/* A zeroed table of ceil(capacity / ways) sets of `ways` entries of entry_size bytes;
 * *nsets gets the set count. capacity <= 0: NULL, *nsets 0, *failed false (the cache
 * is off). Out of memory: NULL, *nsets 0, *failed true. */
void *set_table_new(long capacity, size_t ways, size_t entry_size, size_t *nsets, bool *failed);

#endif
