// test_cuda_ops.c — the CUDA backend against the CPU backend (as ggml's test-backend-ops): every
// op of model/backend.h on random inputs, then a tiny model's loss, gradients and KV-cache decode,
// then three AdamW steps, in both precisions. Errors are normalised: NMSE = sum (gpu - cpu)^2 /
// sum cpu^2 per output, with a threshold per precision (docs/gpu.md):
//   fp32 ops (every op in FP32; every op but matmul in BF16)     NMSE < 1e-9
//   matmul in BF16 (bf16 inputs, fp32 accumulation)              NMSE < 1e-4
//   attention in BF16 with head 64/128 (tensor-core forward)      NMSE < 1e-3
//   tiny model, first step: gradients FP32 < 1e-8, BF16 < 1e-3; losses of 3 AdamW steps and the
//   gradient norms: FP32 |rel| < 1e-5, BF16 < 1e-2 (losses) and 5e-2 (norms: three AdamW steps
//   at lr 1e-2 amplify bf16 rounding); KV-cache decode logits after the steps FP32 < 1e-8, BF16 < 1e-2.
//   linear_rows (fp32 in both precisions) NMSE < 1e-9, and its rows bitwise equal whatever the
//   number of rows in the call and their offset (batch invariance, backend.h).
// Backward ops accumulate (+=), so their outputs start from random values, not zero.
// Without a CUDA device this program fails (exit 1) and prints no pass count: ctest runs it only
// on machines with a device (label gpu, launch/test.sh), and by hand it must never look passed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/rng.h"
#include "../../model/cuda/cuda_backend.h"
#include "../../model/model.h"
#include "../test.h"

typedef struct {
    backend *cpu, *gpu;
    backend_cuda_precision prec;
    const char *pname;
    fx_rng rng;
} pair;

// A device buffer on each backend holding the same host values.
typedef struct {
    void *c, *g;
    size_t bytes;
} buf2;

static buf2 put(pair *p, const void *host, size_t bytes) {
    buf2 b = {p->cpu->alloc(p->cpu->ctx, bytes), p->gpu->alloc(p->gpu->ctx, bytes), bytes};
    if (host) {
        p->cpu->upload(p->cpu->ctx, b.c, host, bytes);
        p->gpu->upload(p->gpu->ctx, b.g, host, bytes);
    }
    return b;
}

static buf2 put_rand(pair *p, size_t n, float scale) {
    float *h = fx_malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) h[i] = (float)fx_rng_normal(&p->rng) * scale;
    buf2 b = put(p, h, n * sizeof(float));
    free(h);
    return b;
}

static void drop(pair *p, buf2 b) {
    p->cpu->free(p->cpu->ctx, b.c);
    p->gpu->free(p->gpu->ctx, b.g);
}

// NMSE of the GPU's floats against the CPU's; prints it when over the limit.
static double nmse_of(const float *g, const float *c, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)g[i] - (double)c[i];
        num += d * d;
        den += (double)c[i] * c[i];
    }
    if (num != num) return INFINITY; // NaN on the GPU side
    return den > 0 ? num / den : num;
}

static void check_buf(pair *p, buf2 b, size_t n, double limit, const char *what) {
    float *c = fx_malloc(n * sizeof(float) + 1), *g = fx_malloc(n * sizeof(float) + 1);
    p->cpu->download(p->cpu->ctx, c, b.c, n * sizeof(float));
    p->gpu->download(p->gpu->ctx, g, b.g, n * sizeof(float));
    double e = nmse_of(g, c, n);
    if (e < limit) test_passed++;
    else {
        test_failed++;
        fprintf(stderr, "FAIL [%s] %s: NMSE %.3g >= %.3g\n", p->pname, what, e, limit);
    }
    free(c), free(g);
}

#define F(b) ((float *)(b))
#define I(b) ((int32_t *)(b))
#define EPS32 1e-9

// --- ops ---------------------------------------------------------------------------------------------------

