// train_ckpt.c — see train_ckpt.h.
#include "train_ckpt.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

void train_ckpt_init(train_ckpt *c, size_t n) {
    memset(c, 0, sizeof *c);
    c->params = fx_malloc(n * sizeof(float)), c->m = fx_malloc(n * sizeof(float)), c->v = fx_malloc(n * sizeof(float));
    c->a[0] = (ckpt_array){"params", CKPT_F32, n, c->params};
    c->a[1] = (ckpt_array){"adam_m", CKPT_F32, n, c->m};
    c->a[2] = (ckpt_array){"adam_v", CKPT_F32, n, c->v};
    c->a[3] = (ckpt_array){"counters", CKPT_I64, TRAIN_CKPT_COUNTERS + 1, c->counters};
    c->a[4] = (ckpt_array){"accumulators", CKPT_F64, TRAIN_CKPT_ACCUMS, c->accum};
}

void train_ckpt_free(train_ckpt *c) {
    free(c->params), free(c->m), free(c->v);
    c->params = c->m = c->v = NULL;
}

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

// The AdamW moments of every rank's slice into rank 0's host copies.
static void collect_moments(train_ckpt *c, const model *m, const trainer_dp *dp) {
    size_t k = m->opt_hi - m->opt_lo, bytes = k * sizeof(float);
    float *mine = fx_malloc(bytes ? bytes : sizeof(float));
    bool lead = dp->rank == 0;
    m->be->download(m->be->ctx, mine, m->m_mem, bytes);
    dp->collect(dp->ctx, mine, lead ? c->m : NULL, m->nparams);
    m->be->download(m->be->ctx, mine, m->v_mem, bytes);
    dp->collect(dp->ctx, mine, lead ? c->v : NULL, m->nparams);
    free(mine);
}

int train_ckpt_save(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                    fx_err *err) {
    size_t bytes = m->nparams * sizeof(float);
    if (sharded(dp)) {
        collect_moments(c, m, dp);
        if (dp->rank != 0) return 0;
    } else {
        m->be->download(m->be->ctx, c->m, m->m_mem, bytes);
        m->be->download(m->be->ctx, c->v, m->v_mem, bytes);
    }
    m->be->download(m->be->ctx, c->params, m->params_mem, bytes);
    c->counters[TRAIN_CKPT_COUNTERS] = m->step;
    char path[4300];
    int rc = ckpt_save(run->dir, step, c->a, 5, run->config, c->kind, run->keep_checkpoints, path, sizeof path, err);
    if (!rc) fx_info("checkpoint: %s", path);
    return rc;
}

int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err) {
    char path[4300];
    int found = ckpt_resume_latest(run_dir, c->kind, c->a, 5, step, path, sizeof path, err);
    if (found <= 0) return found;
    size_t k = m->opt_hi - m->opt_lo;
    m->be->upload(m->be->ctx, m->params_mem, c->params, m->nparams * sizeof(float));
    m->be->upload(m->be->ctx, m->m_mem, c->m + m->opt_lo, k * sizeof(float));
    m->be->upload(m->be->ctx, m->v_mem, c->v + m->opt_lo, k * sizeof(float));
    m->step = (int)c->counters[TRAIN_CKPT_COUNTERS];
    fx_info("resuming from %s (step %lld)", path, (long long)*step);
    return 1;
}

bool train_ckpt_share(const train_ckpt *c, model *m, const trainer_dp *dp, bool resumed) {
    int64_t head[2] = {m->step, resumed};
    dp->bcast_i64(dp->ctx, head, 2);
    m->step = (int)head[0], resumed = head[1] != 0;
    dp->bcast(dp->ctx, m->params_mem, m->nparams);
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
    return resumed;
}
