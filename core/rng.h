// rng.h — deterministic random numbers with independent streams.
// Philox4x32-10 (Salmon et al., SC'11), a counter-based generator: block i of a stream is a pure
// function of (key, counter), so a stream can be drawn on any thread, in any order, on CPU or GPU,
// and give the same numbers. The key is the run's seed; the high half of the counter is a hash
// of the stream's identity, e.g. (role, rank, sample) or (prompt, sample index); the low half
// counts blocks of four 32-bit words.
#ifndef FLUXRL_RNG_H
#define FLUXRL_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t key[2];
    uint32_t ctr[4]; // ctr[0..1]: block index; ctr[2..3]: stream id
    uint32_t buf[4]; // the current block
    int used;        // words of buf already handed out (4 = draw a new block)
} fx_rng;

// The Philox4x32-10 bijection itself.
void fx_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

// Chains one more id into a stream identity: id = fx_rng_hash(fx_rng_hash(0, a), b) ...
uint64_t fx_rng_hash(uint64_t h, uint64_t v);

fx_rng fx_rng_make(uint64_t seed, uint64_t stream);
// The stream of (seed, role, rank, sample), the key the runtime uses for per-rank work.
fx_rng fx_rng_stream(uint64_t seed, uint32_t role, uint32_t rank, uint64_t sample);
// Jump to block `block` of the stream (4 words per block).
void fx_rng_seek(fx_rng *r, uint64_t block);

uint32_t fx_rng_u32(fx_rng *r);
uint64_t fx_rng_u64(fx_rng *r);
double fx_rng_double(fx_rng *r);            // uniform in [0, 1), 53 bits
float fx_rng_float(fx_rng *r);              // uniform in [0, 1), 24 bits
uint64_t fx_rng_below(fx_rng *r, uint64_t n); // uniform in [0, n), unbiased; n > 0
double fx_rng_normal(fx_rng *r);            // standard normal (Box-Muller)

#endif
