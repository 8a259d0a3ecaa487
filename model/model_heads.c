// model_heads.c — what reads the final hidden state lnf (N, C): the LM head (log-probs of given
// tokens, cross-entropy, entropy; chunked over rows so at most `chunk` rows of logits exist),
// the scalar value head, the 2-class PRM head and the PCM's K-way alpha head. Backward
// accumulates into dlnf.
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define BE (m->be)
#define CTX (m->be->ctx)

static int ntok(const model *m) { return m->B * m->T; }

static const float *lm_weight(const model *m) { return m->p.lmw ? m->p.lmw : m->p.wte; }
static float *lm_grad(const model *m) { return m->g.lmw ? m->g.lmw : m->g.wte; }

// Logits of rows [r0, r0 + n) into the chunk buffer.
static void chunk_logits(const model *m, int r0, int n) {
    BE->matmul(CTX, m->logits, m->lnf + (size_t)r0 * m->C, lm_weight(m), n, m->V, m->C, false, true, false);
}

// dlogits (in the chunk buffer) -> dlnf rows and the head's weight gradient.
static void chunk_backward(const model *m, int r0, int n) {
    BE->matmul(CTX, m->dlnf + (size_t)r0 * m->C, m->logits, lm_weight(m), n, m->C, m->V, false, false, true);
    BE->matmul(CTX, lm_grad(m), m->logits, m->lnf + (size_t)r0 * m->C, m->V, m->C, n, true, false, true);
}

static void upload_targets(model *m, const int32_t *targets) {
    int N = ntok(m);
    for (int i = 0; i < N; i++) FX_ASSERT(targets[i] < m->V);
    BE->upload(CTX, m->targets, targets, (size_t)N * sizeof(int32_t));
}

void model_lm_forward(model *m, const int32_t *targets, float *logp, float *entropy) {
    FX_ASSERT(m->head == MODEL_HEAD_LM);
    int N = ntok(m);
    upload_targets(m, targets);
    if (model_vocab_streamed(m)) model_vocab_head_forward(m, targets, N); // a chunk of the vocabulary at a time
    else
        for (int r0 = 0; r0 < N; r0 += m->chunk) {
            int n = N - r0 < m->chunk ? N - r0 : m->chunk;
            chunk_logits(m, r0, n);
            BE->logprob_forward(CTX, m->tok_logp + r0, m->tok_lse + r0, m->tok_ent + r0, m->logits, m->targets + r0,
                                n, m->V);
        }
    if (logp) BE->download(CTX, logp, m->tok_logp, (size_t)N * sizeof(float));
    if (entropy) BE->download(CTX, entropy, m->tok_ent, (size_t)N * sizeof(float));
}

void model_lm_backward(model *m, const float *dlogp, const float *dent) {
    FX_ASSERT(m->head == MODEL_HEAD_LM && m->train);
    int N = ntok(m);
    if (dlogp) BE->upload(CTX, m->tok_dlogp, dlogp, (size_t)N * sizeof(float));
    if (dent) BE->upload(CTX, m->tok_dent, dent, (size_t)N * sizeof(float));
    if (model_vocab_streamed(m)) {
        model_vocab_head_backward(m, dlogp != NULL, dent != NULL, N);
        return;
    }
    for (int r0 = 0; r0 < N; r0 += m->chunk) {
        int n = N - r0 < m->chunk ? N - r0 : m->chunk;
        chunk_logits(m, r0, n);
        BE->logprob_backward(CTX, m->logits, m->targets + r0, m->tok_lse + r0, m->tok_ent + r0,
                             dlogp ? m->tok_dlogp + r0 : NULL, dent ? m->tok_dent + r0 : NULL, n, m->V);
        chunk_backward(m, r0, n);
    }
}

