// model_vocab.c — the vocabulary tensors of a fully sharded model (trainer.shard = full), streamed:
// the embedding (V, C) and an untied LM head (V, C) are never whole on a rank. A chunk of
// vocab_rows rows is gathered from its owners just before it is read (params_vocab) and its
// gradients are summed into their owners as soon as they are done (grads_vocab), as the layers'
// are. The lookup adds each chunk's rows (ids outside the chunk read a row of zeros), so it equals
// the whole matrix's bit for bit; the LM head merges each row's log-sum-exp and entropy over the
// chunks (in double), and its backward takes the chunks again with the merged lse and entropy.
// The order of the chunks is chosen so that a pass reuses the chunk it holds: the lookup runs
// 0..K-1, the head's forward K-1..0 (a tied head starts on the lookup's last chunk), its backward
// 0..K-1 (on the forward's last).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define BE (m->be)
#define CTX (m->be->ctx)

bool model_vocab_streamed(const model *m) { return m->vocab_rows > 0 && !m->params_whole; }

void model_vocab_set_rows(model *m, int rows) {
    FX_ASSERT(m->vocab_rows && !m->grads_mem && rows >= 1 && rows <= m->V);
    BE->free(CTX, m->params_vocab);
    m->vocab_rows = rows, m->vocab_at_t = -1;
    m->params_vocab = BE->alloc(CTX, ((size_t)rows + 1) * (size_t)m->C * sizeof(float));
}

int model_vocab_chunks(const model *m) { return (m->V + m->vocab_rows - 1) / m->vocab_rows; }

// Rows [c R, c R + rows) of tensor t: the layout's [a, e).
static size_t chunk_at(const model *m, int t, int c, int *rows) {
    int R = m->vocab_rows, r = m->V - c * R < R ? m->V - c * R : R;
    *rows = r;
    return m->tensors[t].offset + (size_t)c * (size_t)R * (size_t)m->C;
}

int model_vocab_need(model *m, int t, int c) {
    FX_ASSERT(model_vocab_streamed(m) && m->vocab_gather && c >= 0 && c < model_vocab_chunks(m));
    int rows;
    size_t a = chunk_at(m, t, c, &rows);
    if (m->vocab_at_t == t && m->vocab_at_c == c) return rows;
    m->vocab_at_t = -1; // filling
    m->vocab_gather(m->param_ctx, m, a, a + (size_t)rows * (size_t)m->C, m->params_vocab);
    m->vocab_at_t = t, m->vocab_at_c = c;
    return rows;
}

// Room for n rows of ids, targets and statistics (the host copies kept).
static void vocab_room(model *m, int n) {
    if ((size_t)n <= m->vocab_cap) return;
    size_t cap = (size_t)n;
    int32_t *host = fx_calloc(2 * cap, sizeof *host);
    if (m->vocab_host) {
        memcpy(host, m->vocab_host, m->vocab_cap * sizeof *host);
        memcpy(host + cap, m->vocab_host + m->vocab_cap, m->vocab_cap * sizeof *host);
    }
    free(m->vocab_host);
    BE->free(CTX, m->vocab_ids), BE->free(CTX, m->vocab_stats);
    m->vocab_host = host;
    m->vocab_ids = BE->alloc(CTX, cap * sizeof(int32_t));
    m->vocab_stats = BE->alloc(CTX, 3 * cap * sizeof(float));
    m->vocab_cap = cap;
}

// vocab_ids = x shifted into chunk [lo, lo + rows); outside it, `outside` (a negative x, none,
// stays negative).
static void upload_shifted(model *m, const int32_t *x, int n, int lo, int rows, int32_t outside) {
    int32_t *h = fx_malloc((size_t)(n ? n : 1) * sizeof *h);
    for (int i = 0; i < n; i++) h[i] = x[i] < 0 ? -1 : x[i] >= lo && x[i] < lo + rows ? x[i] - lo : outside;
    BE->upload(CTX, m->vocab_ids, h, (size_t)n * sizeof(int32_t));
    free(h);
}

void model_vocab_embed(model *m, float *out, float *tmp, const int32_t *ids, int n) {
    int K = model_vocab_chunks(m), C = m->C;
    if (n) {
        vocab_room(m, n);
        memcpy(m->vocab_host, ids, (size_t)n * sizeof *ids);
    }
    for (int c = 0; c < K; c++) {
        int rows = model_vocab_need(m, m->vocab_wte, c);
        if (!n) continue;
        // ids outside the chunk read row vocab_rows, which no gather writes: zeros
        upload_shifted(m, ids, n, c * m->vocab_rows, rows, m->vocab_rows);
        BE->embedding_forward(CTX, c ? tmp : out, m->vocab_ids, m->params_vocab, n, C);
        if (c) BE->add(CTX, out, out, tmp, (size_t)n * C); // x + 0 = x: each row from its chunk only
    }
}

void model_vocab_embed_backward(model *m, const float *dout, int n) {
    int K = model_vocab_chunks(m), C = m->C;
    size_t buf = ((size_t)m->vocab_rows + 1) * (size_t)C;
    for (int c = 0; c < K; c++) {
        int rows;
        size_t a = chunk_at(m, m->vocab_wte, c, &rows);
        BE->zero(CTX, m->grads_vocab, buf * sizeof(float));
        if (n) { // ids outside the chunk add into the spare row vocab_rows, never reduced
            upload_shifted(m, m->vocab_host, n, c * m->vocab_rows, rows, m->vocab_rows);
            BE->embedding_backward(CTX, m->grads_vocab, dout, m->vocab_ids, n, C);
        }
        m->vocab_reduce(m->grad_ctx, m, a, a + (size_t)rows * (size_t)C, m->grads_vocab);
    }
}

