// grpo_train.c — one policy update on scored traces: see grpo_train.h.
#include "grpo_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "grpo.h"

void grpo_ref_logprobs(model *ref, trace_batch *b, int micro) {
    int n = (int)b->n, *rows = fx_malloc((size_t)(n ? n : 1) * sizeof *rows);
    float **out = fx_malloc((size_t)(n ? n : 1) * sizeof *out);
    for (int i = 0; i < n; i++) rows[i] = i, out[i] = b->ref_logprobs + b->response_start[i];
    grpo_logprobs(ref, b, rows, n, micro, out);
    free(rows), free(out);
}

void grpo_train_on_traces(model *policy, model *ref_model, const trace_batch *tb, const grpo_train_params *p,
                          int64_t version, int update, const trainer_dp *dp, grpo_train_stats *u) {
    int n = (int)tb->n;
    bool process = p->advantage == GRPO_ADV_PROCESS;
    // The reference log-probs came with the traces, or the trainer's own reference model computes
    // them (a loss term only: as a reward penalty they come with the traces).
    bool kl = p->kl_beta > 0 && p->ref_with_traces;
    model *ref = p->kl_beta > 0 && !kl && !p->kl_in_reward ? ref_model : NULL;
    size_t cap = (size_t)(n ? n : 1);
    float *reward = fx_malloc(cap * sizeof *reward);
    if (n) memcpy(reward, tb->final_reward, (size_t)n * sizeof *reward); // an update may get no groups
    // KL as a reward penalty: r_i -= kl_beta * sum_t kl_t over the sampled tokens (the estimator
    // on sampling vs reference log-probs), and no KL term in the loss.
    bool kl_reward = p->kl_in_reward;
    double kl_pen = 0;
    if (kl_reward)
        for (int i = 0; i < n; i++) {
            const float *lp = tb->logprobs + tb->response_start[i], *rlp = tb->ref_logprobs + tb->response_start[i];
            double s = 0;
            for (int t = 0; t < tb->response_len[i]; t++) {
                double d = (double)rlp[t] - (double)lp[t]; // log(ref / pi)
                s += p->loss.kl == GRPO_KL_K1 ? -d : p->loss.kl == GRPO_KL_K2 ? d * d / 2 : exp(d) - d - 1;
            }
            reward[i] -= (float)(p->kl_beta * s), kl_pen += s;
        }
    float *adv = fx_malloc(cap * sizeof *adv), *tok_mem = NULL, **tok_adv = NULL;
    if (p->advantage == GRPO_ADV_RLOO) grpo_adv_rloo(reward, tb->group, n, adv);
    else grpo_adv_grpo(reward, tb->group, n, p->std_norm, 1e-6f, adv);
    if (process) { // per-token advantages from the step rewards, plus the outcome's when asked
        tok_mem = fx_malloc((size_t)(tb->n_response_ids ? tb->n_response_ids : 1) * sizeof(float));
        tok_adv = fx_malloc(cap * sizeof(float *));
        float *outcome = NULL;
        if (p->process_add_outcome) {
            outcome = fx_malloc(cap * sizeof *outcome);
            grpo_adv_grpo(reward, tb->group, n, true, 1e-6f, outcome);
        }
        grpo_adv_process(tb, 1e-6f, outcome, tok_mem);
        for (int i = 0; i < n; i++) tok_adv[i] = tok_mem + tb->response_start[i];
        free(outcome);
    }
    uint8_t *keep = fx_malloc(cap);
    memset(keep, 1, cap);
    grpo_loss_params lp = p->loss;
    if (kl_reward) lp.beta_kl = 0;
    grpo_update_opts o = p->update;
    o.version = version, o.lr = model_lr_at(&p->lr, update);
    grpo_update_stats us;
    double norm = 0;
    // REBEL regresses on the rewards themselves (with the KL penalty where it is one)
    grpo_policy_update(policy, ref, tb, o.rebel ? reward : adv, (const float *const *)tok_adv, keep,
                       &lp, &o, dp, &norm, &us);
    *u = (grpo_train_stats){.loss = us.loss, .kl = us.kl, .entropy = us.entropy, .clipfrac = us.clipfrac,
                            .grad_norm = norm, .tis_mean = us.tis_mean, .steps = us.steps};
    memcpy(u->alpha_mean, us.alpha_mean, sizeof u->alpha_mean);
    if (kl_reward) { // the mean per-token KL of this rank's traces, for the metrics
        int64_t tokens = 0;
        for (int i = 0; i < n; i++) tokens += tb->response_len[i];
        u->kl = tokens ? kl_pen / (double)tokens : 0;
    }
    free(reward), free(adv), free(tok_mem), free(tok_adv), free(keep);
}