static void test_matmul(pair *p) {
    static const int shapes[][3] = {{37, 53, 29}, {256, 384, 512}, {1, 896, 128}, {64, 100, 8}, {300, 5, 70}};
    double lim = p->prec == BACKEND_CUDA_BF16 ? 1e-4 : EPS32;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mode = 0; mode < 8; mode++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            bool ta = mode & 1, tb = mode & 2, acc = mode & 4;
            // offsets of one float: unaligned pointers, as a tensor inside the parameter buffer
            buf2 a = put_rand(p, (size_t)M * K + 1, 1.0f), b = put_rand(p, (size_t)K * N + 1, 1.0f);
            buf2 c = put_rand(p, (size_t)M * N + 1, 1.0f);
            p->cpu->matmul(p->cpu->ctx, F(c.c) + 1, F(a.c) + 1, F(b.c) + 1, M, N, K, ta, tb, acc);
            p->gpu->matmul(p->gpu->ctx, F(c.g) + 1, F(a.g) + 1, F(b.g) + 1, M, N, K, ta, tb, acc);
            char what[96];
            snprintf(what, sizeof what, "matmul M=%d N=%d K=%d ta=%d tb=%d acc=%d", M, N, K, ta, tb, acc);
            check_buf(p, c, (size_t)M * N + 1, lim, what);
            drop(p, a), drop(p, b), drop(p, c);
        }
    // K = 0: C = 0, or unchanged when accumulating
    buf2 c = put_rand(p, 12, 1.0f);
    p->cpu->matmul(p->cpu->ctx, F(c.c), NULL, NULL, 3, 4, 0, false, true, false);
    p->gpu->matmul(p->gpu->ctx, F(c.g), NULL, NULL, 3, 4, 0, false, true, false);
    check_buf(p, c, 12, EPS32, "matmul K=0");
    drop(p, c);
}

// linear_rows (the CUDA backend's batch-invariant linear, fp32 in both precisions) against the
// CPU's matmul + add_bias: decoding shapes (M <= 64: partial sums per chunk of 256 k, then their
// sum), prefill shapes (M > 64: one block walks every chunk; M >= 256: 128 x 128 tiles), K of 0,
// 1, 2 and 3 chunks, odd N, unaligned pointers, with and without bias.
// params_written (a sharded trainer's gather): the buffer is a parameter from then on, its bf16
// copy kept across matmuls; a write through the backend after it (an upload) makes the copy stale,
// so the next matmul reads the new weights (a stale copy would give the old product: NMSE ~ 2).
static void test_params_written(pair *p) {
    enum { M = 96, N = 80, K = 72 }; // over 64 rows and columns: the bf16 path (cuda_matmul.cu)
    double lim = p->prec == BACKEND_CUDA_BF16 ? 1e-4 : EPS32;
    buf2 a = put_rand(p, (size_t)M * K, 1.0f), w = put_rand(p, (size_t)N * K, 1.0f), c = put_rand(p, (size_t)M * N, 1.0f);
    FX_ASSERT(p->gpu->params_written && !p->cpu->params_written);
    p->gpu->params_written(p->gpu->ctx, F(w.g), (size_t)N * K);
    for (int round = 0; round < 3; round++) {
        if (round == 2) { // new weights, written through the backend
            float *h = fx_malloc((size_t)N * K * sizeof(float));
            for (size_t i = 0; i < (size_t)N * K; i++) h[i] = (float)fx_rng_normal(&p->rng);
            p->cpu->upload(p->cpu->ctx, w.c, h, (size_t)N * K * sizeof(float));
            p->gpu->upload(p->gpu->ctx, w.g, h, (size_t)N * K * sizeof(float));
            free(h);
        }
        p->cpu->matmul(p->cpu->ctx, F(c.c), F(a.c), F(w.c), M, N, K, false, true, false);
        p->gpu->matmul(p->gpu->ctx, F(c.g), F(a.g), F(w.g), M, N, K, false, true, false);
        char what[64];
        snprintf(what, sizeof what, "matmul on written parameters, round %d", round);
        check_buf(p, c, (size_t)M * N, lim, what);
    }
    drop(p, a), drop(p, w), drop(p, c);
}

