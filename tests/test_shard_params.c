// test_shard_params.c — a model whose parameters are sharded (model_create_shard,
// model_load_shard; trainer.shard = full) against the same model whole, in one process: the
// gathers of the other ranks' parts are played by a hook that copies them from the whole model,
// so the model layer is checked without MPI (tests/mpi/test_shard.sh runs the real collectives).
// Checked bit for bit: each rank's slice and outside tensors as made and as loaded; the packed
// layer buffer after model_pieces_pack and the gather; the log-probs, entropies and gradients of
// a forward and backward pass (with and without recomputation) against the whole model's, each
// layer gathered exactly once per pass but the last (reused by the backward); the forward
// padding of model_param_flush; the whole weights gathered onto a rank (model_params_whole):
// decoding, saving and model_params_of; and decoding without them, each layer gathered per call.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../model/model.h"
#include "test.h"
#include "tiny_configs.h"

static backend *be;

// Qwen2 (tied embeddings) with 3 layers; Qwen3 (untied LM head) as test_model has it.
static model_config cfg_qwen2_3(void) {
    model_config c = cfg_qwen2();
    c.num_hidden_layers = 3;
    return c;
}

// What the hooks see: the whole model (the other ranks' parts come from it) and counts.
typedef struct {
    const model *whole;
    int gathers[16], grad_calls;
    float *grad_rest_seen;
} fake;

// The packed position of layout offset x in layer l's pieces, or -1 when x is in none.
static long packed_pos(const model *m, int l, size_t x) {
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES], pos = 0;
    int np = model_pieces(m, l, off, len);
    for (int i = 0; i < np; pos += len[i], i++)
        if (x >= off[i] && x < off[i] + len[i]) return (long)(pos + (x - off[i]));
    return -1;
}

// param_hook: this rank's part packed by the model itself, every other part "gathered" from the
// whole model; a part this rank owns is left as model_pieces_pack wrote it.
static void fake_gather(void *ctx, model *m, int l) {
    fake *f = ctx;
    model_pieces_pack(m, l);
    float *buf = l < 0 ? m->params_rest : m->params_layer;
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES], pos = 0;
    int np = model_pieces(m, l, off, len);
    for (int i = 0; i < np; pos += len[i], i++)
        for (size_t k = 0; k < len[i]; k++)
            if (off[i] + k < m->param_lo || off[i] + k >= m->param_hi)
                buf[pos + k] = f->whole->params_mem[off[i] + k];
    if (l >= 0) f->gathers[l]++;
}

// grad_hook: one rank alone holds data, so its pieces are the sums; it adds its owned part into
// grads_mem (as trainer_dp's reduce_pieces does after the reduction).
static void fake_reduce(void *ctx, model *m, int l) {
    fake *f = ctx;
    f->grad_calls++;
    if (l < 0) return;
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES];
    float *buf;
    int np = model_grad_pieces(m, l, off, len, &buf);
    size_t pos = 0;
    for (int i = 0; i < np; pos += len[i], i++)
        for (size_t k = 0; k < len[i]; k++) {
            size_t x = off[i] + k;
            if (x >= m->grad_lo && x < m->grad_hi) m->grads_mem[x - m->grad_lo] += buf[pos + k];
        }
}

// Bit-for-bit equality of n floats.
static bool same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

