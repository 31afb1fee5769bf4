/* mlhash: 8-byte words folded with one multiply each (see mlhash.h). */
#include "machine_logs/mlhash.h"

#include <string.h>

#define MLHASH_SEED 0x6a09e667f3bcc908ull
#define MLHASH_MUL 0x9e3779b97f4a7c15ull

static inline uint64_t mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * MLHASH_MUL;
    return h ^ (h >> 29);
}

static inline uint64_t word(const uint8_t *p) {
    uint64_t w = 0;
    for (int i = 0; i < 8; i++) w |= (uint64_t)p[i] << (8 * i);
    return w;
}

void mlhash_init(struct mlhash *m) { memset(m, 0, sizeof *m), m->h = MLHASH_SEED; }

void mlhash_update(struct mlhash *m, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len && m->npend) {
        m->pend[m->npend++] = *p++, len--;
        if (m->npend == 8) m->h = mix(m->h, word(m->pend)), m->npend = 0;
    }
    uint64_t h = m->h;
    for (; len >= 8; p += 8, len -= 8) h = mix(h, word(p));
    m->h = h;
    while (len--) m->pend[m->npend++] = *p++;
}

uint64_t mlhash_digest(const struct mlhash *m) {
    uint8_t last[8] = {0};
    memcpy(last, m->pend, m->npend);
    uint64_t h = mix(m->h, word(last));
    return mix(h, m->npend);
}

void mlhash_save(const struct mlhash *m, uint8_t out[MLHASH_STATE_BYTES]) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(m->h >> (8 * i));
    memset(out + 8, 0, 8);
    memcpy(out + 8, m->pend, m->npend);
    out[16] = m->npend;
}

bool mlhash_load(struct mlhash *m, const uint8_t *in, size_t len) {
    if (len != MLHASH_STATE_BYTES || in[16] > 7) return false;
    m->h = word(in);
    memcpy(m->pend, in + 8, 8);
    m->npend = in[16];
    return true;
}

uint64_t mlhash_of(const void *data, size_t len) {
    struct mlhash m;
    mlhash_init(&m);
    mlhash_update(&m, data, len);
    return mlhash_digest(&m);
}