static void test_linear_rows(pair *p) {
    static const int shapes[][3] = {{1, 37, 53}, {3, 300, 70}, {17, 64, 5}, {64, 513, 33}, {200, 45, 131},
                                    {300, 260, 40}, {5, 0, 9}};
    CHECK(p->gpu->linear_rows != NULL && p->cpu->linear_rows == NULL);
    if (!p->gpu->linear_rows) return;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int bias = 0; bias < 2; bias++) {
            int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            buf2 x = put_rand(p, (size_t)M * K + 1, 1.0f), w = put_rand(p, (size_t)N * K + 1, 1.0f);
            buf2 b = put_rand(p, (size_t)N + 1, 1.0f), y = put_rand(p, (size_t)M * N + 1, 1.0f);
            p->cpu->matmul(p->cpu->ctx, F(y.c) + 1, F(x.c) + 1, F(w.c) + 1, M, N, K, false, true, false);
            if (bias) p->cpu->add_bias(p->cpu->ctx, F(y.c) + 1, F(b.c) + 1, M, N);
            p->gpu->linear_rows(p->gpu->ctx, F(y.g) + 1, F(x.g) + 1, F(w.g) + 1, bias ? F(b.g) + 1 : NULL, M, K, N);
            char what[96];
            snprintf(what, sizeof what, "linear_rows M=%d K=%d N=%d bias=%d", M, K, N, bias);
            check_buf(p, y, (size_t)M * N + 1, EPS32, what);
            drop(p, x), drop(p, w), drop(p, b), drop(p, y);
        }
}

// Batch invariance: rows computed in calls of M rows at different offsets of a 300-row batch are
// bitwise equal to the same rows of one call over the whole batch (which takes the 128 x 128
// tiles; M = 200 the narrow prefill tiles; M <= 64 the decoding path).
static void test_linear_rows_invariance(pair *p) {
    if (!p->gpu->linear_rows) return;
    enum { MB = 300, K = 700, N = 45 }; // K: 3 chunks, the last one short
    static const int ms[] = {1, 3, 8, 17, 64, 200};
    buf2 x = put_rand(p, (size_t)MB * K, 1.0f), w = put_rand(p, (size_t)N * K, 0.1f), b = put_rand(p, N, 1.0f);
    buf2 y = put(p, NULL, (size_t)MB * N * sizeof(float)), ys = put(p, NULL, (size_t)MB * N * sizeof(float));
    void *g = p->gpu->ctx;
    p->gpu->linear_rows(g, F(y.g), F(x.g), F(w.g), F(b.g), MB, K, N);
    float *all = fx_malloc((size_t)MB * N * sizeof(float)), *part = fx_malloc((size_t)MB * N * sizeof(float));
    p->gpu->download(g, all, y.g, (size_t)MB * N * sizeof(float));
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        int M = ms[i], offs[3] = {0, 7, MB - M};
        for (int o = 0; o < 3; o++) {
            int off = offs[o] + M <= MB ? offs[o] : 0;
            p->gpu->linear_rows(g, F(ys.g), F(x.g) + (size_t)off * K, F(w.g), F(b.g), M, K, N);
            p->gpu->download(g, part, ys.g, (size_t)M * N * sizeof(float));
            if (memcmp(part, all + (size_t)off * N, (size_t)M * N * sizeof(float)) == 0) test_passed++;
            else {
                test_failed++;
                fprintf(stderr, "FAIL [%s] linear_rows rows %d..%d of a %d-row call differ from the same rows of a "
                                "%d-row call\n", p->pname, off, off + M - 1, M, MB);
            }
        }
    }
    // and the whole batch against the CPU
    p->cpu->matmul(p->cpu->ctx, F(y.c), F(x.c), F(w.c), MB, N, K, false, true, false);
    p->cpu->add_bias(p->cpu->ctx, F(y.c), F(b.c), MB, N);
    check_buf(p, y, (size_t)MB * N, EPS32, "linear_rows invariance batch");
    free(all), free(part);
    drop(p, x), drop(p, w), drop(p, b), drop(p, y), drop(p, ys);
}

