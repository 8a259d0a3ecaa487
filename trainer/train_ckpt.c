// train_ckpt.c — see train_ckpt.h.
#include "train_ckpt.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

void train_ckpt_init(train_ckpt *c, size_t n) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->params = fx_malloc((n ? n : 1) * sizeof(float));
}

void train_ckpt_free(train_ckpt *c) {
    free(c->params), free(c->m), free(c->v);
    c->params = c->m = c->v = NULL;
}

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

// The whole of an AdamW moment (mem: this rank's slice of it) into all (rank 0's; NULL elsewhere):
// downloaded, and with a sharded state each rank's slice collected (a collective of the group).
static void moment_into(const model *m, const trainer_dp *dp, const float *mem, float *all) {
    if (!sharded(dp)) {
        m->be->download(m->be->ctx, all, mem, m->nparams * sizeof(float));
        return;
    }
    size_t k = m->opt_hi - m->opt_lo, bytes = k * sizeof(float);
    float *mine = fx_malloc(bytes ? bytes : sizeof(float));
    m->be->download(m->be->ctx, mine, mem, bytes);
    dp->collect(dp->ctx, mine, all, m->nparams);
    free(mine);
}

// The fills of rank 0's checkpoint: params, then each moment, through one host buffer.
static void fill_params(void *ctx, void *data) {
    const train_ckpt *c = ctx;
    const model *m = c->save_model;
    if (m->params_layer) moment_into(m, c->save_dp, m->params_mem, data); // sharded weights: slices as the moments'
    else m->be->download(m->be->ctx, data, m->params_mem, c->n * sizeof(float));
}
static void fill_m(void *ctx, void *data) {
    const train_ckpt *c = ctx;
    moment_into(c->save_model, c->save_dp, c->save_model->m_mem, data);
}
static void fill_v(void *ctx, void *data) {
    const train_ckpt *c = ctx;
    moment_into(c->save_model, c->save_dp, c->save_model->v_mem, data);
}

// The checkpoint's arrays; params, adam_m and adam_v in the given buffers.
static void arrays(train_ckpt *c, ckpt_array *a, float *params, float *m, float *v) {
    a[0] = (ckpt_array){"params", CKPT_F32, c->n, params, NULL, NULL};
    a[1] = (ckpt_array){"adam_m", CKPT_F32, c->n, m, NULL, NULL};
    a[2] = (ckpt_array){"adam_v", CKPT_F32, c->n, v, NULL, NULL};
    a[3] = (ckpt_array){"counters", CKPT_I64, TRAIN_CKPT_COUNTERS + 1, c->counters, NULL, NULL};
    a[4] = (ckpt_array){"accumulators", CKPT_F64, TRAIN_CKPT_ACCUMS, c->accum, NULL, NULL};
}

int train_ckpt_save(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                    fx_err *err) {
    if (sharded(dp) && dp->rank != 0) { // this rank's slices, to rank 0 as it writes them
        if (m->params_layer) moment_into(m, dp, m->params_mem, NULL);
        moment_into(m, dp, m->m_mem, NULL);
        moment_into(m, dp, m->v_mem, NULL);
        return 0;
    }
    c->save_model = m, c->save_dp = dp;
    c->counters[TRAIN_CKPT_COUNTERS] = m->step;
    ckpt_array a[5];
    arrays(c, a, c->params, c->params, c->params); // one host copy of the model's size, three times
    a[0].fill = fill_params, a[1].fill = fill_m, a[2].fill = fill_v;
    for (int i = 0; i < 3; i++) a[i].fill_ctx = c;
    char path[4300];
    int rc = ckpt_save(run->dir, step, a, 5, run->config, c->kind, run->keep_checkpoints, path, sizeof path, err);
    if (!rc) fx_info("checkpoint: %s", path);
    return rc;
}

int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err) {
    char path[4300];
    if (!c->m) c->m = fx_malloc((c->n ? c->n : 1) * sizeof(float));
    if (!c->v) c->v = fx_malloc((c->n ? c->n : 1) * sizeof(float));
    ckpt_array a[5];
    arrays(c, a, c->params, c->m, c->v);
    int found = ckpt_resume_latest(run_dir, c->kind, a, 5, step, path, sizeof path, err);
    if (found <= 0) {
        free(c->m), free(c->v);
        c->m = c->v = NULL;
        return found;
    }
    size_t k = m->opt_hi - m->opt_lo;
    if (m->params_layer) m->be->upload(m->be->ctx, m->params_mem, c->params + m->param_lo, k * sizeof(float));
    else m->be->upload(m->be->ctx, m->params_mem, c->params, m->nparams * sizeof(float));
    m->be->upload(m->be->ctx, m->m_mem, c->m + m->opt_lo, k * sizeof(float));
    m->be->upload(m->be->ctx, m->v_mem, c->v + m->opt_lo, k * sizeof(float));
    m->step = (int)c->counters[TRAIN_CKPT_COUNTERS];
    fx_info("resuming from %s (step %lld)", path, (long long)*step);
    return 1;
}

bool train_ckpt_share(train_ckpt *c, model *m, const trainer_dp *dp, bool resumed) {
    int64_t head[2] = {m->step, resumed};
    dp->bcast_i64(dp->ctx, head, 2);
    m->step = (int)head[0], resumed = head[1] != 0;
    // Sharded weights start as every rank loaded them (the same files or seed) unless resumed.
    if (!m->params_layer) dp->bcast(dp->ctx, m->params_mem, m->nparams);
    else if (resumed) trainer_params_distribute(m, dp, dp->rank == 0 ? c->params : NULL);
    if (!sharded(dp)) {
        dp->bcast(dp->ctx, m->m_mem, m->nparams);
        dp->bcast(dp->ctx, m->v_mem, m->nparams);
    } else if (resumed) { // else every slice starts at zero
        size_t k = m->opt_hi - m->opt_lo, bytes = k * sizeof(float);
        float *mine = fx_malloc(bytes ? bytes : sizeof(float));
        bool lead = dp->rank == 0;
        dp->distribute(dp->ctx, lead ? c->m : NULL, mine, m->nparams);
        m->be->upload(m->be->ctx, m->m_mem, mine, bytes);
        dp->distribute(dp->ctx, lead ? c->v : NULL, mine, m->nparams);
        m->be->upload(m->be->ctx, m->v_mem, mine, bytes);
        free(mine);
    }
    if (c) { // the moments' host copies served the resume only
        free(c->m), free(c->v);
        c->m = c->v = NULL;
    }
    return resumed;
}
