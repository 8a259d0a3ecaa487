// grpo_update.c — see grpo_update.h.
#include "grpo_update.h"

#include <stdlib.h>
#include <string.h>

#include "../rollout/trace.h"

void grpo_batch_free(grpo_batch *b) {
    for (int i = 0; i < b->n; i++) {
        free(b->ids[i]), free(b->old_logp[i]);
        if (b->step_end) free(b->step_end[i]), free(b->step_reward[i]);
    }
    free(b->plen), free(b->rlen), free(b->ids), free(b->old_logp), free(b->reward), free(b->group);
    free(b->nsteps), free(b->step_end), free(b->step_reward);
    memset(b, 0, sizeof *b);
}

void grpo_batch_process_advantages(const grpo_batch *b, bool add_outcome, float *out, float **token_adv) {
    FX_ASSERT(b->nsteps && b->step_end && b->step_reward);
    trace_batch tb;
    trace_batch_init(&tb);
    uint8_t parts[4096] = {0};
    for (int i = 0; i < b->n; i++) {
        FX_ASSERT(b->nsteps[i] <= 4096);
        trace t = {.group = b->group[i], .n_response = b->rlen[i], .n_steps = b->nsteps[i], .response = b->ids[i],
                   .logprobs = b->old_logp[i], .step_end = b->step_end[i], .step_part = parts,
                   .step_reward = b->step_reward[i], .think_end = -1};
        trace_batch_add(&tb, &t);
    }
    float *outcome = NULL;
    if (add_outcome) {
        outcome = fx_malloc((size_t)b->n * sizeof *outcome);
        grpo_adv_grpo(b->reward, b->group, b->n, true, 1e-6f, outcome);
    }
    grpo_adv_process(&tb, 1e-6f, outcome, out);
    for (int i = 0, o = 0; i < b->n; o += b->rlen[i], i++) token_adv[i] = out + o;
    free(outcome);
    trace_batch_free(&tb);
}