static void test_layers(pair *p) {
    const int N = 70, C = 200, V = 50, NH = 3;
    // bias
    buf2 out = put_rand(p, (size_t)N * C, 1), bias = put_rand(p, C, 1);
    p->cpu->add_bias(p->cpu->ctx, F(out.c), F(bias.c), N, C);
    p->gpu->add_bias(p->gpu->ctx, F(out.g), F(bias.g), N, C);
    check_buf(p, out, (size_t)N * C, EPS32, "add_bias");
    p->cpu->bias_backward(p->cpu->ctx, F(bias.c), F(out.c), N, C);
    p->gpu->bias_backward(p->gpu->ctx, F(bias.g), F(out.g), N, C);
    check_buf(p, bias, C, EPS32, "bias_backward");
    drop(p, bias);
    // embedding, with repeated ids
    int32_t ids[70];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)fx_rng_below(&p->rng, V / 5);
    buf2 id = put(p, ids, sizeof ids), wte = put_rand(p, (size_t)V * C, 1);
    p->cpu->embedding_forward(p->cpu->ctx, F(out.c), I(id.c), F(wte.c), N, C);
    p->gpu->embedding_forward(p->gpu->ctx, F(out.g), I(id.g), F(wte.g), N, C);
    check_buf(p, out, (size_t)N * C, EPS32, "embedding_forward");
    p->cpu->embedding_backward(p->cpu->ctx, F(wte.c), F(out.c), I(id.c), N, C);
    p->gpu->embedding_backward(p->gpu->ctx, F(wte.g), F(out.g), I(id.g), N, C);
    check_buf(p, wte, (size_t)V * C, EPS32, "embedding_backward");
    drop(p, wte), drop(p, id);
    // RMSNorm
    buf2 inp = put_rand(p, (size_t)N * C, 2), w = put_rand(p, C, 1), rstd = put(p, NULL, N * sizeof(float));
    p->cpu->rmsnorm_forward(p->cpu->ctx, F(out.c), F(rstd.c), F(inp.c), F(w.c), N, C, 1e-6f);
    p->gpu->rmsnorm_forward(p->gpu->ctx, F(out.g), F(rstd.g), F(inp.g), F(w.g), N, C, 1e-6f);
    check_buf(p, out, (size_t)N * C, EPS32, "rmsnorm_forward out");
    check_buf(p, rstd, N, EPS32, "rmsnorm_forward rstd");
    buf2 dout = put_rand(p, (size_t)N * C, 1), dinp = put_rand(p, (size_t)N * C, 1), dw = put_rand(p, C, 1);
    p->cpu->rmsnorm_backward(p->cpu->ctx, F(dinp.c), F(dw.c), F(dout.c), F(inp.c), F(w.c), F(rstd.c), N, C);
    p->gpu->rmsnorm_backward(p->gpu->ctx, F(dinp.g), F(dw.g), F(dout.g), F(inp.g), F(w.g), F(rstd.g), N, C);
    check_buf(p, dinp, (size_t)N * C, EPS32, "rmsnorm_backward dinp");
    check_buf(p, dw, C, EPS32, "rmsnorm_backward dw");
    // qk_norm's shape: rows of HS
    p->cpu->rmsnorm_forward(p->cpu->ctx, F(out.c), NULL, F(inp.c), F(w.c), N * 3, 64, 1e-6f);
    p->gpu->rmsnorm_forward(p->gpu->ctx, F(out.g), NULL, F(inp.g), F(w.g), N * 3, 64, 1e-6f);
    check_buf(p, out, (size_t)N * 3 * 64, EPS32, "rmsnorm_forward HS rows, rstd NULL");
    drop(p, w), drop(p, rstd), drop(p, dinp), drop(p, dw);
    // RoPE, long positions
    int32_t pos[70];
    for (int i = 0; i < N; i++) pos[i] = (int32_t)fx_rng_below(&p->rng, 4000);
    buf2 ps = put(p, pos, sizeof pos);
    for (int hs = 64; hs <= 128; hs += 64) {
        size_t nr = (size_t)N * NH * hs;
        buf2 x = put_rand(p, nr, 1), dx = put_rand(p, nr, 1);
        p->cpu->rope_forward(p->cpu->ctx, F(x.c), I(ps.c), N, NH, hs, 1e6f);
        p->gpu->rope_forward(p->gpu->ctx, F(x.g), I(ps.g), N, NH, hs, 1e6f);
        check_buf(p, x, nr, EPS32, "rope_forward");
        p->cpu->rope_backward(p->cpu->ctx, F(dx.c), I(ps.c), N, NH, hs, 1e4f);
        p->gpu->rope_backward(p->gpu->ctx, F(dx.g), I(ps.g), N, NH, hs, 1e4f);
        check_buf(p, dx, nr, EPS32, "rope_backward");
        drop(p, x), drop(p, dx);
    }
    drop(p, ps);
    // SwiGLU, ReLU, elementwise
    size_t n = (size_t)N * C;
    buf2 up = put_rand(p, n, 1), dg = put_rand(p, n, 1), du = put_rand(p, n, 1);
    p->cpu->swiglu_forward(p->cpu->ctx, F(out.c), F(inp.c), F(up.c), n);
    p->gpu->swiglu_forward(p->gpu->ctx, F(out.g), F(inp.g), F(up.g), n);
    check_buf(p, out, n, EPS32, "swiglu_forward");
    p->cpu->swiglu_backward(p->cpu->ctx, F(dg.c), F(du.c), F(dout.c), F(inp.c), F(up.c), n);
    p->gpu->swiglu_backward(p->gpu->ctx, F(dg.g), F(du.g), F(dout.g), F(inp.g), F(up.g), n);
    check_buf(p, dg, n, EPS32, "swiglu_backward dgate");
    check_buf(p, du, n, EPS32, "swiglu_backward dup");
    p->cpu->relu_forward(p->cpu->ctx, F(out.c), F(inp.c), n);
    p->gpu->relu_forward(p->gpu->ctx, F(out.g), F(inp.g), n);
    check_buf(p, out, n, EPS32, "relu_forward");
    p->cpu->relu_backward(p->cpu->ctx, F(dg.c), F(dout.c), F(inp.c), n);
    p->gpu->relu_backward(p->gpu->ctx, F(dg.g), F(dout.g), F(inp.g), n);
    check_buf(p, dg, n, EPS32, "relu_backward");
    p->cpu->add(p->cpu->ctx, F(out.c), F(inp.c), F(up.c), n);
    p->gpu->add(p->gpu->ctx, F(out.g), F(inp.g), F(up.g), n);
    check_buf(p, out, n, EPS32, "add");
    p->cpu->axpy(p->cpu->ctx, F(out.c), F(dg.c), -0.37f, n);
    p->gpu->axpy(p->gpu->ctx, F(out.g), F(dg.g), -0.37f, n);
    check_buf(p, out, n, EPS32, "axpy");
    p->cpu->scale(p->cpu->ctx, F(out.c), 0.61f, n);
    p->gpu->scale(p->gpu->ctx, F(out.g), 0.61f, n);
    check_buf(p, out, n, EPS32, "scale");
    double sc = p->cpu->sumsq(p->cpu->ctx, F(out.c), n), sg = p->gpu->sumsq(p->gpu->ctx, F(out.g), n);
    CHECK_NEAR(sg / sc, 1.0, 1e-6);
    drop(p, up), drop(p, dg), drop(p, du), drop(p, out), drop(p, inp), drop(p, dout);
}