// A row's running log-sum-exp over the chunks seen: mx the largest chunk lse, s = sum e^(lse_c - mx),
// sz = sum e^(lse_c - mx) (lse_c - H_c) (each chunk's sum p z, weighted), zt the target's logit.
typedef struct {
    double mx, s, sz, zt;
} row_merge;

void model_vocab_head_forward(model *m, const int32_t *targets, int n) {
    int K = model_vocab_chunks(m), C = m->C, t = m->vocab_head;
    row_merge *rm = NULL;
    float *lp = NULL, *ls = NULL, *en = NULL;
    if (n) {
        vocab_room(m, n);
        memcpy(m->vocab_host + m->vocab_cap, targets, (size_t)n * sizeof *targets);
        rm = fx_malloc((size_t)n * sizeof *rm);
        for (int i = 0; i < n; i++) rm[i] = (row_merge){-INFINITY, 0, 0, 0};
        lp = fx_malloc(3 * (size_t)n * sizeof *lp), ls = lp + n, en = ls + n;
    }
    for (int c = K - 1; c >= 0; c--) {
        int rows = model_vocab_need(m, t, c), lo = c * m->vocab_rows;
        if (!n) continue;
        // a target outside the chunk: `rows` (backend.h: no one-hot term, logp 0)
        upload_shifted(m, targets, n, lo, rows, rows);
        float *slp = m->vocab_stats, *sls = slp + m->vocab_cap, *sen = sls + m->vocab_cap;
        for (int r0 = 0; r0 < n; r0 += m->chunk) {
            int k = n - r0 < m->chunk ? n - r0 : m->chunk;
            BE->matmul(CTX, m->logits, m->lnf + (size_t)r0 * C, m->params_vocab, k, rows, C, false, true, false);
            BE->logprob_forward(CTX, slp + r0, sls + r0, sen + r0, m->logits, m->vocab_ids + r0, k, rows);
        }
        BE->download(CTX, lp, slp, (size_t)n * sizeof(float));
        BE->download(CTX, ls, sls, (size_t)n * sizeof(float));
        BE->download(CTX, en, sen, (size_t)n * sizeof(float));
        for (int i = 0; i < n; i++) {
            row_merge *r = &rm[i];
            double l = ls[i], pz = (double)ls[i] - (double)en[i];
            if (l > r->mx) {
                double f = exp(r->mx - l);
                r->s = r->s * f + 1.0, r->sz = r->sz * f + pz, r->mx = l;
            } else {
                double f = exp(l - r->mx);
                r->s += f, r->sz += f * pz;
            }
            if (targets[i] >= lo && targets[i] < lo + rows) r->zt = (double)lp[i] + l;
        }
    }
    if (!n) return;
    for (int i = 0; i < n; i++) {
        double l = rm[i].mx + log(rm[i].s);
        ls[i] = (float)l;
        en[i] = (float)(l - rm[i].sz / rm[i].s);
        lp[i] = targets[i] >= 0 ? (float)(rm[i].zt - l) : 0.0f;
    }
    BE->upload(CTX, m->tok_logp, lp, (size_t)n * sizeof(float));
    BE->upload(CTX, m->tok_lse, ls, (size_t)n * sizeof(float));
    BE->upload(CTX, m->tok_ent, en, (size_t)n * sizeof(float));
    free(rm), free(lp);
}

void model_vocab_head_backward(model *m, bool dlogp, bool dent, int n) {
    int K = model_vocab_chunks(m), C = m->C, t = m->vocab_head;
    size_t buf = ((size_t)m->vocab_rows + 1) * (size_t)C;
    const int32_t *targets = m->vocab_host + m->vocab_cap;
    for (int c = 0; c < K; c++) {
        int rows = model_vocab_need(m, t, c), lo = c * m->vocab_rows;
        size_t a = m->tensors[t].offset + (size_t)lo * (size_t)C;
        BE->zero(CTX, m->grads_vocab, buf * sizeof(float));
        if (n) {
            upload_shifted(m, targets, n, lo, rows, rows);
            for (int r0 = 0; r0 < n; r0 += m->chunk) {
                int k = n - r0 < m->chunk ? n - r0 : m->chunk;
                const float *x = m->lnf + (size_t)r0 * C;
                BE->matmul(CTX, m->logits, x, m->params_vocab, k, rows, C, false, true, false);
                BE->logprob_backward(CTX, m->logits, m->vocab_ids + r0, m->tok_lse + r0, m->tok_ent + r0,
                                     dlogp ? m->tok_dlogp + r0 : NULL, dent ? m->tok_dent + r0 : NULL, k, rows);
                BE->matmul(CTX, m->dlnf + (size_t)r0 * C, m->logits, m->params_vocab, k, C, rows, false, false, true);
                BE->matmul(CTX, m->grads_vocab, m->logits, x, rows, C, k, true, false, true);
            }
        }
        m->vocab_reduce(m->grad_ctx, m, a, a + (size_t)rows * (size_t)C, m->grads_vocab);
    }
}
