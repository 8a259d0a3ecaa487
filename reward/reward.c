// reward.c — see reward.h.
#include "reward.h"

#include <math.h>
#include <stdlib.h>

#include "../core/fx.h"
#include "../rollout/verify.h"

float reward_prm_aggregate(const float *steps, int n, float final_reward, float alpha) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        FX_ASSERT(isfinite(steps[i]));
        s += steps[i];
    }
    return (float)((n ? s / n : 0.0) + (double)alpha * final_reward);
}

float reward_mix(const reward_mix_params *p, float outcome, float prm, bool format_ok, int response_len) {
    double r = p->mode == REWARD_MIX_REASONFLUX ? 0.75 * prm + 0.25 * outcome
                                                : (1.0 - p->beta) * outcome + (p->beta > 0 ? p->beta * prm : 0.0);
    if (!format_ok) r -= p->format_penalty;
    int soft = p->max_len - p->overlong_buffer;
    if (p->length_penalty > 0 && p->overlong_buffer > 0 && response_len > soft) {
        int over = response_len - soft;
        if (over > p->overlong_buffer) over = p->overlong_buffer;
        r -= p->length_penalty * (double)over / p->overlong_buffer;
    }
    return (float)r;
}

static const float *g_score; // for the comparator; callers are single-threaded here
static int by_score_desc(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    float si = g_score[i], sj = g_score[j];
    if (si != sj) return si > sj ? -1 : 1;
    return (i > j) - (i < j);
}

int64_t reward_top_k(const float *score, int64_t n, int64_t k, int64_t *idx) {
    int64_t *all = fx_malloc((size_t)(n > 0 ? n : 1) * sizeof *all);
    for (int64_t i = 0; i < n; i++) all[i] = i;
    g_score = score;
    qsort(all, (size_t)n, sizeof *all, by_score_desc);
    int64_t m = k < n ? k : n;
    for (int64_t i = 0; i < m; i++) idx[i] = all[i];
    free(all);
    return m;
}

int64_t reward_best_of_n(const float *score, const int64_t *group, int64_t n, int64_t *best) {
    int64_t groups = 0;
    for (int64_t a = 0, b; a < n; a = b) {
        int64_t top = a;
        for (b = a + 1; b < n && group[b] == group[a]; b++)
            if (score[b] > score[top]) top = b;
        best[groups++] = top;
    }
    return groups;
}

double reward_vote(const bool *correct, char *const *extracted, const float *weight, int np, int n, int k) {
    FX_ASSERT(k >= 1 && k <= n);
    double right = 0;
    for (int i = 0; i < np; i++) {
        int top = -1;
        double top_votes = 0;
        for (int j = 0; j < k; j++) {
            int row = i * n + j;
            if (!extracted[row] || (weight && !isfinite(weight[row]))) continue;
            double votes = 0; // the weights of the samples that agree with this one, in sample order
            for (int t = 0; t < k; t++) {
                int u = i * n + t;
                const char *e = extracted[u];
                if (e && (!weight || isfinite(weight[u])) && verify_equal(e, extracted[row])) votes += weight ? weight[u] : 1;
            }
            if (top < 0 || votes > top_votes) top_votes = votes, top = row;
        }
        right += top >= 0 && correct[top];
    }
    return right / (np > 0 ? np : 1);
}

float reward_min_step(const float *step, int n) {
    float m = n > 0 ? INFINITY : -INFINITY;
    for (int i = 0; i < n; i++) m = step[i] < m ? step[i] : m;
    return m;
}

reward_accuracy reward_sample_accuracy(const bool *correct, char *const *extracted, int np, int n, int k) {
    FX_ASSERT(k >= 1 && k <= n);
    double pass1 = 0, pass_k = 0;
    for (int i = 0; i < np; i++) {
        int c = 0;
        for (int j = 0; j < k; j++) c += correct[i * n + j];
        pass1 += (double)c / k, pass_k += c > 0;
    }
    double d = np > 0 ? np : 1;
    return (reward_accuracy){pass1 / d, reward_vote(correct, extracted, NULL, np, n, k), pass_k / d};
}

double reward_bt(const double *r, const double *ref, const float *w, int K) {
    double R = 0;
    for (int i = 0; i < K; i++) {
        double d = r[i] - ref[i], e = exp(-fabs(d));
        R += (double)w[i] * (d >= 0 ? 1 / (1 + e) : e / (1 + e));
    }
    return R;
}