void grpo_policy_update(model *m, model *ref, const grpo_batch *b, const float *adv, const float *const *token_adv,
                        const uint8_t *keep,
                        const grpo_loss_params *lp, int mb, double grad_clip, const model_adamw *opt, float lr,
                        double *grad_norm, grpo_update_stats *us) {
    memset(us, 0, sizeof *us);
    int64_t seqs = 0, tokens = 0;
    for (int i = 0; i < b->n; i++)
        if (keep[i]) seqs++, tokens += b->rlen[i];
    model_zero_grad(m);
    int *rows = fx_malloc((size_t)b->n * sizeof *rows), nrows = 0;
    for (int i = 0; i < b->n; i++)
        if (keep[i] && b->rlen[i] > 0) rows[nrows++] = i;
    for (int r0 = 0; r0 < nrows; r0 += mb) {
        int B = nrows - r0 < mb ? nrows - r0 : mb, T = 1;
        for (int k = 0; k < B; k++) {
            int i = rows[r0 + k];
            if (b->plen[i] + b->rlen[i] > T) T = b->plen[i] + b->rlen[i];
        }
        size_t N = (size_t)B * T;
        int32_t *ids = fx_calloc(N, sizeof *ids), *pos = fx_calloc(N, sizeof *pos), *seg = fx_malloc(N * sizeof *seg);
        int32_t *tgt = fx_malloc(N * sizeof *tgt);
        float *logp = fx_malloc(N * sizeof *logp), *dlogp = fx_calloc(N, sizeof *dlogp);
        float *rlogp = fx_malloc(N * sizeof *rlogp), *ent = fx_malloc(N * sizeof *ent), *dent = fx_calloc(N, sizeof *dent);
        int64_t *start = fx_malloc((size_t)B * sizeof *start);
        int32_t *len = fx_malloc((size_t)B * sizeof *len);
        int64_t nt = 0;
        for (int k = 0; k < B; k++) nt += b->rlen[rows[r0 + k]];
        float *cl = fx_malloc((size_t)nt * sizeof *cl), *co = fx_malloc((size_t)nt * sizeof *co);
        float *ca = fx_malloc((size_t)nt * sizeof *ca), *cd = fx_malloc((size_t)nt * sizeof *cd);
        float *cr = fx_malloc((size_t)nt * sizeof *cr), *ce = fx_malloc((size_t)nt * sizeof *ce);
        float *cde = fx_malloc((size_t)nt * sizeof *cde);
        for (size_t t = 0; t < N; t++) seg[t] = -1, tgt[t] = -1;
        for (int k = 0; k < B; k++) {
            int i = rows[r0 + k], L = b->plen[i] + b->rlen[i];
            for (int t = 0; t < L; t++) {
                size_t at = (size_t)k * T + (size_t)t;
                ids[at] = b->ids[i][t], pos[at] = t, seg[at] = 0;
                if (t + 1 >= b->plen[i] && t + 1 < L) tgt[at] = b->ids[i][t + 1]; // predicts response token t+1
            }
        }
        if (lp->beta_kl > 0) { // the reference policy's log-probs of the same tokens
            FX_ASSERT(ref);
            model_forward(ref, ids, pos, seg, B, T);
            model_lm_forward(ref, tgt, rlogp, NULL);
        }
        model_forward(m, ids, pos, seg, B, T);
        model_lm_forward(m, tgt, logp, lp->beta_ent > 0 ? ent : NULL);
        // Compact the response tokens: sequence k's are logp[k*T + plen-1 ...].
        int64_t o = 0;
        for (int k = 0; k < B; k++) {
            int i = rows[r0 + k];
            start[k] = o, len[k] = b->rlen[i];
            for (int t = 0; t < b->rlen[i]; t++, o++) {
                size_t at = (size_t)k * T + (size_t)(b->plen[i] - 1 + t);
                cl[o] = logp[at], cr[o] = lp->beta_kl > 0 ? rlogp[at] : 0, ce[o] = lp->beta_ent > 0 ? ent[at] : 0;
                co[o] = b->old_logp[i][t];
                ca[o] = token_adv ? token_adv[i][t] : adv[i];
            }
        }
        grpo_tokens gt = {B, start, len, cl, co, lp->beta_kl > 0 ? cr : NULL, lp->beta_ent > 0 ? ce : NULL, ca, NULL, NULL};
        grpo_stats st;
        grpo_loss(lp, &gt, (double)tokens, (double)seqs, cd, lp->beta_ent > 0 ? cde : NULL, &st);
        for (int k = 0, q = 0; k < B; k++) {
            int i = rows[r0 + k];
            for (int t = 0; t < b->rlen[i]; t++, q++) {
                size_t at = (size_t)k * T + (size_t)(b->plen[i] - 1 + t);
                dlogp[at] = cd[q];
                if (lp->beta_ent > 0) dent[at] = cde[q];
            }
        }
        model_lm_backward(m, dlogp, lp->beta_ent > 0 ? dent : NULL);
        model_backward(m);
        us->loss += st.loss, us->pg += st.pg, us->kl += st.kl, us->entropy += st.entropy;
        us->clipfrac += (double)st.clipped, us->tokens += st.tokens;
        if (st.ratio_max > us->ratio_max) us->ratio_max = st.ratio_max;
        free(ids), free(pos), free(seg), free(tgt), free(logp), free(dlogp), free(start), free(len);
        free(cl), free(co), free(ca), free(cd), free(cr), free(ce), free(cde), free(rlogp), free(ent), free(dent);
    }
    if (us->tokens) us->clipfrac /= (double)us->tokens;
    free(rows);
    *grad_norm = 0;
    if (nrows == 0) return; // no data: no step (AdamW's momentum would still move the weights)
    *grad_norm = model_clip_grad_norm(m, grad_clip);
    model_adamw_step(m, opt, lr);
}