double model_lm_ce(model *m, const int32_t *targets, const float *w, bool backward) {
    FX_ASSERT((m->head == MODEL_HEAD_LM || (m->lm_aux && m->head == MODEL_HEAD_PRM && m->cfg.tie_word_embeddings)) &&
              (!backward || m->train));
    int N = ntok(m);
    float *dlogp = fx_malloc((size_t)N * sizeof(float));
    int count = 0;
    for (int i = 0; i < N; i++) count += targets[i] >= 0;
    for (int i = 0; i < N; i++) dlogp[i] = targets[i] < 0 ? 0.0f : (w ? -w[i] : -1.0f / (float)(count ? count : 1));
    upload_targets(m, targets);
    BE->upload(CTX, m->tok_dlogp, dlogp, (size_t)N * sizeof(float));
    if (model_vocab_streamed(m)) { // the forward over every chunk, then the backward
        model_vocab_head_forward(m, targets, N);
        if (backward) model_vocab_head_backward(m, true, false, N);
    }
    for (int r0 = 0; r0 < N && !model_vocab_streamed(m); r0 += m->chunk) {
        int n = N - r0 < m->chunk ? N - r0 : m->chunk;
        chunk_logits(m, r0, n);
        BE->logprob_forward(CTX, m->tok_logp + r0, m->tok_lse + r0, NULL, m->logits, m->targets + r0, n, m->V);
        if (!backward) continue;
        BE->logprob_backward(CTX, m->logits, m->targets + r0, m->tok_lse + r0, NULL, m->tok_dlogp + r0, NULL, n,
                             m->V);
        chunk_backward(m, r0, n);
    }
    float *logp = fx_malloc((size_t)N * sizeof(float));
    BE->download(CTX, logp, m->tok_logp, (size_t)N * sizeof(float));
    double loss = 0;
    for (int i = 0; i < N; i++) loss += (double)dlogp[i] * logp[i]; // = sum w * -logp
    free(logp);
    free(dlogp);
    return loss;
}

void model_lm_logits(model *m, int row0, int n, float *out) {
    FX_ASSERT(m->head == MODEL_HEAD_LM && row0 >= 0 && row0 + n <= ntok(m));
    FX_ASSERT(!model_vocab_streamed(m)); // whole rows of logits: a model with its weights
    for (int r = 0; r < n; r += m->chunk) {
        int k = n - r < m->chunk ? n - r : m->chunk;
        chunk_logits(m, row0 + r, k);
        BE->download(CTX, out + (size_t)r * m->V, m->logits, (size_t)k * m->V * sizeof(float));
    }
}

void model_value_forward(model *m, float *values) {
    FX_ASSERT(m->head == MODEL_HEAD_VALUE);
    int N = ntok(m);
    BE->matmul(CTX, m->head_out, m->lnf, m->p.s2w, N, 1, m->C, false, true, false);
    if (m->cfg.score_bias) BE->add_bias(CTX, m->head_out, m->p.s2b, N, 1);
    if (values) BE->download(CTX, values, m->head_out, (size_t)N * sizeof(float));
}

void model_value_backward(model *m, const float *dvalue) {
    FX_ASSERT(m->head == MODEL_HEAD_VALUE && m->train);
    int N = ntok(m);
    BE->upload(CTX, m->head_dout, dvalue, (size_t)N * sizeof(float));
    BE->matmul(CTX, m->g.s2w, m->head_dout, m->lnf, 1, m->C, N, true, false, true);
    if (m->cfg.score_bias) BE->bias_backward(CTX, m->g.s2b, m->head_dout, N, 1);
    BE->matmul(CTX, m->dlnf, m->head_dout, m->p.s2w, N, m->C, 1, false, false, true);
}

