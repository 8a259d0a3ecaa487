// model_merge.c — see model_merge.h.
#include "model_merge.h"

#include <math.h>
#include <stddef.h>

#include "../core/fx.h"

// log sum_i exp(a[i]) in double; -inf when every a[i] is -inf (not the NaN of -inf - -inf).
static double logsumexp(const double *a, int n) {
    double mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = a[i] > mx ? a[i] : mx;
    if (mx == -INFINITY) return -INFINITY;
    double s = 0;
    for (int i = 0; i < n; i++) s += exp(a[i] - mx);
    return mx + log(s);
}

enum { MAX_EXPERTS = 4096 }; // model_config_validate's bound on num_experts

void model_merge_alpha(const float *z, int T, int K, float *alpha, float *log_alpha) {
    FX_ASSERT(K >= 1 && K <= MAX_EXPERTS);
    double a[MAX_EXPERTS];
    for (size_t t = 0; t < (size_t)T; t++) {
        const float *zt = z + t * (size_t)K;
        for (int i = 0; i < K; i++) {
            FX_ASSERT(!isnan(zt[i]) && zt[i] != INFINITY);
            a[i] = zt[i];
        }
        double lse = logsumexp(a, K);
        FX_ASSERT(isfinite(lse));
        for (int i = 0; i < K; i++) {
            double la = a[i] - lse;
            if (alpha) alpha[t * (size_t)K + (size_t)i] = (float)exp(la);
            if (log_alpha) log_alpha[t * (size_t)K + (size_t)i] = (float)la;
        }
    }
}

void model_merge_logp(const float *log_alpha, const float *lp, int T, int K, float *logp, float *post) {
    FX_ASSERT(K >= 1 && K <= MAX_EXPERTS);
    double a[MAX_EXPERTS];
    for (size_t t = 0; t < (size_t)T; t++) {
        const float *la = log_alpha + t * (size_t)K;
        for (int i = 0; i < K; i++) a[i] = (double)la[i] + (double)lp[(size_t)i * (size_t)T + t];
        double l = logsumexp(a, K);
        logp[t] = (float)l;
        if (!post) continue;
        for (int i = 0; i < K; i++)
            post[t * (size_t)K + (size_t)i] = l == -INFINITY ? (float)exp((double)la[i]) : (float)exp(a[i] - l);
    }
}

void model_merge_backward(const float *alpha, const float *post, const float *dlogp, int T, int K, float *dz) {
    for (size_t t = 0; t < (size_t)T; t++) {
        double d = dlogp ? dlogp[t] : 1.0;
        for (size_t i = t * (size_t)K; i < (t + 1) * (size_t)K; i++) dz[i] = (float)(d * ((double)post[i] - alpha[i]));
    }
}

void model_merge_row_prob(const float *log_alpha, const float *const *rows, int K, int V, float *out) {
    FX_ASSERT(K >= 1 && K <= MAX_EXPERTS);
    double a[MAX_EXPERTS];
    for (int v = 0; v < V; v++) {
        for (int i = 0; i < K; i++) a[i] = (double)log_alpha[i] + (double)rows[i][v];
        out[v] = (float)logsumexp(a, K);
    }
}

float model_merge_row_entropy(const float *log_alpha, const float *const *rows, int K, int V, float *c) {
    FX_ASSERT(K >= 1 && K <= MAX_EXPERTS);
    double a[MAX_EXPERTS], ci[MAX_EXPERTS] = {0}, H = 0;
    for (int v = 0; v < V; v++) {
        for (int i = 0; i < K; i++) a[i] = (double)log_alpha[i] + (double)rows[i][v];
        double l = logsumexp(a, K);
        if (l == -INFINITY) continue; // pi(v) = 0: 0 log 0
        H -= exp(l) * l;
        for (int i = 0; i < K; i++)
            if (rows[i][v] != -INFINITY) ci[i] += exp((double)rows[i][v]) * l;
    }
    if (c)
        for (int i = 0; i < K; i++) c[i] = (float)ci[i];
    return (float)H;
}

void model_merge_entropy_backward(const float *alpha, const float *c, const float *H, const float *dent, int T, int K,
                                  float *dz) {
    for (size_t t = 0; t < (size_t)T; t++)
        for (size_t i = t * (size_t)K; i < (t + 1) * (size_t)K; i++)
            if (alpha[i] != 0.0f) dz[i] = (float)((double)dz[i] - (double)dent[t] * alpha[i] * ((double)c[i] + H[t]));
}

// sum_i alpha_i rows_i[v] over the experts of weight > 0.
static double mixed_logit(const float *alpha, const float *const *rows, int K, int v) {
    double x = 0;
    for (int i = 0; i < K; i++)
        if (alpha[i] != 0.0f) x += (double)alpha[i] * rows[i][v];
    return x;
}

void model_merge_row_logit(const float *alpha, const float *const *rows, int K, int V, float *out) {
    double mx = -INFINITY, s = 0;
    for (int v = 0; v < V; v++) mx = fmax(mx, mixed_logit(alpha, rows, K, v));
    FX_ASSERT(isfinite(mx));
    for (int v = 0; v < V; v++) s += exp(mixed_logit(alpha, rows, K, v) - mx);
    double lse = mx + log(s);
    for (int v = 0; v < V; v++) out[v] = (float)(mixed_logit(alpha, rows, K, v) - lse);
}
