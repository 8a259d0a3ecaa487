// grpo.c — see grpo.h.
#include "grpo.h"

#include <math.h>
#include <string.h>

#include "../core/fx.h"

// The end of the group run that starts at a.
static int64_t group_end(const int64_t *group, int64_t n, int64_t a) {
    int64_t b = a + 1;
    while (b < n && group[b] == group[a]) b++;
    return b;
}

// Mean and unbiased standard deviation (torch.std); std is 0 for fewer than two values.
static void mean_std(const float *x, int64_t n, double *mean, double *std) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = n ? s / (double)n : 0.0;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

void grpo_adv_grpo(const float *r, const int64_t *group, int64_t n, bool std_norm, float eps, float *adv) {
    for (int64_t a = 0, b; a < n; a = b) {
        b = group_end(group, n, a);
        double mean, std;
        mean_std(r + a, b - a, &mean, &std);
        for (int64_t i = a; i < b; i++) adv[i] = (float)(std_norm ? (r[i] - mean) / (std + eps) : r[i] - mean);
    }
}

void grpo_adv_rloo(const float *r, const int64_t *group, int64_t n, float *adv) {
    for (int64_t a = 0, b; a < n; a = b) {
        b = group_end(group, n, a);
        int64_t G = b - a;
        double sum = 0;
        for (int64_t i = a; i < b; i++) sum += r[i];
        for (int64_t i = a; i < b; i++) adv[i] = G > 1 ? (float)(r[i] - (sum - r[i]) / (double)(G - 1)) : 0.0f;
    }
}

void grpo_adv_broadcast(const trace_batch *b, const float *adv, float *token_adv) {
    for (int64_t i = 0; i < b->n; i++)
        for (int32_t t = 0; t < b->response_len[i]; t++) token_adv[b->response_start[i] + t] = adv[i];
}

void grpo_adv_process(const trace_batch *b, float eps, const float *outcome_adv, float *token_adv) {
    for (int64_t a = 0, e; a < b->n; a = e) {
        e = group_end(b->group, b->n, a);
        // Mean and std over every step reward of the group.
        double s = 0, ss = 0;
        int64_t k = 0;
        for (int64_t i = a; i < e; i++)
            for (int32_t j = 0; j < b->step_count[i]; j++) s += b->step_reward[b->step_start[i] + j], k++;
        double mean = k ? s / (double)k : 0.0;
        for (int64_t i = a; i < e; i++)
            for (int32_t j = 0; j < b->step_count[i]; j++) {
                double d = b->step_reward[b->step_start[i] + j] - mean;
                ss += d * d;
            }
        double std = k > 1 ? sqrt(ss / (double)(k - 1)) : 0.0;
        for (int64_t i = a; i < e; i++) {
            float *out = token_adv + b->response_start[i];
            const int32_t *ends = b->step_end + b->step_start[i];
            const float *rew = b->step_reward + b->step_start[i];
            int32_t n = b->response_len[i], steps = b->step_count[i];
            float base = outcome_adv ? outcome_adv[i] : 0.0f;
            int32_t last = steps ? ends[steps - 1] : 0;
            for (int32_t t = last; t < n; t++) out[t] = base; // after the last step: no step ends later
            double acc = 0; // reverse cumulative sum over the steps
            for (int32_t j = steps - 1; j >= 0; j--) {
                acc += (rew[j] - mean) / (std + eps);
                int32_t from = j ? ends[j - 1] : 0;
                for (int32_t t = from; t < ends[j]; t++) out[t] = base + (float)acc;
            }
        }
    }
}

int64_t grpo_keep_informative(const float *r, const int64_t *group, int64_t n, uint8_t *keep) {
    int64_t kept = 0;
    for (int64_t a = 0, b; a < n; a = b) {
        b = group_end(group, n, a);
        bool varied = false;
        for (int64_t i = a + 1; i < b; i++) varied |= r[i] != r[a];
        for (int64_t i = a; i < b; i++) keep[i] = varied;
        kept += varied;
    }
    return kept;
}

void grpo_tis_weights(const float *prox_logp, const float *behaviour_logp, int64_t n, float cap, float *w) {
    for (int64_t i = 0; i < n; i++) {
        float x = expf(prox_logp[i] - behaviour_logp[i]);
        w[i] = x < cap ? x : cap;
    }
}

