// grpo_update.c — see grpo_update.h.
#include "grpo_update.h"

#include <stdlib.h>
#include <string.h>


// One forward pass packs B sequences (rows[0..B)) right-padded into (B, T).
typedef struct {
    int B, T;
    int32_t *ids, *pos, *seg, *tgt;
    float *logp, *ent, *dlogp, *dent;
} pass;

static void pass_pack(pass *p, const trace_batch *b, const int *rows, int B) {
    int T = 1;
    for (int k = 0; k < B; k++)
        if (b->prompt_len[rows[k]] + b->response_len[rows[k]] > T) T = b->prompt_len[rows[k]] + b->response_len[rows[k]];
    size_t N = (size_t)B * T;
    p->B = B, p->T = T;
    p->ids = fx_calloc(N, sizeof(int32_t)), p->pos = fx_calloc(N, sizeof(int32_t));
    p->seg = fx_malloc(N * sizeof(int32_t)), p->tgt = fx_malloc(N * sizeof(int32_t));
    p->logp = fx_malloc(N * sizeof(float)), p->ent = fx_malloc(N * sizeof(float));
    p->dlogp = fx_calloc(N, sizeof(float)), p->dent = fx_calloc(N, sizeof(float));
    for (size_t t = 0; t < N; t++) p->seg[t] = -1, p->tgt[t] = -1;
    for (int k = 0; k < B; k++) {
        int i = rows[k], P = b->prompt_len[i], L = P + b->response_len[i];
        const int32_t *prompt = b->prompt_ids + b->prompt_start[i], *resp = b->response_ids + b->response_start[i];
        for (int t = 0; t < L; t++) {
            size_t at = (size_t)k * T + (size_t)t;
            p->ids[at] = t < P ? prompt[t] : resp[t - P], p->pos[at] = t, p->seg[at] = 0;
            if (t + 1 >= P && t + 1 < L) p->tgt[at] = resp[t + 1 - P]; // predicts response token t+1
        }
    }
}

static void pass_free(pass *p) {
    free(p->ids), free(p->pos), free(p->seg), free(p->tgt), free(p->logp), free(p->ent), free(p->dlogp), free(p->dent);
}

// Where response token t of the pass's row k sits in the (B, T) layout.
static size_t pass_at(const pass *p, const trace_batch *b, int k, int i, int t) {
    return (size_t)k * (size_t)p->T + (size_t)(b->prompt_len[i] - 1 + t);
}

// The log-probs of the response tokens of rows[0..B) under model x into out[i] (per sequence).
static void pass_logp(model *x, const trace_batch *b, const int *rows, int B, float **out) {
    pass p;
    pass_pack(&p, b, rows, B);
    model_forward(x, p.ids, p.pos, p.seg, B, p.T);
    model_lm_forward(x, p.tgt, p.logp, NULL);
    for (int k = 0; k < B; k++)
        for (int t = 0; t < b->response_len[rows[k]]; t++) out[rows[k]][t] = p.logp[pass_at(&p, b, k, rows[k], t)];
    pass_free(&p);
}

void grpo_logprobs(model *x, const trace_batch *b, const int *rows, int n, int micro, float **out) {
    FX_ASSERT(micro > 0);
    for (int a = 0; a < n; a += micro) pass_logp(x, b, rows + a, n - a < micro ? n - a : micro, out);
}

static void sum_ranks(const trainer_dp *dp, double *x, int n) {
    if (dp) dp->sum_doubles(dp->ctx, x, n);
}

