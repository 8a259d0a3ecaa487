// test_model.c — the transformer on random tiny models, against the double-precision reference of
// model_ref.h: logits, losses of every head, gradients by central finite differences in double,
// packed and padded batches, chunked LM head, activation recomputation, KV-cache decoding,
// AdamW, clipping and LR schedules; the backend's matmul and its threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../model/model.h"
#include "model_ref.h"
#include "tiny_configs.h"
#include "test.h"

static backend *be;

// A batch of 2 rows of 9: row 0 packs two sequences (5 and 4 tokens), row 1 holds one sequence of
// 6 tokens and 3 padding tokens (segment -1). Targets: the next token of the same sequence.
enum { TB = 2, TT = 9, TN = TB * TT };
typedef struct {
    int32_t ids[TN], pos[TN], seg[TN], targets[TN];
} batch;

static batch make_batch(int V, uint64_t seed) {
    batch b;
    fx_rng r = fx_rng_make(seed, 7);
    const int seg[TN] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -1, -1, -1};
    for (int n = 0; n < TN; n++) {
        b.ids[n] = (int32_t)fx_rng_below(&r, (uint64_t)V);
        b.seg[n] = seg[n];
        int t = n % TT;
        b.pos[n] = (t == 0 || seg[n - 1] != seg[n]) ? 0 : b.pos[n - 1] + 1;
    }
    for (int n = 0; n < TN; n++) {
        bool next_same = n % TT != TT - 1 && seg[n + 1] == seg[n] && seg[n] >= 0;
        b.targets[n] = next_same ? b.ids[n + 1] : -1;
    }
    return b;
}

static double *params_double(const model *m) {
    float *h = malloc(m->nparams * sizeof(float));
    m->be->download(m->be->ctx, h, m->params_mem, m->nparams * sizeof(float));
    double *d = malloc(m->nparams * sizeof(double));
    for (size_t i = 0; i < m->nparams; i++) d[i] = h[i];
    free(h);
    return d;
}

static float *grads_host(const model *m) {
    float *g = malloc(m->nparams * sizeof(float));
    m->be->download(m->be->ctx, g, m->grads_mem, m->nparams * sizeof(float));
    return g;
}

// ||a - b|| / ||b||
static double rel_err(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1));
}

// Checks sampled gradient entries of every tensor against central differences of the reference.
// Tolerance: 1e-3 relative to the entry, or 1e-4 of the tensor's largest gradient for entries
// near zero (fp32 accumulation noise).
static void check_fd(const model *m, const batch *bt, const ref_loss *L, const float *grad, const char *what) {
    double *P = params_double(m);
    ref_model r = {m, P};
    fx_rng rng = fx_rng_make(99, 1);
    double worst = 0;
    int checked = 0;
    for (int ti = 0; ti < m->ntensors; ti++) {
        const model_tensor *t = &m->tensors[ti];
        double gmax = 0;
        for (size_t j = 0; j < t->numel; j++) gmax = fmax(gmax, fabs(grad[t->offset + j]));
        for (int s = 0; s < 3; s++) {
            size_t j = t->offset + fx_rng_below(&rng, t->numel);
            double keep = P[j], h = 1e-5 * fmax(1.0, fabs(keep));
            P[j] = keep + h;
            double lp = ref_loss_of(&r, bt->ids, bt->pos, bt->seg, TB, TT, L);
            P[j] = keep - h;
            double lm = ref_loss_of(&r, bt->ids, bt->pos, bt->seg, TB, TT, L);
            P[j] = keep;
            double fd = (lp - lm) / (2 * h), a = grad[j];
            double tol = 1e-3 * fabs(fd) + 1e-4 * gmax + 1e-9;
            if (fabs(a - fd) > tol) {
                test_failed++;
                fprintf(stderr, "%s: grad %s[%zu]: analytic %.9g vs finite difference %.9g\n", what, t->name,
                        j - t->offset, a, fd);
            } else {
                test_passed++;
            }
            if (fabs(fd) > 1e-3 * gmax) worst = fmax(worst, fabs(a - fd) / fabs(fd));
            checked++;
        }
    }
    printf("%s: %d gradient entries vs finite differences, worst relative error %.2e\n", what, checked, worst);
    free(P);
}