// The slice and the outside tensors of a sharded model hold the whole model's values; params_mem
// holds the slice's part of the layers' run and no element of a tensor outside the layers.
static void check_parts(const model *s, const model *w, const char *what) {
    size_t n = s->param_hi - s->param_lo, run = s->params_run_hi - s->params_run_lo;
    float *slice = malloc((n ? n : 1) * sizeof *slice);
    model_slice_get(s, s->params_mem, s->param_lo, s->param_lo, s->param_hi, slice);
    bool ok = same(slice, w->params_mem + s->param_lo, n) && same(s->params_mem, w->params_mem + s->params_run_lo, run);
    free(slice);
    ok = ok && (!run || (s->param_lo <= s->params_run_lo && s->params_run_hi <= s->param_hi));
    for (int t = 0; t < w->ntensors; t++) {
        const model_tensor *x = &w->tensors[t];
        if (x->layer < 0 && run && x->offset < s->params_run_hi && s->params_run_lo < x->offset + x->numel) ok = false;
    }
    for (size_t x = 0; x < w->nparams; x++) {
        long p = packed_pos(w, -1, x);
        if (p >= 0 && s->params_rest[p] != w->params_mem[x]) ok = false;
    }
    if (!ok) fprintf(stderr, "%s: slice or outside tensors differ\n", what);
    CHECK(ok);
}

#define B 2
#define T 7

static void batch(int V, int32_t *ids, int32_t *tgt) {
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)((i * 7 + 3) % V);
    for (int i = 0; i < B * T; i++) tgt[i] = i % T == T - 1 ? -1 : ids[i + 1];
}

// Forward + backward of sum logp (+ entropy) on the whole model and on rank r of `size` sharded.
static void check_pass(model_config c, int r, int size, bool recompute, const char *name) {
    model w, s;
    model_init_random(&w, &c, MODEL_HEAD_LM, be, 11, 0.05f, 0.02f);
    model_init_random_shard(&s, &c, MODEL_HEAD_LM, be, 11, 0.05f, 0.02f, r, size);
    char what[128];
    snprintf(what, sizeof what, "%s, rank %d of %d%s", name, r, size, recompute ? ", recomputed" : "");
    check_parts(&s, &w, what);
    size_t lo, hi;
    model_shard_range(w.nparams, r, size, &lo, &hi);
    CHECK(s.param_lo == lo && s.param_hi == hi);
    fake f = {.whole = &w};
    model_train_init(&w);
    model_train_init_slice(&s, lo, hi, true);
    s.param_hook = fake_gather, s.param_ctx = &f, s.grad_hook = fake_reduce, s.grad_ctx = &f;
    model_reserve(&w, B, T, true, recompute);
    model_reserve(&s, B, T, true, recompute);
    int32_t ids[B * T], tgt[B * T];
    batch(c.vocab_size, ids, tgt);
    float lw[B * T], ls[B * T], ew[B * T], es[B * T], d[B * T], de[B * T];
    for (int i = 0; i < B * T; i++) d[i] = 1.0f + 0.01f * (float)i, de[i] = 0.1f;
    model_zero_grad(&w), model_zero_grad(&s);
    model_forward(&w, ids, NULL, NULL, B, T);
    model_lm_forward(&w, tgt, lw, ew);
    model_lm_backward(&w, d, de);
    model_backward(&w);
    model_forward(&s, ids, NULL, NULL, B, T);
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], 1); // each layer once in the forward
    model_lm_forward(&s, tgt, ls, es);
    model_lm_backward(&s, d, de);
    model_backward(&s);
    CHECK(same(lw, ls, B * T) && same(ew, es, B * T));
    // the backward gathers each layer again but the last, which the forward left in place
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == s.L - 1 ? 1 : 2);
    CHECK_INT(f.grad_calls, s.L + 1);
    bool gok = s.grad_hi <= s.grad_lo || same(s.grads_mem, w.grads_mem + s.grad_lo, s.grad_hi - s.grad_lo);
    for (size_t x = 0; x < w.nparams; x++) {
        long p = packed_pos(&w, -1, x);
        if (p >= 0 && s.grads_rest[p] != w.grads_mem[x]) gok = false;
    }
    if (!gok) fprintf(stderr, "%s: gradients differ from the whole model's\n", what);
    CHECK(gok);
    // model_param_flush: what a forward pass with no data gathers, by the same rule: the backward
    // left layer 0 in place (the weights have not changed), so the next forward starts at layer 1
    memset(f.gathers, 0, sizeof f.gathers);
    model_param_flush(&s);
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == 0 ? 0 : 1);
    model_param_flush(&s); // the last layer held: every layer again
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == 0 ? 1 : 2);
    model_free(&w), model_free(&s);
}

