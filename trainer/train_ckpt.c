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
    free(c->piece), free(c->path);
    c->piece = NULL, c->path = NULL;
}

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

static void ensure_piece(train_ckpt *c) {
    if (!c->piece) c->piece = fx_malloc((c->n < CKPT_PIECE ? (c->n ? c->n : 1) : CKPT_PIECE) * sizeof(float));
}

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
    const model *m = c->model;
    piece_into(m, c->dp, m->params_layer != NULL, m->params_mem, lo, hi, data);
}
static void fill_m(void *ctx, size_t lo, size_t hi, void *data) {
    const train_ckpt *c = ctx;
    piece_into(c->model, c->dp, sharded(c->dp), c->model->m_mem, lo, hi, data);
}
static void fill_v(void *ctx, size_t lo, size_t hi, void *data) {
    const train_ckpt *c = ctx;
    piece_into(c->model, c->dp, sharded(c->dp), c->model->v_mem, lo, hi, data);
}

// The part of piece [lo, hi) (data) in [own_lo, own_hi), the part of a buffer of the model that
// mem holds (mem[0]: element own_lo), uploaded.
static void upload_part(const model *m, float *mem, size_t own_lo, size_t own_hi, size_t lo, size_t hi,
                        const float *data) {
    size_t a = own_lo > lo ? own_lo : lo, e = own_hi < hi ? own_hi : hi;
    if (a < e) m->be->upload(m->be->ctx, mem + (a - own_lo), data + (a - lo), (e - a) * sizeof(float));
}

// Resuming, on rank 0: each piece as it is read, its part in what rank 0 holds (the whole, or its
// slice) uploaded.
static void take_params(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    model *m = c->model;
    size_t a = m->params_layer ? m->param_lo : 0, e = m->params_layer ? m->param_hi : m->nparams;
    upload_part(m, m->params_mem, a, e, lo, hi, data);
}
static void take_m(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    upload_part(c->model, c->model->m_mem, c->model->opt_lo, c->model->opt_hi, lo, hi, data);
}
static void take_v(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    upload_part(c->model, c->model->v_mem, c->model->opt_lo, c->model->opt_hi, lo, hi, data);
}

// Sharing a resumed checkpoint, on rank 0: each piece as it is read again, sent to the ranks whose
// slices it covers (trainer_slice_distribute; the other ranks take part piece by piece).
static void send_params(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    trainer_slice_distribute(c->model, c->dp, c->model->params_mem, lo, hi, data);
}
static void send_m(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    trainer_slice_distribute(c->model, c->dp, c->model->m_mem, lo, hi, data);
}
static void send_v(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    trainer_slice_distribute(c->model, c->dp, c->model->v_mem, lo, hi, data);
}

// The checkpoint's arrays, params, adam_m and adam_v through c's piece buffer.
static void arrays(train_ckpt *c, ckpt_array *a) {
    a[0] = (ckpt_array){"params", CKPT_F32, c->n, c->piece, NULL, c, fill_params, take_params};
    a[1] = (ckpt_array){"adam_m", CKPT_F32, c->n, c->piece, NULL, c, fill_m, take_m};
    a[2] = (ckpt_array){"adam_v", CKPT_F32, c->n, c->piece, NULL, c, fill_v, take_v};
    a[3] = (ckpt_array){"counters", CKPT_I64, TRAIN_CKPT_COUNTERS + 1, c->counters, NULL, NULL, NULL, NULL};
    a[4] = (ckpt_array){"accumulators", CKPT_F64, TRAIN_CKPT_ACCUMS, c->accum, NULL, NULL, NULL, NULL};
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
    c->model = (model *)m, c->dp = dp; // the fills only read them
    c->counters[TRAIN_CKPT_COUNTERS] = m->step;
    ensure_piece(c);
    ckpt_array a[5];
    arrays(c, a);
    char path[4300];
    int rc = ckpt_save(run->dir, step, a, 5, run->config, c->kind, run->keep_checkpoints, path, sizeof path, err);
    if (!rc) fx_info("checkpoint: %s", path);
    return rc;
}

int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err) {
    char path[4300];
    c->model = m, c->dp = NULL;
    ensure_piece(c);
    ckpt_array a[5];
    arrays(c, a);
    int found = ckpt_resume_latest(run_dir, c->kind, a, 5, step, path, sizeof path, err);
    if (found <= 0) return found;
    free(c->path);
    c->path = fx_strdup(path);
    m->step = (int)c->counters[TRAIN_CKPT_COUNTERS];
    fx_info("resuming from %s (step %lld)", path, (long long)*step);
    return 1;
}

// Every rank takes its slices of the arrays sliced[0..3) (params, adam_m, adam_v; NULL: not
// sliced) of rank 0's resumed checkpoint, a piece at a time as rank 0 reads it again.
static void share_slices(train_ckpt *c, model *m, const trainer_dp *dp, float *const sliced[3]) {
    if (dp->rank == 0) {
        c->model = m, c->dp = dp;
        ckpt_array all[5], a[3];
        arrays(c, all);
        void (*send[3])(void *, size_t, size_t, const void *) = {send_params, send_m, send_v};
        int n = 0;
        for (int k = 0; k < 3; k++)
            if (sliced[k]) a[n] = all[k], a[n].take_range = send[k], n++;
        int64_t step;
        fx_err err;
        // The file loaded a moment ago; should it fail now, the ranks have taken part of it: end the job.
        if (ckpt_load(c->path, a, n, &step, &err))
            fx_fatal_at(__FILE__, __LINE__, FX_EXIT_INPUT, "%s (read again to share it)", err.msg);
        return;
    }
    for (int k = 0; k < 3; k++)
        for (size_t lo = 0; sliced[k] && lo < m->nparams; lo += CKPT_PIECE)
            trainer_slice_distribute(m, dp, sliced[k], lo, m->nparams - lo < CKPT_PIECE ? m->nparams : lo + CKPT_PIECE,
                                     NULL);
}

bool train_ckpt_share(train_ckpt *c, model *m, const trainer_dp *dp, bool resumed) {
    int64_t head[2] = {m->step, resumed};
    dp->bcast_i64(dp->ctx, head, 2);
    m->step = (int)head[0], resumed = head[1] != 0;
    // Unsharded state is whole on rank 0's device: broadcast. Sharded, every slice starts as every
    // rank loaded the weights (the same files or seed) and at zero moments, unless resumed.
    if (!m->params_layer) dp->bcast(dp->ctx, m->params_mem, m->nparams);
    if (!sharded(dp)) {
        dp->bcast(dp->ctx, m->m_mem, m->nparams);
        dp->bcast(dp->ctx, m->v_mem, m->nparams);
    } else if (resumed) {
        float *sliced[3] = {m->params_layer ? m->params_mem : NULL, m->m_mem, m->v_mem};
        share_slices(c, m, dp, sliced);
        if (m->params_layer) trainer_params_refresh(m, dp);
    }
    if (c) free(c->path), c->path = NULL;
    return resumed;
}
