// grpo_update.c — see grpo_update.h.
#include "grpo_update.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model_merge.h"


// One forward pass packs B sequences (rows[0..B)) right-padded into (B, T).
typedef struct {
    int B, T;
    int32_t *ids, *pos, *seg, *tgt;
    float *logp, *ent, *dlogp, *dent;
    float *alpha, *post; // PCM: (B*T, K) the mixing weights and the posteriors, for the backward
    float *cross;        // PCM with the entropy: (B*T, K) c_i = sum_v pi_i(v) log pi(v) (model_merge.h)
} pass;

// The policy whose log-probs a pass computes: a language model, or a PCM merging K frozen experts
// whose log-probs of the response tokens elp[i] (K * response_len[i], expert-major) are known.
typedef struct {
    model *m;
    int K;                 // 0: m is a language model
    const float *pref;     // (n, K) each trace's preference
    float **elp;
    model *const *experts; // the K experts (for the merged entropy, which needs their whole rows)
} policy;

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
    p->alpha = p->post = p->cross = NULL;
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
    free(p->alpha), free(p->post), free(p->cross);
}

// Where response token t of the pass's row k sits in the (B, T) layout.
static size_t pass_at(const pass *p, const trace_batch *b, int k, int i, int t) {
    return (size_t)k * (size_t)p->T + (size_t)(b->prompt_len[i] - 1 + t);
}

// Rows of logits (n, V) into log-softmax rows, in place (the normaliser in double).
static void log_softmax_rows(float *x, int n, int V) {
    for (float *r = x; r < x + (size_t)n * V; r += V) {
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) mx = r[v] > mx ? r[v] : mx;
        for (int v = 0; v < V; v++) s += exp((double)r[v] - mx);
        double lse = mx + log(s);
        for (int v = 0; v < V; v++) r[v] = (float)((double)r[v] - lse);
    }
}

// A PCM's merged entropy H(t) = -Σ_v π(v) log π(v) at every position of the pass with a target
// (p->ent; 0 elsewhere) and the cross terms of its gradient (p->cross), from log α (B*T, K). The
// experts' log-probs of the sampled tokens were computed once, but H needs their whole rows: each
// expert runs its forward over the pass again (no backward), and its rows are read a chunk of
// positions at a time, so that K * ENT_CHUNK rows of the vocabulary exist at once.
enum { ENT_CHUNK = 64 };
static void pass_entropy(const policy *x, pass *p, const float *la) {
    int K = x->K, V = x->experts[0]->V, N = p->B * p->T;
    float *rows = fx_malloc((size_t)K * ENT_CHUNK * V * sizeof *rows);
    const float *r[16];
    p->cross = fx_calloc((size_t)N * K, sizeof *p->cross);
    for (int e = 0; e < K; e++) model_forward(x->experts[e], p->ids, p->pos, p->seg, p->B, p->T);
    for (int r0 = 0; r0 < N; r0 += ENT_CHUNK) {
        int n = N - r0 < ENT_CHUNK ? N - r0 : ENT_CHUNK, any = 0;
        for (int t = r0; t < r0 + n; t++) p->ent[t] = 0, any |= p->tgt[t] >= 0;
        if (!any) continue;
        for (int e = 0; e < K; e++) {
            model_lm_logits(x->experts[e], r0, n, rows + (size_t)e * ENT_CHUNK * V);
            log_softmax_rows(rows + (size_t)e * ENT_CHUNK * V, n, V);
        }
        for (int t = r0; t < r0 + n; t++) {
            if (p->tgt[t] < 0) continue;
            for (int e = 0; e < K; e++) r[e] = rows + ((size_t)e * ENT_CHUNK + (size_t)(t - r0)) * V;
            p->ent[t] = model_merge_row_entropy(la + (size_t)t * K, r, K, V, p->cross + (size_t)t * K);
        }
    }
    free(rows);
}

