// grpo_update.h — one GRPO policy update on a model: the sampled sequences of an update, their
// advantages, and the clipped policy-gradient step (trainer/grpo.h's loss, the LM head's backward,
// gradient clipping and AdamW), computed in minibatches whose gradients accumulate.
#ifndef FLUXRL_GRPO_UPDATE_H
#define FLUXRL_GRPO_UPDATE_H

#include "../model/model.h"
#include "grpo.h"
#include "trainer_dp.h"

// The sequences of an update (each owns its arrays; grpo_batch_free releases them).
typedef struct {
    int n;             // sequences (prompts x group size)
    int *plen, *rlen;  // prompt and response lengths
    int32_t **ids;     // prompt + response ids per sequence
    float **old_logp;  // log-probs of the response tokens under the policy that sampled them
    float *reward;
    int64_t *group;
    // Process rewards (may be NULL): sequence i's response splits into nsteps[i] steps ending at
    // step_end[i][k] (exclusive token offsets), each with reward step_reward[i][k].
    int *nsteps;
    int32_t **step_end;
    float **step_reward;
    // May be NULL: each sequence's policy version (the trainer's own when NULL), and the reference
    // policy's log-probs of its response tokens when reward ranks computed them.
    int64_t *version;
    float **ref_logp;
} grpo_batch;

void grpo_batch_free(grpo_batch *b);

// Process-supervision advantages (trainer/grpo.h) of a batch with step rewards: writes the
// advantages of every response token into out (the sum of all response lengths, sequences in
// order) and points token_adv[i] at sequence i's. add_outcome: plus the group-normalised outcome
// advantage of the sequence's reward.
void grpo_batch_process_advantages(const grpo_batch *b, bool add_outcome, float *out, float **token_adv);

// The log-probs of the response tokens of sequences rows[0..n) under model x, into out[i] (one array
// of rlen[i] floats per sequence i), in forward passes of `micro` rows taken in order. The update
// computes reference and recomputed old log-probs this way, so a caller that passes the same rows
// and micro gets the same floats bit for bit.
void grpo_batch_logprobs(model *x, const grpo_batch *b, const int *rows, int n, int micro, float **out);

typedef struct {
    double loss, pg, kl, entropy, clipfrac, ratio_max, tis_mean;
    int64_t tokens;  // response tokens trained on per epoch, over all data-parallel ranks
    int steps;       // optimiser steps taken
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
} grpo_update_opts;

// Takes o->epochs x o->minibatches optimiser steps on the kept sequences (keep[i] != 0). Each step
// zeroes the gradients, accumulates the loss's gradient over its sequences in passes of o->micro,
// sums the gradients over the data-parallel ranks (dp), clips (grad_clip > 0) and takes one AdamW
// step at o->lr. The loss of a step is normalised over all the step's kept tokens / sequences on
// every rank (lp->agg). The reference log-probs of the KL term (lp->beta_kl > 0) come from
// b->ref_logp when the reward ranks computed them, else from `ref` (with arenas for o->micro rows).
// The entropy bonus (lp->beta_ent) uses the policy's own entropy. A step with no token on any
// rank does nothing at all (no optimiser step). Advantages are per token (token_adv[i][t] for
// sequence i's response token t) when token_adv is not NULL, else per sequence (adv[i]).
void grpo_policy_update(model *m, model *ref, const grpo_batch *b, const float *adv, const float *const *token_adv,
                        const uint8_t *keep, const grpo_loss_params *lp, const grpo_update_opts *o, const trainer_dp *dp,
                        double *grad_norm, grpo_update_stats *us);

#endif
