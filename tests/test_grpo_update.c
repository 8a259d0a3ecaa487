// test_grpo_update.c — one GRPO update moves probability toward rewarded samples and away from
// the others; dropped sequences contribute nothing.
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trainer/grpo_update.h"

// Sum of the log-probs of trace i's response under the model.
static double seq_logp(model *m, const trace_batch *b, int i, float *per_token) {
    int P = b->prompt_len[i], R = b->response_len[i], L = P + R;
    int32_t *ids = malloc((size_t)L * sizeof *ids), *tgt = malloc((size_t)L * sizeof *tgt);
    float *lp = malloc((size_t)L * sizeof *lp);
    memcpy(ids, b->prompt_ids + b->prompt_start[i], (size_t)P * sizeof *ids);
    memcpy(ids + P, b->response_ids + b->response_start[i], (size_t)R * sizeof *ids);
    for (int t = 0; t < L; t++) tgt[t] = t + 1 >= P && t + 1 < L ? ids[t + 1] : -1;
    model_forward(m, ids, NULL, NULL, 1, L);
    model_lm_forward(m, tgt, lp, NULL);
    double s = 0;
    for (int t = 0; t < R; t++) {
        s += lp[P - 1 + t];
        if (per_token) per_token[t] = lp[P - 1 + t];
    }
    free(ids), free(tgt), free(lp);
    return s;
}

