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

void model_adamw_step(model *m, const model_adamw *o, float lr) {
    FX_ASSERT(m->grads_mem);
    m->step++;
    size_t lo = m->opt_lo, hi = m->opt_hi;
    // Tensors lie in buffer order: one call per run of neighbours with the same decay, cut to the
    // slice whose moments this model holds.
    for (int i = 0; i < m->ntensors;) {
        const model_tensor *t = &m->tensors[i];
        size_t off = t->offset, n = t->numel;
        int j = i + 1;
        while (j < m->ntensors && m->tensors[j].decay == t->decay && m->tensors[j].offset == off + n)
            n += m->tensors[j++].numel;
        size_t a = off > lo ? off : lo, b = off + n < hi ? off + n : hi;
        if (a < b)
            m->be->adamw(m->be->ctx, m->params_mem + a, m->grads_mem + (a - m->grad_lo), m->m_mem + (a - lo), m->v_mem + (a - lo),
                         b - a, lr, o->beta1, o->beta2, o->eps, t->decay ? o->weight_decay : 0.0f, m->step);
        i = j;
    }
}

double model_grad_sumsq(const model *m, size_t lo, size_t hi) {
    FX_ASSERT(m->grads_mem && m->grad_lo <= lo && lo <= hi && hi <= m->grad_hi);
    return hi > lo ? m->be->sumsq(m->be->ctx, m->grads_mem + (lo - m->grad_lo), hi - lo) : 0.0;
}

void model_grad_scale(model *m, float coef, size_t lo, size_t hi) {
    FX_ASSERT(m->grads_mem && m->grad_lo <= lo && lo <= hi && hi <= m->grad_hi);
    if (hi > lo) m->be->scale(m->be->ctx, m->grads_mem + (lo - m->grad_lo), coef, hi - lo);
}
