// test_grpo_update.c — one GRPO update moves probability toward rewarded samples and away from
// the others; dropped sequences contribute nothing.
#include <stdlib.h>

#include "test.h"
#include "trainer/grpo_update.h"

// Sum of the log-probs of sequence i's response under the model.
static double seq_logp(model *m, const grpo_batch *b, int i, float *per_token) {
    int P = b->plen[i], L = P + b->rlen[i];
    int32_t *tgt = malloc((size_t)L * sizeof *tgt);
    float *lp = malloc((size_t)L * sizeof *lp);
    for (int t = 0; t < L; t++) tgt[t] = t + 1 >= P && t + 1 < L ? b->ids[i][t + 1] : -1;
    model_forward(m, b->ids[i], NULL, NULL, 1, L);
    model_lm_forward(m, tgt, lp, NULL);
    double s = 0;
    for (int t = 0; t < b->rlen[i]; t++) {
        s += lp[P - 1 + t];
        if (per_token) per_token[t] = lp[P - 1 + t];
    }
    free(tgt), free(lp);
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
    grpo_batch b = {.n = N};
    b.plen = malloc(N * sizeof(int)), b.rlen = malloc(N * sizeof(int));
    b.ids = malloc(N * sizeof(int32_t *)), b.old_logp = malloc(N * sizeof(float *));
    b.reward = malloc(N * sizeof(float)), b.group = malloc(N * sizeof(int64_t));
    for (int i = 0; i < N; i++) {
        b.plen[i] = P, b.rlen[i] = R, b.group[i] = 0, b.reward[i] = (float)(i % 2 == 0);
        b.ids[i] = malloc((P + R) * sizeof(int32_t));
        for (int t = 0; t < P + R; t++) b.ids[i][t] = t < P ? t + 1 : (int32_t)((7 * i + 3 * t + 5) % 40);
        b.old_logp[i] = malloc(R * sizeof(float));
        seq_logp(&m, &b, i, b.old_logp[i]); // on-policy: sampled by this very model
    }
    float adv[N];
    grpo_adv_grpo(b.reward, b.group, N, true, 1e-6f, adv);
    CHECK(adv[0] > 0 && adv[1] < 0);
    double before[N];
    for (int i = 0; i < N; i++) before[i] = seq_logp(&m, &b, i, NULL);
    grpo_loss_params lp = {0.2f, 0.28f, 0, 0, GRPO_KL_K1, 0, GRPO_AGG_TOKEN_MEAN, 16};
    model_adamw opt = {0, 0.9f, 0.999f, 1e-8f, 0};
    uint8_t keep[N] = {1, 1, 1, 1};
    double norm;
    grpo_update_stats us;
    grpo_policy_update(&m, NULL, &b, adv, NULL, keep, &lp, 3 /* two minibatches */, 1.0, &opt, 1e-3f, &norm, &us);
    CHECK(norm > 0);
    CHECK_INT(us.tokens, N * R);
    CHECK_NEAR(us.clipfrac, 0, 0); // on-policy: every ratio is 1
    for (int i = 0; i < N; i++) {
        double after = seq_logp(&m, &b, i, NULL);
        if (b.reward[i] > 0) CHECK(after > before[i]);
        else CHECK(after < before[i]);
    }
    // Nothing kept: the parameters do not move.
    float *snap = malloc(m.nparams * sizeof(float));
    memcpy(snap, m.params_mem, m.nparams * sizeof(float));
    uint8_t none[N] = {0, 0, 0, 0};
    grpo_policy_update(&m, NULL, &b, adv, NULL, none, &lp, 4, 1.0, &opt, 1e-3f, &norm, &us);
    CHECK_INT(us.tokens, 0);
    CHECK(memcmp(snap, m.params_mem, m.nparams * sizeof(float)) == 0);
    free(snap);
    // KL to a reference and the entropy bonus: a frozen copy of the policy as the reference
    // gives KL 0 (k3) on the first update, then > 0 once the policy has moved.
    model ref;
    model_init_random(&ref, &c, MODEL_HEAD_LM, be, 3, 0.3f, 0.0f);
    memcpy(ref.params_mem, m.params_mem, m.nparams * sizeof(float));
    model_reserve(&ref, 4, 16, false, false);
    for (int i = 0; i < N; i++) seq_logp(&m, &b, i, b.old_logp[i]);
    grpo_loss_params kl = {0.2f, 0.28f, 0, 0.5f, GRPO_KL_K3, 0.01f, GRPO_AGG_TOKEN_MEAN, 16};
    grpo_policy_update(&m, &ref, &b, adv, NULL, keep, &kl, 4, 1.0, &opt, 1e-3f, &norm, &us);
    CHECK(fabs(us.kl) < 1e-6);
    CHECK(us.entropy > 1.0); // a random model over 40 tokens is far from certain
    grpo_policy_update(&m, &ref, &b, adv, NULL, keep, &kl, 4, 1.0, &opt, 1e-3f, &norm, &us);
    CHECK(us.kl > 1e-7);
    model_free(&ref);
    grpo_batch_free(&b);
    model_free(&m);
    backend_destroy(be);
    return test_summary("test_grpo_update");
}
