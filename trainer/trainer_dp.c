// trainer_dp.c — the optimiser step of a data-parallel group, whole or sharded: see trainer_dp.h.
#include "trainer_dp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "policy.h"

static bool sharded(const trainer_dp *dp) { return dp && dp->size > 1 && dp->shard != TRAINER_SHARD_NONE; }

// Each rank's slice of a buffer of n floats: bounds[0..size].
static size_t *slice_bounds(const trainer_dp *dp, size_t n) {
    size_t *b = fx_malloc((size_t)(dp->size + 1) * sizeof *b), hi;
    for (int r = 0; r < dp->size; r++) trainer_shard_range(n, r, dp->size, &b[r], &hi);
    b[dp->size] = n;
    return b;
}

// Where the layout's offset x falls in pieces laid back to back (the first piece at or after x).
static size_t packed_at(const size_t *off, const size_t *len, int np, size_t x) {
    size_t pos = 0;
    for (int i = 0; i < np; i++) {
        if (x <= off[i]) return pos;
        if (x < off[i] + len[i]) return pos + (x - off[i]);
        pos += len[i];
    }
    return pos;
}

// The pieces of `layer` (-1: the tensors outside the layers, in grads_rest) summed over the ranks,
// each rank's part of them (one run of the packed buffer: the pieces lie in layout order, the
// slices too) at that rank; their offsets and lengths in off/len, the buffer in *buf.
static int reduce_layer(const trainer_dp *dp, model *m, int layer, size_t *off, size_t *len, float **buf) {
    int np = model_grad_pieces(m, layer, off, len, buf);
    size_t *b = slice_bounds(dp, m->nparams);
    for (int r = 0; r <= dp->size; r++) b[r] = packed_at(off, len, np, b[r]);
    dp->reduce_slices(dp->ctx, *buf, b);
    free(b);
    return np;
}

// Layer l's pieces (-1: the tensors outside the layers in grads_rest) reduced to their owners,
// which add their part into their slice of the gradients.
static void reduce_into_slice(const trainer_dp *dp, model *m, int layer) {
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES];
    float *buf;
    int np = reduce_layer(dp, m, layer, off, len, &buf);
    size_t pos = 0;
    for (int i = 0; i < np; pos += len[i], i++) {
        size_t a = off[i] > m->grad_lo ? off[i] : m->grad_lo, e = off[i] + len[i] < m->grad_hi ? off[i] + len[i] : m->grad_hi;
        if (a < e) m->be->axpy(m->be->ctx, m->grads_mem + (a - m->grad_lo), buf + pos + (a - off[i]), 1.0f, e - a);
    }
}

// grad_hook of sliced gradients: layer l's pieces reduced into their owners' slices as soon as
// they are done. The tensors outside the layers in grads_rest (l = -1) are left to accumulate
// whole over the step's passes, as every rank holds that buffer anyway: trainer_optim_step
// reduces it once per step, not once per pass.
static void reduce_pieces(void *ctx, model *m, int layer) {
    if (layer >= 0) reduce_into_slice(ctx, m, layer);
}

// Each rank's part of the layout's [a, e), as bounds into a buffer of e - a floats.
static size_t *range_bounds(const trainer_dp *dp, const model *m, size_t a, size_t e) {
    size_t *b = slice_bounds(dp, m->nparams);
    for (int r = 0; r <= dp->size; r++) b[r] = (b[r] < a ? a : b[r] > e ? e : b[r]) - a;
    return b;
}

// vocab_gather of sharded weights: the layout's [a, e) (a chunk of a vocabulary tensor) from its
// owners' slices into buf on every rank.
static void gather_range(void *ctx, model *m, size_t a, size_t e, float *buf) {
    const trainer_dp *dp = ctx;
    size_t x = a > m->param_lo ? a : m->param_lo, y = e < m->param_hi ? e : m->param_hi;
    if (x < y) m->be->copy(m->be->ctx, buf + (x - a), m->params_mem + (x - m->param_lo), (y - x) * sizeof(float));
    size_t *b = range_bounds(dp, m, a, e);
    dp->gather_slices(dp->ctx, buf, b);
    if (m->be->params_written) m->be->params_written(m->be->ctx, buf, e - a);
    free(b);
}

