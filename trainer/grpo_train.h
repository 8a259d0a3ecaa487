// grpo_train.h — one GRPO-family policy update on a batch of scored traces (whole groups, equal
// group ids contiguous): the KL reward penalty when asked, advantages (group-normalised, RLOO or
// process supervision), then grpo_policy_update with the loss, PPO epochs and minibatches,
// data-parallel through a trainer_dp. Its parameters are typed, built from the config once by the
// caller (pipeline/job.c); nothing here reads the config or knows about ranks.
#ifndef FLUXRL_GRPO_TRAIN_H
#define FLUXRL_GRPO_TRAIN_H

#include <stdbool.h>

#include "../rollout/trace.h"
#include "grpo_update.h"
#include "trainer_dp.h"

typedef enum { GRPO_ADV_GROUP, GRPO_ADV_RLOO, GRPO_ADV_PROCESS } grpo_advantage;

typedef struct {
    grpo_advantage advantage; // grpo.advantage
    bool std_norm;            // group advantages divided by the group's standard deviation
    bool process_add_outcome; // process: plus the group-normalised outcome advantage
    double kl_beta;           // 0: no KL
    bool kl_in_reward;        // KL as a reward penalty (no loss term), else a loss term
    bool ref_with_traces;     // the reference log-probs came with the traces (scored elsewhere)
    grpo_loss_params loss;    // clip range, dual clip, KL estimator, entropy bonus, aggregation
    grpo_update_opts update;  // micro, minibatches, epochs, recomputed old log-probs, TIS, clip, AdamW
    model_lr_schedule lr;     // the learning rate of update k
} grpo_train_params;

typedef struct {
    double loss, kl, entropy, clipfrac, grad_norm, tis_mean;
    int steps; // optimiser steps taken
    double alpha_mean[16]; // a PCM policy: each expert's mean mixing weight over the tokens trained on
} grpo_train_stats;

// Trains `policy` on tb for update `update` with the policy at `version` (for truncated importance
// weights); ref: the frozen reference where the KL needs it and the traces do not bring its
// log-probs (else unused). dp NULL: one rank.
void grpo_train_on_traces(model *policy, model *ref, const trace_batch *tb, const grpo_train_params *p,
                          int64_t version, int update, const trainer_dp *dp, grpo_train_stats *u);

// The reference log-probs of every response token of tb into tb->ref_logprobs, in the update's own
// passes (grpo_logprobs, `micro` rows each): a trainer computing them gets the same floats.
void grpo_ref_logprobs(model *ref, trace_batch *tb, int micro);

#endif
