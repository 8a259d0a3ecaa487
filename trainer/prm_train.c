// prm_train.c — see prm_train.h.
#include "prm_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRM_MAX_STEPS (TASK_MAX_OPS + 2)
#define PRM_TRAIN_STREAM 0x70726d74ull   // training traces: a generator stream of their own
#define PRM_HELDOUT_STREAM 0x68656c64ull // held-out traces

int prm_example(const prm_data *d, uint64_t stream, uint64_t index, tok_ids *ids, int *sep_pos, float *step_target,
                float *final_target, int max_steps) {
    task_problem p;
    task_generate(&d->task, d->seed ^ stream, index, &p);
    task_trace t;
    task_trace_make(&p, &d->task, d->seed ^ stream, index, &t);
    task_labels l;
    task_check(&p, t.text, &l); // the step texts, as the checker splits them
    char *steps[PRM_MAX_STEPS + 1];
    int n = l.nsteps < max_steps - 1 ? l.nsteps : max_steps - 1;
    for (int k = 0; k < n; k++) {
        int len = l.end[k] - l.begin[k];
        steps[k] = fx_malloc((size_t)len + 1);
        memcpy(steps[k], t.text + l.begin[k], (size_t)len);
        steps[k][len] = '\0';
        step_target[k] = l.correct[k] ? 1.0f : 0.0f;
    }
    *final_target = t.answer_correct ? 1.0f : 0.0f;
    char *prompt = task_prompt(&p);
    steps[n] = fx_strdup(""); // one more separator: where the trajectory reward is read
    char *text = tok_prm_format(NULL, prompt, (const char *const *)steps, n + 1);
    ids->n = 0;
    tok_encode(d->tok, text, strlen(text), ids);
    int k = 0;
    for (size_t i = 0; i < ids->n && k < n + 1; i++)
        if (ids->ids[i] == d->sep) sep_pos[k++] = (int)i;
    FX_ASSERT(k == n + 1); // every step is followed by its separator token
    free(steps[n]);
    for (int s = 0; s < n; s++) free(steps[s]);
    free(text), free(prompt);
    task_labels_free(&l);
    task_trace_free(&t);
    return n;
}

static float p_class1(const float *l) { return (float)(1.0 / (1.0 + exp((double)l[0] - (double)l[1]))); }

typedef struct {
    int B, T;
    int32_t *ids, *seg;
    int nsteps[1024];
    int sep[1024][PRM_MAX_STEPS + 1]; // the steps' separators, then the trajectory's
    float target[1024][PRM_MAX_STEPS], final[1024];
} prm_batch;

static void build_batch(const prm_data *d, uint64_t stream, uint64_t *next, int B, prm_batch *b) {
    FX_ASSERT(B <= 1024);
    tok_ids *ex = fx_calloc((size_t)B, sizeof *ex);
    b->B = B, b->T = 1;
    for (int i = 0; i < B; i++) {
        do b->nsteps[i] = prm_example(d, stream, (*next)++, &ex[i], b->sep[i], b->target[i], &b->final[i], PRM_MAX_STEPS + 1);
        while ((int)ex[i].n > d->max_seq);
        if ((int)ex[i].n > b->T) b->T = (int)ex[i].n;
    }
    b->ids = fx_malloc((size_t)B * b->T * sizeof *b->ids), b->seg = fx_malloc((size_t)B * b->T * sizeof *b->seg);
    for (int i = 0; i < B; i++)
        for (int t = 0; t < b->T; t++) {
            size_t at = (size_t)i * b->T + (size_t)t;
            b->ids[at] = t < (int)ex[i].n ? ex[i].ids[t] : 0;
            b->seg[at] = t < (int)ex[i].n ? 0 : -1;
        }
    for (int i = 0; i < B; i++) tok_ids_free(&ex[i]);
    free(ex);
}

