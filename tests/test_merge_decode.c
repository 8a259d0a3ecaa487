// test_merge_decode.c — K experts (and a PCM) merged token by token in the continuous-batching
// engine (rollout/merge.h, rollout/engine.h; docs/pcm.md, issue 18):
//   (a) alpha one-hot on expert j — fixed weights w = e_j, or a PCM whose head is forced to e_j —
//       gives expert j's samples and log-probs alone in the engine, bit for bit;
//   (b) alpha = w: each sampled token's log-prob is the mixture log sum_i w_i pi_i(y) computed
//       directly from each expert's full forward over the sequence (prob space), or
//       log_softmax(sum_i w_i l_i)(y) (logit space), within a derived bound;
//   (c) ids, log-probs and alphas bit-identical with 1, 4 or 7 slots;
//   (d) with a PCM, the alpha of every sampled token equals softmax of model_forward_pref +
//       model_pcm_forward over the whole sequence, within a derived bound;
//   (e) preferences drawn per problem (rollout_merge_draw_pref): reproducible, on the simplex, uniform;
// and bad input: experts of other vocabularies, a PCM for another K, preferences off the simplex.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "../model/model_merge.h"
#include "../rollout/engine.h"
#include "../rollout/trace.h"
#include "test.h"

enum { K = 3, V = 67, NREQ = 14, MAX_NEW = 16, MAX_PROMPT = 12, KV = 64 };

static backend *be;
static model experts[K], pcm;

