// test_sample.c — sampling distributions against hand-computed values and a brute-force
// (full sort) reference; draws by CDF inversion; empirical frequencies.
#include <stdlib.h>

#include "core/rng.h"
#include "rollout/sample.h"
#include "test.h"

static sample_scratch s;
static float dist[1024];

static int kept_with(const float *logits, int V, float T, int k, float top_p, float min_p) {
    sample_params p = {T, k, top_p, min_p};
    return sample_distribution(logits, V, &p, &s, dist);
}

static void test_hand_computed(void) {
    const float l[5] = {2, 1, 0, 1, -1};
    // softmax: e^2, e, 1, e, 1/e over Z = e^2 + 2e + 1 + 1/e
    double e = exp(1.0), Z = e * e + 2 * e + 1 + 1 / e;
    double p0 = e * e / Z, p1 = e / Z, p2 = 1 / Z, p4 = 1 / e / Z;
    CHECK_INT(kept_with(l, 5, 1, 0, 1, 0), 5);
    CHECK_NEAR(dist[0], p0, 1e-6);
    CHECK_NEAR(dist[1], p1, 1e-6);
    CHECK_NEAR(dist[2], p2, 1e-6);
    CHECK_NEAR(dist[3], p1, 1e-6);
    CHECK_NEAR(dist[4], p4, 1e-6);
    // top-k 2: tokens 0 and 1 (1 and 3 tie; the lower id wins).
    CHECK_INT(kept_with(l, 5, 1, 2, 1, 0), 2);
    CHECK_NEAR(dist[0], e * e / (e * e + e), 1e-6);
    CHECK_NEAR(dist[1], e / (e * e + e), 1e-6);
    CHECK(dist[3] == 0 && dist[2] == 0);
    // top-p: 0.5206 alone reaches 0.5; with token 1, 0.7121 reaches 0.7; 0.75 needs token 3 too.
    CHECK_INT(kept_with(l, 5, 1, 0, 0.5f, 0), 1);
    CHECK_NEAR(dist[0], 1.0, 0);
    CHECK_INT(kept_with(l, 5, 1, 0, 0.7f, 0), 2);
    CHECK(dist[0] > 0 && dist[1] > 0 && dist[3] == 0);
    CHECK_INT(kept_with(l, 5, 1, 0, 0.75f, 0), 3);
    CHECK_NEAR(dist[3], e / (e * e + 2 * e), 1e-6);
    // min-p: 0.3 × 0.5206 = 0.156 keeps 0, 1, 3; 0.1 × 0.5206 = 0.052 keeps 2 as well.
    CHECK_INT(kept_with(l, 5, 1, 0, 1, 0.3f), 3);
    CHECK(dist[2] == 0 && dist[4] == 0);
    CHECK_INT(kept_with(l, 5, 1, 0, 1, 0.1f), 4);
    CHECK_NEAR(dist[2], 1 / (Z - 1 / e), 1e-6);
    // Temperature 0.5 doubles the logits.
    double Z2 = exp(4.0) + 2 * exp(2.0) + 1 + exp(-2.0);
    CHECK_INT(kept_with(l, 5, 0.5f, 0, 1, 0), 5);
    CHECK_NEAR(dist[0], exp(4.0) / Z2, 1e-6);
    CHECK_NEAR(dist[4], exp(-2.0) / Z2, 1e-7);
    // All filters together: top-k 4 drops token 4, top-p 0.9 then needs 0,1,3 (0.9036),
    // min-p 0.4 (threshold 0.208) leaves token 0 alone.
    CHECK_INT(kept_with(l, 5, 1, 4, 0.9f, 0), 3);
    CHECK_INT(kept_with(l, 5, 1, 4, 0.9f, 0.4f), 1);
    // Greedy: the argmax, lowest id among ties, log-prob 0.
    const float tie[3] = {1, 3, 3};
    sample_params g = {0, 0, 1, 0};
    float lp = -1;
    CHECK_INT(sample_token(tie, 3, &g, 0.99f, &s, &lp), 1);
    CHECK_NEAR(lp, 0, 0);
    // Draws invert the CDF in id order: top-k 2 gives {0: 0.731, 1: 0.269}.
    sample_params k2 = {1, 2, 1, 0};
    CHECK_INT(sample_token(l, 5, &k2, 0.0f, &s, &lp), 0);
    CHECK_NEAR(lp, log(e * e / (e * e + e)), 1e-6);
    CHECK_INT(sample_token(l, 5, &k2, 0.73f, &s, &lp), 0);
    CHECK_INT(sample_token(l, 5, &k2, 0.74f, &s, &lp), 1);
    CHECK_NEAR(lp, log(e / (e * e + e)), 1e-6);
    CHECK_INT(sample_token(l, 5, &k2, 0.9999999f, &s, &lp), 1);
}

