// test_rng.c — Philox4x32-10 against Random123's known answers; streams reproducible,
// independent of each other and of the order they are drawn in; distributions as promised.
#include "core/rng.h"
#include "test.h"

static void test_known_answers(void) {
    // Random123's tests/kat_vectors for philox4x32 with 10 rounds.
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        fx_philox4x32_10(kat[i], kat[i] + 4, out);
        for (int j = 0; j < 4; j++) CHECK_INT(out[j], kat[i][6 + j]);
    }
}

static void test_reproducible_and_seekable(void) {
    fx_rng a = fx_rng_stream(42, 1, 3, 17), b = fx_rng_stream(42, 1, 3, 17);
    uint32_t first[400];
    for (int i = 0; i < 400; i++) {
        first[i] = fx_rng_u32(&a);
        CHECK_INT(first[i], fx_rng_u32(&b));
    }
    // The stream is a function of the block index: seeking to block 37 gives words 148...
    fx_rng c = fx_rng_stream(42, 1, 3, 17);
    fx_rng_seek(&c, 37);
    for (int i = 0; i < 8; i++) CHECK_INT(fx_rng_u32(&c), first[148 + i]);
    // ... and the words are Philox of (block, stream id) under the seed.
    uint64_t id = fx_rng_hash(fx_rng_hash(fx_rng_hash(0, 1), 3), 17);
    uint32_t ctr[4] = {5, 0, (uint32_t)id, (uint32_t)(id >> 32)}, key[2] = {42, 0}, out[4];
    fx_philox4x32_10(ctr, key, out);
    for (int j = 0; j < 4; j++) CHECK_INT(out[j], first[20 + j]);
}

static void test_order_independent(void) {
    // Drawing stream A then B gives what drawing them interleaved gives.
    fx_rng a1 = fx_rng_stream(7, 0, 0, 1), b1 = fx_rng_stream(7, 0, 0, 2);
    fx_rng a2 = a1, b2 = b1;
    uint64_t seq_a[100], seq_b[100];
    for (int i = 0; i < 100; i++) seq_a[i] = fx_rng_u64(&a1);
    for (int i = 0; i < 100; i++) seq_b[i] = fx_rng_u64(&b1);
    for (int i = 0; i < 100; i++) {
        CHECK(fx_rng_u64(&b2) == seq_b[i]);
        CHECK(fx_rng_u64(&a2) == seq_a[i]);
    }
}

// Streams that differ in any one part of their key share no 64-bit value in their first 2000,
// and are uncorrelated.
static void test_streams_independent(void) {
    fx_rng base = fx_rng_stream(1, 0, 0, 0);
    fx_rng others[5] = {fx_rng_stream(2, 0, 0, 0), fx_rng_stream(1, 1, 0, 0), fx_rng_stream(1, 0, 1, 0),
                        fx_rng_stream(1, 0, 0, 1), fx_rng_make(1, 0)};
    enum { N = 2000 };
    static uint64_t x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = fx_rng_u64(&base);
    for (int s = 0; s < 5; s++) {
        int shared = 0;
        for (int i = 0; i < N; i++) y[i] = fx_rng_u64(&others[s]);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) shared += x[i] == y[j];
        CHECK_INT(shared, 0);
    }
    fx_rng u = fx_rng_stream(9, 2, 0, 0), v = fx_rng_stream(9, 2, 0, 1);
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double p = fx_rng_double(&u), q = fx_rng_double(&v);
        sx += p, sy += q, sxy += p * q, sxx += p * p, syy += q * q;
    }
    double cov = sxy / n - (sx / n) * (sy / n);
    double corr = cov / sqrt((sxx / n - (sx / n) * (sx / n)) * (syy / n - (sy / n) * (sy / n)));
    CHECK(fabs(corr) < 0.01); // ~4.5 standard errors (1/sqrt(n) = 0.0022)
}

static void test_distributions(void) {
    fx_rng r = fx_rng_stream(2024, 0, 0, 0);
    const int n = 1000000;
    double sum = 0, fmin = 1, fmax = 0;
    int outside = 0;
    for (int i = 0; i < n; i++) {
        double d = fx_rng_double(&r);
        float f = fx_rng_float(&r);
        outside += !(d >= 0.0 && d < 1.0);
        if (f < fmin) fmin = f;
        if (f > fmax) fmax = f;
        sum += d;
    }
    CHECK_INT(outside, 0);
    CHECK(fmin >= 0.0 && fmax < 1.0);
    CHECK(fabs(sum / n - 0.5) < 0.0015); // 5 standard errors (0.289/sqrt(n))
    // fx_rng_below: chi-square over 10 bins, 9 degrees of freedom; 27.9 is the 0.999 quantile.
    long long bins[10] = {0};
    const int m = 100000;
    for (int i = 0; i < m; i++) bins[fx_rng_below(&r, 10)]++;
    double chi2 = 0;
    for (int b = 0; b < 10; b++) chi2 += (bins[b] - m / 10.0) * (bins[b] - m / 10.0) / (m / 10.0);
    CHECK(chi2 < 27.9);
    CHECK_INT(fx_rng_below(&r, 1), 0);
    uint64_t big = (1ull << 63) + 12345;
    int too_big = 0;
    for (int i = 0; i < 1000; i++) too_big += fx_rng_below(&r, big) >= big;
    CHECK_INT(too_big, 0);
    // Normal: mean 0, variance 1.
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double z = fx_rng_normal(&r);
        s1 += z, s2 += z * z;
    }
    CHECK(fabs(s1 / n) < 0.005);
    CHECK(fabs(s2 / n - 1.0) < 0.007);
}

int main(void) {
    test_known_answers();
    test_reproducible_and_seekable();
    test_order_independent();
    test_streams_independent();
    test_distributions();
    return test_summary("test_rng");
}