// LM head: logits, per-token log-probs and entropies, the loss sum c_logp logp + c_ent H, and
// every gradient.
static void test_lm(model_config c, const char *what) {
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 11, 0.2f, 0.1f);
    model_reserve(&m, TB, TT, true, false);
    batch bt = make_batch(c.vocab_size, 3);
    float logp[TN], ent[TN], dlogp[TN], dent[TN];
    double cl[TN], ce[TN];
    fx_rng r = fx_rng_make(5, 5);
    int count = 0;
    for (int n = 0; n < TN; n++) count += bt.targets[n] >= 0;
    CHECK_INT(count, 12);
    for (int n = 0; n < TN; n++) {
        cl[n] = bt.targets[n] >= 0 ? -1.0 / count : 0; // the mean cross-entropy
        ce[n] = 0.05 * (fx_rng_double(&r) - 0.5);
        dlogp[n] = (float)cl[n], dent[n] = (float)ce[n];
    }
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_lm_forward(&m, bt.targets, logp, ent);
    model_zero_grad(&m);
    model_lm_backward(&m, dlogp, dent);
    model_backward(&m);

    double *P = params_double(&m);
    ref_model rm = {&m, P};
    double *hid = malloc(sizeof(double) * TN * (size_t)m.C), *z = malloc(sizeof(double) * TN * (size_t)m.V);
    ref_backbone(&rm, bt.ids, bt.pos, bt.seg, TB, TT, hid);
    ref_logits(&rm, hid, TN, z);
    float *logits = malloc(sizeof(float) * TN * (size_t)m.V);
    model_lm_logits(&m, 0, TN, logits);
    double e = rel_err(logits, z, (size_t)TN * m.V);
    printf("%s: logits relative error %.2e\n", what, e);
    CHECK(e < 1e-5);
    double loss = 0;
    for (int n = 0; n < TN; n++) loss += cl[n] * logp[n] + ce[n] * ent[n];
    ref_loss L = {bt.targets, cl, ce, NULL, NULL};
    double ref = ref_loss_of(&rm, bt.ids, bt.pos, bt.seg, TB, TT, &L);
    CHECK_NEAR(loss, ref, 1e-5 * fabs(ref));
    // the mean cross-entropy through the fused path equals the same loss without entropy
    double ce_loss = model_lm_ce(&m, bt.targets, NULL, false);
    ref_loss Lce = {bt.targets, cl, NULL, NULL, NULL};
    CHECK_NEAR(ce_loss, ref_loss_of(&rm, bt.ids, bt.pos, bt.seg, TB, TT, &Lce), 1e-5 * fabs(ce_loss));
    float *g = grads_host(&m);
    check_fd(&m, &bt, &L, g, what);

    // Recomputation gives bit-identical gradients.
    model_reserve(&m, TB, TT, true, true);
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_lm_forward(&m, bt.targets, NULL, NULL);
    model_zero_grad(&m);
    model_lm_backward(&m, dlogp, dent);
    model_backward(&m);
    float *g2 = grads_host(&m);
    CHECK(memcmp(g, g2, m.nparams * sizeof(float)) == 0);

    // A head chunk of 4 rows (not dividing 18) gives the same results as one chunk.
    model_reserve(&m, TB, TT, true, false);
    m.chunk = 4;
    float logp2[TN];
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_lm_forward(&m, bt.targets, logp2, NULL);
    // Not bit-identical by construction: BLAS may sum a logit's C products in another order for a
    // 4-row block than for 18 rows. Each logit z_v = h.w_v then carries a float error of at most
    // C u sum_i |h_i w_vi| (u = 2^-24; the hidden states are the same bits in both runs), in each
    // run; logp = z_t - logsumexp(z) moves by at most twice the largest change of a logit, plus a
    // few roundings of |logp| in the log-softmax. The double reference's h and w give the sums
    // (1% added: the float h is within the 1e-5 relative error checked above).
    const double u = 0x1p-24, *W = P + ((m.p.lmw ? m.p.lmw : m.p.wte) - m.params_mem);
    for (int n = 0; n < TN; n++) {
        double worst_sum = 0;
        for (int v = 0; v < m.V; v++) {
            double sum = 0;
            for (int i = 0; i < m.C; i++) sum += fabs(hid[(size_t)n * m.C + i] * W[(size_t)v * m.C + i]);
            if (sum > worst_sum) worst_sum = sum;
        }
        CHECK_NEAR(logp2[n], logp[n], 2 * 2 * m.C * u * worst_sum * 1.01 + 8 * u * (fabs(logp[n]) + 1));
    }
    model_zero_grad(&m);
    model_lm_backward(&m, dlogp, dent);
    model_backward(&m);
    float *g3 = grads_host(&m);
    double num = 0, den = 0;
    for (size_t i = 0; i < m.nparams; i++) num += (g3[i] - g[i]) * (g3[i] - g[i]), den += (double)g[i] * g[i];
    CHECK(sqrt(num / den) < 1e-6);
    // ... and the fused cross-entropy path the same gradients as forward + backward.
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_zero_grad(&m);
    float w[TN];
    for (int n = 0; n < TN; n++) w[n] = (float)-cl[n];
    CHECK_NEAR(model_lm_ce(&m, bt.targets, w, true), ce_loss, 1e-6);
    model_backward(&m);
    float *g4 = grads_host(&m);
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_lm_forward(&m, bt.targets, NULL, NULL);
    model_zero_grad(&m);
    model_lm_backward(&m, dlogp, NULL);
    model_backward(&m);
    float *g5 = grads_host(&m);
    num = den = 0;
    for (size_t i = 0; i < m.nparams; i++) num += (g4[i] - g5[i]) * (g4[i] - g5[i]), den += (double)g5[i] * g5[i];
    CHECK(sqrt(num / den) < 1e-6);

    free(g), free(g2), free(g3), free(g4), free(g5), free(P), free(hid), free(z), free(logits);
    model_free(&m);
}