static model_config cfg(int kind) {
    model_config c;
    memset(&c, 0, sizeof c);
    bool qwen3 = kind == 1;
    strcpy(c.model_type, qwen3 ? "qwen3" : "qwen2");
    strcpy(c.architecture, kind == 2 ? "FluxrlPCMForTokenMixing" : qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2;
    c.head_dim = 8, c.intermediate_size = 48, c.vocab_size = V;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-6, c.max_position_embeddings = 128;
    c.bos_token_id = c.eos_token_id = -1;
    if (qwen3) c.qk_norm = true;
    else c.qkv_bias = true, c.tie_word_embeddings = kind == 0;
    if (kind == 2) c.num_experts = K;
    return c;
}

typedef struct {
    int32_t out[NREQ * MAX_NEW], finish[NREQ];
    float lp[NREQ * MAX_NEW], alpha[NREQ * MAX_NEW * K];
    int len[NREQ];
} results;

static int32_t prompt_mem[NREQ][MAX_PROMPT];
static const int32_t *prompts[NREQ];
static int plen[NREQ];
static uint64_t streams[NREQ];
static float prefs[NREQ * K]; // each request's preference

static rollout_decode_opts opts(sample_params sp) {
    static int32_t stop = 7;
    return (rollout_decode_opts){.sample = sp, .seed = 19, .stream = streams, .max_new = MAX_NEW, .stop = &stop,
                                 .nstop = 1};
}

static void run_single(model *m, int slots, sample_params sp, results *r) {
    fx_err err;
    rollout_engine e;
    memset(r, 0, sizeof *r);
    rollout_decode_opts o = opts(sp);
    CHECK_INT(rollout_engine_init(&e, m, slots, KV, &err), 0);
    CHECK_INT(rollout_engine_run(&e, prompts, plen, NREQ, &o, r->out, r->lp, r->len, r->finish, NULL, NULL, &err), 0);
}

// w: one preference for every request, or NULL: prefs (one each).
static void run_merged(bool with_pcm, rollout_merge_space space, const float *w, int slots, sample_params sp,
                       results *r) {
    fx_err err;
    rollout_engine e;
    memset(r, 0, sizeof *r);
    rollout_merge mx = {.K = K, .pcm = with_pcm ? &pcm : NULL, .space = space, .pref = w ? w : prefs,
                        .per_request = !w, .alpha = r->alpha};
    for (int i = 0; i < K; i++) mx.experts[i] = &experts[i];
    const char *names[K] = {"a", "b", "c"};
    CHECK_INT(rollout_merge_check(&mx, names, "pcm", &err), 0);
    rollout_decode_opts o = opts(sp);
    CHECK_INT(rollout_engine_init_merged(&e, &mx, slots, KV, &err), 0);
    CHECK_INT(rollout_engine_run(&e, prompts, plen, NREQ, &o, r->out, r->lp, r->len, r->finish, NULL, NULL, &err), 0);
    CHECK(e.param_bytes == (experts[0].nparams + experts[1].nparams + experts[2].nparams +
                            (with_pcm ? pcm.nparams : 0)) * sizeof(float));
}

// Same lengths, finishes, ids and log-probs (and alphas when asked), to the bit.
static bool same(const results *a, const results *b, bool alphas) {
    for (int i = 0; i < NREQ; i++) {
        if (a->len[i] != b->len[i] || a->finish[i] != b->finish[i]) return false;
        size_t at = (size_t)i * MAX_NEW, n = (size_t)a->len[i];
        if (memcmp(a->out + at, b->out + at, n * sizeof(int32_t)) || memcmp(a->lp + at, b->lp + at, n * sizeof(float)))
            return false;
        if (alphas && memcmp(a->alpha + at * K, b->alpha + at * K, n * K * sizeof(float))) return false;
    }
    return true;
}

static const sample_params SAMPLERS[] = {{1.0f, 0, 1.0f, 0}, {0.8f, 20, 0.9f, 0.05f}, {0, 0, 1.0f, 0}};
static const char *SAMPLER_NAMES[] = {"T=1", "T=0.8 top-k top-p min-p", "greedy"};

// (a) A one-hot alpha reproduces the expert alone, bit for bit: by fixed weights and by a PCM
// whose alpha head is W_a = 0, b_a = -1e30 but 0 at expert j (softmax: exactly 1 and 0).
static void test_one_hot(void) {
    static results single, merged;
    float zeros[K * 32] = {0}, bias[K];
    be->upload(be->ctx, pcm.p.alphaw, zeros, sizeof zeros);
    for (int s = 0; s < 3; s++)
        for (int j = 0; j < K; j++) {
            run_single(&experts[j], 4, SAMPLERS[s], &single);
            float w[K] = {0};
            w[j] = 1;
            for (int space = 0; space < 2; space++) {
                if (space == ROLLOUT_MERGE_LOGIT && SAMPLERS[s].temperature > 0) continue; // an ulp apart: see below
                run_merged(false, (rollout_merge_space)space, w, 4, SAMPLERS[s], &merged);
                CHECK(same(&single, &merged, false));
            }
            for (int i = 0; i < K; i++) bias[i] = i == j ? 0.0f : -1e30f;
            be->upload(be->ctx, pcm.p.alphab, bias, sizeof bias);
            run_merged(true, ROLLOUT_MERGE_PROB, NULL, 4, SAMPLERS[s], &merged);
            bool hot = true;
            for (int r = 0; r < NREQ; r++)
                for (int t = 0; t < merged.len[r]; t++)
                    for (int i = 0; i < K; i++) hot &= merged.alpha[((size_t)r * MAX_NEW + t) * K + i] == (i == j);
            CHECK(hot);
            bool ok = same(&single, &merged, false);
            printf("one-hot on expert %d, %s: fixed w and a one-hot PCM reproduce it alone: %s\n", j,
                   SAMPLER_NAMES[s], ok ? "yes" : "NO");
            CHECK(ok);
        }
    // The experts differ (the comparisons above can fail).
    results a, b;
    run_single(&experts[0], 4, SAMPLERS[0], &a);
    run_single(&experts[1], 4, SAMPLERS[0], &b);
    CHECK(!same(&a, &b, false));
}

// Each expert's log-softmax of the sequence prompt ++ response[0..len) at the positions that
// predict response tokens: lp (K, len) of the sampled tokens and, per token, max |logit| over
// every expert and the vocabulary (for the bound), and the logit-space log-prob.
static void replay(int r, const results *res, const float *w, double *lmix_prob, double *lmix_logit,
                   double *lmax) {
    int P = plen[r], n = res->len[r], T = P + n - 1;
    int32_t ids[MAX_PROMPT + MAX_NEW], tg[MAX_PROMPT + MAX_NEW];
    memcpy(ids, prompts[r], sizeof(int32_t) * P);
    memcpy(ids + P, res->out + (size_t)r * MAX_NEW, sizeof(int32_t) * (n - 1));
    for (int t = 0; t < T; t++) tg[t] = t >= P - 1 ? res->out[(size_t)r * MAX_NEW + t - (P - 1)] : -1;
    static float logits[K][(MAX_PROMPT + MAX_NEW) * V];
    for (int i = 0; i < K; i++) {
        model_reserve(&experts[i], 1, T, false, false);
        model_forward(&experts[i], ids, NULL, NULL, 1, T);
        model_lm_logits(&experts[i], 0, T, logits[i]);
    }
    for (int k = 0; k < n; k++) {
        int t = P - 1 + k;
        long double mix = 0, x[V], mx = -INFINITY, s = 0;
        lmax[k] = 1;
        for (int v = 0; v < V; v++) x[v] = 0;
        for (int i = 0; i < K; i++) {
            const float *l = logits[i] + (size_t)t * V;
            long double m = -INFINITY, z = 0;
            for (int v = 0; v < V; v++) m = fmaxl(m, l[v]), lmax[k] = fmax(lmax[k], fabs(l[v]));
            for (int v = 0; v < V; v++) z += expl(l[v] - m);
            mix += w[i] * expl(l[tg[t]] - m) / z;
            for (int v = 0; v < V; v++) x[v] += w[i] * l[v];
        }
        for (int v = 0; v < V; v++) mx = fmaxl(mx, x[v]);
        for (int v = 0; v < V; v++) s += expl(x[v] - mx);
        lmix_prob[k] = (double)logl(mix);
        lmix_logit[k] = (double)(x[tg[t]] - mx - logl(s));
    }
}

// (b) alpha = w, no PCM: at temperature 1 the log-prob the engine records for a sampled token is
// the merged distribution's. Bound: the engine's expert logits come from decoding, the direct
// mixture's from the full forward; they differ by at most b * max(1, |l|) with b test_model's
// decode bound 2 * 4 * (L + 1) * (C + QD + F + T) u. A log-softmax entry moves by at most twice
// the largest logit change, a log-mixture by at most the largest change of its terms, and the
// sampler rounds the probability in fp32 (a few u relative, taken as 16 u on 1 + |log p|).
static void test_fixed_mixture(void) {
    const float w[K] = {0.5f, 0.3f, 0.2f};
    const model *m = &experts[0];
    double b = 2 * 4 * (m->L + 1) * (double)(m->C + m->QD + m->F + MAX_PROMPT + MAX_NEW) * 0x1p-24;
    for (int space = 0; space < 2; space++) {
        static results res;
        run_merged(false, (rollout_merge_space)space, w, 4, SAMPLERS[0], &res);
        double worst = 0, worst_tol = 0, other = 0;
        int tokens = 0, far = 0;
        for (int r = 0; r < NREQ; r++) {
            double prob[MAX_NEW], logit[MAX_NEW], lmax[MAX_NEW];
            replay(r, &res, w, prob, logit, lmax);
            for (int k = 0; k < res.len[r]; k++) {
                double want = space == ROLLOUT_MERGE_PROB ? prob[k] : logit[k];
                double got = res.lp[(size_t)r * MAX_NEW + k], d = fabs(got - want);
                double tol = 2 * b * lmax[k] + 16 * 0x1p-24 * (1 + fabs(want));
                far += !(d <= tol);
                worst = fmax(worst, d), worst_tol = fmax(worst_tol, d / tol);
                other = fmax(other, fabs(got - (space == ROLLOUT_MERGE_PROB ? logit[k] : prob[k])));
                for (int i = 0; i < K; i++) CHECK(res.alpha[((size_t)r * MAX_NEW + k) * K + i] == w[i]);
                tokens++;
            }
        }
        printf("alpha = w (%s space): %d sampled tokens, recorded log-prob vs the direct mixture: worst %.2e "
               "(%.2f of the bound); vs the other space's %.2e\n", space ? "logit" : "prob", tokens, worst, worst_tol,
               other);
        CHECK_INT(far, 0);
        CHECK(other > 1e-2); // the two spaces differ: the check can tell them apart
    }
}

// (c) The same ids, log-probs and alphas with 1, 4 or 7 slots (refills, cache compactions).
static void test_slots(void) {
    static results ref, got;
    const float w[K] = {0.2f, 0.5f, 0.3f};
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++) {
            bool with_pcm = c == 0;
            rollout_merge_space space = with_pcm ? ROLLOUT_MERGE_PROB : ROLLOUT_MERGE_LOGIT;
            run_merged(with_pcm, space, with_pcm ? NULL : w, 1, SAMPLERS[s], &ref);
            for (int slots = 4; slots <= 7; slots += 3) {
                run_merged(with_pcm, space, with_pcm ? NULL : w, slots, SAMPLERS[s], &got);
                bool ok = same(&ref, &got, true);
                printf("%s, %s: %d slots vs 1: identical: %s\n", with_pcm ? "PCM, prob space" : "alpha = w, logit space",
                       SAMPLER_NAMES[s], slots, ok ? "yes" : "NO");
                CHECK(ok);
            }
        }
}

