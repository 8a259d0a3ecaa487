// test_shard_params.c — a model whose parameters are sharded (model_create_shard,
// model_load_shard; trainer.shard = full) against the same model whole, in one process: the
// gathers of the other ranks' parts are played by a hook that copies them from the whole model,
// so the model layer is checked without MPI (tests/mpi/test_shard.sh runs the real collectives).
// Checked bit for bit: each rank's slice and small outside tensors as made and as loaded; the
// packed layer buffer after model_pieces_pack and the gather; the whole weights gathered onto a
// rank (model_params_whole): decoding, saving and model_params_of; decoding without them (the
// embedding and the LM head streamed a chunk of the vocabulary at a time), each layer gathered per
// call. Within 1e-5 (the LM head's log-sum-exp merged over the chunks, its sums split at them):
// the log-probs, entropies and gradients of a forward and backward pass (with and without
// recomputation) against the whole model's. Counted: each layer gathered once per pass but the
// last (reused by the backward), each vocabulary chunk as model_vocab.c's order says, and the
// forward padding of model_param_flush.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

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
    int gathers[16], grad_calls, vocab_gathers, vocab_reduces;
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

// vocab_gather: the chunk's part this rank owns from its own slice, the rest from the whole model.
static void fake_vocab_gather(void *ctx, model *m, size_t a, size_t e, float *buf) {
    fake *f = ctx;
    for (size_t x = a; x < e; x++)
        buf[x - a] = x >= m->param_lo && x < m->param_hi ? m->params_mem[x - m->param_lo] : f->whole->params_mem[x];
    f->vocab_gathers++;
}

// vocab_reduce: one rank alone holds data; it adds its owned part into grads_mem.
static void fake_vocab_reduce(void *ctx, model *m, size_t a, size_t e, float *buf) {
    fake *f = ctx;
    for (size_t x = a; x < e; x++)
        if (x >= m->grad_lo && x < m->grad_hi) m->grads_mem[x - m->grad_lo] += buf[x - a];
    f->vocab_reduces++;
}

// Equality within tol of the largest |b| (at least 1e-3) of n floats; says where it is not.
static bool close_to(const float *a, const float *b, size_t n, double tol, const char *what) {
    double big = 1e-3, worst = 0;
    for (size_t i = 0; i < n; i++) big = fabs(b[i]) > big ? fabs(b[i]) : big;
    for (size_t i = 0; i < n; i++) worst = fabs((double)a[i] - b[i]) > worst ? fabs((double)a[i] - b[i]) : worst;
    if (worst > tol * big) fprintf(stderr, "%s: differs by %.3g (largest %.3g)\n", what, worst, big);
    return worst <= tol * big;
}

// Bit-for-bit equality of n floats.
static bool same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

// The slice (params_mem) and the small outside tensors (params_rest) of a sharded model hold the
// whole model's values, and params_rest no element of a vocabulary tensor.
static void check_parts(const model *s, const model *w, const char *what) {
    size_t n = s->param_hi - s->param_lo;
    float *slice = malloc((n ? n : 1) * sizeof *slice);
    model_slice_get(s, s->params_mem, s->param_lo, s->param_lo, s->param_hi, slice);
    bool ok = same(slice, w->params_mem + s->param_lo, n) && same(s->params_mem, w->params_mem + s->param_lo, n);
    free(slice);
    size_t rest = 0;
    for (size_t x = 0; x < w->nparams; x++) {
        long p = packed_pos(s, -1, x);
        if (p >= 0) rest++;
        if (p >= 0 && s->params_rest[p] != w->params_mem[x]) ok = false;
    }
    ok = ok && rest == s->rest_floats && s->vocab_rows > 0 && s->p.wte == NULL && s->p.lmw == NULL;
    for (int t = 0; t < s->ntensors; t++)
        if (s->tensors[t].vocab && packed_pos(s, -1, s->tensors[t].offset) >= 0) ok = false;
    if (!ok) fprintf(stderr, "%s: slice or outside tensors differ\n", what);
    CHECK(ok);
}

#define B 2
#define T 7

static void batch(int V, int32_t *ids, int32_t *tgt) {
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)((i * 7 + 3) % V);
    for (int i = 0; i < B * T; i++) tgt[i] = i % T == T - 1 ? -1 : ids[i + 1];
}