// bias: config.json's score_bias (ReasonFlux-PRM-1.5B's Linear(h, 1) has one).
static void test_value_head(bool bias) {
    model_config c = cfg_qwen2();
    strcpy(c.architecture, "Qwen2ForRewardModel");
    c.score_bias = bias;
    model m;
    model_init_random(&m, &c, MODEL_HEAD_VALUE, be, 12, 0.2f, 0.1f);
    CHECK(model_find_tensor(&m, "score.weight") != NULL);
    CHECK((model_find_tensor(&m, "score.bias") != NULL) == bias);
    CHECK(model_find_tensor(&m, "lm_head.weight") == NULL);
    model_reserve(&m, TB, TT, true, false);
    batch bt = make_batch(c.vocab_size, 4);
    double y[TN];
    for (int n = 0; n < TN; n++) y[n] = 0.1 * (n % 5) - 0.2;
    float v[TN], dv[TN];
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_value_forward(&m, v);
    double loss = 0;
    for (int n = 0; n < TN; n++) loss += (v[n] - y[n]) * (v[n] - y[n]), dv[n] = (float)(2 * (v[n] - y[n]));
    ref_loss L = {NULL, NULL, NULL, y, NULL};
    double *P = params_double(&m);
    ref_model rm = {&m, P};
    double ref = ref_loss_of(&rm, bt.ids, bt.pos, bt.seg, TB, TT, &L);
    CHECK_NEAR(loss, ref, 1e-5 * ref);
    model_zero_grad(&m);
    model_value_backward(&m, dv);
    model_backward(&m);
    float *g = grads_host(&m);
    check_fd(&m, &bt, &L, g, "value head");
    free(g), free(P);
    model_free(&m);
}