// (d) The alpha each token was drawn with is the PCM's over the whole sequence: softmax(z) of
// model_forward_pref + model_pcm_forward on prompt ++ response, each token with its request's
// preference. Bound as test_pcm's decode check: z within 2 * 4 * (L + 1) * (K + C + QD + F + T) u
// of max(1, |z|), alpha within half the largest change of z.
static void test_pcm_alpha(void) {
    static results res;
    run_merged(true, ROLLOUT_MERGE_PROB, NULL, 4, SAMPLERS[0], &res);
    double b = 2 * 4 * (pcm.L + 1) * (double)(K + pcm.C + pcm.QD + pcm.F + MAX_PROMPT + MAX_NEW) * 0x1p-24;
    double worst = 0, spread = 0;
    int tokens = 0, far = 0;
    for (int r = 0; r < NREQ; r++) {
        int P = plen[r], n = res.len[r], T = P + n - 1;
        int32_t ids[MAX_PROMPT + MAX_NEW];
        float pref[(MAX_PROMPT + MAX_NEW) * K], z[(MAX_PROMPT + MAX_NEW) * K], a[K];
        memcpy(ids, prompts[r], sizeof(int32_t) * P);
        memcpy(ids + P, res.out + (size_t)r * MAX_NEW, sizeof(int32_t) * (n - 1));
        for (int t = 0; t < T; t++) memcpy(pref + t * K, prefs + r * K, sizeof(float) * K);
        model_reserve(&pcm, 1, T, false, false);
        model_forward_pref(&pcm, ids, NULL, NULL, pref, 1, T);
        model_pcm_forward(&pcm, z);
        for (int k = 0; k < n; k++) {
            const float *zt = z + (size_t)(P - 1 + k) * K, *got = res.alpha + ((size_t)r * MAX_NEW + k) * K;
            model_merge_alpha(zt, 1, K, a, NULL);
            double zmax = 1;
            for (int i = 0; i < K; i++) zmax = fmax(zmax, fabs(zt[i]));
            for (int i = 0; i < K; i++) {
                double d = fabs((double)got[i] - a[i]);
                far += !(d <= b * zmax / 2 + 0x1p-23);
                worst = fmax(worst, d);
                spread = fmax(spread, fabs((double)got[i] - got[i % K == 0 ? 1 : 0]));
            }
            tokens++;
        }
    }
    printf("PCM: %d sampled tokens, alpha vs the full forward: worst %.2e (bound %.2e at |z| <= 1); alphas differ "
           "across experts by up to %.2f\n", tokens, worst, b / 2 + 0x1p-23, spread);
    CHECK_INT(far, 0);
    CHECK(spread > 1e-3); // alpha is not uniform: the comparison can fail
    // The preference reaches alpha: another preference, other alphas.
    static results other;
    float w[K] = {1, 0, 0};
    run_merged(true, ROLLOUT_MERGE_PROB, w, 4, SAMPLERS[2], &other);
    run_merged(true, ROLLOUT_MERGE_PROB, NULL, 4, SAMPLERS[2], &res);
    CHECK(memcmp(other.alpha, res.alpha, sizeof(float) * K) != 0);
}

