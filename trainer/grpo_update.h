// grpo_update.h — one GRPO policy update on a model: the sampled sequences of an update, their
// advantages, and the clipped policy-gradient step (trainer/grpo.h's loss, the LM head's backward,
// gradient clipping and AdamW), computed in minibatches whose gradients accumulate.
#ifndef FLUXRL_GRPO_UPDATE_H
#define FLUXRL_GRPO_UPDATE_H

#include "../model/model.h"
#include "../rollout/trace.h"
#include "grpo.h"
#include "trainer_dp.h"

// The sequences of an update are a trace batch (rollout/trace.h), trained on where it lies: each
// trace's prompt and response ids, the sampling log-probs of its response (logprobs), its group
// and policy_version, and where the reward ranks computed them, the reference policy's log-probs
// (ref_logprobs).

// The log-probs of the response tokens of traces rows[0..n) under model x, into out[i] (one array
// of response_len[i] floats per trace i), in forward passes of `micro` rows taken in order. The
// update computes reference and recomputed old log-probs this way, so a caller that passes the
// same rows and micro gets the same floats bit for bit.
void grpo_logprobs(model *x, const trace_batch *b, const int *rows, int n, int micro, float **out);

typedef struct {
    double loss, pg, kl, entropy, clipfrac, ratio_max, tis_mean;
    int64_t tokens;  // response tokens trained on per epoch, over all data-parallel ranks
    int steps;       // optimiser steps taken
    double alpha_mean[16]; // a PCM policy: each expert's mean mixing weight over the tokens trained on
} grpo_update_stats;


typedef struct {
    int micro;          // sequences per forward/backward pass (bounds activation memory)
    int minibatches;    // optimiser steps per epoch: each rank's kept sequences in this many parts
    int epochs;         // passes over the update's sequences (PPO epochs)
    bool recompute_old; // old log-probs from the trainer's weights before the first step (else the
                        // sampling log-probs recorded at rollout)
    float tis_cap;      // with recompute_old: traces from an older policy version than `version`
                        // get the truncated importance weight min(exp(old - sampling), tis_cap)
    int64_t version;    // the trainer's policy version
    double grad_clip;
    model_adamw opt;
    float lr;
    bool rebel;         // the REBEL objective (trainer/grpo.h) instead of the clipped policy gradient
    double rebel_eta;   // REBEL's η
    // A merged policy (docs/pcm.md): m (and ref, if any) is a PCM mixing these K = num_experts
    // frozen experts, language models of one vocabulary sized for passes of `micro` rows; pref
    // (n, K) is each trace's preference vector, on the simplex. NULL: m is a language model.
    model *const *experts;
    const float *pref;
} grpo_update_opts;

// Takes o->epochs x o->minibatches optimiser steps on the kept sequences (keep[i] != 0). Each step
// zeroes the gradients, accumulates the loss's gradient over its sequences in passes of o->micro,
// sums the gradients over the data-parallel ranks (dp), clips (grad_clip > 0) and takes one AdamW
// step at o->lr. The loss of a step is normalised over all the step's kept tokens / sequences on
// every rank (lp->agg). The reference log-probs of the KL term (lp->beta_kl > 0) come from `ref`
// (with arenas for o->micro rows), or from b->ref_logprobs when ref is NULL (the reward ranks
// computed them).
// The entropy bonus (lp->beta_ent) uses the policy's own entropy. A step with no token on any
// rank does nothing at all (no optimiser step). Advantages are per token (token_adv[i][t] for
// trace i's response token t) when token_adv is not NULL, else per trace (adv[i]).
// With o->rebel, adv[i] is trace i's reward R_i (token_adv NULL) and the policy term is REBEL's
// regression over the pairs of each group instead of the clipped surrogate (the KL and entropy
// terms as above). Its minibatches split the kept sequences at group boundaries (a pair is never
// cut) and each step first computes every sequence's log-ratio in forward passes of its own, the
// same passes as the step's (one extra forward per step).
// With o->experts the trained policy is the PCM's merge, log π(y_t) = log Σ_i α_i π_i(y_t): the
// experts' log-probs of the kept response tokens are computed once, before the first step, and
// every loss term above applies to the merged log-probs, its gradient reaching the PCM only (the
// experts are not changed). The entropy bonus is the merged distribution's, H = -Σ_v π(v) log π(v),
// whose whole rows each training pass computes again from the experts (their forward over the
// pass, no backward: K expert forwards per pass on top of the PCM's); the KL is to ref, a PCM over
// the same experts, or to b->ref_logprobs.
void grpo_policy_update(model *m, model *ref, const trace_batch *b, const float *adv, const float *const *token_adv,
                        const uint8_t *keep, const grpo_loss_params *lp, const grpo_update_opts *o, const trainer_dp *dp,
                        double *grad_norm, grpo_update_stats *us);

#endif