// vocab_reduce: the gradients of the layout's [a, e) in buf summed over the ranks into their
// owners' slices.
static void reduce_range(void *ctx, model *m, size_t a, size_t e, float *buf) {
    const trainer_dp *dp = ctx;
    size_t *b = range_bounds(dp, m, a, e);
    dp->reduce_slices(dp->ctx, buf, b);
    free(b);
    size_t x = a > m->grad_lo ? a : m->grad_lo, y = e < m->grad_hi ? e : m->grad_hi;
    if (x < y) m->be->axpy(m->be->ctx, m->grads_mem + (x - m->grad_lo), buf + (x - a), 1.0f, y - x);
}

// param_hook of sharded weights: layer l's pieces (-1: the tensors outside the layers) gathered
// from their owners into params_layer (params_rest) on every rank.
static void gather_pieces(void *ctx, model *m, int layer) {
    const trainer_dp *dp = ctx;
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES];
    int np = model_pieces(m, layer, off, len);
    model_pieces_pack(m, layer);
    float *buf = layer < 0 ? m->params_rest : m->params_layer;
    size_t *b = slice_bounds(dp, m->nparams);
    for (int r = 0; r <= dp->size; r++) b[r] = packed_at(off, len, np, b[r]);
    dp->gather_slices(dp->ctx, buf, b);
    if (m->be->params_written) m->be->params_written(m->be->ctx, buf, b[dp->size]);
    free(b);
}

void trainer_train_init(model *m, const trainer_dp *dp) {
    if (!sharded(dp)) {
        model_train_init(m);
        return;
    }
    size_t lo, hi;
    trainer_shard_range(m->nparams, dp->rank, dp->size, &lo, &hi);
    if (dp->shard == TRAINER_SHARD_FULL) { // first: the gradients' layout follows
        model_shard_params(m, lo, hi);
        if (dp->vocab_rows > 0) model_vocab_set_rows(m, dp->vocab_rows < m->V ? dp->vocab_rows : m->V);
    }
    model_train_init_slice(m, lo, hi, dp->shard >= TRAINER_SHARD_GRADIENTS);
}

void trainer_attach(model *m, const trainer_dp *dp) {
    if (!m->grads_layer) return;
    FX_ASSERT(sharded(dp));
    m->grad_hook = reduce_pieces, m->grad_ctx = (void *)dp;
    if (m->params_layer) m->param_hook = gather_pieces, m->param_ctx = (void *)dp;
    if (m->vocab_rows) m->vocab_gather = gather_range, m->vocab_reduce = reduce_range;
}

int trainer_agree_passes(const model *m, const trainer_dp *dp, int mine) {
    if (!m->grads_layer || !sharded(dp)) return mine;
    int64_t most = mine;
    dp->max_i64(dp->ctx, &most, 1);
    return (int)most;
}

void trainer_pad_passes(model *m, int mine, int most, bool lm) {
    for (int k = mine; k < most; k++) {
        if (m->params_layer) model_param_flush(m, lm); // the forward's gathers, then the backward's
        model_grad_flush(m, lm);
    }
}

bool trainer_dp_more(void *dp, bool mine) {
    const trainer_dp *d = dp;
    int64_t any = mine;
    d->max_i64(d->ctx, &any, 1);
    return any != 0;
}

int trainer_agree_forwards(const model *m, const trainer_dp *dp, int mine) {
    return m->params_layer ? trainer_agree_passes(m, dp, mine) : mine;
}

void trainer_pad_forwards(model *m, int mine, int most, bool lm) {
    for (int k = mine; k < most; k++) model_param_flush(m, lm);
}

// FULL, after this rank's slice of the weights changed: the tensors outside the layers
// regathered, no layer's gathered weights current.
static void params_refresh(model *m, const trainer_dp *dp) {
    gather_pieces((void *)dp, m, -1);
    m->params_layer_at = -1, m->vocab_at_t = -1;
}

void trainer_params_collect(const model *m, const trainer_dp *dp, float *all) {
    trainer_params_collect_range(m, dp, 0, m->nparams, all);
}

void trainer_params_collect_range(const model *m, const trainer_dp *dp, size_t lo, size_t hi, float *all) {
    FX_ASSERT(m->params_layer);
    trainer_slice_collect(m, dp, m->params_mem, lo, hi, all);
}

// Where this rank's slice starts in the layout.
static size_t slice_lo(const model *m, const trainer_dp *dp) {
    size_t lo, hi;
    trainer_shard_range(m->nparams, dp->rank, dp->size, &lo, &hi);
    return lo;
}