// The merged row alone (prob space, random logits): softmax of the row is the direct mixture
// sum_i w_i softmax(l_i) in long double, within 8 fp32 ulps of each probability.
static void test_row(void) {
    enum { VR = 200 };
    float l[K][VR], row[VR], a[K] = {0.6f, 0.0f, 0.4f}, la[K];
    float *rows[K] = {l[0], l[1], l[2]};
    fx_rng g = fx_rng_make(5, 5);
    for (int i = 0; i < K; i++)
        for (int v = 0; v < VR; v++) l[i][v] = 8.0f * (fx_rng_float(&g) - 0.5f) + (float)i * 30; // other shifts
    long double want[VR] = {0};
    for (int i = 0; i < K; i++) {
        long double m = -INFINITY, z = 0;
        for (int v = 0; v < VR; v++) m = fmaxl(m, l[i][v]);
        for (int v = 0; v < VR; v++) z += expl(l[i][v] - m);
        for (int v = 0; v < VR; v++) want[v] += a[i] * expl(l[i][v] - m) / z;
        la[i] = a[i] > 0 ? logf(a[i]) : -INFINITY;
    }
    rollout_merge_row(ROLLOUT_MERGE_PROB, a, la, rows, K, VR, row);
    long double m = -INFINITY, z = 0, worst = 0;
    for (int v = 0; v < VR; v++) m = fmaxl(m, row[v]);
    for (int v = 0; v < VR; v++) z += expl(row[v] - m);
    for (int v = 0; v < VR; v++) worst = fmaxl(worst, fabsl(expl(row[v] - m) / z - want[v]) / want[v]);
    printf("merged row vs the direct mixture: worst relative difference of a probability %.2Le\n", worst);
    CHECK(worst <= 8 * 0x1p-24 * (1 + logl(VR)));
}

