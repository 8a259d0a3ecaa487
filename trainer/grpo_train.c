// grpo_train.c — one policy update on scored traces: see grpo_train.h.
#include "grpo_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "grpo.h"

// A trace batch as the GRPO update takes it: each sequence's prompt + response ids and lengths,
// rewards, groups, versions and sampling log-probs; with `kl` the reference log-probs and with
// `steps` the step rewards too.
void grpo_batch_from_traces(const trace_batch *tb, bool kl, bool steps, grpo_batch *b) {
    int n = (int)tb->n;
    size_t cap = (size_t)(n ? n : 1);
    *b = (grpo_batch){.n = n};
    b->plen = fx_malloc(cap * sizeof(int)), b->rlen = fx_malloc(cap * sizeof(int));
    b->ids = fx_calloc(cap, sizeof(int32_t *)), b->old_logp = fx_calloc(cap, sizeof(float *));
    b->reward = fx_malloc(cap * sizeof(float)), b->group = fx_malloc(cap * sizeof(int64_t));
    b->version = fx_malloc(cap * sizeof(int64_t));
    if (kl) b->ref_logp = fx_calloc(cap, sizeof(float *));
    if (steps) {
        b->nsteps = fx_calloc(cap, sizeof(int));
        b->step_end = fx_calloc(cap, sizeof(int32_t *)), b->step_reward = fx_calloc(cap, sizeof(float *));
    }
    for (int i = 0; i < n; i++) {
        trace t = trace_batch_get(tb, i);
        int P = t.n_prompt, R = t.n_response;
        b->plen[i] = P, b->rlen[i] = R, b->reward[i] = t.final_reward, b->group[i] = t.group;
        b->version[i] = t.policy_version;
        b->ids[i] = fx_malloc((size_t)(P + R) * sizeof(int32_t));
        memcpy(b->ids[i], t.prompt, (size_t)P * sizeof(int32_t));
        memcpy(b->ids[i] + P, t.response, (size_t)R * sizeof(int32_t));
        b->old_logp[i] = fx_malloc((size_t)(R ? R : 1) * sizeof(float));
        memcpy(b->old_logp[i], t.logprobs, (size_t)R * sizeof(float));
        if (kl) {
            b->ref_logp[i] = fx_malloc((size_t)(R ? R : 1) * sizeof(float));
            memcpy(b->ref_logp[i], t.ref_logprobs, (size_t)R * sizeof(float));
        }
        if (steps) {
            b->nsteps[i] = t.n_steps;
            b->step_end[i] = fx_malloc((size_t)(t.n_steps ? t.n_steps : 1) * sizeof(int32_t));
            b->step_reward[i] = fx_malloc((size_t)(t.n_steps ? t.n_steps : 1) * sizeof(float));
            memcpy(b->step_end[i], t.step_end, (size_t)t.n_steps * sizeof(int32_t));
            memcpy(b->step_reward[i], t.step_reward, (size_t)t.n_steps * sizeof(float));
        }
    }
}

void grpo_ref_logprobs(model *ref, trace_batch *b, int micro) {
    grpo_batch g;
    grpo_batch_from_traces(b, false, false, &g);
    int n = g.n, *rows = fx_malloc((size_t)(n ? n : 1) * sizeof *rows);
    float **out = fx_malloc((size_t)(n ? n : 1) * sizeof *out);
    for (int i = 0; i < n; i++) rows[i] = i, out[i] = b->ref_logprobs + b->response_start[i];
    grpo_batch_logprobs(ref, &g, rows, n, micro, out);
    free(rows), free(out);
    grpo_batch_free(&g);
}

void grpo_train_on_traces(model *policy, model *ref_model, const trace_batch *tb, const grpo_train_params *p,
                          int64_t version, int update, const trainer_dp *dp, grpo_train_stats *u) {
    int n = (int)tb->n;
    bool process = p->advantage == GRPO_ADV_PROCESS;
    // The reference log-probs came with the traces, or the trainer's own reference model computes
    // them (a loss term only: as a reward penalty they come with the traces).
    bool kl = p->kl_beta > 0 && p->ref_with_traces;
    model *ref = p->kl_beta > 0 && !kl && !p->kl_in_reward ? ref_model : NULL;
    grpo_batch b;
    grpo_batch_from_traces(tb, kl, process, &b);
    size_t cap = (size_t)(n ? n : 1);
    // KL as a reward penalty: r_i -= kl_beta * sum_t kl_t over the sampled tokens (the estimator
    // on sampling vs reference log-probs), and no KL term in the loss.
    bool kl_reward = p->kl_in_reward;
    double kl_pen = 0;
    if (kl_reward)
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int t = 0; t < b.rlen[i]; t++) {
                double d = (double)b.ref_logp[i][t] - (double)b.old_logp[i][t]; // log(ref / pi)
                s += p->loss.kl == GRPO_KL_K1 ? -d : p->loss.kl == GRPO_KL_K2 ? d * d / 2 : exp(d) - d - 1;
            }
            b.reward[i] -= (float)(p->kl_beta * s), kl_pen += s;
        }
    float *adv = fx_malloc(cap * sizeof *adv), *tok_mem = NULL, **tok_adv = NULL;
    if (p->advantage == GRPO_ADV_RLOO) grpo_adv_rloo(b.reward, b.group, n, adv);
    else grpo_adv_grpo(b.reward, b.group, n, p->std_norm, 1e-6f, adv);
    if (process) {
        int64_t total = 0;
        for (int i = 0; i < n; i++) total += b.rlen[i];
        tok_mem = fx_malloc((size_t)(total ? total : 1) * sizeof(float));
        tok_adv = fx_malloc(cap * sizeof(float *));
        grpo_batch_process_advantages(&b, p->process_add_outcome, tok_mem, tok_adv);
    }
    uint8_t *keep = fx_malloc(cap);
    memset(keep, 1, cap);
    grpo_loss_params lp = p->loss;
    if (kl_reward) lp.beta_kl = 0;
    grpo_update_opts o = p->update;
    o.version = version, o.lr = model_lr_at(&p->lr, update);
    grpo_update_stats us;
    double norm = 0;
    grpo_policy_update(policy, ref, &b, adv, (const float *const *)tok_adv, keep,
                       &lp, &o, dp, &norm, &us);
    *u = (grpo_train_stats){us.loss, us.kl, us.entropy, us.clipfrac, norm, us.tis_mean, us.steps};
    if (kl_reward) { // the mean per-token KL of this rank's traces, for the metrics
        int64_t tokens = 0;
        for (int i = 0; i < n; i++) tokens += b.rlen[i];
        u->kl = tokens ? kl_pen / (double)tokens : 0;
    }
    free(adv), free(tok_mem), free(tok_adv), free(keep);
    grpo_batch_free(&b);
}
