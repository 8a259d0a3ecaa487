// merge.c — see merge.h.
#include "merge.h"

#include <math.h>
#include <string.h>

#include "../core/rng.h"
#include "../model/model_merge.h"

int rollout_merge_space_parse(const char *s, rollout_merge_space *out) {
    if (!strcmp(s, "prob")) *out = ROLLOUT_MERGE_PROB;
    else if (!strcmp(s, "logit")) *out = ROLLOUT_MERGE_LOGIT;
    else return -1;
    return 0;
}

int rollout_merge_check(const rollout_merge *mx, const char *const *names, const char *pcm_name, fx_err *err) {
    if (mx->K < 1 || mx->K > ROLLOUT_MERGE_MAX_EXPERTS)
        return fx_errf(err, "--experts: expected 1 to %d expert folders, got %d", ROLLOUT_MERGE_MAX_EXPERTS, mx->K);
    const model *e0 = mx->experts[0];
    for (int i = 0; i < mx->K; i++) {
        const model *e = mx->experts[i];
        if (e->head != MODEL_HEAD_LM)
            return fx_errf(err, "%s: config.json: architectures: expected a causal language model (an expert), got %s",
                           names[i], e->cfg.architecture);
        if (e->cfg.vocab_size != e0->cfg.vocab_size)
            return fx_errf(err, "%s and %s: config.json: vocab_size: experts must share one vocabulary, got %d and %d",
                           names[0], names[i], e0->cfg.vocab_size, e->cfg.vocab_size);
    }
    if (!mx->pcm) return 0;
    if (mx->pcm->head != MODEL_HEAD_PCM)
        return fx_errf(err, "%s: config.json: architectures: expected FluxrlPCMForTokenMixing (a PCM), got %s", pcm_name,
                       mx->pcm->cfg.architecture);
    if (mx->pcm->cfg.num_experts != mx->K)
        return fx_errf(err, "%s: config.json: num_experts: expected %d (the experts given), got %d", pcm_name, mx->K,
                       mx->pcm->cfg.num_experts);
    if (mx->pcm->cfg.vocab_size != e0->cfg.vocab_size)
        return fx_errf(err, "%s and %s: config.json: vocab_size: the PCM must read the experts' vocabulary, got %d and %d",
                       pcm_name, names[0], mx->pcm->cfg.vocab_size, e0->cfg.vocab_size);
    return 0;
}

int rollout_merge_check_pref(const float *w, int K, const char *what, fx_err *err) {
    double sum = 0;
    for (int i = 0; i < K; i++) {
        if (!isfinite(w[i]) || w[i] < 0)
            return fx_errf(err, "%s: weight %d: expected a finite number >= 0, got %g", what, i + 1, (double)w[i]);
        sum += w[i];
    }
    if (fabs(sum - 1) > 1e-6)
        return fx_errf(err, "%s: expected weights summing to 1 (within 1e-6), got a sum of %.9g", what, sum);
    return 0;
}

// d = l - max l in place (the sampler's own first step, so it samples d exactly as l); returns
// log sum_v exp d[v] in double.
static double shift_row(float *l, int V) {
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) {
        l[v] = l[v] - mx;
        s += exp((double)l[v]);
    }
    return log(s);
}

void rollout_merge_row(rollout_merge_space space, const float *alpha, const float *log_alpha, float *const *logits,
                       int K, int V, float *out) {
    FX_ASSERT(K >= 1 && K <= ROLLOUT_MERGE_MAX_EXPERTS);
    double lz[ROLLOUT_MERGE_MAX_EXPERTS], c = 0;
    for (int i = 0; i < K; i++) {
        lz[i] = shift_row(logits[i], V);
        if (alpha[i] > 0) c += (double)alpha[i] * lz[i];
    }
    const float *rows[ROLLOUT_MERGE_MAX_EXPERTS];
    for (int i = 0; i < K; i++) rows[i] = logits[i];
    if (space == ROLLOUT_MERGE_LOGIT) {
        model_merge_row_logit(alpha, rows, K, V, out);
        return;
    }
    float la[ROLLOUT_MERGE_MAX_EXPERTS]; // log alpha_i - lz_i + c: at a one-hot alpha, 0 (exactly) and -inf
    for (int i = 0; i < K; i++) la[i] = alpha[i] > 0 ? (float)((double)log_alpha[i] + (c - lz[i])) : log_alpha[i];
    model_merge_row_prob(la, rows, K, V, out);
}

#define PREF_STREAM 0x9e3f5eedull // preference draws: a stream family of their own

void rollout_merge_draw_pref(uint64_t seed, uint64_t key, int K, float *w) {
    fx_rng r = fx_rng_make(seed, fx_rng_hash(PREF_STREAM, key));
    double e[ROLLOUT_MERGE_MAX_EXPERTS], sum = 0;
    FX_ASSERT(K > 0 && K <= ROLLOUT_MERGE_MAX_EXPERTS);
    for (int i = 0; i < K; i++) sum += e[i] = -log(1.0 - fx_rng_double(&r)); // Exp(1); 1 - u in (0, 1]
    for (int i = 0; i < K; i++) w[i] = sum > 0 ? (float)(e[i] / sum) : 1.0f / (float)K;
}

// log of a Gamma(a, 1) variate, a > 0: Marsaglia and Tsang's squeeze for a >= 1; below 1,
// Gamma(a + 1) * U^(1/a), kept in logs (U^(1/a) underflows for a small a).
static double log_gamma_variate(fx_rng *r, double a) {
    double boost = 0;
    if (a < 1) {
        boost = log(1.0 - fx_rng_double(r)) / a; // log U^(1/a), U in (0, 1]
        a += 1;
    }
    double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = fx_rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - fx_rng_double(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return log(d * v) + boost;
    }
}

void rollout_merge_draw_pref_from(uint64_t seed, uint64_t key, int K, const rollout_pref_dist *dist, float *w) {
    FX_ASSERT(K > 0 && K <= ROLLOUT_MERGE_MAX_EXPERTS);
    if (dist->kind == ROLLOUT_PREF_UNIFORM) {
        rollout_merge_draw_pref(seed, key, K, w);
        return;
    }
    fx_rng r = fx_rng_make(seed, fx_rng_hash(PREF_STREAM, key));
    if (dist->kind == ROLLOUT_PREF_CORNERS) {
        int hot = (int)fx_rng_below(&r, (uint64_t)K);
        for (int i = 0; i < K; i++) w[i] = i == hot ? 1.0f : 0.0f;
        return;
    }
    FX_ASSERT(dist->alpha > 0);
    double lg[ROLLOUT_MERGE_MAX_EXPERTS], top = -INFINITY, sum = 0;
    for (int i = 0; i < K; i++) lg[i] = log_gamma_variate(&r, dist->alpha), top = fmax(top, lg[i]);
    for (int i = 0; i < K; i++) sum += exp(lg[i] - top);
    for (int i = 0; i < K; i++) w[i] = (float)(exp(lg[i] - top) / sum);
}