int main(void) {
    model_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "qwen2");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8;
    c.intermediate_size = 64, c.vocab_size = 40, c.max_position_embeddings = 64, c.rope_theta = 10000;
    c.rms_norm_eps = 1e-6, c.qkv_bias = true, c.tie_word_embeddings = true, c.bos_token_id = c.eos_token_id = -1;
    backend *be = backend_cpu_create(1);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 3, 0.3f, 0.0f);
    model_train_init(&m);
    model_reserve(&m, 4, 16, true, false);
    enum { N = 4, P = 3, R = 6 };
    // The traces of one group, rewarded 1, 0, 1, 0, at policy version 0.
    trace_batch b;
    trace_batch_init(&b);
    for (int i = 0; i < N; i++) {
        int32_t prompt[P], resp[R];
        float zeros[R] = {0};
        for (int t = 0; t < P + R; t++)
            if (t < P) prompt[t] = t + 1;
            else resp[t - P] = (int32_t)((7 * i + 3 * t + 5) % 40);
        trace t = {.group = 0, .sample = i, .n_prompt = P, .n_response = R, .prompt = prompt, .response = resp,
                   .logprobs = zeros, .ref_logprobs = zeros, .think_end = -1, .final_reward = (float)(i % 2 == 0)};
        trace_batch_add(&b, &t);
    }
    float *old_logp[N], *ref_logp[N];
    for (int i = 0; i < N; i++) {
        old_logp[i] = b.logprobs + b.response_start[i], ref_logp[i] = b.ref_logprobs + b.response_start[i];
        seq_logp(&m, &b, i, old_logp[i]); // on-policy: sampled by this very model
    }
    float adv[N];
    grpo_adv_grpo(b.final_reward, b.group, N, true, 1e-6f, adv);
    CHECK(adv[0] > 0 && adv[1] < 0);
    double before[N];
    for (int i = 0; i < N; i++) before[i] = seq_logp(&m, &b, i, NULL);
    grpo_loss_params lp = {0.2f, 0.28f, 0, 0, GRPO_KL_K1, 0, GRPO_AGG_TOKEN_MEAN, 16};
    model_adamw opt = {0, 0.9f, 0.999f, 1e-8f, 0};
    uint8_t keep[N] = {1, 1, 1, 1};
    double norm;
    grpo_update_stats us;
    // One step, gradients accumulated over two passes (3 + 1 sequences).
    grpo_update_opts uo = {.micro = 3, .minibatches = 1, .epochs = 1, .grad_clip = 1.0, .opt = opt, .lr = 1e-3f};
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &lp, &uo, NULL, &norm, &us);
    CHECK(norm > 0);
    CHECK_INT(us.tokens, N * R);
    CHECK_INT(us.steps, 1);
    CHECK_NEAR(us.clipfrac, 0, 0); // on-policy: every ratio is 1
    for (int i = 0; i < N; i++) {
        double after = seq_logp(&m, &b, i, NULL);
        if (b.final_reward[i] > 0) CHECK(after > before[i]);
        else CHECK(after < before[i]);
    }
    // Nothing kept: the parameters do not move.
    float *snap = malloc(m.nparams * sizeof(float));
    memcpy(snap, m.params_mem, m.nparams * sizeof(float));
    uint8_t none[N] = {0, 0, 0, 0};
    uo.micro = 4;
    grpo_policy_update(&m, NULL, &b, adv, NULL, none, &lp, &uo, NULL, &norm, &us);
    CHECK_INT(us.tokens, 0);
    CHECK_INT(us.steps, 0);
    CHECK(memcmp(snap, m.params_mem, m.nparams * sizeof(float)) == 0);
    free(snap);
    // KL to a reference and the entropy bonus: a frozen copy of the policy as the reference
    // gives KL 0 (k3) on the first update, then > 0 once the policy has moved.
    model ref;
    model_init_random(&ref, &c, MODEL_HEAD_LM, be, 3, 0.3f, 0.0f);
    memcpy(ref.params_mem, m.params_mem, m.nparams * sizeof(float));
    model_reserve(&ref, 4, 16, false, false);
    for (int i = 0; i < N; i++) seq_logp(&m, &b, i, old_logp[i]);
    grpo_loss_params kl = {0.2f, 0.28f, 0, 0.5f, GRPO_KL_K3, 0.01f, GRPO_AGG_TOKEN_MEAN, 16};
    grpo_policy_update(&m, &ref, &b, adv, NULL, keep, &kl, &uo, NULL, &norm, &us);
    CHECK(us.kl == 0.0); // the same weights, the same forward: the k3 estimate is exactly 0
    CHECK(us.entropy > 1.0); // a random model over 40 tokens is far from certain
    grpo_policy_update(&m, &ref, &b, adv, NULL, keep, &kl, &uo, NULL, &norm, &us);
    CHECK(us.kl > 1e-7);
    // Reference log-probs handed in (as reward ranks send them) give the same KL as the model. Computed
    // in the same passes as the update's own (all N rows, uo.micro at a time), they are the same
    // floats, so the KL is equal bit for bit on any CPU; other passes would differ in the last bits
    // (the sgemm's summation order depends on the row count and the CPU's kernel).
    int all[N];
    for (int i = 0; i < N; i++) all[i] = i;
    grpo_logprobs(&ref, &b, all, N, uo.micro, ref_logp);
    float *snap2 = malloc(m.nparams * sizeof(float));
    memcpy(snap2, m.params_mem, m.nparams * sizeof(float));
    grpo_update_stats with_model, with_lp;
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &kl, &uo, NULL, &norm, &with_lp); // the traces' ref_logprobs
    memcpy(m.params_mem, snap2, m.nparams * sizeof(float));
    grpo_policy_update(&m, &ref, &b, adv, NULL, keep, &kl, &uo, NULL, &norm, &with_model);
    CHECK(with_lp.kl == with_model.kl);
    CHECK(with_lp.kl > 1e-7);
    free(snap2);

    // PPO epochs and minibatches: recomputed old log-probs make the first step's ratios exactly 1
    // even when the recorded ones are off; later steps move away from 1; 2 x 2 = 4 steps.
    for (int i = 0; i < N; i++)
        for (int t = 0; t < R; t++) old_logp[i][t] -= 0.5f; // the sampler's log-probs, off
    grpo_update_opts ppo = {.micro = 1, .minibatches = 1, .epochs = 1, .recompute_old = true, .tis_cap = 2,
                            .grad_clip = 1.0, .opt = opt, .lr = 1e-3f};
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &lp, &ppo, NULL, &norm, &us);
    CHECK(us.ratio_max == 1.0);
    CHECK_NEAR(us.clipfrac, 0, 0);
    CHECK(us.tis_mean == 1.0); // no trace is from an older version
    ppo.minibatches = 2, ppo.epochs = 2;
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &lp, &ppo, NULL, &norm, &us);
    CHECK_INT(us.steps, 4);
    CHECK_INT(us.tokens, N * R);
    CHECK(us.ratio_max > 1.0);
    // Traces of an older version: truncated importance weights exp(recomputed - recorded) = e^1,
    // capped at 1.2.
    for (int i = 0; i < N; i++) { // version 0
        seq_logp(&m, &b, i, old_logp[i]);
        for (int t = 0; t < R; t++) old_logp[i][t] -= 1.0f; // sampled by a policy e^-1 as likely: capped
    }
    ppo.version = 1, ppo.tis_cap = 1.2f, ppo.minibatches = 1, ppo.epochs = 1;
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &lp, &ppo, NULL, &norm, &us);
    CHECK_NEAR(us.tis_mean, 1.2, 1e-6);
    model_free(&ref);
    trace_batch_free(&b);
    model_free(&m);
    backend_destroy(be);
    return test_summary("test_grpo_update");
}
