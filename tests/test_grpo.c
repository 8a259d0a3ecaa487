// test_grpo.c — advantages and the GRPO loss against hand-worked cases and PyTorch autograd
// (tests/reference/grpo/make_golden.py): loss within 1e-6 relative, gradients within 1e-5; REBEL
// (explicit pairs in PyTorch) within 1e-6.
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "test.h"
#include "trainer/grpo.h"

// A cJSON array of numbers as floats (caller frees); NULL for null.
static float *floats(const cJSON *a, int *n) {
    if (!cJSON_IsArray(a)) return NULL;
    int k = cJSON_GetArraySize(a);
    float *x = malloc((size_t)(k ? k : 1) * sizeof *x);
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next) x[i++] = (float)v->valuedouble;
    if (n) *n = k;
    return x;
}

static int64_t *ints64(const cJSON *a) {
    int k = cJSON_GetArraySize(a), i = 0;
    int64_t *x = malloc((size_t)(k ? k : 1) * sizeof *x);
    for (const cJSON *v = a->child; v; v = v->next) x[i++] = (int64_t)v->valuedouble;
    return x;
}

static double num(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k)->valuedouble; }
static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

// max |a - b| / max(|b|, floor)
static double rel_err(const float *a, const float *b, int n, double floor) {
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / fmax(fabs((double)b[i]), floor);
        if (d > worst) worst = d;
    }
    return worst;
}

static void test_hand_worked(void) {
    // GRPO / RLOO on one group of 4 with rewards 1, 0, 0, 1: mean 0.5, std 0.57735.
    float r[4] = {1, 0, 0, 1}, adv[4];
    int64_t g[4] = {7, 7, 7, 7};
    grpo_adv_grpo(r, g, 4, true, 0.0f, adv);
    CHECK_NEAR(adv[0], 0.5 / sqrt(1.0 / 3.0), 1e-6);
    CHECK_NEAR(adv[1], -0.5 / sqrt(1.0 / 3.0), 1e-6);
    grpo_adv_rloo(r, g, 4, adv);
    CHECK_NEAR(adv[0], 1 - 1.0 / 3.0, 1e-6);
    CHECK_NEAR(adv[1], 0 - 2.0 / 3.0, 1e-6);
    // Dynamic sampling: the group with equal rewards goes.
    float r2[6] = {1, 1, 1, 0, 1, 0};
    int64_t g2[6] = {0, 0, 0, 1, 1, 1};
    uint8_t keep[6];
    CHECK_INT(grpo_keep_informative(r2, g2, 6, keep), 1);
    CHECK(!keep[0] && !keep[2] && keep[3] && keep[5]);
    // Process supervision: trace 0 (4 tokens, steps ending at tokens 1 and 3, rewards 1 and 0),
    // trace 1 (3 tokens, one step, reward 0.5). Group rewards 1, 0, 0.5 normalise to 1, -1, 0, so
    // trace 0's tokens get 1 + (-1) = 0 (first step) and -1 (second); trace 1's get 0.
    trace_batch b;
    trace_batch_init(&b);
    int32_t resp[4] = {0}, e0[2] = {2, 4}, e1[1] = {3};
    float lp[4] = {0}, w0[2] = {1, 0}, w1[1] = {0.5f};
    uint8_t parts[2] = {0, 1};
    trace t0 = {.group = 3, .n_response = 4, .n_steps = 2, .response = resp, .logprobs = lp, .step_end = e0,
                .step_part = parts, .step_reward = w0, .think_end = -1};
    trace t1 = {.group = 3, .n_response = 3, .n_steps = 1, .response = resp, .logprobs = lp, .step_end = e1,
                .step_part = parts, .step_reward = w1, .think_end = -1};
    trace_batch_add(&b, &t0);
    trace_batch_add(&b, &t1);
    float tok[7];
    grpo_adv_process(&b, 0.0f, NULL, tok);
    float want[7] = {0, 0, -1, -1, 0, 0, 0};
    for (int i = 0; i < 7; i++) CHECK_NEAR(tok[i], want[i], 1e-6);
    float out[2] = {0.25f, -2.0f};
    grpo_adv_process(&b, 0.0f, out, tok);
    CHECK_NEAR(tok[2], -0.75, 1e-6);
    CHECK_NEAR(tok[6], -2.0, 1e-6);
    grpo_adv_broadcast(&b, out, tok);
    CHECK(tok[0] == 0.25f && tok[3] == 0.25f && tok[4] == -2.0f);
    trace_batch_free(&b);
    // Truncated importance weights.
    float prox[3] = {-1, -1, -1}, beh[3] = {-1, -3, 0}, w[3];
    grpo_tis_weights(prox, beh, 3, 2.0f, w);
    CHECK_NEAR(w[0], 1.0, 1e-7);
    CHECK_NEAR(w[1], 2.0, 0); // exp(2) capped
    CHECK_NEAR(w[2], exp(-1.0), 1e-7);
}

