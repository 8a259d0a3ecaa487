// train_ckpt.c — see train_ckpt.h.
#include "train_ckpt.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (a < e) model_slice_put(m, mem, own_lo, a, e, data + (a - lo));
}

// Resuming, on rank 0: each piece as it is read, its part in what rank 0 holds (the whole, or its
// slice) uploaded.
// (c->base: the place of the array read in the whole, for a shard's.)
static void take_params(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    model *m = c->model;
    size_t a = m->params_layer ? m->param_lo : 0, e = m->params_layer ? m->param_hi : m->nparams;
    upload_part(m, m->params_mem, a, e, c->base + lo, c->base + hi, data);
}
static void take_m(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    upload_part(c->model, c->model->m_mem, c->model->opt_lo, c->model->opt_hi, c->base + lo, c->base + hi, data);
}
static void take_v(void *ctx, size_t lo, size_t hi, const void *data) {
    const train_ckpt *c = ctx;
    upload_part(c->model, c->model->v_mem, c->model->opt_lo, c->model->opt_hi, c->base + lo, c->base + hi, data);
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

// A rank's slice [lo, hi) of a buffer of the model for its shard file: mem holds element `first`
// of the buffer at mem[0] (the slice itself, or the whole buffer).
typedef struct {
    const model *m;
    const float *mem;
    size_t first, lo;
} slice_src;

static void fill_slice(void *ctx, size_t lo, size_t hi, void *data) {
    const slice_src *s = ctx;
    model_slice_get(s->m, s->mem, s->first, s->lo + lo, s->lo + hi, data);
}

// Sharded: every rank writes its slices of the weights and moments to its own shard file; once all
// have, rank 0 writes the checkpoint's own file (counters, accumulators, the slices' bounds).
static int save_sharded(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                        fx_err *err) {
    size_t n = m->nparams, lo, hi;
    int W = dp->size;
    trainer_shard_range(n, dp->rank, W, &lo, &hi);
    size_t k = hi - lo < CKPT_PIECE ? hi - lo : CKPT_PIECE;
    float *piece = fx_malloc((k ? k : 1) * sizeof(float));
    int64_t range[3] = {(int64_t)lo, (int64_t)hi, (int64_t)n};
    // This save's id, in every shard and in the step's file: shards of another save of the same
    // step (a run started afresh in an old folder that died between two ranks' renames) never mix.
    int64_t id = dp->rank == 0 ? (int64_t)((uint64_t)(fx_time_now() * 1e9) ^ ((uint64_t)getpid() << 40) ^
                                           (uint64_t)step)
                               : 0;
    dp->bcast_i64(dp->ctx, &id, 1);
    slice_src sp = {m, m->params_mem, m->params_layer ? lo : 0, lo}, sm = {m, m->m_mem, lo, lo},
              sv = {m, m->v_mem, lo, lo};
    ckpt_array a[5] = {
        {"shard_range", CKPT_I64, 3, range, NULL, NULL, NULL, NULL},
        {"save_id", CKPT_I64, 1, &id, NULL, NULL, NULL, NULL},
        {"params", CKPT_F32, hi - lo, piece, NULL, &sp, fill_slice, NULL},
        {"adam_m", CKPT_F32, hi - lo, piece, NULL, &sm, fill_slice, NULL},
        {"adam_v", CKPT_F32, hi - lo, piece, NULL, &sv, fill_slice, NULL},
    };
    fx_err mine = {{0}};
    int rc = ckpt_save_shard(run->dir, step, dp->rank, W, a, 5, c ? c->kind : NULL, &mine);
    free(piece);
    int bad = -1;
    if (dp->agree(dp->ctx, rc ? FX_EXIT_FAIL : 0, &bad)) { // the checkpoint is not written: every rank says so
        if (rc) *err = mine;
        else fx_errf(err, "checkpoint of step %lld: rank %d could not write its shard", (long long)step, bad);
        return -1;
    }
    if (dp->rank != 0) return 0;
    int64_t *bounds = fx_malloc(((size_t)W + 1) * sizeof *bounds), shards = W;
    for (int r = 0; r < W; r++) {
        size_t b, e;
        trainer_shard_range(n, r, W, &b, &e);
        bounds[r] = (int64_t)b, bounds[r + 1] = (int64_t)e;
    }
    c->counters[TRAIN_CKPT_COUNTERS] = m->step;
    ckpt_array main[5] = {
        {"counters", CKPT_I64, TRAIN_CKPT_COUNTERS + 1, c->counters, NULL, NULL, NULL, NULL},
        {"accumulators", CKPT_F64, TRAIN_CKPT_ACCUMS, c->accum, NULL, NULL, NULL, NULL},
        {"shards", CKPT_I64, 1, &shards, NULL, NULL, NULL, NULL},
        {"shard_bounds", CKPT_I64, (size_t)W + 1, bounds, NULL, NULL, NULL, NULL},
        {"save_id", CKPT_I64, 1, &id, NULL, NULL, NULL, NULL},
    };
    char path[4300];
    rc = ckpt_save(run->dir, step, main, 5, run->config, c->kind, run->keep_checkpoints, path, sizeof path, err);
    free(bounds);
    if (!rc) fx_info("checkpoint: %s (and %d shards)", path, W);
    return rc;
}

int train_ckpt_save(train_ckpt *c, const model *m, const trainer_dp *dp, int64_t step, const trainer_run *run,
                    fx_err *err) {
    if (sharded(dp)) return save_sharded(c, m, dp, step, run, err);
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

// What the own file (at path) of a sharded checkpoint says of its shards: their number *W, their
// slices' bounds[0..W] (returned; caller frees), checked against the model's n parameters, the
// save's id and its step. NULL with err set when it is not sharded or its bounds are not those of n.
typedef struct {
    int64_t W, id, step;
} shard_head;

static int64_t *read_bounds(const char *path, size_t n, shard_head *h, fx_err *err) {
    int64_t *W = &h->W;
    ckpt_array one[2] = {{"shards", CKPT_I64, 1, W, NULL, NULL, NULL, NULL},
                         {"save_id", CKPT_I64, 1, &h->id, NULL, NULL, NULL, NULL}};
    int64_t step;
    if (ckpt_load(path, one, 2, &h->step, err)) return NULL;
    if (*W < 1 || *W > (1 << 20)) {
        fx_errf(err, "%s: shards: expected 1 to %d, found %lld", path, 1 << 20, (long long)*W);
        return NULL;
    }
    int64_t *b = fx_malloc(((size_t)*W + 1) * sizeof *b);
    ckpt_array bb = {"shard_bounds", CKPT_I64, (size_t)*W + 1, b, NULL, NULL, NULL, NULL};
    bool ok = !ckpt_load(path, &bb, 1, &step, err);
    for (int64_t r = 0; ok && r < *W; r++)
        if (b[r] > b[r + 1]) ok = !fx_errf(err, "%s: shard_bounds: not increasing at %lld", path, (long long)r);
    if (ok && (b[0] != 0 || b[*W] != (int64_t)n))
        ok = !fx_errf(err, "%s: shard_bounds: expected slices of the %zu parameters, found [%lld, %lld)", path, n,
                      (long long)b[0], (long long)b[*W]);
    if (!ok) free(b), b = NULL;
    return b;
}

// Shard j of the sharded checkpoint at path: its record of where its slice lies checked against
// bounds, then its arrays (names[0..k)) read [a, e) of its slice (relative to it) piece by piece
// into piece, each handed to take[i] with ctx.
static int read_shard(const char *path, int j, const shard_head *h, const int64_t *bounds, const char *const *names,
                      int k, size_t a, size_t e, float *piece,
                      void (*const *take)(void *, size_t, size_t, const void *), void *ctx, fx_err *err) {
    char sp[4400];
    int64_t W = h->W;
    ckpt_shard_path(sp, sizeof sp, path, j, (int)W);
    int64_t range[3], step, id;
    ckpt_array r[2] = {{"shard_range", CKPT_I64, 3, range, NULL, NULL, NULL, NULL},
                       {"save_id", CKPT_I64, 1, &id, NULL, NULL, NULL, NULL}};
    if (ckpt_load(sp, r, 2, &step, err)) return -1;
    if (step != h->step || id != h->id)
        return fx_errf(err, "%s: save_id: not of the save that wrote %s (step %lld; another save's shard)", sp, path,
                       (long long)h->step);
    size_t len = (size_t)(bounds[j + 1] - bounds[j]);
    if (range[0] != bounds[j] || range[1] != bounds[j + 1] || range[2] != bounds[W])
        return fx_errf(err, "%s: shard_range: expected [%lld, %lld) of %lld, found [%lld, %lld) of %lld", sp,
                       (long long)bounds[j], (long long)bounds[j + 1], (long long)bounds[W], (long long)range[0],
                       (long long)range[1], (long long)range[2]);
    for (int i = 0; i < k; i++)
        if (ckpt_load_range(sp, names[i], CKPT_F32, len, a, e, piece, take[i], ctx, err)) return -1;
    return 0;
}

static const char *const slice_names[3] = {"params", "adam_m", "adam_v"};

// A candidate of --resume auto on rank 0: its own file, and every shard of a sharded one, read
// whole (every checksum verified), rank 0's part of each array kept.
static int load_candidate(void *ctx, const char *path, int64_t *step, fx_err *err) {
    train_ckpt *c = ctx;
    ckpt_array a[5];
    arrays(c, a);
    c->base = 0;
    if (!ckpt_has(path, "shards")) return ckpt_load(path, a, 5, step, err);
    if (ckpt_load(path, a + 3, 2, step, err)) return -1;
    shard_head h;
    int64_t *b = read_bounds(path, c->n, &h, err);
    if (!b) return -1;
    void (*take[3])(void *, size_t, size_t, const void *) = {take_params, take_m, take_v};
    int rc = 0;
    for (int64_t j = 0; j < h.W && !rc; j++) {
        c->base = (size_t)b[j];
        rc = read_shard(path, (int)j, &h, b, slice_names, 3, 0, (size_t)(b[j + 1] - b[j]), c->piece, take, c, err);
    }
    c->base = 0;
    free(b);
    return rc;
}

int train_ckpt_resume(train_ckpt *c, model *m, const char *run_dir, int64_t *step, fx_err *err) {
    char path[4300];
    c->model = m, c->dp = NULL;
    ensure_piece(c);
    int found = ckpt_resume_latest_with(run_dir, c->kind, load_candidate, c, step, path, sizeof path, err);
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

// Resuming from a sharded checkpoint, a rank's own slice of a buffer (mine, backend memory,
// elements [lo, hi)) from the shard files' parts.
typedef struct {
    const model *m;
    float *mine;
    size_t lo, base; // mine[0]'s element; the place of the shard being read
} slice_dst;

static void take_slice(void *ctx, size_t a, size_t e, const void *data) {
    const slice_dst *d = ctx;
    model_slice_put(d->m, d->mine, d->lo, d->base + a, d->base + e, data);
}

// Sends a string from rank 0 to every rank of dp (as integers; *s replaced elsewhere, caller frees).
static void bcast_str(const trainer_dp *dp, char **s) {
    int64_t len = dp->rank == 0 ? (int64_t)strlen(*s) : 0;
    dp->bcast_i64(dp->ctx, &len, 1);
    size_t words = ((size_t)len + 8) / 8;
    int64_t *w = fx_calloc(words, sizeof *w);
    if (dp->rank == 0) memcpy(w, *s, (size_t)len);
    dp->bcast_i64(dp->ctx, w, (int)words);
    if (dp->rank != 0) {
        *s = fx_malloc((size_t)len + 1);
        memcpy(*s, w, (size_t)len);
        (*s)[len] = 0;
    }
    free(w);
}

// This rank's slices of the arrays sliced[0..3) (params, adam_m, adam_v; NULL: not read) of the
// sharded checkpoint at path, from the shard files its slice overlaps, every piece's checksums
// verified. sliced[0] may be the whole weights (params_mem when they are not sharded): the slice's
// part of them is read into its place.
static int read_slices(model *m, const trainer_dp *dp, const char *path, float *const sliced[3], fx_err *err) {
    shard_head h = {0, 0, 0};
    int64_t *b = read_bounds(path, m->nparams, &h, err);
    if (!b) return -1;
    size_t lo, hi;
    trainer_shard_range(m->nparams, dp->rank, dp->size, &lo, &hi);
    size_t k = hi - lo < CKPT_PIECE ? hi - lo : CKPT_PIECE;
    float *piece = fx_malloc((k ? k : 1) * sizeof *piece);
    int rc = 0;
    for (int64_t j = 0; j < h.W && !rc; j++) {
        size_t a = (size_t)b[j] > lo ? (size_t)b[j] : lo, e = (size_t)b[j + 1] < hi ? (size_t)b[j + 1] : hi;
        if (a >= e) continue;
        for (int x = 0; x < 3 && !rc; x++) {
            if (!sliced[x]) continue;
            bool whole = x == 0 && !m->params_layer; // the weights whole: element a at params_mem[a]
            slice_dst d = {m, sliced[x], whole ? 0 : lo, (size_t)b[j]};
            void (*take[1])(void *, size_t, size_t, const void *) = {take_slice};
            rc = read_shard(path, (int)j, &h, b, &slice_names[x], 1, a - (size_t)b[j], e - (size_t)b[j], piece, take,
                            &d, err);
        }
    }
    free(piece), free(b);
    return rc;
}

// --- resuming over the ranks (train_ckpt_resume_dp) ---------------------------------------------
// Rank 0 walks the candidates as train_ckpt_resume does and tells the others of each: RESUME_TRY,
// then whether its own checks passed and whether the candidate is sharded; for a sharded one, its
// path, and every rank (rank 0 included) reads its own slices, all agreeing whether every rank
// could. RESUME_DONE ends the walk with rank 0's result.
enum { RESUME_TRY = 1, RESUME_DONE = 2 };

// What a rank reads of a sharded candidate: its slices of the weights (the whole weights' slice
// when they are not sharded) and of both moments.
static void resume_targets(model *m, float *sliced[3]) {
    sliced[0] = m->params_mem, sliced[1] = m->m_mem, sliced[2] = m->v_mem;
}

// Every rank's slices of the sharded candidate at path, agreed: 0 when every rank read its own,
// else -1 (err, on rank 0: which rank could not; that rank warns why).
static int read_slices_agreed(model *m, const trainer_dp *dp, const char *path, fx_err *err) {
    float *sliced[3];
    resume_targets(m, sliced);
    fx_err mine = {{0}};
    int rc = read_slices(m, dp, path, sliced, &mine), bad = -1;
    if (rc && dp->rank != 0) fx_warn("checkpoint %s: this rank's slice: %s", path, mine.msg);
    if (!dp->agree(dp->ctx, rc ? FX_EXIT_INPUT : 0, &bad)) return 0;
    if (dp->rank == 0) {
        if (bad == 0) fx_errf(err, "%s", mine.msg);
        else fx_errf(err, "trainer rank %d could not read its slice of the shards (its warning says why)", bad);
    }
    return -1;
}

// Rank 0's checks of a sharded candidate before the others read: its own file's counters and
// accumulators, the slices' bounds, and every shard's record of its slice and save (not their
// arrays: each rank reads and verifies its own part of those).
static int load_head(train_ckpt *c, const char *path, int64_t *step, fx_err *err) {
    ckpt_array a[5];
    arrays(c, a);
    if (ckpt_load(path, a + 3, 2, step, err)) return -1;
    shard_head h;
    int64_t *b = read_bounds(path, c->n, &h, err);
    if (!b) return -1;
    int rc = 0;
    for (int64_t j = 0; j < h.W && !rc; j++) rc = read_shard(path, (int)j, &h, b, NULL, 0, 0, 0, NULL, NULL, NULL, err);
    free(b);
    return rc;
}

// ckpt_resume_latest_with's load on rank 0 of a sharded state.
static int try_candidate(void *ctx, const char *path, int64_t *step, fx_err *err) {
    train_ckpt *c = ctx;
    const trainer_dp *dp = c->dp;
    int64_t msg[2] = {RESUME_TRY, 0};
    dp->bcast_i64(dp->ctx, msg, 2);
    bool in_shards = ckpt_has(path, "shards");
    // a whole checkpoint: rank 0 reads it all, keeping its part; the others take theirs in train_ckpt_share
    int rc = in_shards ? load_head(c, path, step, err) : load_candidate(c, path, step, err);
    int64_t head[2] = {rc == 0, in_shards};
    dp->bcast_i64(dp->ctx, head, 2);
    if (rc || !in_shards) return rc;
    char *p = (char *)path;
    bcast_str(dp, &p);
    return read_slices_agreed(c->model, dp, path, err);
}

// The ranks other than 0: each candidate rank 0 announces, until it is done.
static int follow_resume(model *m, const trainer_dp *dp) {
    for (;;) {
        int64_t msg[2], head[2];
        dp->bcast_i64(dp->ctx, msg, 2);
        if (msg[0] == RESUME_DONE) return (int)msg[1];
        dp->bcast_i64(dp->ctx, head, 2);
        if (!head[0] || !head[1]) continue;
        char *path = NULL;
        bcast_str(dp, &path);
        fx_err err;
        read_slices_agreed(m, dp, path, &err);
        free(path);
    }
}

int train_ckpt_resume_dp(train_ckpt *c, model *m, const trainer_dp *dp, bool want, const char *run_dir, int64_t *step,
                         fx_err *err) {
    if (!sharded(dp)) return (!dp || dp->rank == 0) && want ? train_ckpt_resume(c, m, run_dir, step, err) : 0;
    if (dp->rank != 0) return follow_resume(m, dp);
    int found = 0;
    char path[4300];
    c->slices_read = false;
    if (want) {
        c->model = m, c->dp = dp;
        ensure_piece(c);
        found = ckpt_resume_latest_with(run_dir, c->kind, try_candidate, c, step, path, sizeof path, err);
    }
    int64_t done[2] = {RESUME_DONE, found};
    dp->bcast_i64(dp->ctx, done, 2);
    if (found <= 0) return found;
    free(c->path);
    c->path = fx_strdup(path);
    c->slices_read = ckpt_has(path, "shards");
    m->step = (int)c->counters[TRAIN_CKPT_COUNTERS];
    fx_info("resuming from %s (step %lld)", path, (long long)*step);
    return 1;
}

bool train_ckpt_share(train_ckpt *c, model *m, const trainer_dp *dp, bool resumed) {
    // in_shards: 0 a whole checkpoint (or none), 2 a sharded one whose slices every rank has read
    // already (train_ckpt_resume_dp; a sharded state resumes through it)
    int64_t head[3] = {m->step, resumed, 0};
    if (dp->rank == 0 && resumed && sharded(dp)) {
        FX_ASSERT(c->slices_read || !ckpt_has(c->path, "shards"));
        head[2] = c->slices_read ? 2 : 0;
    }
    dp->bcast_i64(dp->ctx, head, 3);
    m->step = (int)head[0], resumed = head[1] != 0;
    int64_t in_shards = head[2];
    // Unsharded state is whole on rank 0's device: broadcast. Sharded, every slice starts as every
    // rank loaded the weights (the same files or seed) and at zero moments, unless resumed. Weights
    // read by slices (in_shards 2, not sharded themselves) are gathered from the slices instead.
    if (!m->params_layer && in_shards != 2) dp->bcast(dp->ctx, m->params_mem, m->nparams);
    if (!sharded(dp)) {
        dp->bcast(dp->ctx, m->m_mem, m->nparams);
        dp->bcast(dp->ctx, m->v_mem, m->nparams);
    } else if (resumed) {
        float *sliced[3] = {m->params_layer ? m->params_mem : NULL, m->m_mem, m->v_mem};
        if (in_shards == 0) share_slices(c, m, dp, sliced);
        if (m->params_layer) trainer_params_refresh(m, dp);
        else if (in_shards == 2) trainer_params_gather(m, dp);
    }
    if (c) free(c->path), c->path = NULL, c->slices_read = false;
    return resumed;
}
