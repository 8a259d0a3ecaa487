// backend.h — the ops the model runs, as a vtable: a struct of function pointers plus a context.
// Model code calls only these; model/cpu implements them with OpenBLAS + OpenMP, model/cuda will
// implement the same struct. Buffers are opaque device pointers from `alloc` (host memory on the
// CPU backend); the model never dereferences them itself, it uploads and downloads.
//
// Conventions (as in llm.c):
//   - row-major; N = number of tokens (B*T), C = channels, V = vocabulary, F = MLP width,
//     NH / NKV = query / key-value heads, HS = head size;
//   - every *_backward op ACCUMULATES (+=) into its gradient outputs, parameter and activation
//     gradients alike, so one buffer can gather several contributions (residuals, tied weights);
//   - integer inputs (token ids, positions, segments, targets) are int32 device buffers.
#ifndef FLUXRL_BACKEND_H
#define FLUXRL_BACKEND_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Shape of one attention call. Queries are Tq tokens per row; keys/values live in buffers with
// Tkv rows per batch row (Tkv = T in training, the cache length in decoding). Query t of row b sits
// at key index q_off + t and attends to key j iff j <= q_off + t and seg_k[b][j] == seg_q[b][t]:
// causal inside a segment, so packed sequences (one segment each) and padding (a segment of its
// own) share one code path. Head h reads key/value head h / (NH / NKV) (GQA).
typedef struct {
    int B, Tq, q_off, Tkv;
    int NH, NKV, HS;
} backend_attn_shape;

typedef struct backend {
    const char *name; // "cpu", "cuda"
    void *ctx;
    int nthreads;     // worker threads of the CPU backend (informational elsewhere)
    void (*destroy)(struct backend *be);

    // --- memory: buffers come back zeroed ---
    void *(*alloc)(void *ctx, size_t bytes);
    void (*free)(void *ctx, void *p);
    void (*upload)(void *ctx, void *dst, const void *src, size_t bytes);   // host -> device
    void (*download)(void *ctx, void *dst, const void *src, size_t bytes); // device -> host
    void (*copy)(void *ctx, void *dst, const void *src, size_t bytes);     // device -> device
    void (*zero)(void *ctx, void *dst, size_t bytes);
    // Bytes of the buffers alloc has handed out and free has not taken back, now and at most so
    // far (NULL: the backend does not count them).
    void (*mem_stats)(void *ctx, size_t *live, size_t *peak);

    // --- linear algebra ---
    // c (M,N) = op(a) (M,K) @ op(b) (K,N), op = transpose when ta/tb; c += ... when accumulate.
    // A linear layer y = x W^T with W (OC, C): matmul(y, x, W, N, OC, C, false, true, false).
    void (*matmul)(void *ctx, float *c, const float *a, const float *b, int M, int N, int K, bool ta, bool tb,
                   bool accumulate);
    // Optional (NULL: not provided; the CPU backend leaves it NULL). A batch-invariant linear
    // layer: y (M,N) = x (M,K) W^T (+ b), W (N,K), b (N) or NULL. Contract: row r of y is a
    // function of row r of x, W and b only, bit for bit, whatever M and wherever the row sits in
    // the batch (no split of K or choice of algorithm by M). Decoding (model.c) runs all its rows
    // in one call when the backend has it, else in blocks of MODEL_DECODE_ROWS through matmul.
    void (*linear_rows)(void *ctx, float *y, const float *x, const float *w, const float *b, int M, int K, int N);
    void (*add_bias)(void *ctx, float *out, const float *bias, int N, int OC);        // out[n,o] += bias[o]
    void (*bias_backward)(void *ctx, float *dbias, const float *dout, int N, int OC); // dbias += sum_n dout

    // --- layers ---
    // out (N,C) = wte[ids] (V,C)
    void (*embedding_forward)(void *ctx, float *out, const int32_t *ids, const float *wte, int N, int C);
    void (*embedding_backward)(void *ctx, float *dwte, const float *dout, const int32_t *ids, int N, int C);
    // out = inp * rstd * w, rstd = 1/sqrt(mean(inp^2) + eps) per row; rstd (N) may be NULL.
    void (*rmsnorm_forward)(void *ctx, float *out, float *rstd, const float *inp, const float *w, int N, int C,
                            float eps);
    void (*rmsnorm_backward)(void *ctx, float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                             const float *rstd, int N, int C);
    // Rotary embedding in place, rotate-half layout: x (N, nh, HS), pair (i, i + HS/2) of token n
    // rotated by pos[n] * theta^(-2i/HS). Backward rotates the gradient back (the transpose).
    void (*rope_forward)(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta);
    void (*rope_backward)(void *ctx, float *dx, const int32_t *pos, int N, int nh, int HS, float theta);
    // Causal, segment-masked GQA attention with softmax scale 1/sqrt(HS).
    // q, out (B,Tq,NH,HS); k, v (B,Tkv,NKV,HS); seg_q (B,Tq); seg_k (B,Tkv); lse (B,NH,Tq) the
    // log-sum-exp of every softmax row (kept for backward; may be NULL when not training).
    void (*attention_forward)(void *ctx, float *out, float *lse, const float *q, const float *k, const float *v,
                              const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s);
    // Recomputes the probabilities from lse; dq, dk, dv +=.
    void (*attention_backward)(void *ctx, float *dq, float *dk, float *dv, const float *dout, const float *out,
                               const float *lse, const float *q, const float *k, const float *v,
                               const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s);
    // out = silu(gate) * up, n elements.
    void (*swiglu_forward)(void *ctx, float *out, const float *gate, const float *up, size_t n);
    void (*swiglu_backward)(void *ctx, float *dgate, float *dup, const float *dout, const float *gate,
                            const float *up, size_t n);
    void (*relu_forward)(void *ctx, float *out, const float *inp, size_t n);
    void (*relu_backward)(void *ctx, float *dinp, const float *dout, const float *inp, size_t n);

    // --- elementwise ---
    void (*add)(void *ctx, float *out, const float *a, const float *b, size_t n); // out = a + b
    void (*axpy)(void *ctx, float *y, const float *x, float alpha, size_t n);     // y += alpha x
    void (*scale)(void *ctx, float *x, float s, size_t n);
    double (*sumsq)(void *ctx, const float *x, size_t n); // sum of squares, in double

    // --- language-model head, one chunk of rows of logits (n, V) at a time ---
    // For every row: lse, logp = logits[target] - lse (0 when target < 0 or >= V) and the entropy
    // H = lse - sum p z. Any output may be NULL. The logits may be a chunk of the vocabulary's
    // columns (model_vocab.c): a target >= V lies in another chunk.
    void (*logprob_forward)(void *ctx, float *logp, float *lse, float *entropy, const float *logits,
                            const int32_t *targets, int n, int V);
    // Overwrites logits with d(loss)/d(logits) for loss = sum dlogp * logp + dent * H, i.e.
    // dlogp * (onehot - p) - dent * p * (log p + H). dlogp, dent (n) may be NULL (= 0). A row whose
    // target is < 0 has no logp (dlogp not read); one whose target is >= V (in another chunk of
    // the vocabulary, with lse and H the whole row's) has no one-hot term here.
    void (*logprob_backward)(void *ctx, float *logits, const int32_t *targets, const float *lse,
                             const float *entropy, const float *dlogp, const float *dent, int n, int V);

    // --- optimiser: torch.optim.AdamW for one tensor ---
    // p -= lr*wd*p; m,v moments; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
    void (*adamw)(void *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                  float eps, float wd, int t);
    // p[0..n) are a model's parameters, all just written from outside the backend's ops (a
    // sharded trainer's all-gather by MPI or NCCL): a backend that keeps derived copies of
    // parameters (CUDA's bf16 weights) drops its copies of p and may keep new ones from here. May
    // be NULL (nothing derived).
    void (*params_written)(void *ctx, const float *p, size_t n);
} backend;