static void test_prm_head(void) {
    model_config c = cfg_qwen2();
    strcpy(c.architecture, "Qwen2ForProcessRewardModel");
    model m;
    model_init_random(&m, &c, MODEL_HEAD_PRM, be, 13, 0.2f, 0.1f);
    CHECK(model_find_tensor(&m, "score.0.weight") && model_find_tensor(&m, "score.2.bias"));
    model_reserve(&m, TB, TT, true, false);
    batch bt = make_batch(c.vocab_size, 5);
    int32_t labels[TN];
    for (int n = 0; n < TN; n++) labels[n] = n % 3 == 2 ? (n / 3) % 2 : -1;
    float z[TN * 2], dz[TN * 2];
    model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
    model_prm_forward(&m, z);
    double loss = 0;
    for (int n = 0; n < TN; n++) {
        double mx = fmax(z[2 * n], z[2 * n + 1]);
        double lse = mx + log(exp(z[2 * n] - mx) + exp(z[2 * n + 1] - mx));
        for (int k = 0; k < 2; k++) {
            double p = exp(z[2 * n + k] - lse);
            dz[2 * n + k] = labels[n] < 0 ? 0.0f : (float)(p - (k == labels[n]));
        }
        if (labels[n] >= 0) loss -= z[2 * n + labels[n]] - lse;
    }
    ref_loss L = {NULL, NULL, NULL, NULL, labels};
    double *P = params_double(&m);
    ref_model rm = {&m, P};
    CHECK_NEAR(loss, ref_loss_of(&rm, bt.ids, bt.pos, bt.seg, TB, TT, &L), 1e-5 * loss);
    model_zero_grad(&m);
    model_prm_backward(&m, dz);
    model_backward(&m);
    float *g = grads_host(&m);
    check_fd(&m, &bt, &L, g, "prm head");
    free(g), free(P);
    model_free(&m);
}

