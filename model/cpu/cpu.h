// cpu.h — the CPU backend's ops, shared between its files (not a public header: model code sees
// only model/backend.h). Host memory, OpenBLAS sgemm, OpenMP threads.
#ifndef FLUXRL_CPU_H
#define FLUXRL_CPU_H

#include <stdint.h>

#include "../backend.h"

typedef struct {
    int nthreads;
    size_t live, peak; // bytes of the buffers handed out (mem_stats)
} cpu_ctx;

// Hot loops are compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and the best one for the
// running CPU is chosen at load time (GCC function multiversioning), so one binary runs anywhere
// and still vectorises wide. Off under the sanitizers and on other compilers or architectures.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CPU_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_HOT
#endif

// cpu_blas.c
void cpu_matmul(void *ctx, float *c, const float *a, const float *b, int M, int N, int K, bool ta, bool tb,
                bool accumulate);
// Sets OpenBLAS's own thread count (1: OpenMP threads do the parallel work, see cpu_blas.c).
void cpu_blas_threads(int n);

// cpu_layers.c
void cpu_add_bias(void *ctx, float *out, const float *bias, int N, int OC);
void cpu_bias_backward(void *ctx, float *dbias, const float *dout, int N, int OC);
void cpu_embedding_forward(void *ctx, float *out, const int32_t *ids, const float *wte, int N, int C);
void cpu_embedding_backward(void *ctx, float *dwte, const float *dout, const int32_t *ids, int N, int C);
void cpu_rmsnorm_forward(void *ctx, float *out, float *rstd, const float *inp, const float *w, int N, int C,
                         float eps);
void cpu_rmsnorm_backward(void *ctx, float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                          const float *rstd, int N, int C);
void cpu_rope_forward(void *ctx, float *x, const int32_t *pos, int N, int nh, int HS, float theta);
void cpu_rope_backward(void *ctx, float *dx, const int32_t *pos, int N, int nh, int HS, float theta);
void cpu_swiglu_forward(void *ctx, float *out, const float *gate, const float *up, size_t n);
void cpu_swiglu_backward(void *ctx, float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                         size_t n);
void cpu_relu_forward(void *ctx, float *out, const float *inp, size_t n);
void cpu_relu_backward(void *ctx, float *dinp, const float *dout, const float *inp, size_t n);
void cpu_logprob_forward(void *ctx, float *logp, float *lse, float *entropy, const float *logits,
                         const int32_t *targets, int n, int V);
void cpu_logprob_backward(void *ctx, float *logits, const int32_t *targets, const float *lse, const float *entropy,
                          const float *dlogp, const float *dent, int n, int V);

// cpu_attention.c
void cpu_attention_forward(void *ctx, float *out, float *lse, const float *q, const float *k, const float *v,
                           const int32_t *seg_q, const int32_t *seg_k, backend_attn_shape s);
void cpu_attention_backward(void *ctx, float *dq, float *dk, float *dv, const float *dout, const float *out,
                            const float *lse, const float *q, const float *k, const float *v, const int32_t *seg_q,
                            const int32_t *seg_k, backend_attn_shape s);

// A vectorisable exp for softmax rows (|relative error| < 3e-7; 0 below -87).
static inline float cpu_expf(float x) {
    // exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2/2; Taylor to degree 7 (error < 1e-8).
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; // round to nearest
    float r = xc - n * 0.693145751953125f - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union {
        uint32_t u;
        float f;
    } s = {.u = (uint32_t)((int32_t)n + 127) << 23};
    return x < -87.0f ? 0.0f : p * s.f;
}

#endif
