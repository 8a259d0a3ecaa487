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
    // Tensors lie in buffer order: one call per run of neighbours with the same decay.
    for (int i = 0; i < m->ntensors;) {
        const model_tensor *t = &m->tensors[i];
        size_t off = t->offset, n = t->numel;
        int j = i + 1;
        while (j < m->ntensors && m->tensors[j].decay == t->decay && m->tensors[j].offset == off + n)
            n += m->tensors[j++].numel;
        m->be->adamw(m->be->ctx, m->params_mem + off, m->grads_mem + off, m->m_mem + off, m->v_mem + off, n, lr,
                     o->beta1, o->beta2, o->eps, t->decay ? o->weight_decay : 0.0f, m->step);
        i = j;
    }
}