void grpo_loss(const grpo_loss_params *p, const grpo_tokens *t, double global_tokens, double global_seqs, float *dlogp,
               float *dent, grpo_stats *st) {
    memset(st, 0, sizeof *st);
    FX_ASSERT(global_tokens > 0 && global_seqs > 0);
    FX_ASSERT(p->beta_kl == 0 || t->ref_logp);
    FX_ASSERT(p->beta_ent == 0 || (t->entropy && dent));
    for (int64_t s = 0; s < t->S; s++) {
        int64_t a = t->start[s], e = a + t->len[s];
        int64_t count = 0;
        for (int64_t i = a; i < e; i++) count += !t->mask || t->mask[i];
        double f; // this sequence's weight per token in the aggregate
        switch (p->agg) {
        case GRPO_AGG_TOKEN_MEAN: f = 1.0 / global_tokens; break;
        case GRPO_AGG_SEQ_MEAN_TOKEN_MEAN: f = count ? 1.0 / (global_seqs * (double)count) : 0.0; break;
        default: f = 1.0 / (global_seqs * (double)p->max_len); break;
        }
        for (int64_t i = a; i < e; i++) {
            if (t->mask && !t->mask[i]) {
                dlogp[i] = 0.0f;
                if (dent) dent[i] = 0.0f;
                continue;
            }
            double A = t->adv[i], rho = exp((double)t->logp[i] - (double)t->old_logp[i]);
            double lo = 1.0 - p->eps_low, hi = 1.0 + p->eps_high, rc = rho < lo ? lo : rho > hi ? hi : rho;
            double pg1 = -A * rho, pg2 = -A * rc, pg = pg1 >= pg2 ? pg1 : pg2;
            double dpg = pg1 >= pg2 ? -A * rho : 0.0; // the clipped branch is flat in logp
            st->clipped += pg2 > pg1;
            if (p->dual_clip > 1 && A < 0 && pg > -A * p->dual_clip) {
                pg = -A * p->dual_clip, dpg = 0.0;
                st->dual_clipped++;
            }
            double w = t->is_weight ? t->is_weight[i] : 1.0;
            double kl = 0, dkl = 0;
            if (p->beta_kl != 0) {
                double d = (double)t->logp[i] - (double)t->ref_logp[i];
                if (p->kl == GRPO_KL_K1) kl = d, dkl = 1.0;
                else if (p->kl == GRPO_KL_K2) kl = 0.5 * d * d, dkl = d;
                else kl = exp(-d) + d - 1.0, dkl = 1.0 - exp(-d);
            }
            double H = p->beta_ent != 0 ? t->entropy[i] : 0.0;
            st->loss += f * (w * pg + p->beta_kl * kl - p->beta_ent * H);
            st->pg += f * w * pg, st->kl += f * kl, st->entropy += f * H;
            dlogp[i] = (float)(f * (w * dpg + p->beta_kl * dkl));
            if (dent) dent[i] = (float)(-f * p->beta_ent);
            st->tokens++;
            if (rho > st->ratio_max) st->ratio_max = rho;
        }
    }
}

int64_t grpo_rebel_pairs(const int64_t *group, int64_t S) {
    int64_t pairs = 0;
    for (int64_t a = 0, e; a < S; a = e) {
        for (e = a; e < S && group[e] == group[a];) e++;
        pairs += (e - a) * (e - a - 1) / 2;
    }
    return pairs;
}

double grpo_rebel(double eta, int64_t S, const int64_t *group, const double *delta, const float *reward,
                  double global_pairs, double *coef) {
    FX_ASSERT(eta > 0);
    double loss = 0;
    for (int64_t a = 0, e; a < S; a = e) {
        for (e = a; e < S && group[e] == group[a];) e++;
        double G = (double)(e - a), mean = 0;
        for (int64_t s = a; s < e; s++) mean += delta[s] / eta - (double)reward[s];
        mean /= G;
        for (int64_t s = a; s < e; s++) {
            double d = delta[s] / eta - (double)reward[s] - mean;
            loss += G * d * d;
            coef[s] = global_pairs > 0 ? 2.0 * G * d / (eta * global_pairs) : 0.0;
        }
    }
    return global_pairs > 0 ? loss / global_pairs : 0.0;
}
