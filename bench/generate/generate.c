// generate.c — bench_generate SIZE B [THREADS]: decode throughput of fluxrl's KV-cache decoding
// (model_decode, one token per row per step, greedy) for a Qwen2-shaped model of
// bench/train_step/shapes.h with random weights: B prompts of 16 tokens, then 64 new tokens each.
// Prints one JSON line; bench/generate/run.py puts it next to the PyTorch decode loop.
#include <stdio.h>
#include <stdlib.h>

#include "../../core/rng.h"
#include "../../model/model.h"
#include "../train_step/shapes.h"

enum { PROMPT = 16, NEW = 64 };

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_generate SIZE B [THREADS]\n");
        return 2;
    }
    const bench_shape *s = bench_shape_find(argv[1]);
    int B = atoi(argv[2]), threads = argc > 3 ? atoi(argv[3]) : 0;
    if (!s || B < 1) return 2;
    model_config c = bench_shape_config(s);
    backend *be = backend_cpu_create(threads);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f);
    int32_t *ids = malloc((size_t)B * PROMPT * sizeof *ids), *next = malloc((size_t)B * sizeof *next);
    int32_t *pos = malloc((size_t)B * sizeof *pos);
    float *logits = malloc((size_t)B * s->V * sizeof *logits);
    fx_rng r = fx_rng_stream(7, 0, 0, 0);
    for (int i = 0; i < B * PROMPT; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)s->V);
    model_kv_init(&m, B, PROMPT + NEW);
    double t0 = fx_time_now();
    model_decode_last(&m, ids, NULL, NULL, PROMPT, logits);
    double t1 = fx_time_now();
    for (int k = 0; k < NEW; k++) {
        for (int b = 0; b < B; b++) next[b] = argmax(logits + (size_t)b * s->V, s->V), pos[b] = PROMPT + k;
        model_decode(&m, next, pos, NULL, 1, logits);
    }
    double t2 = fx_time_now();
    printf("{\"size\": \"%s\", \"B\": %d, \"prefill_s\": %.4f, \"decode_s\": %.4f, \"tokens_per_s\": %.1f}\n", s->name, B,
           t1 - t0, t2 - t1, (double)B * NEW / (t2 - t1));
    model_free(&m);
    backend_destroy(be);
    free(ids), free(next), free(pos), free(logits);
    return 0;
}