static void test_bad_input(void) {
    fx_err err;
    rollout_merge mx = {.K = 2, .experts = {&experts[0], &experts[1]}};
    const char *names[] = {"dirA", "dirB"};
    model other;
    model_config c = cfg(0);
    c.vocab_size = V + 1;
    model_init_random(&other, &c, MODEL_HEAD_LM, be, 1, 0.5f, 0);
    mx.experts[1] = &other;
    CHECK_INT(rollout_merge_check(&mx, names, "pcmdir", &err), -1);
    printf("error: %s\n", err.msg);
    CHECK(strstr(err.msg, "dirA") && strstr(err.msg, "dirB") && strstr(err.msg, "vocab_size"));
    model_free(&other);
    mx.experts[1] = &experts[1];
    mx.pcm = &pcm; // K = 3
    CHECK_INT(rollout_merge_check(&mx, names, "pcmdir", &err), -1);
    printf("error: %s\n", err.msg);
    CHECK(strstr(err.msg, "pcmdir") && strstr(err.msg, "num_experts: expected 2"));
    mx.pcm = &experts[2];
    mx.K = 1;
    CHECK_INT(rollout_merge_check(&mx, names, "pcmdir", &err), -1);
    CHECK(strstr(err.msg, "FluxrlPCMForTokenMixing") != NULL);
    float bad[][2] = {{0.7f, 0.4f}, {1.2f, -0.2f}, {NAN, 1}, {0.5f, 0.5f}};
    CHECK_INT(rollout_merge_check_pref(bad[0], 2, "--preference", &err), -1);
    CHECK(strstr(err.msg, "--preference") && strstr(err.msg, "summing to 1"));
    CHECK_INT(rollout_merge_check_pref(bad[1], 2, "--preference", &err), -1);
    CHECK(strstr(err.msg, "weight 2") && strstr(err.msg, ">= 0"));
    CHECK_INT(rollout_merge_check_pref(bad[2], 2, "--preference", &err), -1);
    CHECK(strstr(err.msg, "weight 1") != NULL);
    CHECK_INT(rollout_merge_check_pref(bad[3], 2, "--preference", &err), 0);
    rollout_merge_space sp;
    CHECK(rollout_merge_space_parse("logit", &sp) == 0 && sp == ROLLOUT_MERGE_LOGIT);
    CHECK(rollout_merge_space_parse("mean", &sp) == -1);
}

