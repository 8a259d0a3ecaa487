// grpo_update.h — one GRPO policy update on a model: the sampled sequences of an update, their
// advantages, and the clipped policy-gradient step (trainer/grpo.h's loss, the LM head's backward,
// gradient clipping and AdamW), computed in minibatches whose gradients accumulate.
#ifndef FLUXRL_GRPO_UPDATE_H
#define FLUXRL_GRPO_UPDATE_H

#include "../model/model.h"
#include "grpo.h"

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
} grpo_batch;

void grpo_batch_free(grpo_batch *b);

// Process-supervision advantages (trainer/grpo.h) of a batch with step rewards: writes the
// advantages of every response token into out (the sum of all response lengths, sequences in
// order) and points token_adv[i] at sequence i's. add_outcome: plus the group-normalised outcome
// advantage of the sequence's reward.
void grpo_batch_process_advantages(const grpo_batch *b, bool add_outcome, float *out, float **token_adv);

typedef struct {
    double loss, pg, kl, entropy, clipfrac, ratio_max;
    int64_t tokens;
} grpo_update_stats;

// Zeroes the gradients, accumulates the loss's gradient over the kept sequences (keep[i] != 0)
// in minibatches of `mb`, clips (grad_clip > 0) and takes one AdamW step at lr. The loss is
// normalised over all kept tokens / sequences of the update (lp->agg). ref (needed when
// lp->beta_kl > 0, with arenas for mb rows) is the frozen reference policy of the KL term; the
// entropy bonus (lp->beta_ent) uses the policy's own entropy. With nothing kept it does nothing
// at all (no optimiser step). Advantages are per token (token_adv[i][t] for sequence i's response
// token t) when token_adv is not NULL, else per sequence (adv[i]).
void grpo_policy_update(model *m, model *ref, const grpo_batch *b, const float *adv, const float *const *token_adv,
                        const uint8_t *keep,
                        const grpo_loss_params *lp, int mb, double grad_clip, const model_adamw *opt, float lr,
                        double *grad_norm, grpo_update_stats *us);

#endif