// REBEL by hand: one pair with Δ = (0.5, 0), R = (1, 0), η = 1: u = 0.5 − 1 = −0.5, loss 0.25,
// ∂loss/∂Δ = (2u, −2u) = (−1, 1); a lone sequence has no pair; η scales Δ.
static void test_rebel_hand(void) {
    int64_t g[3] = {4, 4, 9};
    double delta[3] = {0.5, 0.0, 7.0}, coef[3];
    float r[3] = {1, 0, 3};
    CHECK_INT(grpo_rebel_pairs(g, 3), 1);
    CHECK_NEAR(grpo_rebel(1.0, 3, g, delta, r, 1.0, coef), 0.25, 1e-15);
    CHECK_NEAR(coef[0], -1.0, 1e-15);
    CHECK_NEAR(coef[1], 1.0, 1e-15);
    CHECK(coef[2] == 0.0);
    // η = 0.5: u = 1 − 1 = 0: the log-ratio already regresses the reward difference exactly.
    CHECK_NEAR(grpo_rebel(0.5, 3, g, delta, r, 1.0, coef), 0.0, 1e-15);
    CHECK(coef[0] == 0.0 && coef[1] == 0.0);
    // Three in a group, 4 pairs elsewhere: pairs 3, loss = Σ_pairs u² / 7.
    int64_t g3[3] = {1, 1, 1};
    double d3[3] = {0.1, -0.2, 0.4};
    float r3[3] = {0.5f, 0.0f, 1.0f};
    CHECK_INT(grpo_rebel_pairs(g3, 3), 3);
    double x[3], want = 0;
    for (int s = 0; s < 3; s++) x[s] = d3[s] / 2.0 - r3[s];
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) want += (x[a] - x[b]) * (x[a] - x[b]);
    CHECK_NEAR(grpo_rebel(2.0, 3, g3, d3, r3, 7.0, coef), want / 7.0, 1e-15);
    CHECK_NEAR(coef[0], (2 * (x[0] - x[1]) + 2 * (x[0] - x[2])) / (2.0 * 7.0), 1e-15);
}

