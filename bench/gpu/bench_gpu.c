// bench_gpu.c — the CUDA backend's throughput on Qwen2.5 shapes with random weights, one JSON
// line per run; bench/gpu/run.sh prints it next to PyTorch + transformers (bench/gpu/reference.py)
// on the same card.
//
//   bench_gpu train SIZE [fp32|bf16]   one training step (forward, mean CE, backward, clip, AdamW)
//   bench_gpu decode SIZE B [fp32|bf16] prefill of 128 tokens, then 64 greedy single-token steps
//
// SIZE: qwen2.5-0.5b | qwen2.5-1.5b (every layer of the real models) | 25m (a quick check).
// MFU = 6 N tokens/s / peak, N = parameters, peak = the card's dense bf16 FLOP/s (989e12 for the
// H100 SXM and the H200; FLUXRL_PEAK_TFLOPS overrides). The attention FLOPs of bench_shape_flops
// are printed too (as achieved TFLOP/s).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/rng.h"
#include "../../model/cuda/cuda_backend.h"
#include "../../model/model.h"
#include "../train_step/shapes.h"

enum { PROMPT = 128, NEW = 64 };

// The real models' shapes, all layers. B*T tokens per step.
static const bench_shape gpu_shapes[] = {
    {"qwen2.5-0.5b", 896, 24, 14, 2, 64, 4864, 151936, 8, 1024, 5},
    {"qwen2.5-1.5b", 1536, 28, 12, 2, 128, 8960, 151936, 4, 1024, 3},
    {"25m", 512, 6, 8, 4, 64, 1536, 12000, 8, 256, 10},
};

static const bench_shape *find_shape(const char *name) {
    for (size_t i = 0; i < sizeof gpu_shapes / sizeof gpu_shapes[0]; i++)
        if (strcmp(gpu_shapes[i].name, name) == 0) return &gpu_shapes[i];
    return NULL;
}

static double peak_flops(void) {
    const char *e = getenv("FLUXRL_PEAK_TFLOPS");
    return (e && atof(e) > 0 ? atof(e) : 989.0) * 1e12;
}

static backend *make_backend(const char *prec) {
    fx_err err = {{0}};
    backend_cuda_precision p = prec && strcmp(prec, "fp32") == 0 ? BACKEND_CUDA_FP32 : BACKEND_CUDA_BF16;
    backend *be = backend_cuda_create(0, p, &err);
    if (!be) {
        fprintf(stderr, "bench_gpu: %s\n", err.msg);
        exit(1);
    }
    return be;
}

static void sync_cuda(backend *be) { backend_cuda_sync(be); }

static int bench_train(const bench_shape *s, const char *prec) {
    backend *be = make_backend(prec);
    double loss;
    size_t nparams;
    double dt = bench_train_steps(s, be, false, sync_cuda, &loss, &nparams);
    int N = s->B * s->T;
    double tps = N / dt, mfu = 6.0 * (double)nparams * tps / peak_flops();
    printf("{\"bench\":\"train\",\"size\":\"%s\",\"precision\":\"%s\",\"params\":%zu,\"B\":%d,\"T\":%d,"
           "\"step_s\":%.4f,\"tokens_per_s\":%.1f,\"mfu\":%.4f,\"tflops_with_attention\":%.1f,\"loss\":%.4f}\n",
           s->name, prec, nparams, s->B, s->T, dt, tps, mfu, bench_shape_flops(s) / dt / 1e12, loss);
    backend_destroy(be);
    return 0;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static int bench_decode(const bench_shape *s, int B, const char *prec) {
    model_config c = bench_shape_config(s);
    backend *be = make_backend(prec);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f);
    int32_t *ids = malloc((size_t)B * PROMPT * sizeof *ids), *next = malloc((size_t)B * sizeof *next);
    int32_t *pos = malloc((size_t)B * sizeof *pos);
    float *logits = malloc((size_t)B * s->V * sizeof *logits);
    fx_rng r = fx_rng_make(7, 0);
    for (int i = 0; i < B * PROMPT; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)s->V);
    model_kv_init(&m, B, PROMPT + NEW);
    double t0 = fx_time_now();
    model_decode_last(&m, ids, NULL, NULL, PROMPT, logits);
    double t1 = fx_time_now();
    for (int k = 0; k < NEW; k++) { // greedy on the host: the logits (B, V) come back every step
        for (int b = 0; b < B; b++) next[b] = argmax(logits + (size_t)b * s->V, s->V), pos[b] = PROMPT + k;
        model_decode(&m, next, pos, NULL, 1, logits);
    }
    double t2 = fx_time_now();
    printf("{\"bench\":\"decode\",\"size\":\"%s\",\"precision\":\"%s\",\"B\":%d,\"prompt\":%d,\"new\":%d,"
           "\"prefill_s\":%.4f,\"decode_s\":%.4f,\"tokens_per_s\":%.1f}\n",
           s->name, prec, B, PROMPT, NEW, t1 - t0, t2 - t1, (double)B * NEW / (t2 - t1));
    model_free(&m);
    backend_destroy(be);
    free(ids), free(next), free(pos), free(logits);
    return 0;
}

int main(int argc, char **argv) {
    const bench_shape *s = argc > 2 ? find_shape(argv[2]) : NULL;
    if (argc < 3 || !s) {
        fprintf(stderr, "usage: bench_gpu train SIZE [fp32|bf16] | bench_gpu decode SIZE B [fp32|bf16]\n"
                        "  SIZE: qwen2.5-0.5b | qwen2.5-1.5b | 25m\n");
        return 2;
    }
    if (strcmp(argv[1], "train") == 0) return bench_train(s, argc > 3 ? argv[3] : "bf16");
    if (strcmp(argv[1], "decode") == 0 && argc > 3 && atoi(argv[3]) > 0)
        return bench_decode(s, atoi(argv[3]), argc > 4 ? argv[4] : "bf16");
    fprintf(stderr, "bench_gpu: expected 'train SIZE' or 'decode SIZE B'\n");
    return 2;
}