// Decoding with the KV cache: a prefill of 3 tokens, then one token at a time, for 2 rows where
// row 1 is left-padded by 2 (padding in a segment of its own), equals the full forward.
static void test_decode(model_config c, const char *what) {
    enum { B = 2, T = 12 };
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 21, 0.3f, 0.1f);
    model_reserve(&m, B, T, false, false);
    int32_t ids[B * T], pos[B * T], seg[B * T];
    fx_rng r = fx_rng_make(8, 8);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int pad = b == 1 ? 2 : 0, n = b * T + t;
            ids[n] = (int32_t)fx_rng_below(&r, (uint64_t)c.vocab_size);
            seg[n] = t < pad ? -1 : 0;
            pos[n] = t < pad ? 0 : t - pad;
        }
    model_forward(&m, ids, pos, seg, B, T);
    size_t V = (size_t)m.V;
    float *full = malloc(sizeof(float) * B * T * V), *step = malloc(sizeof(float) * B * T * V);
    model_lm_logits(&m, 0, B * T, full);
    // The id at a padded position never reaches a real position's logits (the tokenizer's
    // pad_token is immaterial): other ids there give the same logits bit for bit.
    {
        int32_t ids2[B * T];
        memcpy(ids2, ids, sizeof ids2);
        for (int n = 0; n < B * T; n++)
            if (seg[n] < 0) ids2[n] = (int32_t)((ids[n] + 1 + n) % c.vocab_size);
        float *again = malloc(sizeof(float) * B * T * V);
        model_forward(&m, ids2, pos, seg, B, T);
        model_lm_logits(&m, 0, B * T, again);
        size_t differ = 0;
        for (int n = 0; n < B * T; n++)
            if (seg[n] >= 0) differ += memcmp(full + (size_t)n * V, again + (size_t)n * V, sizeof(float) * V) != 0;
        CHECK_INT((int)differ, 0);
        free(again);
    }
    model_kv_init(&m, B, T);
    float *buf = malloc(sizeof(float) * B * T * V);
    for (int t0 = 0; t0 < T;) {
        int tq = t0 == 0 ? 3 : 1;
        int32_t qi[B * 3], qp[B * 3], qs[B * 3];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < tq; i++)
                qi[b * tq + i] = ids[b * T + t0 + i], qp[b * tq + i] = pos[b * T + t0 + i],
                            qs[b * tq + i] = seg[b * T + t0 + i];
        model_decode(&m, qi, qp, qs, tq, buf);
        for (int b = 0; b < B; b++)
            memcpy(step + ((size_t)b * T + t0) * V, buf + (size_t)b * tq * V, sizeof(float) * tq * V);
        t0 += tq;
    }
    CHECK_INT(m.kv_len, T);
    // model_decode_last: the last token's logits of each row, as model_decode's (up to the
    // summation order of a 2-row vs a 10-row sgemm).
    model_kv_reset(&m);
    int32_t ids5[B * 5], pos5[B * 5], seg5[B * 5];
    for (int b = 0; b < B; b++)
        for (int i = 0; i < 5; i++)
            ids5[b * 5 + i] = ids[b * T + i], pos5[b * 5 + i] = pos[b * T + i], seg5[b * 5 + i] = seg[b * T + i];
    float *last = malloc(sizeof(float) * B * V);
    model_decode_last(&m, ids5, pos5, seg5, 5, last);
    CHECK_INT(m.kv_len, 5);
    model_kv_reset(&m);
    model_decode(&m, ids5, pos5, seg5, 5, buf);
    double dmax = 0;
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < V; i++) {
            float e = buf[((size_t)b * 5 + 4) * V + i];
            dmax = fmax(dmax, fabs(last[(size_t)b * V + i] - e) / fmax(fabs(e), 1.0));
        }
    CHECK(dmax <= 1e-6);
    free(last);
    double worst = 0;
    for (size_t i = 0; i < (size_t)B * T * V; i++) {
        double d = fabs(step[i] - full[i]) / fmax(fabs(full[i]), 1.0);
        worst = fmax(worst, d);
    }
    // Not bit-identical: the cache feeds each matmul 1-3 rows where the full forward feeds 24, and
    // BLAS may order a sum by block. A float sum of K products errs by at most K u |terms|
    // (u = 2^-24); a layer's sums have lengths C, QD, F and T (attention), L layers and the head
    // add up, the RMS norms, softmax and SiLU amplify by a factor taken as 4 (these random models
    // are well conditioned), and two computations are compared: 2 * 4 * (L + 1) * (C+QD+F+T) u.
    // (The tolerance was 1e-5, which the Haswell kernels came within 7.6e-6 of.)
    double bound = 2 * 4 * (m.L + 1) * (double)(m.C + m.QD + m.F + T) * 0x1p-24;
    printf("%s: decode vs full forward, worst relative difference %.2e (bound %.2e)\n", what, worst, bound);
    CHECK(worst <= bound);
    // Default positions continue from the cache: reset, feed all 12 at once without pos/seg.
    model_kv_reset(&m);
    model_forward(&m, ids, NULL, NULL, B, T);
    model_lm_logits(&m, 0, B * T, full);
    int32_t first[B * 5], rest[B * 7];
    for (int b = 0; b < B; b++) memcpy(first + b * 5, ids + b * T, 5 * sizeof(int32_t));
    for (int b = 0; b < B; b++) memcpy(rest + b * 7, ids + b * T + 5, 7 * sizeof(int32_t));
    model_decode(&m, first, NULL, NULL, 5, NULL);
    model_decode(&m, rest, NULL, NULL, 7, buf);
    worst = 0;
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < 7 * V; i++) {
            float a = buf[(size_t)b * 7 * V + i], e = full[((size_t)b * T + 5) * V + i];
            worst = fmax(worst, fabs(a - e) / fmax(fabs(e), 1.0));
        }
    CHECK(worst <= 1e-5);
    free(full), free(step), free(buf);
    model_free(&m);
}

