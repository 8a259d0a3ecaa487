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

// REBEL's update (trainer/grpo.h): two groups of three traces with rewards R. On policy the
// log-ratios are 0, so REBEL's gradient is the clipped surrogate's at ratio 1 with the advantages
// A_s = −∂loss/∂Δ_s · (global tokens) (token_mean): one AdamW step of each from the same weights
// must agree. Then, with recorded log-probs off, the reported loss must be REBEL's on log-ratios
// computed independently, and the minibatches must split at group boundaries.
static void test_rebel(const model_config *c, backend *be) {
    model m, g;
    model_init_random(&m, c, MODEL_HEAD_LM, be, 5, 0.3f, 0.0f);
    model_init_random(&g, c, MODEL_HEAD_LM, be, 5, 0.3f, 0.0f);
    model_train_init(&m), model_train_init(&g);
    model_reserve(&m, 4, 16, true, false), model_reserve(&g, 4, 16, true, false);
    enum { N = 6, P = 2 };
    trace_batch b;
    trace_batch_init(&b);
    float rew[N] = {1.0f, 0.0f, 0.25f, -0.5f, 0.5f, 2.0f};
    for (int i = 0; i < N; i++) {
        int R = 3 + i % 3;
        int32_t prompt[P] = {1 + i / 3, 2}, resp[8];
        float zeros[8] = {0};
        for (int t = 0; t < R; t++) resp[t] = (int32_t)((11 * i + 5 * t + 3) % 40);
        trace t = {.group = i / 3, .sample = i % 3, .n_prompt = P, .n_response = R, .prompt = prompt,
                   .response = resp, .logprobs = zeros, .think_end = -1, .final_reward = rew[i]};
        trace_batch_add(&b, &t);
    }
    // On policy by recompute_old: the old log-probs come from the update's own forward (same rows,
    // same micro), so Δ = 0 exactly on every CPU; the recorded ones, from whole-sequence forwards,
    // round differently where OpenBLAS picks other kernels by shape (AVX-512 EPYC).
    for (int i = 0; i < N; i++) seq_logp(&m, &b, i, b.logprobs + b.response_start[i]);
    double delta[N] = {0}, coef[N], eta = 0.5;
    double tokens = (double)b.n_response_ids, pairs = (double)grpo_rebel_pairs(b.group, N);
    CHECK(pairs == 6.0);
    grpo_rebel(eta, N, b.group, delta, rew, pairs, coef);
    float adv[N];
    for (int i = 0; i < N; i++) adv[i] = (float)(-coef[i] * tokens);
    CHECK(adv[5] > 0 && adv[3] < 0);
    grpo_loss_params lp = {0.2f, 0.28f, 0, 0, GRPO_KL_K1, 0, GRPO_AGG_TOKEN_MEAN, 16};
    grpo_update_opts o = {.micro = 4, .minibatches = 1, .epochs = 1, .grad_clip = 0, .lr = 1e-2f,
                          .opt = {0, 0.9f, 0.999f, 1e-8f, 0}, .rebel = true, .rebel_eta = eta,
                          .recompute_old = true};
    grpo_update_opts og = o;
    og.rebel = false;
    uint8_t keep[N] = {1, 1, 1, 1, 1, 1};
    double norm_r, norm_g;
    grpo_update_stats us;
    grpo_policy_update(&m, NULL, &b, rew, NULL, keep, &lp, &o, NULL, &norm_r, &us);
    CHECK_INT(us.steps, 1);
    double want_loss = 0; // Δ = 0: the loss is the rewards' own spread over the pairs
    for (int a = 0; a < N; a++)
        for (int z = a + 1; z < N; z++)
            if (b.group[a] == b.group[z]) want_loss += (double)(rew[a] - rew[z]) * (rew[a] - rew[z]);
    CHECK_NEAR(us.loss, want_loss / pairs, 1e-12);
    grpo_policy_update(&g, NULL, &b, adv, NULL, keep, &lp, &og, NULL, &norm_g, &us);
    CHECK_NEAR(norm_r, norm_g, 1e-5 * norm_g);
    double worst = 0;
    for (size_t k = 0; k < m.nparams; k++)
        worst = fmax(worst, fabs((double)m.params_mem[k] - (double)g.params_mem[k]));
    printf("REBEL vs the surrogate at ratio 1: grad norm %.6g vs %.6g, largest weight difference %.2g\n", norm_r,
           norm_g, worst);
    CHECK(worst < 1e-5); // lr 1e-2: a step moves each weight by about 1e-2
    // Four minibatches over two groups: split at group boundaries, two steps (row shares would cut
    // both groups and take four).
    o.minibatches = 4;
    grpo_policy_update(&m, NULL, &b, rew, NULL, keep, &lp, &o, NULL, &norm_r, &us);
    CHECK_INT(us.steps, 2);
    // Recorded log-probs off by 0.1 per token (recompute_old off): one step on the batch, whose
    // loss is REBEL's on log-ratios computed apart (whole-sequence forwards: other float rounding).
    o.minibatches = 1, o.recompute_old = false;
    for (int i = 0; i < N; i++) {
        float *lpi = b.logprobs + b.response_start[i];
        seq_logp(&m, &b, i, lpi);
        for (int t = 0; t < b.response_len[i]; t++) lpi[t] -= 0.1f;
    }
    for (int i = 0; i < N; i++) {
        delta[i] = seq_logp(&m, &b, i, NULL);
        for (int t = 0; t < b.response_len[i]; t++) delta[i] -= (double)b.logprobs[b.response_start[i] + t];
    }
    want_loss = grpo_rebel(eta, N, b.group, delta, rew, pairs, coef);
    grpo_policy_update(&m, NULL, &b, rew, NULL, keep, &lp, &o, NULL, &norm_r, &us);
    printf("REBEL loss with log-ratios 0.1 per token: %.9g, computed apart %.9g\n", us.loss, want_loss);
    CHECK_NEAR(us.loss, want_loss, 1e-5 * want_loss);
    trace_batch_free(&b);
    model_free(&m), model_free(&g);
}

