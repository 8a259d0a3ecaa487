// continuous.c — bench_continuous SIZE SLOTS REQUESTS MODE [THREADS]: generation throughput of
// continuous batching (rollout/engine.h, MODE "continuous") against static batching (rollout_decode
// on consecutive batches of SLOTS requests, MODE "static") on a workload of varied response
// lengths: REQUESTS prompts of 16 random tokens, sampled at temperature 1 from a Qwen2-shaped model
// of bench/model/shapes.h with random weights, ending at any of V/32 stop ids (so lengths are
// roughly geometric with mean 32) or at 128 new tokens. Prints one JSON line: tokens/s (generated
// tokens over the whole run, prefill included), the model's and engine's peak bytes next to
// parameters + KV cache, and the process's peak RSS (VmHWM). bench/generate/run.py tabulates it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/rng.h"
#include "../../rollout/engine.h"
#include "../model/shapes.h"

enum { PROMPT = 16, MAX_NEW = 128 };

static long vm_hwm_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_continuous SIZE SLOTS REQUESTS continuous|static [THREADS]\n");
        return 2;
    }
    const bench_shape *s = bench_shape_find(argv[1]);
    int S = atoi(argv[2]), n = atoi(argv[3]), threads = argc > 5 ? atoi(argv[5]) : 0;
    bool cont = !strcmp(argv[4], "continuous");
    if (!s || S < 1 || n < 1 || (!cont && strcmp(argv[4], "static"))) return 2;
    model_config c = bench_shape_config(s);
    backend *be = backend_cpu_create(threads);
    model m;
    model_init_random(&m, &c, MODEL_HEAD_LM, be, 1, 0.02f, 0.0f);
    int32_t *ids = malloc((size_t)n * PROMPT * sizeof *ids), *out = malloc((size_t)n * MAX_NEW * sizeof *out);
    const int32_t **prompts = malloc((size_t)n * sizeof *prompts);
    int *plen = malloc((size_t)n * sizeof *plen), *out_len = malloc((size_t)n * sizeof *out_len);
    uint64_t *streams = malloc((size_t)n * sizeof *streams);
    float *lp = malloc((size_t)n * MAX_NEW * sizeof *lp);
    int nstop = s->V / 32;
    int32_t *stop = malloc((size_t)nstop * sizeof *stop);
    for (int i = 0; i < nstop; i++) stop[i] = 32 * i;
    fx_rng r = fx_rng_stream(7, 0, 0, 0);
    for (int i = 0; i < n * PROMPT; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)s->V);
    for (int i = 0; i < n; i++) prompts[i] = ids + (size_t)i * PROMPT, plen[i] = PROMPT, streams[i] = (uint64_t)i;
    rollout_decode_opts o = {.sample = {1.0f, 0, 1.0f, 0}, .seed = 3, .stream = streams, .max_new = MAX_NEW,
                             .stop = stop, .nstop = nstop};
    size_t params = m.nparams * sizeof(float), kv = 0, peak = 0;
    double t0 = fx_time_now();
    if (cont) {
        rollout_engine e;
        fx_err err;
        if (rollout_engine_init(&e, &m, S, PROMPT + MAX_NEW, &err) ||
            rollout_engine_run(&e, prompts, plen, n, &o, out, lp, out_len, NULL, NULL, NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        kv = e.kv_bytes, peak = e.peak_bytes;
    } else {
        for (int i0 = 0; i0 < n; i0 += S) {
            int B = n - i0 < S ? n - i0 : S;
            rollout_decode_opts ob = o;
            ob.stream = streams + i0;
            // rollout_decode writes B rows of max_new: the batch's rows are contiguous in out.
            rollout_decode(&m, prompts + i0, plen + i0, B, &ob, out + (size_t)i0 * MAX_NEW, lp + (size_t)i0 * MAX_NEW,
                           out_len + i0, NULL);
            kv = model_kv_bytes(&m) > kv ? model_kv_bytes(&m) : kv;
            size_t held = params + model_kv_bytes(&m) + model_decode_bytes(&m) + (size_t)B * (size_t)s->V * 4;
            peak = held > peak ? held : peak;
        }
    }
    double secs = fx_time_now() - t0;
    long long tokens = 0;
    uint64_t h = 0;
    for (int i = 0; i < n; i++) {
        tokens += out_len[i];
        for (int t = 0; t < out_len[i]; t++) h = fx_rng_hash(h, (uint64_t)out[(size_t)i * MAX_NEW + t]);
    }
    printf("{\"size\": \"%s\", \"mode\": \"%s\", \"slots\": %d, \"requests\": %d, \"tokens\": %lld, \"seconds\": %.3f, "
           "\"tokens_per_s\": %.1f, \"ids_hash\": \"%016llx\", \"param_bytes\": %zu, \"kv_bytes\": %zu, "
           "\"peak_model_bytes\": %zu, \"vm_hwm_kib\": %ld}\n",
           s->name, argv[4], S, n, tokens, secs, (double)tokens / secs, (unsigned long long)h, params, kv, peak,
           vm_hwm_kib());
    model_free(&m);
    backend_destroy(be);
    free(ids), free(out), free(prompts), free(plen), free(out_len), free(streams), free(lp), free(stop);
    return 0;
}
