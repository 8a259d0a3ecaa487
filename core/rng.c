// rng.c — Philox4x32-10 streams. See rng.h.
#include "rng.h"

#include <math.h>

#include "fx.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void fx_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

// splitmix64's finaliser: a bijection with full avalanche.
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t fx_rng_hash(uint64_t h, uint64_t v) {
    return mix64(h ^ mix64(v + 0x9E3779B97F4A7C15ull));
}

fx_rng fx_rng_make(uint64_t seed, uint64_t stream) {
    fx_rng r = {0};
    r.key[0] = (uint32_t)seed;
    r.key[1] = (uint32_t)(seed >> 32);
    r.ctr[2] = (uint32_t)stream;
    r.ctr[3] = (uint32_t)(stream >> 32);
    r.used = 4;
    return r;
}

fx_rng fx_rng_stream(uint64_t seed, uint32_t role, uint32_t rank, uint64_t sample) {
    uint64_t id = fx_rng_hash(fx_rng_hash(fx_rng_hash(0, role), rank), sample);
    return fx_rng_make(seed, id);
}

void fx_rng_seek(fx_rng *r, uint64_t block) {
    r->ctr[0] = (uint32_t)block;
    r->ctr[1] = (uint32_t)(block >> 32);
    r->used = 4;
}

uint32_t fx_rng_u32(fx_rng *r) {
    if (r->used == 4) {
        fx_philox4x32_10(r->ctr, r->key, r->buf);
        if (++r->ctr[0] == 0) ++r->ctr[1];
        r->used = 0;
    }
    return r->buf[r->used++];
}

uint64_t fx_rng_u64(fx_rng *r) {
    uint64_t hi = fx_rng_u32(r);
    return (hi << 32) | fx_rng_u32(r);
}

double fx_rng_double(fx_rng *r) { return (double)(fx_rng_u64(r) >> 11) * 0x1.0p-53; }

float fx_rng_float(fx_rng *r) { return (float)(fx_rng_u32(r) >> 8) * 0x1.0p-24f; }

uint64_t fx_rng_below(fx_rng *r, uint64_t n) {
    FX_ASSERT(n > 0);
    uint64_t threshold = (0 - n) % n; // 2^64 mod n: reject the short last interval
    for (;;) {
        uint64_t x = fx_rng_u64(r);
        if (x >= threshold) return x % n;
    }
}

double fx_rng_normal(fx_rng *r) {
    double u1 = 1.0 - fx_rng_double(r); // (0, 1]: log is finite
    double u2 = fx_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
