// train_ckpt.c — see train_ckpt.h.
#include "train_ckpt.h"

#include <stdlib.h>
#include <string.h>

#include "../core/log.h"

void train_ckpt_init(train_ckpt *c, size_t n) {
    memset(c, 0, sizeof *c);
    c->n = n;
}

void train_ckpt_free(train_ckpt *c) {
    free(c->piece), free(c->params), free(c->m), free(c->v);
    c->piece = c->params = c->m = c->v = NULL;
}

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

// Piece [lo, hi) of a buffer of the model (mem: the whole, or this rank's slice when sharded) into
// all (rank 0's; NULL elsewhere): downloaded, or collected from the ranks' slices (a collective).
static void piece_into(const model *m, const trainer_dp *dp, bool sliced, const float *mem, size_t lo, size_t hi,
                       float *all) {
    if (sliced) trainer_slice_collect(m, dp, mem, lo, hi, all);
    else m->be->download(m->be->ctx, all, mem + lo, (hi - lo) * sizeof(float));
}

// The piece fills of rank 0's checkpoint: params, adam_m, adam_v.
static void fill_params(void *ctx, size_t lo, size_t hi, void *data) {
    const train_ckpt *c = ctx;
    const model *m = c->save_model;
    piece_into(m, c->save_dp, m->params_layer != NULL, m->params_mem, lo, hi, data);
}
static void fill_m(void *ctx, size_t lo, size_t hi, void *data) {
    const train_ckpt *c = ctx;
    piece_into(c->save_model, c->save_dp, sharded(c->save_dp), c->save_model->m_mem, lo, hi, data);
}
static void fill_v(void *ctx, size_t lo, size_t hi, void *data) {
    const train_ckpt *c = ctx;
    piece_into(c->save_model, c->save_dp, sharded(c->save_dp), c->save_model->v_mem, lo, hi, data);
}

// The checkpoint's arrays; params, adam_m and adam_v in the given buffers.
static void arrays(train_ckpt *c, ckpt_array *a, float *params, float *m, float *v) {
    a[0] = (ckpt_array){"params", CKPT_F32, c->n, params, NULL, NULL, NULL};
    a[1] = (ckpt_array){"adam_m", CKPT_F32, c->n, m, NULL, NULL, NULL};
    a[2] = (ckpt_array){"adam_v", CKPT_F32, c->n, v, NULL, NULL, NULL};
    a[3] = (ckpt_array){"counters", CKPT_I64, TRAIN_CKPT_COUNTERS + 1, c->counters, NULL, NULL, NULL};
    a[4] = (ckpt_array){"accumulators", CKPT_F64, TRAIN_CKPT_ACCUMS, c->accum, NULL, NULL, NULL};
}

int train_ckpt_save(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                    fx_err *err) {
    if (sharded(dp) && dp->rank != 0) { // this rank's slices, to rank 0 piece by piece as it writes them
        const float *mem[3] = {m->params_layer ? m->params_mem : NULL, m->m_mem, m->v_mem};
        for (int k = 0; k < 3; k++)
            for (size_t lo = 0; mem[k] && lo < m->nparams; lo += CKPT_PIECE)
                trainer_slice_collect(m, dp, mem[k], lo, m->nparams - lo < CKPT_PIECE ? m->nparams : lo + CKPT_PIECE,
                                      NULL);
        return 0;
    }
    c->save_model = m, c->save_dp = dp;
    c->counters[TRAIN_CKPT_COUNTERS] = m->step;
    if (!c->piece) c->piece = fx_malloc((c->n < CKPT_PIECE ? (c->n ? c->n : 1) : CKPT_PIECE) * sizeof(float));
    ckpt_array a[5];
    arrays(c, a, c->piece, c->piece, c->piece);
    a[0].fill_range = fill_params, a[1].fill_range = fill_m, a[2].fill_range = fill_v;
    for (int i = 0; i < 3; i++) a[i].fill_ctx = c;
    char path[4300];
    int rc = ckpt_save(run->dir, step, a, 5, run->config, c->kind, run->keep_checkpoints, path, sizeof path, err);
    if (!rc) fx_info("checkpoint: %s", path);
    return rc;
}

int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err) {
    char path[4300];
    if (!c->params) c->params = fx_malloc((c->n ? c->n : 1) * sizeof(float));
    if (!c->m) c->m = fx_malloc((c->n ? c->n : 1) * sizeof(float));
    if (!c->v) c->v = fx_malloc((c->n ? c->n : 1) * sizeof(float));
    ckpt_array a[5];
    arrays(c, a, c->params, c->m, c->v);
    int found = ckpt_resume_latest(run_dir, c->kind, a, 5, step, path, sizeof path, err);
    if (found <= 0) {
        free(c->params), free(c->m), free(c->v);
        c->params = c->m = c->v = NULL;
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
    if (c) { // the host copies served the resume only
        free(c->params), free(c->m), free(c->v);
        c->params = c->m = c->v = NULL;
    }
    return resumed;
}
