// reward.h — turning scores into the rewards the trainer uses, and the PRM's two offline uses.
//   PRM aggregate (ReasonFlux-PRM):   r^ = mean_t r^_t + alpha * r^_final
//   mixed reward (reward.mix fluxrl): r  = (1 - beta) * r_outcome + beta * r^
//   (reward.mix reasonflux, the ReasonFlux-PRM release's RL reward):
//                                     r  = 0.75 * p_prm + 0.25 * r_outcome, p_prm the PRM's read-out
//                                          after the whole response (docs/rewards.md)
//                                          - format_penalty (when the format check failed)
//                                          - length penalty (DAPO-style soft overlong penalty)
//   preference-weighted (pcm.reward = bt, arXiv 2407.04181):
//                                     R  = sum_i w_i sigmoid(r_i(y) - r_i(y_ref))
//   data selection for SFT: the top k traces by r^;  Best-of-N: per group, the trace with the best r^.
#ifndef FLUXRL_REWARD_H
#define FLUXRL_REWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "../rollout/trace.h"

// mean of steps[0..n) + alpha * final; NaN steps are an error of the caller (asserted).
float reward_prm_aggregate(const float *steps, int n, float final_reward, float alpha);

typedef enum { REWARD_MIX_FLUXRL = 0, REWARD_MIX_REASONFLUX } reward_mix_mode;

typedef struct {
    float beta;           // weight of the PRM score against the outcome reward, in [0, 1]
    float format_penalty; // subtracted when a trace fails the format check (no answer found, ...)
    int max_len;          // the generation budget L_max
    int overlong_buffer;  // DAPO: responses longer than L_max - buffer lose up to length_penalty
    float length_penalty; // linearly, reaching length_penalty at L_max; 0 = off
    reward_mix_mode mode; // fluxrl (beta) or reasonflux (0.75 / 0.25; beta unused)
} reward_mix_params;

// The final reward of one trace; `prm` is r^ (fluxrl) or p_prm (reasonflux).
float reward_mix(const reward_mix_params *p, float outcome, float prm, bool format_ok, int response_len);

// The reward of a response y on K preference dimensions at preference w (K weights): each
// dimension Bradley-Terry-normalised against the reference response's, sigmoid(r[i] - ref[i]),
// then weighed by w. In double; sigmoid written so that it never overflows.
double reward_bt(const double *r, const double *ref, const float *w, int K);

// Indices of the k traces with the highest score (ties: lower index first), in that order.
// Returns how many were written (min(k, n)).
int64_t reward_top_k(const float *score, int64_t n, int64_t k, int64_t *idx);

// Best-of-N: for each group (equal ids contiguous), the index of its best-scored trace
// (ties: the first). Returns the number of groups written to best.
int64_t reward_best_of_n(const float *score, const int64_t *group, int64_t n, int64_t *best);

// Accuracy of sampled answers, np problems with n samples each (row i * n + j: problem i, sample j),
// over the first k samples of each: mean pass@1 (the fraction of right samples), majority vote (the
// answer most samples agree on, by verify_equal; ties: the first; a sample with no extracted answer
// does not vote) and pass@k (any sample right). Means over the problems.
typedef struct {
    double pass1, majority, pass_k;
} reward_accuracy;
reward_accuracy reward_sample_accuracy(const bool *correct, char *const *extracted, int np, int n, int k);

// Weighted majority vote over the first k samples of each of np problems (rows as above): each
// answer (by verify_equal) collects the weights of the samples that give it, the answer with the
// most wins (ties: the first sample's), and the fraction of problems where it is right is returned.
// weight NULL: 1 each (majority vote); a sample with no extracted answer or a weight that is not
// finite (a sample the PRM could not score) does not vote. With a PRM's scores as the weights this is
// the PRM-weighted vote of Uesato et al. (2022) and Math-Shepherd (fluxrl's best-of-n reports it
// beside ReasonFlux-PRM's highest-r^ choice).
double reward_vote(const bool *correct, char *const *extracted, const float *weight, int np, int n, int k);

// A trace's lowest step reward (Math-Shepherd's aggregation: a chain is as good as its worst step),
// -inf when it has no step: what best-of-n's min_step_* and select --by min-step rank by.
float reward_min_step(const float *step, int n);

#endif
