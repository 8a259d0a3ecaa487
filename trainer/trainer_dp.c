// trainer_dp.c — the optimiser step of a data-parallel group, whole or sharded: see trainer_dp.h.
#include "trainer_dp.h"

#include <math.h>

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

void trainer_train_init(model *m, const trainer_dp *dp) {
    if (!sharded(dp)) {
        model_train_init(m);
        return;
    }
    size_t lo, hi;
    trainer_shard_range(m->nparams, dp->rank, dp->size, &lo, &hi);
    model_train_init_slice(m, lo, hi);
}

double trainer_optim_step(model *m, const trainer_dp *dp, double grad_clip, const model_adamw *o, float lr) {
    if (!sharded(dp)) {
        if (dp && dp->size > 1) dp->sum(dp->ctx, m->grads_mem, m->nparams); // every rank's share
        double norm = model_clip_grad_norm(m, grad_clip);
        model_adamw_step(m, o, lr);
        return norm;
    }
    dp->reduce_owned(dp->ctx, m->grads_mem, m->nparams);
    double sumsq = model_grad_sumsq(m, m->opt_lo, m->opt_hi);
    dp->sum_doubles(dp->ctx, &sumsq, 1);
    double norm = sqrt(sumsq);
    if (grad_clip > 0) { // the coefficient of model_clip_grad_norm, from the same global norm on every rank
        double coef = grad_clip / (norm + 1e-6);
        if (coef < 1.0) model_grad_scale(m, (float)coef, m->opt_lo, m->opt_hi);
    }
    model_adamw_step(m, o, lr);
    dp->gather_owned(dp->ctx, m->params_mem, m->nparams);
    return norm;
}