static void test_optim(void) {
    // LR schedules
    model_lr_schedule s = {MODEL_LR_COSINE, 1.0f, 0.1f, 4, 14};
    CHECK_NEAR(model_lr_at(&s, 0), 0.25, 1e-7);
    CHECK_NEAR(model_lr_at(&s, 3), 1.0, 1e-7);
    CHECK_NEAR(model_lr_at(&s, 4), 1.0, 1e-7);
    CHECK_NEAR(model_lr_at(&s, 9), 0.55, 1e-6); // halfway: min + (max - min) / 2
    CHECK_NEAR(model_lr_at(&s, 14), 0.1, 1e-7);
    CHECK_NEAR(model_lr_at(&s, 100), 0.1, 1e-7);
    model_lr_schedule k = {MODEL_LR_CONSTANT, 3e-4f, 0, 0, 0};
    CHECK_NEAR(model_lr_at(&k, 7), 3e-4f, 0);

    // AdamW on a model with known gradients, against the formulas in double.
    model_config c = cfg_llama();
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 31, 0.5f, 0.5f);
    model_train_init(&m);
    size_t n = m.nparams;
    double *p = params_double(&m), *mm = calloc(n, sizeof(double)), *vv = calloc(n, sizeof(double));
    float *g = malloc(n * sizeof(float));
    model_adamw o = {0.01f, 0.9f, 0.95f, 1e-8f, 0.1f};
    fx_rng r = fx_rng_make(4, 4);
    for (int t = 1; t <= 3; t++) {
        double ss = 0;
        for (size_t i = 0; i < n; i++) g[i] = (float)(fx_rng_normal(&r) * 0.01), ss += (double)g[i] * g[i];
        be->upload(be->ctx, m.grads_mem, g, n * sizeof(float));
        double norm = model_clip_grad_norm(&m, t == 2 ? 0.1 : 0.0); // clip on step 2 only
        CHECK_NEAR(norm, sqrt(ss), 1e-6 * sqrt(ss));
        double coef = t == 2 && 0.1 / (norm + 1e-6) < 1 ? 0.1 / (norm + 1e-6) : 1.0;
        model_adamw_step(&m, &o, o.lr);
        for (int ti = 0; ti < m.ntensors; ti++) {
            const model_tensor *x = &m.tensors[ti];
            double wd = x->decay ? o.weight_decay : 0;
            for (size_t j = x->offset; j < x->offset + x->numel; j++) {
                double gi = (double)g[j] * coef;
                p[j] *= 1 - o.lr * wd;
                mm[j] = o.beta1 * mm[j] + (1 - o.beta1) * gi;
                vv[j] = o.beta2 * vv[j] + (1 - o.beta2) * gi * gi;
                double mh = mm[j] / (1 - pow(o.beta1, t)), vh = vv[j] / (1 - pow(o.beta2, t));
                p[j] -= o.lr * mh / (sqrt(vh) + o.eps);
            }
        }
    }
    float *now = malloc(n * sizeof(float));
    be->download(be->ctx, now, m.params_mem, n * sizeof(float));
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(now[i] - p[i]));
    CHECK(worst < 1e-6);
    CHECK_INT(m.step, 3);
    // norms and biases are not decayed, matrices are
    CHECK(!model_find_tensor(&m, "model.norm.weight")->decay);
    CHECK(!model_find_tensor(&m, "model.layers.0.mlp.up_proj.bias")->decay);
    CHECK(model_find_tensor(&m, "model.layers.0.mlp.up_proj.weight")->decay);
    free(p), free(mm), free(vv), free(g), free(now);
    model_free(&m);
}