// Forward + backward of sum logp (+ entropy) on the whole model and on rank r of `size` sharded,
// its vocabulary tensors streamed in chunks of `rows` rows.
static void check_pass(model_config c, int r, int size, bool recompute, int rows, const char *name) {
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
    model_vocab_set_rows(&s, rows);
    int K = (c.vocab_size + rows - 1) / rows;
    bool tied = c.tie_word_embeddings;
    model_train_init(&w);
    model_train_init_slice(&s, lo, hi, true);
    CHECK(s.grad_lo == lo && s.grad_hi == hi);
    s.param_hook = fake_gather, s.param_ctx = &f, s.grad_hook = fake_reduce, s.grad_ctx = &f;
    s.vocab_gather = fake_vocab_gather, s.vocab_reduce = fake_vocab_reduce;
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
    CHECK_INT(f.vocab_gathers, K);                           // the lookup: every chunk
    model_lm_forward(&s, tgt, ls, es);
    CHECK_INT(f.vocab_gathers, tied ? 2 * K - 1 : 2 * K);    // tied: the head starts on the lookup's last
    model_lm_backward(&s, d, de);
    CHECK_INT(f.vocab_gathers, tied ? 3 * K - 2 : 3 * K - 1); // the backward starts on the forward's last
    CHECK_INT(f.vocab_reduces, K);
    model_backward(&s);
    CHECK_INT(f.vocab_reduces, 2 * K); // the head's chunks, then the lookup's
    char part[256];
    snprintf(part, sizeof part, "%s: log-probs", what);
    CHECK(close_to(ls, lw, B * T, 1e-5, part));
    snprintf(part, sizeof part, "%s: entropies", what);
    CHECK(close_to(es, ew, B * T, 1e-5, part));
    // the backward gathers each layer again but the last, which the forward left in place
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == s.L - 1 ? 1 : 2);
    CHECK_INT(f.grad_calls, s.L + 1);
    // the slice's gradients (the vocabulary tensors' parts summed into it chunk by chunk); the
    // small outside tensors' stay in grads_rest until the optimiser step sums them
    float *slice = malloc((hi - lo + 1) * sizeof *slice);
    for (size_t x = lo; x < hi; x++) slice[x - lo] = packed_pos(&s, -1, x) >= 0 ? 0.0f : w.grads_mem[x];
    snprintf(part, sizeof part, "%s: the slice's gradients", what);
    CHECK(close_to(s.grads_mem, slice, hi - lo, 1e-5, part));
    free(slice);
    float *rest = calloc(s.rest_floats + 1, sizeof *rest), *want = calloc(s.rest_floats + 1, sizeof *want);
    for (size_t x = 0; x < w.nparams; x++) {
        long p = packed_pos(&s, -1, x);
        if (p >= 0) rest[p] = s.grads_rest[p], want[p] = w.grads_mem[x];
    }
    snprintf(part, sizeof part, "%s: the small outside tensors' gradients", what);
    CHECK(close_to(rest, want, s.rest_floats, 1e-5, part));
    free(rest), free(want);
    // model_param_flush: what a forward pass with no data gathers, by the same rule: the backward
    // left layer 0 in place (the weights have not changed), so the next forward starts at layer 1
    memset(f.gathers, 0, sizeof f.gathers);
    f.vocab_gathers = 0;
    model_param_flush(&s, false);
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == 0 ? 0 : 1);
    // the lookup's chunks: the one held (the head's last) is needed last, so reused only when it
    // is the only one and the head is the embedding
    int lookup = tied && K == 1 ? 0 : K;
    CHECK_INT(f.vocab_gathers, lookup);
    model_param_flush(&s, true); // the last layer held: every layer again; the head too
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], l == 0 ? 1 : 2);
    CHECK_INT(f.vocab_gathers, 2 * lookup + (tied ? K - 1 : K));
    model_free(&w), model_free(&s);
}

// The whole weights gathered onto a sharded rank: decoding as the whole model, model_save's file
// the whole model's, model_params_of the whole buffer; released, the layers are gathered again.
static void check_whole(model_config c) {
    model w, s;
    model_init_random(&w, &c, MODEL_HEAD_LM, be, 5, 0.05f, 0.0f);
    model_init_random_shard(&s, &c, MODEL_HEAD_LM, be, 5, 0.05f, 0.0f, 1, 2);
    fake f = {.whole = &w};
    s.param_hook = fake_gather, s.param_ctx = &f, s.vocab_gather = fake_vocab_gather;
    model_params_whole(&s, w.params_mem);
    CHECK(model_params_of(&s) == s.params_whole && same(model_params_of(&s), w.params_mem, w.nparams));
    model_kv_init(&w, 1, 16), model_kv_init(&s, 1, 16);
    int32_t ids[5] = {1, 4, 9, 16, 25};
    float *ow = malloc(sizeof(float) * 5 * (size_t)c.vocab_size), *os = malloc(sizeof(float) * 5 * (size_t)c.vocab_size);
    model_decode(&w, ids, NULL, NULL, 5, ow);
    model_decode(&s, ids, NULL, NULL, 5, os);
    CHECK(same(ow, os, 5 * (size_t)c.vocab_size));
    for (int l = 0; l < s.L; l++) CHECK_INT(f.gathers[l], 0); // no hook while whole
    CHECK_INT(f.vocab_gathers, 0);
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
            check_pass(cfg_qwen2_3(), r, size, false, 10, "qwen2"); // 67 rows: 6 chunks of 10 and one of 7
            check_pass(cfg_qwen3(), r, size, r == size - 1, 8, "qwen3");
        }
    check_pass(cfg_qwen2_3(), 1, 3, true, 67, "qwen2, one chunk");
    check_pass(cfg_qwen3(), 0, 2, false, 1, "qwen3, chunks of one row");
    check_whole(cfg_qwen2_3());
    check_whole(cfg_qwen3());
    backend_destroy(be);
    return test_summary("test_shard_params");
}