// The CPU backend (model/cpu): nthreads <= 0 means all the cores OpenMP sees.
backend *backend_cpu_create(int nthreads);
static inline void backend_destroy(backend *be) {
    if (be) be->destroy(be);
}

// torch.optim.AdamW's single-tensor path, shared by both backends' `adamw` so that they run the
// same operations in the same order: the step's constants once (backend_adamw_at), then every
// element i (backend_adamw_one: a __host__ __device__ function under nvcc).
#ifdef __CUDACC__
#define BACKEND_HOST_DEVICE __host__ __device__
#else
#define BACKEND_HOST_DEVICE
#endif

typedef struct {
    float b1, b2, eps, decay, step_size, bc2_sqrt; // decay = 1 - lr wd, lr / (1 - b1^t), sqrt(1 - b2^t)
} backend_adamw_step;

static inline backend_adamw_step backend_adamw_at(float lr, float b1, float b2, float eps, float wd, int t) {
    backend_adamw_step k = {b1, b2, eps, 1.0f - lr * wd, (float)(lr / (1.0 - pow(b1, t))),
                            (float)sqrt(1.0 - pow(b2, t))};
    return k;
}

static inline BACKEND_HOST_DEVICE void backend_adamw_one(float *p, const float *g, float *m, float *v, size_t i,
                                                         backend_adamw_step k) {
    float gi = g[i];
    float pi = p[i] * k.decay;
    float mi = m[i] * k.b1 + (1.0f - k.b1) * gi;
    float vi = v[i] * k.b2 + (1.0f - k.b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * (mi / (sqrtf(vi) / k.bc2_sqrt + k.eps));
}

#endif