// The forward pass of policy x over the packed rows rows[0..B): p->logp (and with ent, the
// entropy). A PCM: log π(y_t) = log Σ_i α_i(t) π_i(y_t) (model/model_merge.h) with each token's
// preference the row of its trace, α and the posteriors (and with ent the entropy's cross terms)
// kept for pass_backward.
static void pass_forward(const policy *x, pass *p, const trace_batch *b, const int *rows, bool ent) {
    if (!x->K) {
        model_forward(x->m, p->ids, p->pos, p->seg, p->B, p->T);
        model_lm_forward(x->m, p->tgt, p->logp, ent ? p->ent : NULL);
        return;
    }
    int K = x->K;
    size_t N = (size_t)p->B * p->T;
    float *pref = fx_malloc(N * K * sizeof *pref), *z = fx_malloc(N * K * sizeof *z);
    float *la = fx_malloc(N * K * sizeof *la), *lp = fx_calloc(N * K, sizeof *lp);
    for (int k = 0; k < p->B; k++) {
        int i = rows[k];
        for (int t = 0; t < p->T; t++) memcpy(pref + ((size_t)k * p->T + t) * K, x->pref + (size_t)i * K, K * sizeof *pref);
        for (int t = 0; t < b->response_len[i]; t++)
            for (int e = 0; e < K; e++) lp[(size_t)e * N + pass_at(p, b, k, i, t)] = x->elp[i][(size_t)e * b->response_len[i] + t];
    }
    model_forward_pref(x->m, p->ids, p->pos, p->seg, pref, p->B, p->T);
    model_pcm_forward(x->m, z);
    p->alpha = fx_malloc(N * K * sizeof *p->alpha), p->post = fx_malloc(N * K * sizeof *p->post);
    model_merge_alpha(z, (int)N, K, p->alpha, la);
    model_merge_logp(la, lp, (int)N, K, p->logp, p->post); // positions without a target: lp 0, dlogp 0
    if (ent) pass_entropy(x, p, la);
    free(pref), free(z), free(la), free(lp);
}

// The backward of sum dlogp · logp (+ dent · entropy) into x's gradients.
static void pass_backward(const policy *x, pass *p, bool ent) {
    if (!x->K) {
        model_lm_backward(x->m, p->dlogp, ent ? p->dent : NULL);
    } else {
        size_t N = (size_t)p->B * p->T;
        float *dz = fx_malloc(N * x->K * sizeof *dz);
        model_merge_backward(p->alpha, p->post, p->dlogp, (int)N, x->K, dz);
        if (ent) model_merge_entropy_backward(p->alpha, p->cross, p->ent, p->dent, (int)N, x->K, dz);
        model_pcm_backward(x->m, dz);
        free(dz);
    }
    model_backward(x->m);
}

// The log-probs of the response tokens of rows[0..B) under policy x into out[i] (per sequence).
static void pass_logp(const policy *x, const trace_batch *b, const int *rows, int B, float **out) {
    pass p;
    pass_pack(&p, b, rows, B);
    pass_forward(x, &p, b, rows, false);
    for (int k = 0; k < B; k++)
        for (int t = 0; t < b->response_len[rows[k]]; t++) out[rows[k]][t] = p.logp[pass_at(&p, b, k, rows[k], t)];
    pass_free(&p);
}

static void policy_logprobs(const policy *x, const trace_batch *b, const int *rows, int n, int micro, float **out) {
    FX_ASSERT(micro > 0);
    for (int a = 0; a < n; a += micro) pass_logp(x, b, rows + a, n - a < micro ? n - a : micro, out);
}

// The same on a policy whose weights may be sharded over dp's ranks, where every forward pass is a
// collective: as many passes on every rank as any rank takes (trainer_agree_forwards).
static void policy_logprobs_dp(const policy *x, const trace_batch *b, const int *rows, int n, int micro, float **out,
                               const trainer_dp *dp) {
    int passes = (n + micro - 1) / micro, most = trainer_agree_forwards(x->m, dp, passes);
    policy_logprobs(x, b, rows, n, micro, out);
    trainer_pad_forwards(x->m, passes, most, !x->K); // an LM policy's passes read its LM head
}