void model_prm_forward(model *m, float *logits) {
    FX_ASSERT(m->head == MODEL_HEAD_PRM);
    int N = ntok(m), C = m->C;
    BE->matmul(CTX, m->head_z, m->lnf, m->p.s0w, N, C, C, false, true, false);
    BE->add_bias(CTX, m->head_z, m->p.s0b, N, C);
    BE->relu_forward(CTX, m->head_a, m->head_z, (size_t)N * C);
    BE->matmul(CTX, m->head_out, m->head_a, m->p.s2w, N, 2, C, false, true, false);
    BE->add_bias(CTX, m->head_out, m->p.s2b, N, 2);
    if (logits) BE->download(CTX, logits, m->head_out, (size_t)N * 2 * sizeof(float));
}

void model_prm_backward(model *m, const float *dlogits) {
    FX_ASSERT(m->head == MODEL_HEAD_PRM && m->train);
    int N = ntok(m), C = m->C;
    BE->upload(CTX, m->head_dout, dlogits, (size_t)N * 2 * sizeof(float));
    // out = a W2^T + b2: dW2 += dout^T a, db2, da = dout W2 (into d_z's partner d_ln)
    BE->matmul(CTX, m->g.s2w, m->head_dout, m->head_a, 2, C, N, true, false, true);
    BE->bias_backward(CTX, m->g.s2b, m->head_dout, N, 2);
    BE->matmul(CTX, m->d_ln, m->head_dout, m->p.s2w, N, C, 2, false, false, false);
    BE->zero(CTX, m->d_z, (size_t)N * C * sizeof(float));
    BE->relu_backward(CTX, m->d_z, m->d_ln, m->head_z, (size_t)N * C);
    // z = lnf W0^T + b0
    BE->matmul(CTX, m->g.s0w, m->d_z, m->lnf, C, C, N, true, false, true);
    BE->bias_backward(CTX, m->g.s0b, m->d_z, N, C);
    BE->matmul(CTX, m->dlnf, m->d_z, m->p.s0w, N, C, C, false, false, true);
}

// The preference prior's term (model_config.preference_prior): z[n][i] += log(w[n][i] + eps), on
// the host, after the head; constant in the parameters, so the backward is the head's alone.
void model_pcm_prior(const model *m, const float *pref, int N, float *z) {
    float eps = m->cfg.preference_prior;
    if (eps <= 0) return;
    size_t n = (size_t)N * (size_t)m->cfg.num_experts;
    for (size_t i = 0; i < n; i++) z[i] += logf(pref[i] + eps);
}

// PCM alpha head, docs/pcm.md: z (N, K) = lnf W_a^T + b_a (+ log(w + eps) with a preference prior).
void model_pcm_forward(model *m, float *z) {
    FX_ASSERT(m->head == MODEL_HEAD_PCM);
    int N = ntok(m), K = m->cfg.num_experts;
    BE->matmul(CTX, m->alpha_z, m->lnf, m->p.alphaw, N, K, m->C, false, true, false);
    BE->add_bias(CTX, m->alpha_z, m->p.alphab, N, K);
    if (!z) return;
    BE->download(CTX, z, m->alpha_z, (size_t)N * (size_t)K * sizeof(float));
    if (m->cfg.preference_prior > 0) {
        float *w = fx_malloc((size_t)N * (size_t)K * sizeof *w);
        BE->download(CTX, w, m->pref, (size_t)N * (size_t)K * sizeof(float));
        model_pcm_prior(m, w, N, z);
        free(w);
    }
}

void model_pcm_backward(model *m, const float *dz) {
    FX_ASSERT(m->head == MODEL_HEAD_PCM && m->train);
    int N = ntok(m), K = m->cfg.num_experts;
    BE->upload(CTX, m->alpha_dz, dz, (size_t)N * (size_t)K * sizeof(float));
    BE->matmul(CTX, m->g.alphaw, m->alpha_dz, m->lnf, K, m->C, N, true, false, true); // dW_a += dz^T lnf
    BE->bias_backward(CTX, m->g.alphab, m->alpha_dz, N, K);
    BE->matmul(CTX, m->dlnf, m->alpha_dz, m->p.alphaw, N, m->C, K, false, false, true); // dlnf += dz W_a
}
