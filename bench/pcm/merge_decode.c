// merge_decode.c — bench_merge_decode SIZE SLOTS REQUESTS MODE [THREADS] [MAX_NEW]: tokens/s of
// merged decoding (rollout/merge.h in the engine, docs/pcm.md) against one expert alone, on the
// same engine. MODE: "single" (one expert), "w" (K = 2 experts, alpha = w = (0.5, 0.5)), "pcm"
// (2 experts and a PCM of the 1m shape). Experts are Qwen2-shaped models of bench/train_step/
// shapes.h with random weights; REQUESTS prompts of 16 random tokens, sampled at temperature 1,
// no stop ids: every request generates MAX_NEW tokens (default 64), so every mode decodes the
// same number of tokens. tokens/s counts generated tokens over the whole run, prompt feeding
// included. Prints one JSON line; bench/pcm/run.sh tabulates.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/rng.h"
#include "../../rollout/engine.h"
#include "../model/shapes.h"

enum { PROMPT = 16, K = 2 };

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_merge_decode SIZE SLOTS REQUESTS single|w|pcm [THREADS] [MAX_NEW]\n");
        return 2;
    }
    const bench_shape *s = bench_shape_find(argv[1]), *ps = bench_shape_find("1m");
    int S = atoi(argv[2]), n = atoi(argv[3]), threads = argc > 5 ? atoi(argv[5]) : 0;
    int max_new = argc > 6 ? atoi(argv[6]) : 64;
    const char *mode = argv[4];
    bool single = !strcmp(mode, "single"), with_pcm = !strcmp(mode, "pcm");
    if (!s || S < 1 || n < 1 || max_new < 1 || (!single && !with_pcm && strcmp(mode, "w"))) return 2;
    model_config c = bench_shape_config(s), pc = bench_shape_config(ps);
    pc.vocab_size = c.vocab_size, pc.num_experts = K, pc.tie_word_embeddings = false;
    snprintf(pc.architecture, sizeof pc.architecture, "FluxrlPCMForTokenMixing");
    backend *be = backend_cpu_create(threads);
    model experts[K], pcm;
    for (int i = 0; i < (single ? 1 : K); i++) model_init_random(&experts[i], &c, MODEL_HEAD_LM, be, 1 + i, 0.02f, 0.0f);
    if (with_pcm) model_init_random(&pcm, &pc, MODEL_HEAD_PCM, be, 9, 0.02f, 0.0f);
    int32_t *ids = malloc((size_t)n * PROMPT * sizeof *ids), *out = malloc((size_t)n * max_new * sizeof *out);
    const int32_t **prompts = malloc((size_t)n * sizeof *prompts);
    int *plen = malloc((size_t)n * sizeof *plen), *out_len = malloc((size_t)n * sizeof *out_len);
    uint64_t *streams = malloc((size_t)n * sizeof *streams);
    float *lp = malloc((size_t)n * max_new * sizeof *lp);
    fx_rng r = fx_rng_stream(7, 0, 0, 0);
    for (int i = 0; i < n * PROMPT; i++) ids[i] = (int32_t)fx_rng_below(&r, (uint64_t)s->V);
    for (int i = 0; i < n; i++) prompts[i] = ids + (size_t)i * PROMPT, plen[i] = PROMPT, streams[i] = (uint64_t)i;
    rollout_decode_opts o = {.sample = {1.0f, 0, 1.0f, 0}, .seed = 3, .stream = streams, .max_new = max_new};
    const float w[K] = {0.5f, 0.5f};
    rollout_merge mx = {.experts = {&experts[0], &experts[1]}, .K = K, .pcm = with_pcm ? &pcm : NULL, .pref = w};
    rollout_engine e;
    fx_err err;
    double t0 = fx_time_now();
    int rc = single ? rollout_engine_init(&e, &experts[0], S, PROMPT + max_new, &err)
                    : rollout_engine_init_merged(&e, &mx, S, PROMPT + max_new, &err);
    if (rc || rollout_engine_run(&e, prompts, plen, n, &o, out, lp, out_len, NULL, NULL, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double secs = fx_time_now() - t0;
    long long tokens = 0;
    for (int i = 0; i < n; i++) tokens += out_len[i];
    printf("{\"size\": \"%s\", \"mode\": \"%s\", \"slots\": %d, \"requests\": %d, \"tokens\": %lld, \"seconds\": %.3f, "
           "\"tokens_per_s\": %.1f, \"param_bytes\": %zu, \"kv_bytes\": %zu, \"peak_bytes\": %zu}\n",
           s->name, mode, S, n, tokens, secs, (double)tokens / secs, e.param_bytes, e.kv_bytes, e.peak_bytes);
    for (int i = 0; i < (single ? 1 : K); i++) model_free(&experts[i]);
    if (with_pcm) model_free(&pcm);
    backend_destroy(be);
    free(ids), free(out), free(prompts), free(plen), free(out_len), free(streams), free(lp);
    return 0;
}