static void test_golden(void) {
    fx_err err;
    char *text = fx_read_file("tests/data/grpo/golden.json", NULL, &err);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *root = cJSON_Parse(text);
    free(text);
    double worst_adv = 0, worst_loss = 0, worst_grad = 0;
    for (const cJSON *c = get(root, "adv_cases")->child; c; c = c->next) {
        int n;
        float *r = floats(get(c, "rewards"), &n), *adv = malloc((size_t)n * sizeof *adv);
        int64_t *g = ints64(get(c, "groups"));
        const char *names[3] = {"grpo_std", "grpo_nostd", "rloo"};
        for (int k = 0; k < 3; k++) {
            if (k < 2) grpo_adv_grpo(r, g, n, k == 0, (float)num(c, "eps"), adv);
            else grpo_adv_rloo(r, g, n, adv);
            float *want = floats(get(c, names[k]), NULL);
            worst_adv = fmax(worst_adv, rel_err(adv, want, n, 1e-3));
            free(want);
        }
        free(r), free(adv), free(g);
    }
    for (const cJSON *c = get(root, "process_cases")->child; c; c = c->next) {
        trace_batch b;
        trace_batch_init(&b);
        int n = cJSON_GetArraySize(get(c, "groups"));
        const cJSON *gs = get(c, "groups")->child, *ls = get(c, "response_len")->child;
        const cJSON *es = get(c, "step_end")->child, *rs = get(c, "step_reward")->child;
        for (int i = 0; i < n; i++, gs = gs->next, ls = ls->next, es = es->next, rs = rs->next) {
            static int32_t resp[64], ends[8];
            static float lp[64], rew[8];
            static uint8_t parts[8];
            int k = 0;
            for (const cJSON *v = es->child; v; v = v->next) ends[k++] = (int32_t)v->valuedouble;
            k = 0;
            for (const cJSON *v = rs->child; v; v = v->next) rew[k++] = (float)v->valuedouble;
            trace t = {.group = (int64_t)gs->valuedouble, .n_response = (int32_t)ls->valuedouble, .n_steps = k,
                       .response = resp, .logprobs = lp, .step_end = ends, .step_part = parts, .step_reward = rew,
                       .think_end = -1};
            trace_batch_add(&b, &t);
        }
        float *outcome = floats(get(c, "outcome_adv"), NULL);
        int nt;
        float *want = floats(get(c, "token_adv"), &nt), *tok = malloc((size_t)(nt ? nt : 1) * sizeof *tok);
        CHECK_INT(nt, b.n_response_ids);
        grpo_adv_process(&b, (float)num(c, "eps"), outcome, tok);
        worst_adv = fmax(worst_adv, rel_err(tok, want, nt, 1e-3));
        free(outcome), free(want), free(tok);
        trace_batch_free(&b);
    }
    int cases = 0;
    for (const cJSON *c = get(root, "loss_cases")->child; c; c = c->next, cases++) {
        const cJSON *pj = get(c, "params");
        grpo_loss_params p = {(float)num(pj, "eps_low"), (float)num(pj, "eps_high"), (float)num(pj, "dual_clip"),
                              (float)num(pj, "beta_kl"), (grpo_kl)num(pj, "kl"), (float)num(pj, "beta_ent"),
                              (grpo_agg)num(pj, "agg"), (int)num(pj, "max_len")};
        int N, S = cJSON_GetArraySize(get(c, "len"));
        float *logp = floats(get(c, "logp"), &N), *old = floats(get(c, "old_logp"), NULL);
        float *ref = floats(get(c, "ref_logp"), NULL), *ent = floats(get(c, "entropy"), NULL);
        float *adv = floats(get(c, "adv"), NULL), *w = floats(get(c, "is_weight"), NULL);
        int64_t *start = ints64(get(c, "start"));
        int32_t *len = malloc((size_t)S * sizeof *len);
        int k = 0;
        for (const cJSON *v = get(c, "len")->child; v; v = v->next) len[k++] = (int32_t)v->valuedouble;
        uint8_t *mask = NULL;
        if (cJSON_IsArray(get(c, "mask"))) {
            mask = malloc((size_t)N);
            k = 0;
            for (const cJSON *v = get(c, "mask")->child; v; v = v->next) mask[k++] = (uint8_t)v->valuedouble;
        }
        grpo_tokens t = {S, start, len, logp, old, ref, ent, adv, w, mask};
        float *dlogp = malloc((size_t)N * sizeof(float)), *dent = malloc((size_t)N * sizeof(float));
        grpo_stats st;
        grpo_loss(&p, &t, num(c, "global_tokens"), num(c, "global_seqs"), dlogp, dent, &st);
        double want = num(c, "loss");
        worst_loss = fmax(worst_loss, fabs(st.loss - want) / fmax(fabs(want), 1e-6));
        float *wd = floats(get(c, "dlogp"), NULL), *we = floats(get(c, "dent"), NULL);
        // gradients are O(1/tokens): relative to the largest gradient of the case
        double scale = 0;
        for (int i = 0; i < N; i++) scale = fmax(scale, fabs(wd[i]));
        worst_grad = fmax(worst_grad, rel_err(dlogp, wd, N, scale));
        worst_grad = fmax(worst_grad, rel_err(dent, we, N, fmax(scale, 1e-9)));
        if (p.eps_low >= 0.2f) CHECK(st.clipped > 0); // the inputs push ratios past the clip range
        free(logp), free(old), free(ref), free(ent), free(adv), free(w), free(start), free(len), free(mask);
        free(dlogp), free(dent), free(wd), free(we);
    }
    CHECK_INT(cases, 8);
    printf("worst relative error: advantages %.2g, loss %.2g, gradients %.2g\n", worst_adv, worst_loss, worst_grad);
    CHECK(worst_adv < 1e-5);
    CHECK(worst_loss < 1e-6);
    CHECK(worst_grad < 1e-5);
    // REBEL: the same float inputs, both sides in double (Δ_s summed in order), so only rounding
    // order separates them: 1e-9 relative.
    double worst_rebel = 0;
    cases = 0;
    for (const cJSON *c = get(root, "rebel_cases")->child; c; c = c->next, cases++) {
        int N, S;
        float *logp = floats(get(c, "logp"), &N), *old = floats(get(c, "old_logp"), NULL);
        float *reward = floats(get(c, "reward"), &S), *want = floats(get(c, "dlogp"), NULL);
        int64_t *g = ints64(get(c, "groups"));
        double *delta = malloc((size_t)S * sizeof *delta), *coef = malloc((size_t)S * sizeof *coef);
        float *dlogp = malloc((size_t)N * sizeof *dlogp);
        const cJSON *lj = get(c, "len")->child;
        for (int s = 0, q = 0; s < S; s++, lj = lj->next) {
            int L = (int)lj->valuedouble;
            delta[s] = 0;
            for (int t = 0; t < L; t++) delta[s] += (double)logp[q + t] - (double)old[q + t];
            q += L;
        }
        CHECK_INT(grpo_rebel_pairs(g, S), (int64_t)num(c, "pairs"));
        double loss = grpo_rebel(num(c, "eta"), S, g, delta, reward, num(c, "global_pairs"), coef);
        lj = get(c, "len")->child;
        for (int s = 0, q = 0; s < S; s++, lj = lj->next)
            for (int t = 0; t < (int)lj->valuedouble; t++) dlogp[q++] = (float)coef[s];
        double scale = 0;
        for (int i = 0; i < N; i++) scale = fmax(scale, fabs(want[i]));
        worst_rebel = fmax(worst_rebel, fabs(loss - num(c, "loss")) / fabs(num(c, "loss")));
        worst_rebel = fmax(worst_rebel, rel_err(dlogp, want, N, scale));
        free(logp), free(old), free(reward), free(want), free(g), free(delta), free(coef), free(dlogp);
    }
    CHECK_INT(cases, 4);
    printf("REBEL: worst relative error of the loss and gradients %.2g\n", worst_rebel);
    CHECK(worst_rebel < 1e-6); // the gradients are compared as floats: 2^-24 of the largest
    cJSON_Delete(root);
}

int main(void) {
    test_hand_worked();
    test_rebel_hand();
    test_golden();
    return test_summary("test_grpo");
}