// The brute-force reference: sort everything, apply the filters in order.
static const float *ref_p;
static int ref_cmp(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (ref_p[i] != ref_p[j]) return ref_p[i] > ref_p[j] ? -1 : 1;
    return i - j;
}

static void test_against_full_sort(void) {
    fx_rng r = fx_rng_stream(5, 0, 0, 0);
    enum { V = 1000 };
    static float logits[V], p[V], want[V];
    static int order[V];
    int mismatched_sets = 0;
    double worst = 0;
    for (int trial = 0; trial < 200; trial++) {
        for (int i = 0; i < V; i++) logits[i] = (float)(fx_rng_normal(&r) * 3);
        if (trial % 5 == 0) logits[7] = logits[8] = logits[9]; // ties
        float T = 0.3f + (float)fx_rng_double(&r) * 1.5f;
        int k = trial % 3 == 0 ? 0 : 1 + (int)fx_rng_below(&r, 300);
        float top_p = trial % 4 == 0 ? 1.0f : 0.2f + (float)fx_rng_double(&r) * 0.79f;
        float min_p = trial % 2 == 0 ? 0.0f : (float)fx_rng_double(&r) * 0.2f;
        double mx = logits[0], z = 0;
        for (int i = 0; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
        for (int i = 0; i < V; i++) z += (p[i] = expf((float)((logits[i] - mx) / T)));
        for (int i = 0; i < V; i++) p[i] = (float)(p[i] / z), order[i] = i;
        ref_p = p;
        qsort(order, V, sizeof(int), ref_cmp);
        int n = k > 0 && k < V ? k : V;
        double mass = 0;
        for (int i = 0; i < n && top_p < 1; i++)
            if ((mass += p[order[i]]) >= top_p) n = i + 1;
        int m = 0;
        while (m < n && p[order[m]] >= min_p * p[order[0]]) m++;
        if (min_p > 0) n = m;
        double total = 0;
        for (int i = 0; i < V; i++) want[i] = 0;
        for (int i = 0; i < n; i++) total += p[order[i]];
        for (int i = 0; i < n; i++) want[order[i]] = (float)(p[order[i]] / total);
        int kept = kept_with(logits, V, T, k, top_p, min_p);
        int same = kept == n;
        for (int i = 0; i < V; i++) {
            same &= (dist[i] > 0) == (want[i] > 0);
            if (fabs(dist[i] - want[i]) > worst) worst = fabs(dist[i] - want[i]);
        }
        mismatched_sets += !same;
    }
    CHECK_INT(mismatched_sets, 0);
    CHECK(worst < 1e-6);
}

static void test_frequencies(void) {
    const float l[6] = {0.5f, 1.5f, -0.2f, 1.0f, 0.0f, 2.0f};
    sample_params p = {0.8f, 0, 0.95f, 0};
    float want[6];
    sample_distribution(l, 6, &p, &s, want);
    fx_rng r = fx_rng_stream(11, 0, 0, 0);
    int count[6] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float lp;
        count[sample_token(l, 6, &p, fx_rng_float(&r), &s, &lp)]++;
    }
    // A frequency of n draws has standard deviation sqrt(p (1 - p) / n) (at most 0.0011 here); 5 of
    // them (a 1 in 1.7 million miss for a fair sampler) bound it, plus the float rounding of p.
    for (int t = 0; t < 6; t++)
        CHECK_NEAR((double)count[t] / n, want[t], 5 * sqrt(want[t] * (1 - want[t]) / n) + 1e-6);
}

int main(void) {
    sample_scratch_init(&s, 1024);
    test_hand_computed();
    test_against_full_sort();
    test_frequencies();
    sample_scratch_free(&s);
    return test_summary("test_sample");
}
