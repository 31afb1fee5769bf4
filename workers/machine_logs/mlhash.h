/* mlhash: a fast running hash of a file's bytes whose state fits in 17 bytes, so that the
 * hash of everything before a file's saved offset can be stored with the offset and
 * continued on the next read (a replaced file is told by comparing it). Not a
 * cryptographic hash: it tells a rewritten file from the same bytes, nothing more.
 * Pure; no memory is allocated. */
#ifndef SLUICE_MLHASH_H
#define SLUICE_MLHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLHASH_STATE_BYTES 17

struct mlhash {
    uint64_t h;
    uint8_t pend[8];
    uint8_t npend;
};

void mlhash_init(struct mlhash *m);
void mlhash_update(struct mlhash *m, const void *data, size_t len);
/* The digest of what was fed so far (m is unchanged). */
uint64_t mlhash_digest(const struct mlhash *m);
/* The state as MLHASH_STATE_BYTES bytes, and back (false when the bytes are not one). */
void mlhash_save(const struct mlhash *m, uint8_t out[MLHASH_STATE_BYTES]);
bool mlhash_load(struct mlhash *m, const uint8_t *in, size_t len);
/* The digest of one buffer. */
uint64_t mlhash_of(const void *data, size_t len);

#endif