// The backend's matmul against a naive triple loop: every transpose combination, accumulate or
// not, with shapes big enough to be cut into slices across threads (rows when M >= N, columns
// otherwise).
static void test_matmul(void) {
    const int shapes[2][3] = {{150, 70, 130}, {33, 210, 170}}; // M, N, K
    for (int si = 0; si < 2; si++)
        for (int mode = 0; mode < 8; mode++) {
            int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
            bool ta = mode & 1, tb = mode & 2, acc = mode & 4;
            fx_rng r = fx_rng_make(3, (uint64_t)mode);
            float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)K * N);
            float *c = malloc(sizeof(float) * (size_t)M * N);
            for (int i = 0; i < M * K; i++) a[i] = (float)fx_rng_normal(&r);
            for (int i = 0; i < K * N; i++) b[i] = (float)fx_rng_normal(&r);
            for (int i = 0; i < M * N; i++) c[i] = (float)fx_rng_normal(&r);
            double worst = 0;
            double *want = malloc(sizeof(double) * (size_t)M * N);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = acc ? c[(size_t)i * N + j] : 0;
                    for (int k = 0; k < K; k++)
                        sum += (double)(ta ? a[(size_t)k * M + i] : a[(size_t)i * K + k]) *
                               (tb ? b[(size_t)j * K + k] : b[(size_t)k * N + j]);
                    want[(size_t)i * N + j] = sum;
                }
            be->matmul(be->ctx, c, a, b, M, N, K, ta, tb, acc);
            for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(c[i] - want[i]));
            CHECK(worst < 1e-3);
            free(a), free(b), free(c), free(want);
        }
}

// One thread and two give the same step, on a model big enough that every op takes its
// threaded path (elementwise ops above 32k values, sliced matmuls, attention units).
static void test_threads(void) {
    model_config c = cfg_qwen3();
    c.hidden_size = 128, c.intermediate_size = 256, c.vocab_size = 300, c.num_hidden_layers = 1;
    enum { B = 2, T = 160 };
    int32_t ids[B * T], tgt[B * T];
    fx_rng r = fx_rng_make(6, 6);
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)fx_rng_below(&r, 300);
    for (int i = 0; i < B * T; i++) tgt[i] = i % T == T - 1 ? -1 : ids[i + 1];
    float *g[2];
    double loss[2];
    for (int k = 0; k < 2; k++) {
        backend *bk = backend_cpu_create(k + 1);
        model m;
        model_init_random(&m, &c, MODEL_HEAD_LM, bk, 1, 0.05f, 0.02f);
        model_reserve(&m, B, T, true, false);
        model_zero_grad(&m);
        model_forward(&m, ids, NULL, NULL, B, T);
        loss[k] = model_lm_ce(&m, tgt, NULL, true);
        model_backward(&m);
        g[k] = grads_host(&m);
        if (k == 1) {
            double num = 0, den = 0;
            for (size_t i = 0; i < m.nparams; i++)
                num += ((double)g[1][i] - g[0][i]) * ((double)g[1][i] - g[0][i]), den += (double)g[0][i] * g[0][i];
            CHECK(sqrt(num / den) < 1e-5);
        }
        model_free(&m);
        backend_destroy(bk);
    }
    CHECK_NEAR(loss[1], loss[0], 1e-5 * loss[0]);
    free(g[0]), free(g[1]);
}

// The inference arena (one layer's activations, two residual buffers used in turn) gives the
// training arena's logits, for an odd and an even number of layers.
static void test_inference_arena(void) {
    for (int L = 2; L <= 3; L++) {
        model_config c = cfg_qwen2();
        c.num_hidden_layers = L;
        model m;
        model_init_random(&m, &c, MODEL_HEAD_LM, be, 41, 0.3f, 0.1f);
        batch bt = make_batch(c.vocab_size, 9);
        float *a = malloc(sizeof(float) * TN * (size_t)m.V), *b = malloc(sizeof(float) * TN * (size_t)m.V);
        model_reserve(&m, TB, TT, true, false);
        model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
        model_lm_logits(&m, 0, TN, a);
        size_t train_floats = m.acts_floats;
        model_reserve(&m, TB, TT, false, false);
        CHECK(m.acts_floats < train_floats);
        model_forward(&m, bt.ids, bt.pos, bt.seg, TB, TT);
        model_lm_logits(&m, 0, TN, b);
        CHECK(memcmp(a, b, sizeof(float) * TN * (size_t)m.V) == 0);
        free(a), free(b);
        model_free(&m);
    }
}