void grpo_logprobs(model *x, const trace_batch *b, const int *rows, int n, int micro, float **out) {
    FX_ASSERT(x->head == MODEL_HEAD_LM);
    policy lm = {x, 0, NULL, NULL, NULL};
    policy_logprobs(&lm, b, rows, n, micro, out);
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
    FX_ASSERT(!o->rebel || (o->rebel_eta > 0 && !token_adv));
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
    float **cur = fx_calloc((size_t)(n ? n : 1), sizeof(float *)); // REBEL: the current log-probs
    bool kl = lp->beta_kl > 0, need_ref = kl && ref;
    FX_ASSERT(!kl || ref || b->ref_logprobs || nrows == 0); // a trainer may get no groups (and no arrays)
    for (int r = 0; r < nrows; r++) {
        int i = rows[r];
        if (o->recompute_old) old[i] = fx_malloc((size_t)rlen[i] * sizeof(float));
        if (need_ref) rlp[i] = fx_malloc((size_t)rlen[i] * sizeof(float));
    }
    // The policy: m, or m a PCM over o->experts, whose log-probs of every kept response token are
    // computed once (they are frozen), expert-major per trace.
    policy pol = {m, 0, NULL, NULL, NULL}, rpol = {ref, 0, NULL, NULL, NULL};
    float **elp = NULL;
    if (o->experts) {
        int K = m->cfg.num_experts;
        FX_ASSERT(m->head == MODEL_HEAD_PCM && K > 0 && K <= 16 && o->pref);
        FX_ASSERT(!ref || ref->head == MODEL_HEAD_PCM);
        elp = fx_calloc((size_t)(n ? n : 1), sizeof(float *));
        float **at = fx_calloc((size_t)(n ? n : 1), sizeof(float *));
        for (int r = 0; r < nrows; r++) elp[rows[r]] = fx_malloc((size_t)K * rlen[rows[r]] * sizeof(float));
        for (int e = 0; e < K; e++) {
            for (int r = 0; r < nrows; r++) at[rows[r]] = elp[rows[r]] + (size_t)e * rlen[rows[r]];
            grpo_logprobs(o->experts[e], b, rows, nrows, o->micro, at);
        }
        free(at);
        pol = (policy){m, K, o->pref, elp, o->experts}, rpol = (policy){ref, K, o->pref, elp, o->experts};
    }
    // Minibatch j is rows[bound[j] .. bound[j+1]): equal shares of the rows, or with REBEL equal
    // shares of the groups (a pair is never cut).
    int *bound = fx_malloc((size_t)(M + 1) * sizeof *bound), *gstart = fx_malloc((size_t)(nrows + 1) * sizeof *gstart);
    int ng = 0;
    for (int r = 0; r < nrows; r++)
        if (r == 0 || b->group[rows[r]] != b->group[rows[r - 1]]) gstart[ng++] = r;
    gstart[ng] = nrows;
    for (int j = 0; j <= M; j++)
        bound[j] = o->rebel ? gstart[(int64_t)j * ng / M] : (int)((int64_t)j * nrows / M);
    // The same partition as the first epoch's passes, so that the first step's ratios are exactly 1.
    for (int j = 0; j < M; j++) {
        int r0 = bound[j], r1 = bound[j + 1];
        if (o->recompute_old) policy_logprobs_dp(&pol, b, rows + r0, r1 - r0, o->micro, old, dp);
        if (need_ref) policy_logprobs(&rpol, b, rows + r0, r1 - r0, o->micro, rlp);
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
    double alpha_sum[16] = {0}; // a PCM: each expert's α summed over the response tokens of the passes
    for (int e = 0; e < o->epochs; e++) {
        for (int j = 0; j < M; j++) {
            int r0 = bound[j], r1 = bound[j + 1];
            double counts[3] = {0, 0, 0}; // tokens, sequences, REBEL pairs of this step on every rank
            int64_t *grp = fx_malloc((size_t)(r1 - r0 + 1) * sizeof *grp);
            for (int r = r0; r < r1; r++) counts[0] += rlen[rows[r]], counts[1]++, grp[r - r0] = b->group[rows[r]];
            if (o->rebel) counts[2] = (double)grpo_rebel_pairs(grp, r1 - r0);
            sum_ranks(dp, counts, 3);
            // no data anywhere: no step (AdamW's momentum would still move the weights)
            if (counts[0] == 0 || (o->rebel && counts[2] == 0)) {
                free(grp);
                continue;
            }
            // REBEL: every sequence's log-ratio Δ_s under the current weights, in the step's own
            // passes (the same floats as the backward passes below compute), then ∂loss/∂Δ_s.
            double *coef = NULL;
            if (o->rebel) {
                double *delta = fx_malloc((size_t)(r1 - r0) * sizeof *delta);
                float *rew = fx_malloc((size_t)(r1 - r0) * sizeof *rew);
                coef = fx_malloc((size_t)(r1 - r0) * sizeof *coef);
                for (int r = r0; r < r1; r++) cur[rows[r]] = fx_malloc((size_t)rlen[rows[r]] * sizeof(float));
                policy_logprobs_dp(&pol, b, rows + r0, r1 - r0, o->micro, cur, dp);
                for (int r = r0; r < r1; r++) {
                    int i = rows[r];
                    delta[r - r0] = 0, rew[r - r0] = adv[i];
                    for (int t = 0; t < rlen[i]; t++) delta[r - r0] += (double)cur[i][t] - (double)old[i][t];
                    free(cur[i]), cur[i] = NULL;
                }
                double l = grpo_rebel(o->rebel_eta, r1 - r0, grp, delta, rew, counts[2], coef);
                local[0] += l, local[1] += l;
                free(delta), free(rew);
            }
            free(grp);
            model_zero_grad(m);
            // sliced gradients: every rank joins the reductions of as many passes as any rank takes
            int passes = (r1 - r0 + o->micro - 1) / o->micro, most = trainer_agree_passes(m, dp, passes);
            for (int a = r0; a < r1; a += o->micro) {
                int B = r1 - a < o->micro ? r1 - a : o->micro;
                const int *rw = rows + a;
                pass p;
                pass_pack(&p, b, rw, B);
                pass_forward(&pol, &p, b, rw, lp->beta_ent > 0);
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
                        for (int x = 0; x < pol.K; x++) alpha_sum[x] += p.alpha[at * (size_t)pol.K + x];
                        cl[q] = p.logp[at], ce[q] = lp->beta_ent > 0 ? p.ent[at] : 0;
                        co[q] = old[i][t], cr[q] = kl ? rlp[i][t] : 0, cw[q] = tis[i] ? tis[i][t] : 1.0f;
                        ca[q] = o->rebel ? 0.0f : token_adv ? token_adv[i][t] : adv[i];
                    }
                }
                grpo_tokens gt = {B, start, len, cl, co, kl ? cr : NULL, lp->beta_ent > 0 ? ce : NULL, ca,
                                  any_tis ? cw : NULL, NULL};
                grpo_stats st;
                grpo_loss(lp, &gt, counts[0], counts[1], cd, lp->beta_ent > 0 ? cde : NULL, &st);
                for (int k = 0, q = 0; k < B; k++)
                    for (int t = 0; t < rlen[rw[k]]; t++, q++) {
                        size_t at = pass_at(&p, b, k, rw[k], t);
                        // REBEL's term: ∂loss/∂Δ_s on every token of s (the surrogate's is 0 at A = 0)
                        p.dlogp[at] = o->rebel ? (float)((double)cd[q] + coef[a - r0 + k]) : cd[q];
                        if (lp->beta_ent > 0) p.dent[at] = cde[q];
                    }
                pass_backward(&pol, &p, lp->beta_ent > 0);
                local[0] += st.loss, local[1] += st.pg, local[2] += st.kl, local[3] += st.entropy;
                local[4] += (double)st.clipped, local[5] += (double)st.tokens;
                if (st.ratio_max > local[6]) local[6] = st.ratio_max;
                free(start), free(len), free(cl), free(co), free(ca), free(cd), free(cr), free(ce), free(cw), free(cde);
                pass_free(&p);
            }
            free(coef);
            trainer_pad_passes(m, passes, most, !pol.K);
            *grad_norm = trainer_optim_step(m, dp, o->grad_clip, &o->opt, o->lr); // every rank's gradients
            us->steps++;
        }
    }
    double g[8 + 16] = {local[0], local[1], local[2], local[3], local[4], local[5], tis_sum, tis_n};
    memcpy(g + 8, alpha_sum, (size_t)pol.K * sizeof *g);
    sum_ranks(dp, g, 8 + pol.K);
    for (int e = 0; e < pol.K; e++) us->alpha_mean[e] = g[5] > 0 ? g[8 + e] / g[5] : 0; // over every pass's tokens
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
        if (elp) free(elp[i]);
    }
    free(elp), free(old), free(rlp), free(tis), free(cur), free(rows), free(bound), free(gstart);
}