void prm_train_step(model *m, const prm_data *d, uint64_t *next, int B, float lambda_step, float lambda_final,
                    const model_adamw *opt, float lr, prm_train_stats *st) {
    prm_batch *b = fx_malloc(sizeof *b);
    build_batch(d, PRM_TRAIN_STREAM, next, B, b);
    size_t N = (size_t)B * b->T;
    float *logits = fx_malloc(N * 2 * sizeof *logits), *dl = fx_calloc(N * 2, sizeof *dl);
    model_zero_grad(m);
    model_forward(m, b->ids, NULL, b->seg, B, b->T);
    model_prm_forward(m, logits);
    memset(st, 0, sizeof *st);
    // L = (1/B) sum_i [ls/n_i sum_k (p - r)^2 + lf (p_last - r_final)^2];
    // dL/dp, then dp/dl1 = p(1-p) = -dp/dl0.
    for (int i = 0; i < B; i++) {
        int n = b->nsteps[i];
        for (int k = 0; k <= n; k++) { // steps 0..n-1, then the trajectory at separator n
            size_t at = (size_t)i * b->T + (size_t)b->sep[i][k];
            float p = p_class1(logits + 2 * at), e = p - (k < n ? b->target[i][k] : b->final[i]);
            double g;
            if (k < n) {
                g = lambda_step * 2.0 * e / (n * B);
                st->step_mse += (double)e * e / (n * B);
            } else {
                g = lambda_final * 2.0 * e / B;
                st->final_mse += (double)e * e / B;
            }
            dl[2 * at + 1] += (float)(g * p * (1 - p));
            dl[2 * at] -= (float)(g * p * (1 - p));
        }
    }
    st->loss = lambda_step * st->step_mse + lambda_final * st->final_mse;
    model_prm_backward(m, dl);
    model_backward(m);
    model_clip_grad_norm(m, 1.0);
    model_adamw_step(m, opt, lr);
    free(logits), free(dl), free(b->ids), free(b->seg), free(b);
}

double prm_auroc(const float *score, const uint8_t *label, int n) {
    double pos = 0, neg = 0, wins = 0;
    for (int i = 0; i < n; i++) {
        if (label[i]) pos++;
        else neg++;
    }
    if (!pos || !neg) return NAN;
    for (int i = 0; i < n; i++) // O(n^2): evaluation sets are a few thousand steps
        if (label[i])
            for (int j = 0; j < n; j++)
                if (!label[j]) wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
    return wins / (pos * neg);
}

void prm_evaluate(model *m, const prm_data *d, int n, int batch, prm_eval_result *r) {
    prm_data held = *d;
    held.task.error_rate = 0.5;
    memset(r, 0, sizeof *r);
    float *score = fx_malloc((size_t)n * (PRM_MAX_STEPS + 1) * sizeof *score);
    uint8_t *label = fx_malloc((size_t)n * (PRM_MAX_STEPS + 1));
    uint64_t next = 0;
    for (int first = 0; first < n; first += batch) {
        int B = n - first < batch ? n - first : batch;
        prm_batch *b = fx_malloc(sizeof *b);
        build_batch(&held, PRM_HELDOUT_STREAM, &next, B, b);
        size_t N = (size_t)B * b->T;
        float *logits = fx_malloc(N * 2 * sizeof *logits);
        model_forward(m, b->ids, NULL, b->seg, B, b->T);
        model_prm_forward(m, logits);
        for (int i = 0; i < B; i++) {
            int ns = b->nsteps[i];
            for (int k = 0; k < ns; k++) {
                float p = p_class1(logits + 2 * ((size_t)i * b->T + (size_t)b->sep[i][k]));
                score[r->steps] = p, label[r->steps] = b->target[i][k] > 0.5f;
                r->wrong += b->target[i][k] < 0.5f;
                r->step_mse += (p - b->target[i][k]) * (p - b->target[i][k]);
                r->steps++;
            }
            float pf = p_class1(logits + 2 * ((size_t)i * b->T + (size_t)b->sep[i][ns]));
            r->final_mse += (pf - b->final[i]) * (pf - b->final[i]) / n;
        }
        free(logits), free(b->ids), free(b->seg), free(b);
    }
    r->step_mse /= r->steps ? r->steps : 1;
    r->auroc = prm_auroc(score, label, r->steps);
    free(score), free(label);
}
