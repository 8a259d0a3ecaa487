// prm_train.c — see prm_train.h.
#include "prm_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"

#define PRM_MAX_STEPS (TASK_MAX_OPS + 2)
#define PRM_TRAIN_STREAM 0x70726d74ull   // training traces: a generator stream of their own
#define PRM_HELDOUT_STREAM 0x68656c64ull // held-out traces

// Which prm.data trace example `index` of a stream is, or -1 for one of the generator's.
static int64_t pool_pick(const prm_data *d, uint64_t stream, uint64_t index) {
    if (stream != PRM_TRAIN_STREAM || d->npool == 0) return -1;
    fx_rng g = fx_rng_make(d->seed, fx_rng_hash(0x706f6f6cull, index));
    if (fx_rng_double(&g) >= d->pool_share) return -1;
    return (int64_t)fx_rng_below(&g, (uint64_t)d->npool);
}

// Example `index` of the training stream as the twin of example index - 1 (prm_data.twins): that
// generator trace with one of its right think steps, drawn in a random order, also written wrong
// (the first that has a wrong form; none: the trace itself). False when example index - 1 is not
// a generator trace.
static bool twin_source(const prm_data *d, uint64_t stream, uint64_t index, task_problem *p, char **text,
                        int *answer) {
    if (!d->twins || !(index & 1) || pool_pick(d, stream, index - 1) >= 0) return false;
    uint64_t first = index - 1;
    task_generate(&d->task, d->seed ^ stream, first, p);
    task_trace t;
    task_trace_make(p, &d->task, d->seed ^ stream, first, &t);
    int order[TASK_MAX_OPS], n = 0;
    for (int k = 0; k < p->nops; k++)
        if (t.step_correct[k]) order[n++] = k;
    fx_rng g = fx_rng_make(d->seed, fx_rng_hash(0x7477696eull, index));
    for (int i = n - 1; i > 0; i--) { // Fisher-Yates
        int j = (int)fx_rng_below(&g, (uint64_t)i + 1), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    for (int i = 0; i < n; i++) {
        task_trace w;
        task_trace_make_wrong(p, &d->task, d->seed ^ stream, first, order[i], &w);
        if (!w.step_correct[order[i]]) {
            task_trace_free(&t);
            t = w;
            break;
        }
        task_trace_free(&w);
    }
    *text = t.text, *answer = t.answer_correct;
    return true;
}

// The problem and trace of example `index` of a stream: a pool trace (prm.data) for that share of
// the training stream, a twin (prm.twins), else the generator's. *text is malloc'd.
// *answer: the generator's verdict on its trace (1 right, 0 wrong), -1 for a pool trace.
static void example_source(const prm_data *d, uint64_t stream, uint64_t index, task_problem *p, char **text,
                           int *answer) {
    int64_t k = pool_pick(d, stream, index);
    if (k >= 0) {
        *p = d->pool_problem[k], *text = fx_strdup(d->pool_text[k]);
        *answer = -1;
        return;
    }
    if (twin_source(d, stream, index, p, text, answer)) return;
    task_generate(&d->task, d->seed ^ stream, index, p);
    task_trace t;
    task_trace_make(p, &d->task, d->seed ^ stream, index, &t);
    *text = t.text, *answer = t.answer_correct;
    t.text = NULL;
    task_trace_free(&t);
}

// The number of tokens before the first step's text: the PRM input up to the assistant turn's
// opening, encoded alone (the same tokens as the whole's start where the tokenizer splits there).
static int steps_start(const prm_data *d, const char *text) {
    const char *open = "<|im_start|>assistant\n", *at = NULL;
    for (const char *q = strstr(text, open); q; q = strstr(q + 1, open)) at = q;
    if (!at) return 0;
    size_t len = (size_t)(at - text) + strlen(open);
    tok_ids pre = {0};
    tok_encode(d->tok, text, len, &pre);
    int n = (int)pre.n;
    tok_ids_free(&pre);
    return n;
}

// The index of the token of `ids` (the whole of text) that holds byte `at` of text: text[0, at)
// encoded alone agrees with the whole's tokens up to it.
static int token_at(const prm_data *d, const char *text, size_t at, const tok_ids *ids) {
    tok_ids pre = {0};
    tok_encode(d->tok, text, at, &pre);
    size_t j = 0;
    while (j < pre.n && j < ids->n && pre.ids[j] == ids->ids[j]) j++;
    tok_ids_free(&pre);
    return (int)j;
}

// prm_example, and when not NULL: *start, the index of the first token of the first step, and
// departs[k], the first token of step k's text that departs from its gold text (task_labels'
// departs; -1 for a right step).
static int example_at(const prm_data *d, uint64_t stream, uint64_t index, tok_ids *ids, int *sep_pos,
                      float *step_target, float *final_target, int max_steps, int *start, int *departs) {
    task_problem p;
    char *trace;
    int answer;
    example_source(d, stream, index, &p, &trace, &answer);
    task_labels l;
    task_check(&p, trace, &l); // the step texts, as the checker splits them
    char *steps[PRM_MAX_STEPS + 1];
    int n = l.nsteps < max_steps - 1 ? l.nsteps : max_steps - 1;
    if (n > PRM_MAX_STEPS) n = PRM_MAX_STEPS;
    for (int k = 0; k < n; k++) {
        int len = l.end[k] - l.begin[k];
        steps[k] = fx_malloc((size_t)len + 1);
        memcpy(steps[k], trace + l.begin[k], (size_t)len);
        steps[k][len] = '\0';
        step_target[k] = l.correct[k] ? 1.0f : 0.0f;
    }
    *final_target = (answer < 0 ? l.answer_correct : answer > 0) ? 1.0f : 0.0f;
    char *prompt = task_prompt(&p);
    steps[n] = fx_strdup(""); // one more separator: where the trajectory reward is read
    ids->n = 0;
    if (d->policy_layout) { // each step read at its last token, the trajectory at the <extra_0> after them
        size_t begin[PRM_MAX_STEPS + 1];
        char *text = tok_prm_policy_format(prompt, (const char *const *)steps, n, begin);
        tok_encode(d->tok, text, strlen(text), ids);
        for (int s = 0; s < n; s++) {
            size_t len = strlen(steps[s]);
            sep_pos[s] = tok_token_holding(d->tok, ids, begin[s] + (len ? len - 1 : 0));
            if (departs) departs[s] = l.departs[s] < 0 ? -1 : tok_token_holding(d->tok, ids, begin[s] + (size_t)l.departs[s]);
        }
        sep_pos[n] = (int)ids->n - 1;
        FX_ASSERT(ids->ids[ids->n - 1] == d->sep);
        if (start) *start = tok_token_holding(d->tok, ids, begin[0]);
        for (int s = 0; s <= n; s++) free(steps[s]);
        free(text), free(prompt), free(trace);
        task_labels_free(&l);
        return n;
    }
    char *text = tok_prm_format(NULL, prompt, (const char *const *)steps, n + 1);
    tok_encode(d->tok, text, strlen(text), ids);
    int k = 0;
    for (size_t i = 0; i < ids->n && k < n + 1; i++)
        if (ids->ids[i] == d->sep) sep_pos[k++] = (int)i;
    FX_ASSERT(k == n + 1); // every step is followed by its separator token
    if (start) *start = steps_start(d, text);
    if (departs) { // step k's text starts where the steps after it and the closing leave off
        size_t at = strlen(text) - strlen("<|im_end|>\n"), sl = strlen("<extra_0>");
        for (int s = n; s >= 0; s--) at -= strlen(steps[s]) + sl;
        for (int s = 0; s < n; s++) {
            departs[s] = l.departs[s] < 0 ? -1 : token_at(d, text, at + (size_t)l.departs[s], ids);
            at += strlen(steps[s]) + sl;
        }
    }
    free(steps[n]);
    for (int s = 0; s < n; s++) free(steps[s]);
    free(text), free(prompt), free(trace);
    task_labels_free(&l);
    return n;
}

int prm_example(const prm_data *d, uint64_t stream, uint64_t index, tok_ids *ids, int *sep_pos, float *step_target,
                float *final_target, int max_steps, int *departs) {
    return example_at(d, stream, index, ids, sep_pos, step_target, final_target, max_steps, NULL, departs);
}

static float p_class1(const float *l) { return (float)(1.0 / (1.0 + exp((double)l[0] - (double)l[1]))); }

typedef struct {
    int B, T;
    int32_t *ids, *seg;
    int nsteps[1024], start[1024];    // steps, and the first step's first token
    int departs[1024][PRM_MAX_STEPS]; // each step's first departing token (-1: right; prm.dense)
    int sep[1024][PRM_MAX_STEPS + 1]; // the steps' separators, then the trajectory's
    float target[1024][PRM_MAX_STEPS], final[1024];
} prm_batch;

// The trajectory targets of a batch by template-guided rollouts (prm_labels.h): the traces of
// examples idx[0..B) of the stream, n rollouts each.
static void template_targets(const prm_data *d, uint64_t stream, const uint64_t *idx, int B, float *final) {
    task_problem *p = fx_malloc((size_t)B * sizeof *p);
    char **text = fx_malloc((size_t)B * sizeof *text);
    uint64_t *key = fx_malloc((size_t)B * sizeof *key);
    for (int i = 0; i < B; i++) {
        int answer;
        example_source(d, stream, idx[i], &p[i], &text[i], &answer);
        key[i] = fx_rng_hash(stream, idx[i]);
    }
    prm_template_rates(d->writer, p, (const char *const *)text, key, B, d->template_rollouts, 256, final);
    for (int i = 0; i < B; i++) free(text[i]);
    free(p), free(text), free(key);
}

// Rows [r0, r0 + R) get template-guided trajectory targets (with d->writer): the rows this rank
// trains on, since a rollout's stream depends on its trace alone (not on the batch).
static void build_batch(const prm_data *d, uint64_t stream, uint64_t *next, int B, int r0, int R, prm_batch *b) {
    FX_ASSERT(B <= 1024);
    tok_ids *ex = fx_calloc((size_t)B, sizeof *ex);
    uint64_t *idx = fx_malloc((size_t)B * sizeof *idx);
    b->B = B, b->T = 1;
    for (int i = 0; i < B; i++) {
        int tries = 0;
        do {
            // Examples longer than max_seq are skipped; a stream of nothing but (prm.data traces
            // all too long) would otherwise never end.
            if (tries++ == 10000)
                fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "prm-train: 10000 examples in a row are longer than model.max_seq = %d tokens (prm.data's "
                         "traces too long for it?); raise model.max_seq or drop the long traces", d->max_seq);
            idx[i] = (*next)++;
            b->nsteps[i] = example_at(d, stream, idx[i], &ex[i], b->sep[i], b->target[i], &b->final[i], PRM_MAX_STEPS + 1,
                                      d->lm_weight > 0 || d->dense > 0 ? &b->start[i] : NULL,
                                      d->dense > 0 ? b->departs[i] : NULL);
        } while ((int)ex[i].n > d->max_seq);
        if ((int)ex[i].n > b->T) b->T = (int)ex[i].n;
    }
    if (d->writer && d->template_rollouts > 0 && R > 0) template_targets(d, stream, idx + r0, R, b->final + r0);
    free(idx);
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

// Whether token t of row i is a target of the auxiliary LM loss: it lies in the text of a step the
// checker finds right (not in the prompt, a separator or a wrong step: the backbone keeps modelling
// right work, not the errors it is shown).
// In the policy layout a step's last token, where it is read, is its text too (in_step).
static bool lm_target(const prm_batch *b, int i, int t, bool in_step) {
    int n = b->nsteps[i];
    for (int k = 0; k < n; k++) {
        int lo = k ? b->sep[i][k - 1] + 1 : b->start[i];
        if (t >= lo && (t < b->sep[i][k] || (in_step && t == b->sep[i][k]))) return b->target[i][k] > 0.5f;
    }
    return false;
}

// The auxiliary LM loss (prm_data.lm_weight): lm_weight times the mean cross-entropy of the next
// token over every target of the whole batch (all B rows, so ranks' shares sum to one process's),
// its gradient into the backbone and the tied embedding; this rank's rows [r0, r0 + R). Returns
// whether the batch has targets, the same on every rank: the passes then read the LM head.
static bool lm_aux_loss(model *m, const prm_data *d, const prm_batch *b, int r0, int R, prm_train_stats *st) {
    int T = b->T;
    int64_t count = 0;
    for (int i = 0; i < b->B; i++)
        for (int t = 1; t < T; t++) count += b->seg[(size_t)i * T + t] >= 0 && lm_target(b, i, t, d->policy_layout);
    if (!R || !count) return count > 0;
    int32_t *tg = fx_malloc((size_t)R * T * sizeof *tg);
    float *w = fx_malloc((size_t)R * T * sizeof *w);
    for (int i = r0; i < r0 + R; i++)
        for (int t = 0; t < T; t++) {
            size_t at = (size_t)(i - r0) * T + (size_t)t;
            bool on = t + 1 < T && b->seg[(size_t)i * T + t + 1] >= 0 && lm_target(b, i, t + 1, d->policy_layout);
            tg[at] = on ? b->ids[(size_t)i * T + t + 1] : -1;
            w[at] = on ? d->lm_weight / (float)count : 0.0f;
        }
    st->lm_ce = model_lm_ce(m, tg, w, true) / d->lm_weight;
    free(tg), free(w);
    return true;
}

void prm_train_step(model *m, const prm_data *d, uint64_t *next, int B, float lambda_step, float lambda_final,
                    const model_adamw *opt, float lr, prm_train_stats *st) {
    prm_train_step_dp(m, d, next, B, lambda_step, lambda_final, opt, lr, NULL, st);
}

void prm_train_step_dp(model *m, const prm_data *d, uint64_t *next, int B, float lambda_step, float lambda_final,
                       const model_adamw *opt, float lr, const trainer_dp *dp, prm_train_stats *st) {
    prm_batch *b = fx_malloc(sizeof *b);
    int rank = dp ? dp->rank : 0, W = dp ? dp->size : 1;
    int r0 = (int)((int64_t)rank * B / W), R = (int)((int64_t)(rank + 1) * B / W) - r0;
    FX_ASSERT(r0 >= 0 && R >= 0 && r0 + R <= B);
    build_batch(d, PRM_TRAIN_STREAM, next, B, r0, R, b);
    size_t N = (size_t)(R ? R : 1) * b->T, off = (size_t)r0 * b->T;
    float *logits = fx_malloc(N * 2 * sizeof *logits), *dl = fx_calloc(N * 2, sizeof *dl);
    model_zero_grad(m);
    memset(st, 0, sizeof *st);
    // sliced gradients: every rank joins each reduction (and sharded weights, each gather)
    int most = trainer_agree_passes(m, dp, R ? 1 : 0);
    if (R) {
        model_forward(m, b->ids + off, NULL, b->seg + off, R, b->T);
        model_prm_forward(m, logits);
    }
    // L = (1/B) sum_i [ls/n_i sum_k (p - r)^2 + lf (p_last - r_final)^2];
    // dL/dp, then dp/dl1 = p(1-p) = -dp/dl0.
    for (int i = r0; i < r0 + R; i++) {
        int n = b->nsteps[i];
        for (int k = 0; k <= n; k++) { // steps 0..n-1, then the trajectory at separator n
            size_t at = (size_t)(i - r0) * b->T + (size_t)b->sep[i][k];
            float p = p_class1(logits + 2 * at), e = p - (k < n ? b->target[i][k] : b->final[i]);
            double g;
            if (k < n) {
                g = lambda_step * 2.0 * e / (n * B);
                st->step_mse += (double)e * e / (n * B);
            } else {
                g = lambda_final * 2.0 * e / B;
                st->final_mse += (double)e * e / B;
                st->final_target += (double)b->final[i] / B;
            }
            dl[2 * at + 1] += (float)(g * p * (1 - p));
            dl[2 * at] -= (float)(g * p * (1 - p));
        }
    }
    if (d->dense > 0) // every token of every step's text and its separator: has the step gone wrong yet?
        for (int i = r0; i < r0 + R; i++) {
            int n = b->nsteps[i], lo = b->start[i];
            if (n == 0) continue;
            int count = b->sep[i][n - 1] - lo + 1; // the steps' text and separators
            for (int k = 0; k < n; k++) {
                for (int t = k ? b->sep[i][k - 1] + 1 : lo; t <= b->sep[i][k]; t++) {
                    size_t at = (size_t)(i - r0) * b->T + (size_t)t;
                    int e = b->departs[i][k];
                    float p = p_class1(logits + 2 * at), y = e < 0 || t < e ? 1.0f : 0.0f, err = p - y;
                    double g = d->dense * 2.0 * err / ((double)count * B);
                    st->dense_mse += (double)err * err / ((double)count * B);
                    dl[2 * at + 1] += (float)(g * p * (1 - p));
                    dl[2 * at] -= (float)(g * p * (1 - p));
                }
            }
        }
    bool lm = d->lm_weight > 0 && lm_aux_loss(m, d, b, r0, R, st);
    if (R) {
        model_prm_backward(m, dl);
        model_backward(m);
    }
    trainer_pad_passes(m, R ? 1 : 0, most, lm);
    if (dp) { // every rank's share of the statistics (and, in the step, of the gradients)
        double part[5] = {st->step_mse, st->final_mse, st->final_target, st->lm_ce, st->dense_mse};
        dp->sum_doubles(dp->ctx, part, 5);
        st->step_mse = part[0], st->final_mse = part[1], st->final_target = part[2], st->lm_ce = part[3];
        st->dense_mse = part[4];
    }
    st->loss = lambda_step * st->step_mse + lambda_final * st->final_mse + d->lm_weight * st->lm_ce +
               d->dense * st->dense_mse;
    trainer_optim_step(m, dp, 1.0, opt, lr);
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

void prm_evaluate(model *m, const prm_data *d, const trainer_dp *dp, int n, int batch, prm_eval_result *r) {
    bool split = dp && dp->size > 1 && m->params_layer; // sharded weights: the ranks share the batches
    int W = split ? dp->size : 1, me = split ? dp->rank : 0, nb = n > 0 ? (n + batch - 1) / batch : 0;
    prm_data held = *d;
    held.task.error_rate = 0.5, held.writer = NULL, held.twins = false;
    memset(r, 0, sizeof *r);
    size_t cap = (size_t)n * (PRM_MAX_STEPS + 1) + 1;
    // Each step's score and target, then each trace's final score and target, in order: every rank
    // builds every batch (the stream's place), scores its own (batch q % W == rank) and leaves the
    // others' scores 0, so a sum over the ranks holds every score exactly.
    double *score = fx_calloc(cap, sizeof *score), *pfin = fx_calloc((size_t)n + 1, sizeof *pfin);
    float *target = fx_malloc(cap * sizeof *target), *final = fx_malloc(((size_t)n + 1) * sizeof *final);
    uint64_t next = 0;
    int at = 0, mine = split ? nb / W + (nb % W > me) : nb; // this rank's batches
    int most = split ? trainer_agree_forwards(m, dp, mine) : mine; // agreed before the first forward
    for (int q = 0; q < nb; q++) {
        int first = q * batch, B = n - first < batch ? n - first : batch;
        prm_batch *b = fx_malloc(sizeof *b);
        build_batch(&held, PRM_HELDOUT_STREAM, &next, B, 0, 0, b);
        float *logits = NULL;
        if (q % W == me) {
            logits = fx_malloc((size_t)B * b->T * 2 * sizeof *logits);
            model_forward(m, b->ids, NULL, b->seg, B, b->T);
            model_prm_forward(m, logits);
        }
        for (int i = 0; i < B; i++) {
            int ns = b->nsteps[i];
            for (int k = 0; k < ns; k++, at++) {
                target[at] = b->target[i][k];
                if (logits) score[at] = p_class1(logits + 2 * ((size_t)i * b->T + (size_t)b->sep[i][k]));
            }
            final[first + i] = b->final[i];
            if (logits) pfin[first + i] = p_class1(logits + 2 * ((size_t)i * b->T + (size_t)b->sep[i][ns]));
        }
        free(logits), free(b->ids), free(b->seg), free(b);
    }
    if (split) {
        trainer_pad_forwards(m, mine, most, false); // scoring reads no LM head
        dp->sum_doubles(dp->ctx, score, at);
        dp->sum_doubles(dp->ctx, pfin, n);
    }
    float *p = fx_malloc(((size_t)at + 1) * sizeof *p);
    uint8_t *label = fx_malloc((size_t)at + 1);
    for (int s = 0; s < at; s++) {
        p[s] = (float)score[s], label[s] = target[s] > 0.5f;
        r->wrong += target[s] < 0.5f;
        r->step_mse += (p[s] - target[s]) * (p[s] - target[s]);
    }
    for (int i = 0; i < n; i++) {
        float pf = (float)pfin[i];
        r->final_mse += (pf - final[i]) * (pf - final[i]) / n;
    }
    r->steps = at;
    r->step_mse /= r->steps ? r->steps : 1;
    r->auroc = prm_auroc(p, label, r->steps);
    free(score), free(pfin), free(target), free(final), free(p), free(label);
}