// rollout_merge_draw_pref: the same weights for the same (seed, key), accepted on the simplex, and
// uniform on it: for K = 2, w_1 of Dirichlet(1, 1) is uniform on [0, 1] (a Kolmogorov–Smirnov
// distance under 1.63 / sqrt(n), the 1% critical value, over n = 4000 keys); for K = 3 each
// weight's mean is 1/3 (its sd is sqrt(2/36); 5 sd / sqrt(n) of room).
static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_draw_pref(void) {
    enum { N = 4000 };
    static float w1[N];
    float w[3], again[3];
    fx_err err;
    int ok = 0;
    double mean[3] = {0};
    for (int i = 0; i < N; i++) {
        rollout_merge_draw_pref(9, (uint64_t)i, 3, w);
        rollout_merge_draw_pref(9, (uint64_t)i, 3, again);
        ok += !memcmp(w, again, sizeof w) && !rollout_merge_check_pref(w, 3, "draw", &err);
        for (int k = 0; k < 3; k++) mean[k] += w[k] / N;
        rollout_merge_draw_pref(9, (uint64_t)i, 2, w);
        ok += !rollout_merge_check_pref(w, 2, "draw", &err);
        w1[i] = w[0];
    }
    CHECK_INT(ok, 2 * N);
    qsort(w1, N, sizeof *w1, cmp_float);
    double ks = 0;
    for (int i = 0; i < N; i++) ks = fmax(ks, fmax(fabs((i + 1.0) / N - w1[i]), fabs(w1[i] - (double)i / N)));
    printf("preference draws: KS distance of w_1 (K = 2) from uniform %.4f (bound %.4f); means (K = 3) %.4f %.4f %.4f\n",
           ks, 1.63 / sqrt(N), mean[0], mean[1], mean[2]);
    CHECK(ks < 1.63 / sqrt(N));
    for (int k = 0; k < 3; k++) CHECK_NEAR(mean[k], 1.0 / 3, 5 * sqrt(2.0 / 36) / sqrt(N));
    rollout_merge_draw_pref(10, 0, 3, again); // another seed, other weights
    rollout_merge_draw_pref(9, 0, 3, w);
    CHECK(memcmp(w, again, sizeof w) != 0);
}

