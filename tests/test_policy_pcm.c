// test_policy_pcm.c — a PCM policy as a run builds it (policy_build_pcm, docs/pcm.md), with
// pcm.alpha_init, a new PCM's starting mix (fluxrl's extension): the alpha head's bias is exactly
// log a, and nothing else changes, bit for bit, for a new PCM and for one started from a language
// model's backbone; at init_std 0 (h = 0 after the final norm) the PCM mixes exactly a at every
// position. A folder that is a PCM already keeps its own alpha head: pcm.alpha_init is refused.
// pcm.preference_prior (fluxrl's extension) goes into a new PCM's config, weights unchanged; refused
// for a PCM folder too.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../trainer/policy.h"
#include "test.h"

enum { K = 3 };
static backend *be;

static policy_params params(const char *path, float std, const float *alpha_init) {
    return (policy_params){.path = path, .hidden_size = 16, .layers = 1, .heads = 2, .kv_heads = 2,
                           .intermediate_size = 32, .max_seq = 16, .seed = 7, .init_std = std,
                           .alpha_init = alpha_init};
}

static float *download(const model *m) {
    float *p = malloc(m->nparams * sizeof(float));
    be->download(be->ctx, p, m->params_mem, m->nparams * sizeof(float));
    return p;
}

// Built with and without a: every tensor equal bit for bit but the alpha head's bias, which is log a.
static void check_only_bias(const char *path, int V, float std, const float *a, const char *what) {
    fx_err err;
    model with, without;
    policy_params pa = params(path, std, a), p0 = params(path, std, NULL);
    if (policy_build_pcm(&pa, K, V, be, &with, &err) || policy_build_pcm(&p0, K, V, be, &without, &err))
        fx_fatal("%s: %s", what, err.msg);
    CHECK_INT((int)with.nparams, (int)without.nparams);
    float *x = download(&with), *y = download(&without);
    const model_tensor *b = model_find_tensor(&with, "alpha_head.bias");
    CHECK(b && b->numel == K);
    for (int i = 0; i < K; i++) {
        CHECK(x[b->offset + i] == logf(a[i]));
        CHECK(y[b->offset + i] == 0.0f);
    }
    size_t differ = 0;
    for (size_t i = 0; i < with.nparams; i++) differ += memcmp(&x[i], &y[i], sizeof(float)) != 0;
    CHECK_INT((int)differ, K);
    if (differ != K) fprintf(stderr, "  (%s)\n", what);
    free(x), free(y);
    model_free(&with), model_free(&without);
}

// At init_std 0 every weight is 0 and every norm 1: h is 0, z = b, and alpha = softmax(log a) = a.
static void check_mix(const float *a) {
    fx_err err;
    model m;
    policy_params p = params(NULL, 0.0f, a);
    if (policy_build_pcm(&p, K, 40, be, &m, &err)) fx_fatal("%s", err.msg);
    enum { T = 5 };
    int32_t ids[T] = {3, 7, 11, 2, 39};
    float pref[T * K], z[T * K];
    for (int i = 0; i < T * K; i++) pref[i] = i % K == 0 ? 1.0f : 0.0f;
    model_reserve(&m, 1, T, false, false);
    model_forward_pref(&m, ids, NULL, NULL, pref, 1, T);
    model_pcm_forward(&m, z);
    for (int t = 0; t < T; t++) {
        double s = 0;
        for (int i = 0; i < K; i++) s += exp(z[t * K + i]);
        for (int i = 0; i < K; i++) CHECK(fabs(exp(z[t * K + i]) / s - a[i]) < 1e-6);
    }
    model_free(&m);
}

int main(void) {
    be = backend_cpu_create(1);
    const float a[K] = {0.7f, 0.2f, 0.1f};
    check_only_bias(NULL, 40, 0.02f, a, "a new PCM");
    check_only_bias("tests/data/model/qwen3_untied", 80, 0.02f, a, "a PCM on a language model's backbone");
    check_mix(a);
    // a PCM folder has its own alpha head
    fx_err err;
    model m;
    model_config mc;
    policy_params pcm = params("tests/data/pcm/tiny", 0.02f, a);
    CHECK_INT(policy_check_pcm(&pcm, K, 96, &mc, &err), -1);
    CHECK(strstr(err.msg, "pcm.alpha_init") && strstr(err.msg, "tests/data/pcm/tiny is a PCM already"));
    CHECK_INT(policy_build_pcm(&pcm, K, 96, be, &m, &err), -1);
    CHECK(strstr(err.msg, "pcm.alpha_init"));
    // pcm.preference_prior: a new PCM carries it in its config (and so its config.json), whether new
    // or on a language model's backbone, with the same weights as without; a PCM folder keeps its own
    const char *paths[2] = {NULL, "tests/data/model/qwen3_untied"};
    const int vocab[2] = {40, 80};
    for (int i = 0; i < 2; i++) {
        model with, without;
        policy_params pw = params(paths[i], 0.02f, NULL), p0 = params(paths[i], 0.02f, NULL);
        pw.preference_prior = 0.1f;
        if (policy_build_pcm(&pw, K, vocab[i], be, &with, &err) || policy_build_pcm(&p0, K, vocab[i], be, &without, &err))
            fx_fatal("%s", err.msg);
        CHECK(with.cfg.preference_prior == 0.1f && without.cfg.preference_prior == 0.0f);
        CHECK(policy_check_pcm(&pw, K, vocab[i], &mc, &err) == 0 && mc.preference_prior == 0.1f);
        float *x = download(&with), *y = download(&without);
        CHECK(memcmp(x, y, with.nparams * sizeof(float)) == 0);
        free(x), free(y);
        model_free(&with), model_free(&without);
    }
    pcm = params("tests/data/pcm/tiny", 0.02f, NULL);
    pcm.preference_prior = 0.1f;
    CHECK_INT(policy_check_pcm(&pcm, K, 96, &mc, &err), -1);
    CHECK(strstr(err.msg, "pcm.preference_prior") && strstr(err.msg, "tests/data/pcm/tiny is a PCM already"));
    backend_destroy(be);
    return test_summary("test_policy_pcm");
}
