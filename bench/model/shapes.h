// shapes.h — the model sizes of the benchmarks (bench/reference/train_step.py and
// bench/gpu/reference.py hold the same table; keep them in step), and the timed training step and
// greedy decoding that bench_model runs on either backend.
#ifndef FLUXRL_BENCH_SHAPES_H
#define FLUXRL_BENCH_SHAPES_H

#include <stdlib.h>
#include <string.h>

#include "../../core/rng.h"
#include "../../model/model.h"

typedef struct {
    const char *name;
    int C, L, NH, NKV, HS, F, V; // tied embeddings, q/k/v bias (Qwen2)
    int B, T, steps, gpu_steps;  // timed steps on the CPU and on a GPU
} bench_shape;

static const bench_shape bench_shapes[] = {
    {"1m", 128, 4, 4, 2, 32, 384, 1024, 16, 128, 10, 10},
    {"25m", 512, 6, 8, 4, 64, 1536, 12000, 8, 256, 4, 10},
    // Qwen2.5-0.5B: its layer shapes and vocabulary, 2 of its 24 layers.
    {"qwen05b", 896, 2, 14, 2, 64, 4864, 151936, 2, 256, 2, 5},
    // The real models' shapes, every layer (for a GPU).
    {"qwen2.5-0.5b", 896, 24, 14, 2, 64, 4864, 151936, 8, 1024, 1, 5},
    {"qwen2.5-1.5b", 1536, 28, 12, 2, 128, 8960, 151936, 4, 1024, 1, 3},
};

static inline const bench_shape *bench_shape_find(const char *name) {
    for (size_t i = 0; i < sizeof bench_shapes / sizeof bench_shapes[0]; i++)
        if (strcmp(bench_shapes[i].name, name) == 0) return &bench_shapes[i];
    return NULL;
}

static inline model_config bench_shape_config(const bench_shape *s) {
    model_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, "qwen2");
    strcpy(c.architecture, "Qwen2ForCausalLM");
    c.hidden_size = s->C, c.num_hidden_layers = s->L, c.num_attention_heads = s->NH;
    c.num_key_value_heads = s->NKV, c.head_dim = s->HS, c.intermediate_size = s->F, c.vocab_size = s->V;
    c.max_position_embeddings = 4096, c.rope_theta = 1000000.0, c.rms_norm_eps = 1e-6;
    c.qkv_bias = true, c.tie_word_embeddings = true;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

// Useful FLOPs of one training step (3x the forward's): 2 per multiply-add of every matmul
// (projections, MLP, LM head) and of causal attention (QK^T and PV over the T/2 earlier tokens
// on average). Elementwise work and the wasted half of masked blocks are not counted.
static inline double bench_shape_flops(const bench_shape *s) {
    double C = s->C, QD = (double)s->NH * s->HS, KD = (double)s->NKV * s->HS, F = s->F, V = s->V, T = s->T;
    double per_layer = 2 * (C * QD + 2 * C * KD + QD * C + 3 * C * F) + 2 * 2 * (T / 2) * QD;
    double per_token = s->L * per_layer + 2 * C * V;
    return 3.0 * per_token * (double)s->B * T;
}

// One training step timed, the same on every backend: a random Qwen2 of shape s on be, random
// tokens, then `steps` timed steps (forward, mean cross-entropy, backward, clipping at 1, AdamW)
// after one untimed warm-up step. `sync` (may be NULL) waits for the device before each clock
// read. Returns seconds per step; *loss is the last step's loss, *nparams the model's size.
static inline double bench_train_steps(const bench_shape *s, int steps, backend *be, bool recompute,
                                       void (*sync)(backend *), double *loss, size_t *nparams) {
    model_config c = bench_shape_config(s);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f);
    model_reserve(&m, s->B, s->T, true, recompute);
    int N = s->B * s->T;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)N), *tgt = malloc(sizeof(int32_t) * (size_t)N);
    fx_rng r = fx_rng_make(2, 2);
    for (int i = 0; i < N; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)c.vocab_size);
    for (int i = 0; i < N; i++) tgt[i] = i % s->T == s->T - 1 ? -1 : ids[i + 1];
    model_adamw opt = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    double total = 0;
    for (int k = 0; k <= steps; k++) { // step 0 warms up (plans, scratch buffers)
        if (sync) sync(be);
        double t0 = fx_time_now();
        model_zero_grad(&m);
        model_forward(&m, ids, NULL, NULL, s->B, s->T);
        *loss = model_lm_ce(&m, tgt, NULL, true);
        model_backward(&m);
        model_clip_grad_norm(&m, 1.0);
        model_adamw_step(&m, &opt, opt.lr);
        if (sync) sync(be);
        if (k > 0) total += fx_time_now() - t0;
    }
    *nparams = m.nparams;
    free(ids), free(tgt);
    model_free(&m);
    return total / steps;
}

// Greedy decoding timed, the same on every backend: a random Qwen2 of shape s on be, B rows of
// `prompt` random tokens prefilled (model_decode_last), then `gen` single-token steps
// (model_decode), each row's next token the argmax of its logits on the host. `sync` (may be NULL) waits for the device before each clock read. Returns the
// prefill's seconds in *prefill_s and the steps' in *decode_s.
static inline int bench_argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static inline void bench_decode_greedy(const bench_shape *s, backend *be, int B, int prompt, int gen,
                                       void (*sync)(backend *), double *prefill_s, double *decode_s) {
    model_config c = bench_shape_config(s);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f);
    int32_t *ids = malloc((size_t)B * prompt * sizeof *ids), *next = malloc((size_t)B * sizeof *next);
    int32_t *pos = malloc((size_t)B * sizeof *pos);
    float *logits = malloc((size_t)B * s->V * sizeof *logits);
    fx_rng r = fx_rng_make(7, 0);
    for (int i = 0; i < B * prompt; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)s->V);
    model_kv_init(&m, B, prompt + gen);
    if (sync) sync(be);
    double t0 = fx_time_now();
    model_decode_last(&m, ids, NULL, NULL, prompt, logits); // the logits come back: no sync needed
    double t1 = fx_time_now();
    for (int k = 0; k < gen; k++) {
        for (int b = 0; b < B; b++) next[b] = bench_argmax(logits + (size_t)b * s->V, s->V), pos[b] = prompt + k;
        model_decode(&m, next, pos, NULL, 1, logits);
    }
    double t2 = fx_time_now();
    *prefill_s = t1 - t0, *decode_s = t2 - t1;
    model_free(&m);
    free(ids), free(next), free(pos), free(logits);
}

#endif