static void test_logprob(pair *p, int n, int V) {
    int32_t tg[8];
    for (int i = 0; i < n; i++) tg[i] = i % 3 == 2 ? -1 : (int32_t)fx_rng_below(&p->rng, (uint64_t)V);
    buf2 z = put_rand(p, (size_t)n * V, 3), t = put(p, tg, sizeof(int32_t) * (size_t)n);
    buf2 logp = put(p, NULL, n * sizeof(float)), lse = put(p, NULL, n * sizeof(float));
    buf2 ent = put(p, NULL, n * sizeof(float)), dl = put_rand(p, n, 1), de = put_rand(p, n, 1);
    p->cpu->logprob_forward(p->cpu->ctx, F(logp.c), F(lse.c), F(ent.c), F(z.c), I(t.c), n, V);
    p->gpu->logprob_forward(p->gpu->ctx, F(logp.g), F(lse.g), F(ent.g), F(z.g), I(t.g), n, V);
    char what[64];
    snprintf(what, sizeof what, "logprob_forward V=%d", V);
    check_buf(p, logp, n, EPS32, what);
    check_buf(p, lse, n, EPS32, what);
    check_buf(p, ent, n, EPS32, what);
    p->cpu->logprob_backward(p->cpu->ctx, F(z.c), I(t.c), F(lse.c), F(ent.c), F(dl.c), F(de.c), n, V);
    p->gpu->logprob_backward(p->gpu->ctx, F(z.g), I(t.g), F(lse.g), F(ent.g), F(dl.g), F(de.g), n, V);
    snprintf(what, sizeof what, "logprob_backward V=%d", V);
    check_buf(p, z, (size_t)n * V, EPS32, what);
    drop(p, z), drop(p, t), drop(p, logp), drop(p, lse), drop(p, ent), drop(p, dl), drop(p, de);
}