static void test_layout(void) {
    model_head h;
    CHECK(model_head_parse("Qwen2ForCausalLM", &h) == 0 && h == MODEL_HEAD_LM);
    CHECK(model_head_parse("Qwen2ForProcessRewardModel", &h) == 0 && h == MODEL_HEAD_PRM);
    CHECK(model_head_parse("LlamaForSequenceClassification", &h) == 0 && h == MODEL_HEAD_VALUE);
    CHECK(model_head_parse("Qwen2Model", &h) == -1);
    model_config c = cfg_qwen3();
    model m;
    model_create(&m, &c, MODEL_HEAD_LM, be);
    // 24*53 embed + 2 * (24 + 40*24 + 2*10*24 + 2*10 + 24*40 + 24 + 3*40*24) + 24 + 53*24 lm_head
    size_t want = 24 * 53 + 2 * (24 + 960 + 480 + 20 + 960 + 24 + 2880) + 24 + 53 * 24;
    CHECK_INT(m.nparams, want);
    CHECK_INT(model_count_params(&c, MODEL_HEAD_LM), want);
    CHECK_INT(m.ntensors, 1 + 2 * 11 + 2);
    const model_tensor *t = model_find_tensor(&m, "model.layers.1.self_attn.k_norm.weight");
    CHECK(t && t->ndim == 1 && t->shape[0] == 10);
    t = model_find_tensor(&m, "model.layers.1.self_attn.o_proj.weight");
    CHECK(t && t->shape[0] == 24 && t->shape[1] == 40);
    CHECK(model_find_tensor(&m, "model.layers.0.self_attn.q_proj.bias") == NULL);
    // the arena estimate is what model_reserve allocates (plus the int buffers)
    model_reserve(&m, 3, 7, true, false);
    CHECK_INT(model_arena_bytes(&c, MODEL_HEAD_LM, false, 3, 7, true, false), m.acts_floats * 4 + 4 * 21 * 4);
    size_t with = m.acts_floats;
    model_reserve(&m, 3, 7, true, true);
    CHECK(m.acts_floats < with);
    model_free(&m);
    // a PRM with the auxiliary LM loss (prm.lm_weight) holds a logits chunk as well, and the
    // estimate counts it
    model p;
    model_create(&p, &c, MODEL_HEAD_PRM, be);
    model_reserve(&p, 3, 7, true, false);
    size_t plain = p.acts_floats;
    CHECK_INT(model_arena_bytes(&c, MODEL_HEAD_PRM, false, 3, 7, true, false), plain * 4 + 4 * 21 * 4);
    p.lm_aux = true;
    model_reserve(&p, 3, 7, true, false);
    CHECK(p.acts_floats >= plain + 21 * 53); // a chunk of 21 tokens x 53 logits, aligned
    CHECK_INT(model_arena_bytes(&c, MODEL_HEAD_PRM, true, 3, 7, true, false), p.acts_floats * 4 + 4 * 21 * 4);
    model_free(&p);
}

int main(void) {
    be = backend_cpu_create(0);
    test_layout();
    test_matmul();
    test_threads();
    test_lm(cfg_qwen2(), "qwen2 (bias, tied, GQA 2)");
    test_lm(cfg_qwen3(), "qwen3 (q/k norm, untied, GQA 4)");
    test_lm(cfg_llama(), "llama (all biases)");
    test_value_head(false);
    test_value_head(true);
    test_prm_head();
    test_inference_arena();
    test_decode(cfg_qwen2(), "qwen2 decode");
    test_decode(cfg_qwen3(), "qwen3 decode");
    test_optim();
    backend_destroy(be);
    return test_summary("test_model");
}
