// model_optim.c — AdamW over the parameter layout, global gradient-norm clipping, LR schedules.
#include <math.h>

#include "model.h"

float model_lr_at(const model_lr_schedule *s, int step) {
    if (s->kind == MODEL_LR_CONSTANT) return s->lr;
    // linear warmup from lr/warmup to lr over `warmup` steps, then cosine down to min_lr at `total`
    if (step < s->warmup) return s->lr * (float)(step + 1) / (float)s->warmup;
    if (step >= s->total) return s->min_lr;
    double span = (double)(s->total - s->warmup);
    double progress = span > 0 ? (double)(step - s->warmup) / span : 1.0;
    return (float)(s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(3.14159265358979323846 * progress)));
}

double model_clip_grad_norm(model *m, double max_norm) {
    FX_ASSERT(m->grads_mem);
    FX_ASSERT(m->grad_lo == 0 && m->grad_hi == m->nparams); // sliced gradients: model_grad_sumsq per slice
    double norm = sqrt(m->be->sumsq(m->be->ctx, m->grads_mem, m->nparams));
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) m->be->scale(m->be->ctx, m->grads_mem, (float)coef, m->nparams);
    }
    return norm;
}

// Whether the gradients lie in one buffer (grads_mem): whole, or the whole slice of a rank whose
// weights are sharded too; else (sliced, weights whole) a tensor outside the layers lies in grads_rest.
static bool one_buffer(const model *m) { return !m->grads_rest || m->params_layer; }

// Where the gradient of parameter a (of tensor t) lives.
static float *grad_at(const model *m, const model_tensor *t, size_t a) {
    if (one_buffer(m) || t->layer >= 0) return m->grads_mem + (a - m->grad_lo);
    return m->grads_rest + model_rest_index(m, a);
}

// Where parameter a (in this rank's slice) lives.
static float *param_at(const model *m, size_t a) { return m->params_mem + (a - m->param_lo); }

// The run of tensors from i with the same decay lying end to end (and, gradients sliced, on the
// same side of the layers' run): returns the index past it, its length in *n.
static int run_end(const model *m, int i, size_t *n) {
    const model_tensor *t = &m->tensors[i];
    *n = t->numel;
    int j = i + 1;
    while (j < m->ntensors && m->tensors[j].decay == t->decay && m->tensors[j].offset == t->offset + *n &&
           (one_buffer(m) || (m->tensors[j].layer < 0) == (t->layer < 0)))
        *n += m->tensors[j++].numel;
    return j;
}

void model_adamw_step(model *m, const model_adamw *o, float lr) {
    FX_ASSERT(m->grads_mem);
    m->step++;
    size_t lo = m->opt_lo, hi = m->opt_hi;
    FX_ASSERT(m->param_lo <= lo && (hi <= m->param_hi || !m->params_layer)); // sharded: this rank's slice
    FX_ASSERT(!m->params_layer || (m->grad_lo == lo && m->grad_hi == hi)); // sharded: the slice's gradients
    // Tensors lie in buffer order: one call per run of neighbours with the same decay, cut to the
    // slice whose moments this model holds.
    for (int i = 0; i < m->ntensors;) {
        const model_tensor *t = &m->tensors[i];
        size_t off = t->offset, n;
        int j = run_end(m, i, &n);
        size_t a = off > lo ? off : lo, b = off + n < hi ? off + n : hi;
        if (a < b)
            m->be->adamw(m->be->ctx, param_at(m, a), grad_at(m, t, a), m->m_mem + (a - lo), m->v_mem + (a - lo), b - a,
                         lr, o->beta1, o->beta2, o->eps, t->decay ? o->weight_decay : 0.0f, m->step);
        i = j;
    }
}

// The gradients of [lo, hi), in pieces where they lie: f(m, pointer, count) on each.
static double each_grad_piece(const model *m, size_t lo, size_t hi, double (*f)(const model *, float *, size_t, float),
                              float coef) {
    FX_ASSERT(m->grads_mem && lo <= hi && hi <= m->nparams);
    if (one_buffer(m)) { // one buffer
        FX_ASSERT(m->grad_lo <= lo && hi <= m->grad_hi);
        return hi > lo ? f(m, m->grads_mem + (lo - m->grad_lo), hi - lo, coef) : 0.0;
    }
    double total = 0;
    for (int i = 0; i < m->ntensors;) {
        const model_tensor *t = &m->tensors[i];
        size_t n;
        int j = run_end(m, i, &n);
        size_t a = t->offset > lo ? t->offset : lo, b = t->offset + n < hi ? t->offset + n : hi;
        if (a < b) total += f(m, grad_at(m, t, a), b - a, coef);
        i = j;
    }
    return total;
}

static double piece_sumsq(const model *m, float *g, size_t n, float coef) {
    (void)coef;
    return m->be->sumsq(m->be->ctx, g, n);
}

static double piece_scale(const model *m, float *g, size_t n, float coef) {
    m->be->scale(m->be->ctx, g, coef, n);
    return 0.0;
}

double model_grad_sumsq(const model *m, size_t lo, size_t hi) { return each_grad_piece(m, lo, hi, piece_sumsq, 0.0f); }

void model_grad_scale(model *m, float coef, size_t lo, size_t hi) { each_grad_piece(m, lo, hi, piece_scale, coef); }