static void test_adamw(pair *p) {
    size_t n = 5000;
    buf2 w = put_rand(p, n, 1), m = put(p, NULL, n * 4), v = put(p, NULL, n * 4);
    for (int t = 1; t <= 3; t++) {
        buf2 g = put_rand(p, n, 0.1f);
        p->cpu->adamw(p->cpu->ctx, F(w.c), F(g.c), F(m.c), F(v.c), n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        p->gpu->adamw(p->gpu->ctx, F(w.g), F(g.g), F(m.g), F(v.g), n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        drop(p, g);
    }
    check_buf(p, w, n, EPS32, "adamw p");
    check_buf(p, m, n, EPS32, "adamw m");
    check_buf(p, v, n, EPS32, "adamw v");
    drop(p, w), drop(p, m), drop(p, v);
}

// One attention case: segments per row from `layout` (0: one sequence; 1: two packed sequences
// and padding of its own segment at the end), keys at q_off + t.
static void attn_case(pair *p, int B, int Tq, int q_off, int NH, int NKV, int HS, int layout) {
    backend_attn_shape s = {B, Tq, q_off, q_off + Tq, NH, NKV, HS};
    int Tkv = s.Tkv;
    size_t nq = (size_t)B * Tq * NH * HS, nk = (size_t)B * Tkv * NKV * HS;
    int32_t *sq = fx_malloc(sizeof(int32_t) * (size_t)B * Tq), *sk = fx_malloc(sizeof(int32_t) * (size_t)B * Tkv);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Tkv; j++) {
            int32_t sg = 0;
            if (layout == 1 && (b % 2 == 0)) sg = j < Tkv / 3 ? 0 : (j < Tkv - 5 ? 1 : -1);
            sk[(size_t)b * Tkv + j] = sg;
            if (j >= q_off) sq[(size_t)b * Tq + j - q_off] = sg;
        }
    buf2 q = put_rand(p, nq, 1), k = put_rand(p, nk, 1), v = put_rand(p, nk, 1);
    buf2 gq = put(p, sq, sizeof(int32_t) * (size_t)B * Tq), gk = put(p, sk, sizeof(int32_t) * (size_t)B * Tkv);
    buf2 out = put(p, NULL, nq * 4), lse = put(p, NULL, (size_t)B * NH * Tq * 4);
    p->cpu->attention_forward(p->cpu->ctx, F(out.c), F(lse.c), F(q.c), F(k.c), F(v.c), I(gq.c), I(gk.c), s);
    p->gpu->attention_forward(p->gpu->ctx, F(out.g), F(lse.g), F(q.g), F(k.g), F(v.g), I(gq.g), I(gk.g), s);
    char what[128];
    snprintf(what, sizeof what, "attention B=%d Tq=%d q_off=%d NH=%d NKV=%d HS=%d layout=%d", B, Tq, q_off, NH, NKV,
             HS, layout);
    // BF16 with head 64 or 128 runs the forward on tensor cores (bf16 q, k, v, p): its outputs, and
    // the backward that starts from them, within bf16's error
    // (the decode forward, Tq = 1, stays fp32; the backward uses tensor cores whatever Tq)
    bool tc = p->prec == BACKEND_CUDA_BF16 && (HS == 64 || HS == 128);
    double lim = tc && Tq > 1 ? 1e-3 : EPS32, blim = tc ? 1e-3 : EPS32;
    check_buf(p, out, nq, lim, what);
    check_buf(p, lse, (size_t)B * NH * Tq, lim, what);
    buf2 dout = put_rand(p, nq, 1), dq = put_rand(p, nq, 1), dk = put_rand(p, nk, 1), dv = put_rand(p, nk, 1);
    p->cpu->attention_backward(p->cpu->ctx, F(dq.c), F(dk.c), F(dv.c), F(dout.c), F(out.c), F(lse.c), F(q.c),
                               F(k.c), F(v.c), I(gq.c), I(gk.c), s);
    p->gpu->attention_backward(p->gpu->ctx, F(dq.g), F(dk.g), F(dv.g), F(dout.g), F(out.g), F(lse.g), F(q.g),
                               F(k.g), F(v.g), I(gq.g), I(gk.g), s);
    strncat(what, " backward dq", sizeof what - strlen(what) - 1);
    check_buf(p, dq, nq, blim, what);
    what[strlen(what) - 2] = 0, strncat(what, "dk", sizeof what - strlen(what) - 1);
    check_buf(p, dk, nk, blim, what);
    what[strlen(what) - 2] = 0, strncat(what, "dv", sizeof what - strlen(what) - 1);
    check_buf(p, dv, nk, blim, what);
    drop(p, q), drop(p, k), drop(p, v), drop(p, gq), drop(p, gk), drop(p, out), drop(p, lse);
    drop(p, dout), drop(p, dq), drop(p, dk), drop(p, dv);
    free(sq), free(sk);
}

static void test_attention(pair *p) {
    attn_case(p, 2, 77, 0, 4, 2, 64, 1);   // GQA 2, packed + padding, partial tiles
    attn_case(p, 3, 130, 0, 4, 1, 128, 1); // GQA 4, head 128
    attn_case(p, 2, 40, 0, 6, 3, 32, 0);   // head 32 (padded to 64 in the kernel)
    attn_case(p, 2, 64, 0, 2, 2, 8, 1);    // tiny head, MHA
    attn_case(p, 4, 1, 50, 4, 2, 64, 1);   // decode: one query over a cache of 51 keys
    attn_case(p, 3, 1, 300, 8, 2, 128, 0); // decode, head 128, longer cache
    attn_case(p, 2, 9, 40, 4, 2, 64, 1);   // a chunk of queries after a cached prefix (q_off)
}

// --- the tiny model -----------------------------------------------------------------------------------

static model_config tiny_cfg(bool qk_norm) {
    model_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, qk_norm ? "qwen3" : "qwen2");
    strcpy(c.architecture, qk_norm ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM");
    c.hidden_size = 64, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2;
    c.head_dim = qk_norm ? 64 : 16, c.intermediate_size = 96, c.vocab_size = 301; // 64: tensor-core attention in BF16
    c.max_position_embeddings = 256, c.rope_theta = 10000.0, c.rms_norm_eps = 1e-6;
    c.qkv_bias = !qk_norm, c.qk_norm = qk_norm, c.tie_word_embeddings = !qk_norm;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

static void check_host(pair *p, const float *g, const float *c, size_t n, double limit, const char *what) {
    double e = nmse_of(g, c, n);
    if (e < limit) test_passed++;
    else {
        test_failed++;
        fprintf(stderr, "FAIL [%s] %s: NMSE %.3g >= %.3g\n", p->pname, what, e, limit);
    }
}

static void test_model(pair *p, bool qk_norm) {
    bool bf = p->prec == BACKEND_CUDA_BF16;
    double glim = bf ? 1e-3 : 1e-8, llim = bf ? 1e-2 : 1e-5;
    model_config cfg = tiny_cfg(qk_norm);
    model mc, mg;
    model_init_random(&mc, &cfg, MODEL_HEAD_LM, p->cpu, 7, 0.05f, 0.02f);
    model_init_random(&mg, &cfg, MODEL_HEAD_LM, p->gpu, 7, 0.05f, 0.02f);
    const int B = 3, T = 48;
    int32_t ids[3 * 48], pos[3 * 48], seg[3 * 48], tgt[3 * 48];
    for (int i = 0; i < B * T; i++) ids[i] = (int32_t)fx_rng_below(&p->rng, (uint64_t)cfg.vocab_size);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) { // row 0: two packed sequences + padding; others one sequence
            int i = b * T + t;
            seg[i] = b == 0 ? (t < 20 ? 0 : (t < 40 ? 1 : -1)) : 0;
            pos[i] = b == 0 && t >= 20 ? (t < 40 ? t - 20 : 0) : t;
            tgt[i] = seg[i] < 0 || t == T - 1 ? -1 : ids[i + 1];
        }
    model_reserve(&mc, B, T, true, false);
    model_reserve(&mg, B, T, true, false);
    model_adamw opt = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
    float *gc = fx_malloc(mc.nparams * sizeof(float)), *gg = fx_malloc(mc.nparams * sizeof(float));
    for (int step = 0; step < 3; step++) { // SFT-like: mean CE, backward, clip, AdamW
        model_zero_grad(&mc), model_zero_grad(&mg);
        model_forward(&mc, ids, pos, seg, B, T);
        model_forward(&mg, ids, pos, seg, B, T);
        double lc = model_lm_ce(&mc, tgt, NULL, true), lg = model_lm_ce(&mg, tgt, NULL, true);
        model_backward(&mc), model_backward(&mg);
        char what[160];
        snprintf(what, sizeof what, "%s step %d loss %.6f vs cpu %.6f", cfg.model_type, step, lg, lc);
        if (fabs(lg - lc) <= llim * fabs(lc)) test_passed++;
        else test_failed++, fprintf(stderr, "FAIL [%s] %s\n", p->pname, what);
        if (step == 0) { // gradients of every tensor, before any update
            p->cpu->download(p->cpu->ctx, gc, mc.grads_mem, mc.nparams * sizeof(float));
            p->gpu->download(p->gpu->ctx, gg, mg.grads_mem, mg.nparams * sizeof(float));
            for (int t = 0; t < mc.ntensors; t++) {
                const model_tensor *x = &mc.tensors[t];
                snprintf(what, sizeof what, "%s grad %s", cfg.model_type, x->name);
                check_host(p, gg + x->offset, gc + x->offset, x->numel, glim, what);
            }
        }
        double nc = model_clip_grad_norm(&mc, 1.0), ng = model_clip_grad_norm(&mg, 1.0);
        CHECK_NEAR(ng / nc, 1.0, bf ? 5e-2 : 1e-5);
        model_adamw_step(&mc, &opt, opt.lr);
        model_adamw_step(&mg, &opt, opt.lr);
    }
    // KV-cache decoding after the updates: a prefill of 10 tokens, then 5 single tokens
    model_kv_init(&mc, 2, 32), model_kv_init(&mg, 2, 32);
    size_t V = (size_t)cfg.vocab_size;
    float *oc = fx_malloc(2 * 10 * V * sizeof(float)), *og = fx_malloc(2 * 10 * V * sizeof(float));
    model_decode(&mc, ids, NULL, NULL, 10, oc);
    model_decode(&mg, ids, NULL, NULL, 10, og);
    check_host(p, og, oc, 2 * 10 * V, bf ? 1e-2 : 1e-8, "decode prefill logits");
    for (int s = 0; s < 5; s++) {
        model_decode(&mc, ids + 10 + 2 * s, NULL, NULL, 1, oc);
        model_decode(&mg, ids + 10 + 2 * s, NULL, NULL, 1, og);
        check_host(p, og, oc, 2 * V, bf ? 1e-2 : 1e-8, "decode step logits");
    }
    free(oc), free(og), free(gc), free(gg);
    model_free(&mc), model_free(&mg);
}

int main(void) {
    int devices = backend_cuda_device_count();
    if (devices == 0) {
        fx_err err = {{0}};
        backend_cuda_create(0, BACKEND_CUDA_FP32, &err);
        fprintf(stderr, "test_cuda_ops: no CUDA device, nothing tested (%s). This test needs a GPU; "
                        "launch/test.sh leaves label gpu out on machines without one.\n", err.msg);
        return 1;
    }
    for (int pr = 0; pr < 2; pr++) {
        pair p = {0};
        p.prec = pr == 0 ? BACKEND_CUDA_FP32 : BACKEND_CUDA_BF16;
        p.pname = pr == 0 ? "fp32" : "bf16";
        p.rng = fx_rng_make(42, (uint64_t)pr);
        fx_err err = {{0}};
        p.gpu = backend_cuda_create(0, p.prec, &err);
        if (!p.gpu) {
            fprintf(stderr, "test_cuda_ops: %s\n", err.msg);
            return 1;
        }
        p.cpu = backend_cpu_create(0);
        int before = test_failed;
        double t0 = fx_time_now();
#define TIMED(call)                                                                                    \
    do {                                                                                               \
        double t_ = fx_time_now();                                                                     \
        call;                                                                                          \
        printf("test_cuda_ops [%s]: %-40s %7.2f s\n", p.pname, #call, fx_time_now() - t_);              \
        fflush(stdout);                                                                                \
    } while (0)
        TIMED(test_matmul(&p));
        fx_rng main_rng = p.rng; // linear_rows' inputs from a stream of their own: the tests after
        p.rng = fx_rng_make(43, (uint64_t)pr); // them see the inputs they saw before it existed
        TIMED(test_linear_rows(&p));
        TIMED(test_linear_rows_invariance(&p));
        TIMED(test_params_written(&p));
        p.rng = main_rng;
        TIMED(test_layers(&p));
        TIMED(test_logprob(&p, 7, 1000));
        TIMED(test_logprob(&p, 3, 151936));
        TIMED(test_adamw(&p));
        TIMED(test_attention(&p));
        TIMED(test_model(&p, false));
        TIMED(test_model(&p, true));
#undef TIMED
        printf("test_cuda_ops [%s]: all ops %.2f s\n", p.pname, fx_time_now() - t0);
        printf("test_cuda_ops [%s]: %d failures\n", p.pname, test_failed - before);
        backend_destroy(p.gpu);
        backend_destroy(p.cpu);
    }
    return test_summary("test_cuda_ops");
}