// The whole weights gathered onto a sharded rank: decoding as the whole model, model_save's file
// the whole model's, model_params_of the whole buffer; released, the layers are gathered again.
static void check_whole(model_config c) {
    model w, s;
    model_init_random(&w, &c, MODEL_HEAD_LM, be, 5, 0.05f, 0.0f);
    model_init_random_shard(&s, &c, MODEL_HEAD_LM, be, 5, 0.05f, 0.0f, 1, 2);
    fake f = {.whole = &w};
    s.param_hook = fake_gather, s.param_ctx = &f;
    model_params_whole(&s, w.params_mem);
    CHECK(model_params_of(&s) == s.params_whole && same(model_params_of(&s), w.params_mem, w.nparams));
    model_kv_init(&w, 1, 16), model_kv_init(&s, 1, 16);
    int32_t ids[5] = {1, 4, 9, 16, 25};
    float *ow = malloc(sizeof(float) * 5 * (size_t)c.vocab_size), *os = malloc(sizeof(float) * 5 * (size_t)c.vocab_size);
    model_decode(&w, ids, NULL, NULL, 5, ow);
    model_decode(&s, ids, NULL, NULL, 5, os);
    CHECK(same(ow, os, 5 * (size_t)c.vocab_size));
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], 0); // no hook while whole
    char dir[] = "/tmp/fluxrl_shard_XXXXXX", a[64], b[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a, sizeof a, "%s/w", dir), snprintf(b, sizeof b, "%s/s", dir);
    fx_err err;
    CHECK_INT(model_save(&w, a, ST_F32, &err), 0);
    CHECK_INT(model_save(&s, b, ST_F32, &err), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cmp -s %s/model.safetensors %s/model.safetensors", a, b);
    CHECK_INT(system(cmd), 0);
    // loaded sharded from the saved folder: each rank's parts as made
    for (int r = 0; r < 3; r++) {
        model l;
        CHECK_INT(model_load_shard(&l, a, be, r, 3, &err), 0);
        char what[64];
        snprintf(what, sizeof what, "loaded, rank %d of 3", r);
        check_parts(&l, &w, what);
        model_free(&l);
    }
    model_params_release(&s);
    CHECK(s.params_whole == NULL && model_params_of(&s) == s.params_mem);
    model_reserve(&s, 1, 5, false, false);
    model_forward(&s, ids, NULL, NULL, 1, 5);
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], 1); // released: gathered as read
    // Decoding with no whole copy (sft's and prm-train's evaluation under full): each layer
    // gathered once per call, a prefill and a step, the whole model's logits bit for bit.
    model_kv_init(&w, 1, 16), model_kv_init(&s, 1, 16);
    model_decode(&w, ids, NULL, NULL, 5, ow);
    model_decode(&s, ids, NULL, NULL, 5, os);
    CHECK(same(ow, os, 5 * (size_t)c.vocab_size));
    int32_t next = 7;
    model_decode(&w, &next, NULL, NULL, 1, ow);
    model_decode(&s, &next, NULL, NULL, 1, os);
    CHECK(same(ow, os, (size_t)c.vocab_size));
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], 3);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    free(ow), free(os);
    model_free(&w), model_free(&s);
}

int main(void) {
    be = backend_cpu_create(1);
    for (int size = 2; size <= 3; size++)
        for (int r = 0; r < size; r++) {
            check_pass(cfg_qwen2_3(), r, size, false, "qwen2");
            check_pass(cfg_qwen3(), r, size, r == size - 1, "qwen3");
        }
    check_pass(cfg_qwen2_3(), 1, 3, true, "qwen2");
    check_whole(cfg_qwen2_3());
    check_whole(cfg_qwen3());
    backend_destroy(be);
    return test_summary("test_shard_params");
}