// The part of [lo, hi) in this rank's slice: its offset in the slice (*at) and length (returned).
static size_t slice_part(const model *m, const trainer_dp *dp, size_t lo, size_t hi, size_t *at) {
    size_t s_lo, s_hi;
    trainer_shard_range(m->nparams, dp->rank, dp->size, &s_lo, &s_hi);
    FX_ASSERT(sharded(dp) && lo <= hi && hi <= m->nparams);
    size_t a = s_lo > lo ? s_lo : lo, e = s_hi < hi ? s_hi : hi;
    *at = a < e ? a - s_lo : 0;
    return a < e ? e - a : 0;
}

void trainer_slice_collect(const model *m, const trainer_dp *dp, const float *mine, size_t lo, size_t hi, float *all) {
    size_t at, k = slice_part(m, dp, lo, hi, &at), bytes = k * sizeof(float), s_lo = slice_lo(m, dp);
    float *part = fx_malloc(bytes ? bytes : sizeof(float));
    if (k) model_slice_get(m, mine, s_lo, s_lo + at, s_lo + at + k, part);
    dp->collect(dp->ctx, part, all, lo, hi, m->nparams);
    free(part);
}

// The weights [lo, hi) into rank 0's dst, gathered from the slices (model_save_each's fill).
typedef struct {
    const model *m;
    const trainer_dp *dp;
} save_ctx;
static void fill_from_slices(void *ctx, size_t lo, size_t hi, float *dst) {
    const save_ctx *c = ctx;
    trainer_params_collect_range(c->m, c->dp, lo, hi, dst);
}

int trainer_policy_save(const char *from, const model *m, const trainer_dp *dp, const char *dir, fx_err *err) {
    bool split = dp && dp->size > 1 && m->params_layer;
    if (dp && dp->rank != 0) {
        if (split) trainer_serve_save(m, dp);
        return 0;
    }
    save_ctx c = {m, dp};
    return policy_save_each(from, m, split ? fill_from_slices : NULL, &c, dir, err);
}

void trainer_serve_save(const model *m, const trainer_dp *dp) {
    for (int i = 0; i < m->ntensors; i++)
        trainer_params_collect_range(m, dp, m->tensors[i].offset, m->tensors[i].offset + m->tensors[i].numel, NULL);
}

void trainer_slice_distribute(const model *m, const trainer_dp *dp, float *mine, size_t lo, size_t hi,
                              const float *piece) {
    size_t at, k = slice_part(m, dp, lo, hi, &at), bytes = k * sizeof(float), s_lo = slice_lo(m, dp);
    float *part = fx_malloc(bytes ? bytes : sizeof(float));
    dp->distribute(dp->ctx, piece, part, lo, hi, m->nparams);
    if (k) model_slice_put(m, mine, s_lo, s_lo + at, s_lo + at + k, part);
    free(part);
}

void trainer_params_gather(model *m, const trainer_dp *dp) {
    FX_ASSERT(!m->params_layer && sharded(dp));
    size_t *b = slice_bounds(dp, m->nparams);
    dp->gather_slices(dp->ctx, m->params_mem, b);
    if (m->be->params_written) m->be->params_written(m->be->ctx, m->params_mem, m->nparams);
    free(b);
}

void trainer_params_refresh(model *m, const trainer_dp *dp) {
    FX_ASSERT(m->params_layer && sharded(dp));
    params_refresh(m, dp);
}

double trainer_optim_step(model *m, const trainer_dp *dp, double grad_clip, const model_adamw *o, float lr) {
    if (!sharded(dp)) {
        if (dp && dp->size > 1) dp->sum(dp->ctx, m->grads_mem, m->nparams); // every rank's share
        double norm = model_clip_grad_norm(m, grad_clip);
        model_adamw_step(m, o, lr);
        return norm;
    }
    size_t *b = slice_bounds(dp, m->nparams);
    if (!m->grads_layer) dp->reduce_slices(dp->ctx, m->grads_mem, b);
    else if (m->params_layer) // the layers' and the vocabulary tensors' were summed as each was done
        reduce_into_slice(dp, m, -1);
    else { // the layers' were summed during backward; grads_rest holds every pass of this rank
        size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES];
        float *rest;
        reduce_layer(dp, m, -1, off, len, &rest);
    }
    double sumsq = model_grad_sumsq(m, m->opt_lo, m->opt_hi);
    dp->sum_doubles(dp->ctx, &sumsq, 1);
    double norm = sqrt(sumsq);
    if (grad_clip > 0) { // the coefficient of model_clip_grad_norm, from the same global norm on every rank
        double coef = grad_clip / (norm + 1e-6);
        if (coef < 1.0) model_grad_scale(m, (float)coef, m->opt_lo, m->opt_hi);
    }
    model_adamw_step(m, o, lr);
    if (m->params_layer) params_refresh(m, dp); // FULL: each rank keeps its slice; layers gathered as read
    else {
        dp->gather_slices(dp->ctx, m->params_mem, b);
        if (m->be->params_written) m->be->params_written(m->be->ctx, m->params_mem, m->nparams);
    }
    free(b);
    return norm;
}