void grpo_policy_update(model *m, model *ref, const trace_batch *b, const float *adv, const float *const *token_adv,
                        const uint8_t *keep, const grpo_loss_params *lp, const grpo_update_opts *o, const trainer_dp *dp,
                        double *grad_norm, grpo_update_stats *us) {
    memset(us, 0, sizeof *us);
    *grad_norm = 0;
    FX_ASSERT(o->micro > 0 && o->minibatches > 0 && o->epochs > 0);
    int n = (int)b->n;
    const int32_t *rlen = b->response_len;
    int *rows = fx_malloc((size_t)(n ? n : 1) * sizeof *rows), nrows = 0;
    for (int i = 0; i < n; i++)
        if (keep[i] && rlen[i] > 0) rows[nrows++] = i;
    int M = o->minibatches;
    // Per-sequence arrays: old log-probs (recomputed or recorded), reference log-probs, weights.
    float **old = fx_calloc((size_t)(n ? n : 1), sizeof(float *));
    float **rlp = fx_calloc((size_t)(n ? n : 1), sizeof(float *));
    float **tis = fx_calloc((size_t)(n ? n : 1), sizeof(float *));
    bool kl = lp->beta_kl > 0, need_ref = kl && ref;
    FX_ASSERT(!kl || ref || b->ref_logprobs);
    for (int r = 0; r < nrows; r++) {
        int i = rows[r];
        if (o->recompute_old) old[i] = fx_malloc((size_t)rlen[i] * sizeof(float));
        if (need_ref) rlp[i] = fx_malloc((size_t)rlen[i] * sizeof(float));
    }
    // The same partition as the first epoch's passes, so that the first step's ratios are exactly 1.
    for (int j = 0; j < M; j++) {
        int r0 = (int)((int64_t)j * nrows / M), r1 = (int)((int64_t)(j + 1) * nrows / M);
        if (o->recompute_old) grpo_logprobs(m, b, rows + r0, r1 - r0, o->micro, old);
        if (need_ref) grpo_logprobs(ref, b, rows + r0, r1 - r0, o->micro, rlp);
    }
    double tis_sum = 0, tis_n = 0;
    for (int r = 0; r < nrows; r++) {
        int i = rows[r];
        float *sampled = b->logprobs + b->response_start[i];
        if (!o->recompute_old) old[i] = sampled;
        if (!need_ref && kl) rlp[i] = b->ref_logprobs + b->response_start[i];
        if (o->recompute_old && b->policy_version[i] < o->version) { // lagged
            tis[i] = fx_malloc((size_t)rlen[i] * sizeof(float));
            grpo_tis_weights(old[i], sampled, rlen[i], o->tis_cap, tis[i]);
            for (int t = 0; t < rlen[i]; t++) tis_sum += tis[i][t], tis_n++;
        }
    }
    double local[7] = {0}; // loss, pg, kl, entropy, clipped, tokens, ratio_max (local)
    for (int e = 0; e < o->epochs; e++) {
        for (int j = 0; j < M; j++) {
            int r0 = (int)((int64_t)j * nrows / M), r1 = (int)((int64_t)(j + 1) * nrows / M);
            double counts[2] = {0, 0}; // tokens, sequences of this step on every rank
            for (int r = r0; r < r1; r++) counts[0] += rlen[rows[r]], counts[1]++;
            sum_ranks(dp, counts, 2);
            if (counts[0] == 0) continue; // no data anywhere: no step (AdamW's momentum would still move the weights)
            model_zero_grad(m);
            // sliced gradients: every rank joins the reductions of as many passes as any rank takes
            int passes = (r1 - r0 + o->micro - 1) / o->micro, most = trainer_agree_passes(m, dp, passes);
            for (int a = r0; a < r1; a += o->micro) {
                int B = r1 - a < o->micro ? r1 - a : o->micro;
                const int *rw = rows + a;
                pass p;
                pass_pack(&p, b, rw, B);
                model_forward(m, p.ids, p.pos, p.seg, B, p.T);
                model_lm_forward(m, p.tgt, p.logp, lp->beta_ent > 0 ? p.ent : NULL);
                int64_t nt = 0;
                for (int k = 0; k < B; k++) nt += rlen[rw[k]];
                int64_t *start = fx_malloc((size_t)B * sizeof *start);
                int32_t *len = fx_malloc((size_t)B * sizeof *len);
                float *cl = fx_malloc((size_t)nt * sizeof *cl), *co = fx_malloc((size_t)nt * sizeof *co);
                float *ca = fx_malloc((size_t)nt * sizeof *ca), *cd = fx_malloc((size_t)nt * sizeof *cd);
                float *cr = fx_malloc((size_t)nt * sizeof *cr), *ce = fx_malloc((size_t)nt * sizeof *ce);
                float *cw = fx_malloc((size_t)nt * sizeof *cw), *cde = fx_malloc((size_t)nt * sizeof *cde);
                bool any_tis = false;
                for (int k = 0, q = 0; k < B; k++) {
                    int i = rw[k];
                    start[k] = q, len[k] = rlen[i];
                    any_tis |= tis[i] != NULL;
                    for (int t = 0; t < rlen[i]; t++, q++) {
                        size_t at = pass_at(&p, b, k, i, t);
                        cl[q] = p.logp[at], ce[q] = lp->beta_ent > 0 ? p.ent[at] : 0;
                        co[q] = old[i][t], cr[q] = kl ? rlp[i][t] : 0, cw[q] = tis[i] ? tis[i][t] : 1.0f;
                        ca[q] = token_adv ? token_adv[i][t] : adv[i];
                    }
                }
                grpo_tokens gt = {B, start, len, cl, co, kl ? cr : NULL, lp->beta_ent > 0 ? ce : NULL, ca,
                                  any_tis ? cw : NULL, NULL};
                grpo_stats st;
                grpo_loss(lp, &gt, counts[0], counts[1], cd, lp->beta_ent > 0 ? cde : NULL, &st);
                for (int k = 0, q = 0; k < B; k++)
                    for (int t = 0; t < rlen[rw[k]]; t++, q++) {
                        size_t at = pass_at(&p, b, k, rw[k], t);
                        p.dlogp[at] = cd[q];
                        if (lp->beta_ent > 0) p.dent[at] = cde[q];
                    }
                model_lm_backward(m, p.dlogp, lp->beta_ent > 0 ? p.dent : NULL);
                model_backward(m);
                local[0] += st.loss, local[1] += st.pg, local[2] += st.kl, local[3] += st.entropy;
                local[4] += (double)st.clipped, local[5] += (double)st.tokens;
                if (st.ratio_max > local[6]) local[6] = st.ratio_max;
                free(start), free(len), free(cl), free(co), free(ca), free(cd), free(cr), free(ce), free(cw), free(cde);
                pass_free(&p);
            }
            trainer_pad_passes(m, passes, most);
            *grad_norm = trainer_optim_step(m, dp, o->grad_clip, &o->opt, o->lr); // every rank's gradients
            us->steps++;
        }
    }
    double g[8] = {local[0], local[1], local[2], local[3], local[4], local[5], tis_sum, tis_n};
    sum_ranks(dp, g, 8);
    double steps = us->steps ? us->steps : 1;
    us->loss = g[0] / steps, us->pg = g[1] / steps, us->kl = g[2] / steps, us->entropy = g[3] / steps;
    us->clipfrac = g[5] > 0 ? g[4] / g[5] : 0;
    us->tokens = (int64_t)(g[5] / o->epochs);
    us->ratio_max = local[6];
    us->tis_mean = g[7] > 0 ? g[6] / g[7] : 1;
    for (int i = 0; i < n; i++) {
        if (o->recompute_old) free(old[i]);
        if (need_ref) free(rlp[i]);
        free(tis[i]);
    }
    free(old), free(rlp), free(tis), free(rows);
}