// The merged policy's log-probs of trace i's response tokens, computed apart from the update:
// each expert's and the PCM's whole-sequence forward, the mixture log Σ_e α_e π_e in long double.
static double merged_logp(model *pcm, model *const *ex, int K, const trace_batch *b, int i, const float *w,
                          float *per_token) {
    int P = b->prompt_len[i], R = b->response_len[i], L = P + R;
    float *lpe = malloc(sizeof(float) * K * R), *pref = malloc(sizeof(float) * L * K), *z = malloc(sizeof(float) * L * K);
    int32_t *ids = malloc((size_t)L * sizeof *ids);
    for (int e = 0; e < K; e++) seq_logp(ex[e], b, i, lpe + e * R);
    memcpy(ids, b->prompt_ids + b->prompt_start[i], (size_t)P * sizeof *ids);
    memcpy(ids + P, b->response_ids + b->response_start[i], (size_t)R * sizeof *ids);
    for (int t = 0; t < L; t++) memcpy(pref + t * K, w, sizeof(float) * K);
    model_forward_pref(pcm, ids, NULL, NULL, pref, 1, L);
    model_pcm_forward(pcm, z);
    double s = 0;
    for (int t = 0; t < R; t++) {
        const float *zt = z + (P - 1 + t) * K; // position P-1+t predicts response token t
        long double mx = zt[0], den = 0, num = 0;
        for (int e = 1; e < K; e++) mx = zt[e] > mx ? zt[e] : mx;
        for (int e = 0; e < K; e++) den += expl((long double)zt[e] - mx);
        for (int e = 0; e < K; e++) num += expl((long double)zt[e] - mx) / den * expl((long double)lpe[e * R + t]);
        double v = (double)logl(num);
        s += v;
        if (per_token) per_token[t] = (float)v;
    }
    free(lpe), free(pref), free(z), free(ids);
    return s;
}

