// merge.h — decoding K expert models merged token by token (arXiv 2407.04181, docs/pcm.md):
// pi(y | ctx, w) = sum_i alpha_i(w, ctx) pi_i(y | ctx), alpha from a Preference Control Model
// (PCM) or, without one, alpha = w. The experts and the PCM share the vocabulary; each keeps its
// own KV cache, and the engine (engine.h) feeds them all the same token per slot per step.
//
// The sampler (sample.h) reads a row of logits and first subtracts its maximum. A merged row is
// handed to it in the frame of the experts' logits so that a one-hot alpha gives the sampler
// that expert's row exactly as it sees it alone, and the same samples and log-probs bit for bit:
// each expert's logits l_i become d_i = l_i - max l_i (what the sampler computes first, so it
// samples d_i exactly as l_i), with log-normaliser lz_i = log sum_v exp d_i[v]; then
//   probability space:  out[v] = log sum_i alpha_i exp(d_i[v] - lz_i) + c,  c = sum_i alpha_i lz_i,
// computed as model_merge_row_prob with weights log alpha_i + (c - lz_i): at alpha = e_j the
// weight of expert j is exactly 0 and out = d_j bit for bit. The constant c only shifts the row
// (the sampler's softmax removes it).
//   logit space:        out = log_softmax(sum_i alpha_i d_i)  (model_merge_row_logit; at a
// one-hot alpha the row is the expert's re-normalised, equal to within an ulp, not bit for bit).
#ifndef FLUXRL_ROLLOUT_MERGE_H
#define FLUXRL_ROLLOUT_MERGE_H

#include <stdbool.h>

#include "../core/fx.h"
#include "../model/model.h"

#define ROLLOUT_MERGE_MAX_EXPERTS 16

typedef enum { ROLLOUT_MERGE_PROB = 0, ROLLOUT_MERGE_LOGIT } rollout_merge_space;

typedef struct {
    model *experts[ROLLOUT_MERGE_MAX_EXPERTS]; // K language models of one vocabulary
    int K;
    model *pcm;                // NULL: alpha = the preference
    rollout_merge_space space;
    // The preference of every request (K), or of each request (n, K) when per_request. On the
    // simplex (rollout_merge_check_pref).
    const float *pref;
    bool per_request;
    // Output, may be NULL: the alpha each sampled token was drawn with, (n * max_new, K), laid out
    // as the engine's out (request r's k-th token at r * max_new + k).
    float *alpha;
} rollout_merge;

// Parses "merge" as prob | logit; -1 for anything else.
int rollout_merge_space_parse(const char *s, rollout_merge_space *out);

// The experts and the PCM fit together: K in 1..ROLLOUT_MERGE_MAX_EXPERTS, every expert a
// language model, every model (PCM included) of the first expert's vocab_size, the PCM's
// num_experts = K. names[i] (and pcm_name) are what err names: the mismatch names both models.
int rollout_merge_check(const rollout_merge *mx, const char *const *names, const char *pcm_name, fx_err *err);

// A preference of K weights: each finite and >= 0, their sum 1 within 1e-6. what names it in err
// ("--preference").
int rollout_merge_check_pref(const float *w, int K, const char *what, fx_err *err);

// A preference drawn uniformly from the simplex (Dirichlet(1, ..., 1): K exponentials normalised)
// from the stream of (seed, key): the same K weights wherever it is drawn. Sums to 1 within K fp32
// ulps (rollout_merge_check_pref accepts it).
void rollout_merge_draw_pref(uint64_t seed, uint64_t key, int K, float *w);

// The distribution each problem's preference is drawn from (pcm.preference_dist):
//   UNIFORM    uniform on the simplex, rollout_merge_draw_pref;
//   DIRICHLET  Dirichlet(alpha, ..., alpha): alpha < 1 puts the weight near the corners (one
//              dimension at a time), alpha > 1 near the centre (balanced preferences);
//   CORNERS    one-hot, the expert drawn uniformly (one dimension per problem).
typedef enum { ROLLOUT_PREF_UNIFORM = 0, ROLLOUT_PREF_DIRICHLET, ROLLOUT_PREF_CORNERS } rollout_pref_kind;
typedef struct {
    rollout_pref_kind kind;
    double alpha; // DIRICHLET's concentration, > 0
} rollout_pref_dist;
// A preference from dist, drawn from the stream of (seed, key) as rollout_merge_draw_pref draws
// (UNIFORM is exactly its draw). Dirichlet draws go through Gamma(alpha) variates in log space
// (Marsaglia and Tsang; alpha < 1 by Gamma(alpha + 1) U^(1/alpha)), so a small alpha never
// underflows to a sum of 0.
void rollout_merge_draw_pref_from(uint64_t seed, uint64_t key, int K, const rollout_pref_dist *dist, float *w);

// One merged row (V) from the experts' logits rows (K, each V; shifted in place to d_i, see
// above) and alpha, log alpha (K); out is the row to sample from.
void rollout_merge_row(rollout_merge_space space, const float *alpha, const float *log_alpha, float *const *logits,
                       int K, int V, float *out);

#endif