// rollout_merge_draw_pref_from: UNIFORM is rollout_merge_draw_pref's draw; DIRICHLET(0.5, 0.5)'s
// w_1 is Beta(0.5, 0.5), CDF (2/pi) asin(sqrt(x)) (KS distance under the 1% critical value);
// DIRICHLET(3, 3, 3)'s weights have mean 1/3 and variance a(a0 - a) / (a0^2 (a0 + 1)) = 1/45;
// CORNERS are one-hot, each expert 1/K of the time; alpha = 0.01 stays on the simplex (no 0/0).
static void test_draw_pref_dists(void) {
    enum { N = 4000 };
    static float w1[N];
    float w[3], u[3];
    fx_err err;
    rollout_pref_dist uni = {ROLLOUT_PREF_UNIFORM, 0}, half = {ROLLOUT_PREF_DIRICHLET, 0.5},
                      three = {ROLLOUT_PREF_DIRICHLET, 3}, tiny = {ROLLOUT_PREF_DIRICHLET, 0.01},
                      corners = {ROLLOUT_PREF_CORNERS, 0};
    int ok = 0, hot[3] = {0};
    double mean = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        rollout_merge_draw_pref_from(4, (uint64_t)i, 3, &uni, w);
        rollout_merge_draw_pref(4, (uint64_t)i, 3, u);
        ok += !memcmp(w, u, sizeof w);
        rollout_merge_draw_pref_from(4, (uint64_t)i, 2, &half, w);
        ok += !rollout_merge_check_pref(w, 2, "draw", &err);
        w1[i] = w[0];
        rollout_merge_draw_pref_from(4, (uint64_t)i, 3, &three, w);
        ok += !rollout_merge_check_pref(w, 3, "draw", &err);
        mean += w[1] / N, sq += (double)w[1] * w[1] / N;
        rollout_merge_draw_pref_from(4, (uint64_t)i, 3, &tiny, w);
        ok += !rollout_merge_check_pref(w, 3, "draw", &err);
        rollout_merge_draw_pref_from(4, (uint64_t)i, 3, &corners, w);
        int ones = 0;
        for (int k = 0; k < 3; k++) ones += w[k] == 1.0f, hot[k] += w[k] == 1.0f;
        ok += ones == 1 && w[0] + w[1] + w[2] == 1.0f;
    }
    CHECK_INT(ok, 5 * N);
    qsort(w1, N, sizeof *w1, cmp_float);
    double ks = 0;
    for (int i = 0; i < N; i++) {
        double F = 2 / acos(-1.0) * asin(sqrt((double)w1[i]));
        ks = fmax(ks, fmax(fabs((i + 1.0) / N - F), fabs(F - (double)i / N)));
    }
    double var = sq - mean * mean;
    printf("preference dists: Dirichlet(0.5, 0.5) KS %.4f (bound %.4f); Dirichlet(3, 3, 3) mean %.4f var %.5f "
           "(1/45 = %.5f); corners %d %d %d of %d\n", ks, 1.63 / sqrt(N), mean, var, 1.0 / 45, hot[0], hot[1], hot[2], N);
    CHECK(ks < 1.63 / sqrt(N));
    CHECK_NEAR(mean, 1.0 / 3, 5 * sqrt(1.0 / 45) / sqrt(N));
    CHECK_NEAR(var, 1.0 / 45, 0.15 / 45); // the sd of a sample variance here is about 4% of it
    for (int k = 0; k < 3; k++) CHECK_NEAR(hot[k], N / 3.0, 5 * sqrt(N * (1.0 / 3) * (2.0 / 3)));
}

int main(void) {
    be = backend_cpu_create(0);
    model_config c0 = cfg(0), c1 = cfg(1), cp = cfg(2);
    model_init_random(&experts[0], &c0, MODEL_HEAD_LM, be, 5, 0.5f, 0.1f);
    model_init_random(&experts[1], &c0, MODEL_HEAD_LM, be, 6, 0.5f, 0.1f);
    model_init_random(&experts[2], &c1, MODEL_HEAD_LM, be, 7, 0.5f, 0.1f); // another shape, one vocabulary
    model_init_random(&pcm, &cp, MODEL_HEAD_PCM, be, 8, 0.5f, 0.1f);
    fx_rng r = fx_rng_make(4, 4);
    for (int i = 0; i < NREQ; i++) {
        plen[i] = 1 + (int)fx_rng_below(&r, MAX_PROMPT - 1);
        for (int t = 0; t < plen[i]; t++) prompt_mem[i][t] = (int32_t)fx_rng_below(&r, V);
        prompts[i] = prompt_mem[i];
        streams[i] = rollout_stream((uint64_t)i / 2, (uint64_t)i % 2);
        float a = fx_rng_float(&r), b = fx_rng_float(&r) * (1 - a);
        prefs[i * K] = a, prefs[i * K + 1] = b, prefs[i * K + 2] = 1 - a - b;
    }
    test_draw_pref();
    test_draw_pref_dists();
    test_row();
    test_one_hot();
    test_fixed_mixture();
    // test_one_hot forced the PCM's head; a fresh one for the PCM's own alphas
    model_free(&pcm);
    model_init_random(&pcm, &cp, MODEL_HEAD_PCM, be, 8, 0.5f, 0.1f);
    test_slots();
    test_pcm_alpha();
    test_bad_input();
    for (int i = 0; i < K; i++) model_free(&experts[i]);
    model_free(&pcm);
    backend_destroy(be);
    return test_summary("test_merge_decode");
}