// The merged policy's entropy at each of trace i's response tokens, computed apart from the update:
// each expert's whole-sequence logits (model_lm_logits), its softmax and the mixture's entropy
// -Σ_v π(v) log π(v) in long double; returns their sum.
static double merged_entropy(model *pcm, model *const *ex, int K, const trace_batch *b, int i, const float *w,
                             float *per_token) {
    int P = b->prompt_len[i], R = b->response_len[i], L = P + R, V = ex[0]->V;
    float *logits = malloc(sizeof(float) * (size_t)K * L * V), *pref = malloc(sizeof(float) * L * K);
    float *z = malloc(sizeof(float) * L * K);
    int32_t *ids = malloc((size_t)L * sizeof *ids);
    memcpy(ids, b->prompt_ids + b->prompt_start[i], (size_t)P * sizeof *ids);
    memcpy(ids + P, b->response_ids + b->response_start[i], (size_t)R * sizeof *ids);
    for (int e = 0; e < K; e++) {
        model_forward(ex[e], ids, NULL, NULL, 1, L);
        model_lm_logits(ex[e], 0, L, logits + (size_t)e * L * V);
    }
    for (int t = 0; t < L; t++) memcpy(pref + t * K, w, sizeof(float) * K);
    model_forward_pref(pcm, ids, NULL, NULL, pref, 1, L);
    model_pcm_forward(pcm, z);
    double s = 0;
    for (int t = 0; t < R; t++) {
        int at = P - 1 + t;
        const float *zt = z + at * K;
        long double mx = zt[0], den = 0, alpha[8], lse[8], H = 0;
        for (int e = 1; e < K; e++) mx = zt[e] > mx ? zt[e] : mx;
        for (int e = 0; e < K; e++) den += expl((long double)zt[e] - mx);
        for (int e = 0; e < K; e++) {
            const float *row = logits + ((size_t)e * L + at) * V;
            long double m2 = row[0], sum = 0;
            for (int v = 1; v < V; v++) m2 = row[v] > m2 ? row[v] : m2;
            for (int v = 0; v < V; v++) sum += expl((long double)row[v] - m2);
            alpha[e] = expl((long double)zt[e] - mx) / den, lse[e] = m2 + logl(sum);
        }
        for (int v = 0; v < V; v++) {
            long double pv = 0;
            for (int e = 0; e < K; e++) pv += alpha[e] * expl((long double)logits[((size_t)e * L + at) * V + v] - lse[e]);
            if (pv > 0) H -= pv * logl(pv);
        }
        s += (double)H;
        if (per_token) per_token[t] = (float)H;
    }
    free(logits), free(pref), free(z), free(ids);
    return s;
}