// One rank's share (trainer_mem_plan).
static void plan_rank(const model *m, trainer_shard shard, int size, int rank, trainer_mem *out) {
    size_t n = m->nparams, lo = 0, hi = n, layer = 0, rest = 0, small = 0, layers_lo = n, layers_hi = 0;
    if (size > 1 && shard != TRAINER_SHARD_NONE) trainer_shard_range(n, rank, size, &lo, &hi);
    for (int t = 0; t < m->ntensors; t++) {
        const model_tensor *x = &m->tensors[t];
        if (x->layer == 0) layer += x->numel;
        if (x->layer < 0) rest += x->numel, small += x->vocab ? 0 : x->numel;
        else {
            if (x->offset < layers_lo) layers_lo = x->offset;
            if (x->offset + x->numel > layers_hi) layers_hi = x->offset + x->numel;
        }
    }
    size_t glo = lo > layers_lo ? lo : layers_lo, ghi = hi < layers_hi ? hi : layers_hi, owned = ghi > glo ? ghi - glo : 0;
    bool split = size > 1 && shard != TRAINER_SHARD_NONE;
    memset(out, 0, sizeof *out);
    out->moments = 2 * (hi - lo) * sizeof(float);
    if (split && shard == TRAINER_SHARD_FULL) {
        // the slice, one layer's buffer, the small tensors outside the layers whole and a chunk
        // of a vocabulary tensor (and its row of zeros), for the weights and the gradients alike
        size_t chunk = ((size_t)model_vocab_chunk_rows(m) + 1) * (size_t)m->C;
        out->params = out->grads = ((hi - lo) + layer + small + chunk) * sizeof(float);
        out->whole = n * sizeof(float);
        return;
    }
    out->params = n * sizeof(float);
    out->grads = (split && shard >= TRAINER_SHARD_GRADIENTS ? owned + layer + rest : n) * sizeof(float);
}

void trainer_mem_plan(const model *m, trainer_shard shard, int size, int rank, int rows, int T, bool recompute,
                      trainer_mem *out) {
    memset(out, 0, sizeof *out);
    for (int r = rank < 0 ? 0 : rank; r < (rank < 0 ? size : rank + 1); r++) {
        trainer_mem x;
        plan_rank(m, shard, size, r, &x);
        if (x.params + x.grads + x.moments > out->params + out->grads + out->moments) *out = x;
    }
    out->acts = model_arena_bytes(&m->cfg, m->head, m->lm_aux, rows, T, true, recompute);
}

void trainer_log_memory(const model *m, const trainer_dp *dp, int rows, int T) {
    trainer_mem p;
    int size = dp ? dp->size : 1;
    trainer_mem_plan(m, dp ? dp->shard : TRAINER_SHARD_NONE, size, dp ? dp->rank : 0, rows, T, m->recompute, &p);
    double mib = 1024.0 * 1024.0, plan = (double)(p.params + p.grads + p.moments + p.acts) / mib;
    size_t live = 0, peak = 0;
    if (m->be->mem_stats) m->be->mem_stats(m->be->ctx, &live, &peak);
    char measured[64] = "not counted by this backend";
    if (m->be->mem_stats) snprintf(measured, sizeof measured, "%.2f MiB", (double)peak / mib);
    fx_info("memory: rank %d of %d, peak %s of %s buffers; planned %.2f MiB = weights %.2f + gradients %.2f + "
            "AdamW %.2f + activations %.2f",
            dp ? dp->rank : 0, size, measured, m->be->name, plan, (double)p.params / mib, (double)p.grads / mib,
            (double)p.moments / mib, (double)p.acts / mib);
}
