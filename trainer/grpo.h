// grpo.h — the GRPO family's math, independent of the model: advantages from rewards, and the
// per-token policy loss with its gradient with respect to each token's log-probability.
//
// Advantages (traces of one group — the G samples of one prompt — are contiguous):
//   grpo:    A_i = (r_i - mean_g r) / (std_g r + eps)   (std optional; unbiased, as torch.std)
//   rloo:    A_i = r_i - mean_{j != i} r_j  =  G/(G-1) (r_i - mean_g r)
//   process: DeepSeekMath's process supervision. All step rewards of a group are normalised
//            together, r~ = (r - mean) / (std + eps), and token t of trace i gets
//            A_{i,t} = sum over its steps j with end(j) >= t of r~_i^(j)  (end(j): last token).
//            Optionally plus the trace's normalised outcome advantage.
// Loss per response token t (mask m_t), with ratio rho = exp(logp - old_logp):
//   pg_t  = max(-A rho, -A clip(rho, 1 - eps_low, 1 + eps_high)), and with dual clip c > 1,
//           for A < 0: min(pg_t, -A c)
//   kl_t  = k1: logp - ref | k2: (logp - ref)^2 / 2 | k3: exp(ref - logp) - (ref - logp) - 1
//   l_t   = w_t pg_t + beta_kl kl_t - beta_ent H_t        (w_t: truncated importance weight, or 1)
// Aggregated over the global batch (all data-parallel ranks: the caller passes global counts):
//   token_mean:             sum_t m l / (global tokens)
//   seq_mean_token_mean:    sum_s (sum_t m l / T_s) / (global sequences)       (original GRPO)
//   seq_mean_token_sum_norm: sum_s (sum_t m l / max_len) / (global sequences)  (Dr. GRPO)
#ifndef FLUXRL_GRPO_H
#define FLUXRL_GRPO_H

#include <stdbool.h>
#include <stdint.h>

#include "../rollout/trace.h"

// --- advantages --------------------------------------------------------------------------------
// r, adv: (n) per trace; group: (n) group ids, equal ids contiguous.
void grpo_adv_grpo(const float *r, const int64_t *group, int64_t n, bool std_norm, float eps, float *adv);
void grpo_adv_rloo(const float *r, const int64_t *group, int64_t n, float *adv);
// Token advantages (b->n_response_ids, aligned with b->response_ids) from b's step rewards;
// with outcome_adv (n, may be NULL) added to every response token of its trace.
void grpo_adv_process(const trace_batch *b, float eps, const float *outcome_adv, float *token_adv);
// Spreads per-trace advantages over each trace's response tokens.
void grpo_adv_broadcast(const trace_batch *b, const float *adv, float *token_adv);
// Dynamic sampling: 1 for every trace of a group whose rewards are not all equal, else 0.
// Returns the number of groups kept.
int64_t grpo_keep_informative(const float *r, const int64_t *group, int64_t n, uint8_t *keep);

// --- loss ------------------------------------------------------------------------------------
typedef enum { GRPO_KL_K1 = 0, GRPO_KL_K2, GRPO_KL_K3 } grpo_kl;
typedef enum { GRPO_AGG_TOKEN_MEAN = 0, GRPO_AGG_SEQ_MEAN_TOKEN_MEAN, GRPO_AGG_SEQ_MEAN_TOKEN_SUM_NORM } grpo_agg;

typedef struct {
    float eps_low, eps_high; // clip range: [1 - eps_low, 1 + eps_high]
    float dual_clip;         // c > 1 enables dual clip; <= 1 off
    float beta_kl;           // 0: no KL loss term
    grpo_kl kl;
    float beta_ent;          // 0: no entropy bonus
    grpo_agg agg;
    int max_len;             // Dr. GRPO's constant normaliser (the generation budget)
} grpo_loss_params;

// The tokens of a local batch of S sequences: sequence s owns tokens [start[s], start[s]+len[s]).
typedef struct {
    int64_t S;
    const int64_t *start;
    const int32_t *len;
    const float *logp;     // (N) current policy
    const float *old_logp; // (N) the policy that generated the tokens
    const float *ref_logp; // (N) reference policy; NULL when beta_kl == 0
    const float *entropy;  // (N) current policy's entropy; NULL when beta_ent == 0
    const float *adv;      // (N) token advantages
    const float *is_weight;// (N) truncated importance weights; NULL = 1
    const uint8_t *mask;   // (N) 1 = trained on; NULL = all
} grpo_tokens;

typedef struct {
    double loss;           // this rank's share of the global loss
    double pg, kl, entropy;// their shares, the same aggregation
    int64_t tokens, clipped, dual_clipped;
    double ratio_max;
} grpo_stats;

// Loss of the local tokens and its gradients: dlogp (N) = d loss / d logp_t, dent (N) =
// d loss / d H_t (may be NULL when beta_ent == 0). global_tokens / global_seqs: the totals over
// all data-parallel ranks (masked tokens; sequences).
void grpo_loss(const grpo_loss_params *p, const grpo_tokens *t, double global_tokens, double global_seqs, float *dlogp,
               float *dent, grpo_stats *st);

// --- REBEL ------------------------------------------------------------------------------------
// REBEL (Gao et al., arXiv 2404.16767) regresses the difference of two samples' log-ratios onto
// the difference of their rewards. For every pair (a, b), a < b, of sequences of one group:
//   u_ab = (Δ_a − Δ_b) / η − (R_a − R_b),   Δ_s = Σ_t (logp_st − old_logp_st) over s's tokens
//   loss = Σ_pairs u_ab² / global_pairs
// The paper samples two responses per prompt (one pair); with G samples fluxrl takes all
// G(G−1)/2 pairs of the group (fluxrl's extension). With x_s = Δ_s / η − R_s, u_ab = x_a − x_b, so a
// group of G contributes G Σ_s (x_s − x̄)² and ∂loss/∂Δ_s = 2 G (x_s − x̄) / (η global_pairs),
// computed in O(G) in double. Every token of s has ∂loss/∂logp_t = ∂loss/∂Δ_s.
// Pairs of a group of n sequences: n (n − 1) / 2; grpo_rebel_pairs sums them over S sequences.
int64_t grpo_rebel_pairs(const int64_t *group, int64_t S);
// delta, reward, group: (S), equal group ids contiguous. coef (S): ∂loss/∂Δ_s. Returns this rank's
// share of the loss (its pairs over global_pairs, the pairs of every data-parallel rank).
double grpo_rebel(double eta, int64_t S, const int64_t *group, const double *delta, const float *reward,
                  double global_pairs, double *coef);

// Truncated importance weights: w = min(exp(prox - behaviour), cap), for tokens sampled by an
// older policy than the one the ratio uses.
void grpo_tis_weights(const float *prox_logp, const float *behaviour_logp, int64_t n, float cap, float *w);

#endif
