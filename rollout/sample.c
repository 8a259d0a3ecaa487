// sample.c — see sample.h.
#include "sample.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../core/fx.h"

void sample_scratch_init(sample_scratch *s, int V) {
    s->V = V;
    s->prob = fx_malloc((size_t)V * sizeof *s->prob);
    s->dist = fx_malloc((size_t)V * sizeof *s->dist);
    s->idx = fx_malloc((size_t)V * sizeof *s->idx);
}

void sample_scratch_free(sample_scratch *s) {
    free(s->prob);
    free(s->dist);
    free(s->idx);
    s->prob = s->dist = NULL;
    s->idx = NULL;
}

// The total order of candidates: more probable first, then the lower id.
static inline bool better(const float *p, int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); }

static inline void swap(int *x, int i, int j) {
    int t = x[i];
    x[i] = x[j];
    x[j] = t;
}

// Median of three positions, for a pivot that is robust on sorted input.
static int pivot_of(const float *p, const int *idx, int lo, int hi) {
    int a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
    if (better(p, idx[b], idx[a])) { int t = a; a = b; b = t; }
    if (better(p, idx[c], idx[b])) { int t = b; b = c; c = t; }
    if (better(p, idx[b], idx[a])) { int t = a; a = b; b = t; }
    return b;
}

// Rearranges idx[lo, hi) into [better than the pivot] [pivot] [the rest]; returns the pivot's place.
static int partition(const float *p, int *idx, int lo, int hi) {
    swap(idx, pivot_of(p, idx, lo, hi), hi - 1);
    int pv = idx[hi - 1], store = lo;
    for (int i = lo; i < hi - 1; i++)
        if (better(p, idx[i], pv)) swap(idx, i, store++);
    swap(idx, store, hi - 1);
    return store;
}

// Puts the k best of idx[0, n) first.
static void select_top_k(const float *p, int *idx, int n, int k) {
    int lo = 0, hi = n;
    while (hi - lo > 1) {
        int pos = partition(p, idx, lo, hi);
        if (pos == k || pos == k - 1) return;
        if (pos < k) lo = pos + 1;
        else hi = pos;
    }
}

// Puts first the smallest set of the best of idx[0, n) whose mass reaches target; returns its size.
static int select_top_mass(const float *p, int *idx, int n, double target) {
    int lo = 0, hi = n; // idx[0, lo) is in the set (mass `above` < target); [lo, hi) undecided
    double above = 0;
    while (lo < hi) {
        int pos = partition(p, idx, lo, hi);
        double better_mass = above;
        for (int i = lo; i < pos; i++) better_mass += p[idx[i]];
        if (better_mass >= target) {
            hi = pos; // the set ends before the pivot
        } else if (better_mass + p[idx[pos]] >= target) {
            return pos + 1; // the pivot completes it
        } else {
            above = better_mass + p[idx[pos]];
            lo = pos + 1;
        }
    }
    return lo < n ? lo : n;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int sample_distribution(const float *logits, int V, const sample_params *p, sample_scratch *s, float *probs) {
    FX_ASSERT(V <= s->V && V > 0);
    for (int i = 0; i < V; i++) probs[i] = 0.0f;
    if (!(p->temperature > 0)) { // greedy
        int t = argmax(logits, V);
        probs[t] = 1.0f;
        s->idx[0] = t;
        return 1;
    }
    float mx = logits[argmax(logits, V)];
    double z = 0;
    for (int i = 0; i < V; i++) {
        s->prob[i] = expf((logits[i] - mx) / p->temperature);
        z += s->prob[i];
        s->idx[i] = i;
    }
    for (int i = 0; i < V; i++) s->prob[i] = (float)(s->prob[i] / z);
    int kept = V;
    if (p->top_k > 0 && p->top_k < kept) {
        select_top_k(s->prob, s->idx, V, p->top_k);
        kept = p->top_k;
    }
    if (p->top_p < 1) kept = select_top_mass(s->prob, s->idx, kept, p->top_p);
    if (p->min_p > 0) {
        float top = s->prob[argmax(s->prob, V)], floor_p = p->min_p * top;
        int k = 0;
        for (int i = 0; i < kept; i++)
            if (s->prob[s->idx[i]] >= floor_p) swap(s->idx, i, k++);
        kept = k; // >= 1: the most likely token is always kept
    }
    double total = 0;
    for (int i = 0; i < kept; i++) total += s->prob[s->idx[i]];
    for (int i = 0; i < kept; i++) probs[s->idx[i]] = (float)(s->prob[s->idx[i]] / total);
    return kept;
}

int sample_token(const float *logits, int V, const sample_params *p, float u, sample_scratch *s, float *logprob) {
    int kept = sample_distribution(logits, V, p, s, s->dist);
    if (kept == 1) {
        *logprob = 0.0f;
        return s->idx[0];
    }
    double cdf = 0;
    int token = -1;
    for (int i = 0; i < V; i++) {
        if (s->dist[i] == 0.0f) continue;
        token = i; // the last kept token catches u past the rounded total
        cdf += s->dist[i];
        if ((double)u < cdf) break;
    }
    *logprob = logf(s->dist[token]);
    return token;
}