// The clipped surrogate on the merged policy of a PCM over two frozen experts (docs/pcm.md): the
// update's merged log-probs equal ones computed apart (ratio 1 on the sampling log-probs), its
// gradient is the loss's (a central difference along it), a step moves the merged log-probs the
// way of the advantages, and the experts stay as they were, bit for bit; REBEL takes the same path.
static void test_pcm(const model_config *c, backend *be) {
    enum { K = 2, N = 6, P = 2 };
    model ex[K], pcm;
    model *experts[K] = {&ex[0], &ex[1]};
    for (int e = 0; e < K; e++) {
        model_init_random(&ex[e], c, MODEL_HEAD_LM, be, 11 + (uint64_t)e, 0.5f, 0.0f);
        model_reserve(&ex[e], 4, 16, false, false);
    }
    model_config pc = *c;
    pc.num_experts = K;
    model_init_random(&pcm, &pc, MODEL_HEAD_PCM, be, 7, 0.5f, 0.1f);
    model_train_init(&pcm);
    model_reserve(&pcm, 4, 16, true, false);
    trace_batch b;
    trace_batch_init(&b);
    float pref[N * K], rew[N] = {1, 0, 0, 1, 1, 0};
    for (int i = 0; i < N; i++) {
        int R = 3 + i % 3;
        int32_t prompt[P] = {1 + i / 3, 2}, resp[8];
        float zeros[8] = {0};
        for (int t = 0; t < R; t++) resp[t] = (int32_t)((13 * i + 7 * t + 2) % 40);
        trace t = {.group = i / 3, .sample = i % 3, .n_prompt = P, .n_response = R, .prompt = prompt,
                   .response = resp, .logprobs = zeros, .think_end = -1, .final_reward = rew[i]};
        trace_batch_add(&b, &t);
        pref[i * K] = i < 3 ? 0.8f : 0.25f, pref[i * K + 1] = 1.0f - pref[i * K];
    }
    for (int i = 0; i < N; i++) merged_logp(&pcm, experts, K, &b, i, pref + i * K, b.logprobs + b.response_start[i]);
    size_t ebytes = ex[0].nparams * sizeof(float);
    float *ex0 = malloc(ebytes), *ex1 = malloc(ebytes);
    memcpy(ex0, ex[0].params_mem, ebytes), memcpy(ex1, ex[1].params_mem, ebytes);
    float adv[N];
    grpo_adv_grpo(rew, b.group, N, true, 1e-6f, adv);
    grpo_loss_params lp = {0.2f, 0.28f, 0, 0, GRPO_KL_K1, 0, GRPO_AGG_TOKEN_MEAN, 16};
    grpo_update_opts o = {.micro = 4, .minibatches = 1, .epochs = 1, .grad_clip = 0, .lr = 0,
                          .opt = {0, 0.9f, 0.999f, 1e-8f, 0}, .experts = experts, .pref = pref};
    uint8_t keep[N] = {1, 1, 1, 1, 1, 1};
    double norm;
    grpo_update_stats us;
    // lr 0: the weights stay, the gradient of the loss at them stays in grads_mem.
    grpo_policy_update(&pcm, NULL, &b, adv, NULL, keep, &lp, &o, NULL, &norm, &us);
    printf("PCM: merged log-probs of the update vs computed apart: largest ratio - 1 = %.3g\n", us.ratio_max - 1);
    // packed passes (4 rows) against single sequences: the same sums in another blocking, a few
    // fp32 ulps of log-probs of magnitude < 8
    CHECK(fabs(us.ratio_max - 1) < 1e-5);
    CHECK(us.loss != 0 && norm > 0);
    CHECK_NEAR(us.alpha_mean[0] + us.alpha_mean[1], 1.0, 1e-6); // the mean mixing weights, on the simplex
    CHECK(us.alpha_mean[0] > 0 && us.alpha_mean[1] > 0);
    // loss(θ) = Σ_t -A_s exp(logπ_θ(t) - old_t) / tokens at ratio ≤ 1.28 (unclipped); its slope along the
    // gradient g is |g| (a central difference with step h along g/|g|).
    size_t np = pcm.nparams;
    float *theta = malloc(np * sizeof(float)), *g = malloc(np * sizeof(float));
    memcpy(theta, pcm.params_mem, np * sizeof(float)), memcpy(g, pcm.grads_mem, np * sizeof(float));
    double gn = 0;
    for (size_t k = 0; k < np; k++) gn += (double)g[k] * g[k];
    gn = sqrt(gn);
    CHECK_NEAR(gn, norm, 1e-6 * norm);
    double h = 1e-2, side[2];
    for (int sgn = 0; sgn < 2; sgn++) {
        for (size_t k = 0; k < np; k++) pcm.params_mem[k] = (float)(theta[k] + (sgn ? -h : h) * g[k] / gn);
        double L = 0, tokens = (double)b.n_response_ids;
        float per[8];
        for (int i = 0; i < N; i++) {
            merged_logp(&pcm, experts, K, &b, i, pref + i * K, per);
            for (int t = 0; t < b.response_len[i]; t++)
                L += -(double)adv[i] * exp((double)per[t] - (double)b.logprobs[b.response_start[i] + t]) / tokens;
        }
        side[sgn] = L;
    }
    memcpy(pcm.params_mem, theta, np * sizeof(float));
    double slope = (side[0] - side[1]) / (2 * h);
    printf("PCM: gradient norm %.6g, central difference along it %.6g\n", gn, slope);
    // h = 1e-2 in a loss of order 1 computed in fp32 (~1e-7 each side): about 1e-5 of noise in the
    // slope; the curvature term is O(h²): 2% of a slope of order 0.1 covers both.
    CHECK_NEAR(slope, gn, 2e-2 * gn);
    // A step raises the surrogate objective J = Σ_s A_s Σ_t π/π_old (per token, over the tokens),
    // computed apart. (Not every rewarded sample's log-prob need rise: α moves probability between
    // experts at positions the samples of a group share.) The experts stay as they were.
    double J[2];
    for (int side_ = 0; side_ < 2; side_++) {
        if (side_) {
            o.lr = 1e-3f;
            grpo_policy_update(&pcm, NULL, &b, adv, NULL, keep, &lp, &o, NULL, &norm, &us);
        }
        float per[8];
        J[side_] = 0;
        for (int i = 0; i < N; i++) {
            merged_logp(&pcm, experts, K, &b, i, pref + i * K, per);
            for (int t = 0; t < b.response_len[i]; t++)
                J[side_] += (double)adv[i] * exp((double)per[t] - (double)b.logprobs[b.response_start[i] + t]);
        }
    }
    printf("PCM: one step (lr 1e-3): surrogate objective %.6g -> %.6g\n", J[0], J[1]);
    CHECK(J[1] > J[0]);
    CHECK(memcmp(ex0, ex[0].params_mem, ebytes) == 0 && memcmp(ex1, ex[1].params_mem, ebytes) == 0);
    // The entropy bonus on the merge (lr 0): the update's mean entropy is the merged distribution's
    // computed apart, and its gradient is that of the whole loss, the bonus included (a central
    // difference along it, as above), at the first weights (ratio 1).
    memcpy(pcm.params_mem, theta, np * sizeof(float));
    lp.beta_ent = 0.5f, o.lr = 0;
    grpo_policy_update(&pcm, NULL, &b, adv, NULL, keep, &lp, &o, NULL, &norm, &us);
    double Hsum = 0, tokens = (double)b.n_response_ids;
    for (int i = 0; i < N; i++) Hsum += merged_entropy(&pcm, experts, K, &b, i, pref + i * K, NULL);
    printf("PCM: merged entropy of the update %.9g, computed apart %.9g\n", us.entropy, Hsum / tokens);
    CHECK(Hsum > 0);
    CHECK_NEAR(us.entropy, Hsum / tokens, 1e-6 * Hsum / tokens); // double sums of V terms vs long double
    memcpy(g, pcm.grads_mem, np * sizeof(float));
    gn = 0;
    for (size_t k = 0; k < np; k++) gn += (double)g[k] * g[k];
    gn = sqrt(gn);
    h = 2e-3; // the entropy's curvature is larger than the surrogate's
    for (int sgn = 0; sgn < 2; sgn++) {
        for (size_t k = 0; k < np; k++) pcm.params_mem[k] = (float)(theta[k] + (sgn ? -h : h) * g[k] / gn);
        double L = 0;
        float per[8], ent[8];
        for (int i = 0; i < N; i++) {
            merged_logp(&pcm, experts, K, &b, i, pref + i * K, per);
            merged_entropy(&pcm, experts, K, &b, i, pref + i * K, ent);
            for (int t = 0; t < b.response_len[i]; t++) { // the clipped surrogate: the step above moved the ratios
                double rho = exp((double)per[t] - (double)b.logprobs[b.response_start[i] + t]);
                double rc = rho < 1 - lp.eps_low ? 1 - lp.eps_low : rho > 1 + lp.eps_high ? 1 + lp.eps_high : rho;
                L += (fmax(-(double)adv[i] * rho, -(double)adv[i] * rc) - (double)lp.beta_ent * ent[t]) / tokens;
            }
        }
        side[sgn] = L;
    }
    memcpy(pcm.params_mem, theta, np * sizeof(float));
    slope = (side[0] - side[1]) / (2 * h);
    printf("PCM with the entropy bonus: gradient norm %.6g, central difference along it %.6g\n", gn, slope);
    // fp32 noise in L (~1e-7 of it each side) over 2h: ~1e-4 of the slope; curvature O(h²)
    CHECK_NEAR(slope, gn, 2e-3 * gn);
    // The bonus alone (advantages 0): a step against its gradient raises the merged entropy.
    float zero_adv[N] = {0};
    grpo_policy_update(&pcm, NULL, &b, zero_adv, NULL, keep, &lp, &o, NULL, &norm, &us);
    for (size_t k = 0; k < np; k++) pcm.params_mem[k] = (float)(theta[k] - 1e-2 * pcm.grads_mem[k] / norm);
    double Hafter = 0;
    for (int i = 0; i < N; i++) Hafter += merged_entropy(&pcm, experts, K, &b, i, pref + i * K, NULL);
    printf("PCM: a step of 1e-2 against the entropy bonus's gradient: mean entropy %.6g -> %.6g\n", Hsum / tokens,
           Hafter / tokens);
    CHECK(Hafter > Hsum);
    CHECK(memcmp(ex0, ex[0].params_mem, ebytes) == 0 && memcmp(ex1, ex[1].params_mem, ebytes) == 0);
    memcpy(pcm.params_mem, theta, np * sizeof(float));
    lp.beta_ent = 0;
    // REBEL on the merge: on policy (recompute_old) its loss is the rewards' spread, as for an LM.
    o.rebel = true, o.rebel_eta = 1, o.recompute_old = true;
    grpo_policy_update(&pcm, NULL, &b, rew, NULL, keep, &lp, &o, NULL, &norm, &us);
    double want = 0, pairs = (double)grpo_rebel_pairs(b.group, N);
    for (int a = 0; a < N; a++)
        for (int z = a + 1; z < N; z++)
            if (b.group[a] == b.group[z]) want += (double)(rew[a] - rew[z]) * (rew[a] - rew[z]);
    CHECK_NEAR(us.loss, want / pairs, 1e-12);
    CHECK(norm > 0 && memcmp(ex0, ex[0].params_mem, ebytes) == 0);
    free(theta), free(g), free(ex0), free(ex1);
    trace_batch_free(&b);
    model_free(&pcm), model_free(&ex[0]), model_free(&ex[1]);
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
    test_rebel(&c, be);
    test_pcm(&c, be);
    backend_destroy(be);
    return test_summary("test_grpo_update");
}
