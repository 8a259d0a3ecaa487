// cpu_backend.c — the CPU backend's vtable, memory, elementwise ops and AdamW.
#define _GNU_SOURCE // malloc_usable_size: the buffers' bytes, counted for mem_stats
#include <malloc.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/fx.h"
#include "cpu.h"

static void *cpu_alloc(void *ctx, size_t bytes) {
    // 64-byte aligned (AVX-512 rows), zeroed.
    size_t size = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 64) != 0 || !p)
        fx_fatal("out of memory allocating %zu bytes for the cpu backend", bytes);
    memset(p, 0, size);
    cpu_ctx *c = ctx;
    c->live += malloc_usable_size(p);
    if (c->live > c->peak) c->peak = c->live;
    return p;
}

static void cpu_free(void *ctx, void *p) {
    if (!p) return;
    ((cpu_ctx *)ctx)->live -= malloc_usable_size(p);
    free(p);
}

static void cpu_mem_stats(void *ctx, size_t *live, size_t *peak) {
    const cpu_ctx *c = ctx;
    *live = c->live, *peak = c->peak;
}

static void cpu_memcpy(void *ctx, void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}

static void cpu_zero(void *ctx, void *dst, size_t bytes) {
    if (bytes) memset(dst, 0, bytes);
}

CPU_HOT static void cpu_add(void *ctx, float *out, const float *a, const float *b, size_t n) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

CPU_HOT static void cpu_axpy(void *ctx, float *y, const float *x, float alpha, size_t n) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

CPU_HOT static void cpu_scale(void *ctx, float *x, float s, size_t n) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

CPU_HOT static double cpu_sumsq(void *ctx, const float *x, size_t n) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
    double total = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : total) if (n > 32768)
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
        float part = 0; // float partial sums over short blocks, summed in double
#pragma omp simd reduction(+ : part)
        for (size_t i = i0; i < i1; i++) part += x[i] * x[i];
        total += part;
    }
    return total;
}

CPU_HOT static void cpu_adamw(void *ctx, float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                      float b2, float eps, float wd, int t) {
    int nt = ((cpu_ctx *)ctx)->nthreads;
    backend_adamw_step k = backend_adamw_at(lr, b1, b2, eps, wd, t);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) backend_adamw_one(p, g, m, v, i, k);
}

static void cpu_destroy(backend *be) {
    free(be->ctx);
    free(be);
}

backend *backend_cpu_create(int nthreads) {
    if (nthreads <= 0) nthreads = omp_get_max_threads();
    cpu_ctx *ctx = fx_calloc(1, sizeof *ctx);
    ctx->nthreads = nthreads;
    cpu_blas_threads(1); // OpenMP's threads are the only pool (cpu_blas.c)
    backend *be = fx_calloc(1, sizeof *be);
    *be = (backend){
        .name = "cpu",
        .ctx = ctx,
        .nthreads = nthreads,
        .destroy = cpu_destroy,
        .alloc = cpu_alloc,
        .free = cpu_free,
        .upload = cpu_memcpy,
        .download = cpu_memcpy,
        .copy = cpu_memcpy,
        .zero = cpu_zero,
        .mem_stats = cpu_mem_stats,
        .matmul = cpu_matmul,
        .add_bias = cpu_add_bias,
        .bias_backward = cpu_bias_backward,
        .embedding_forward = cpu_embedding_forward,
        .embedding_backward = cpu_embedding_backward,
        .rmsnorm_forward = cpu_rmsnorm_forward,
        .rmsnorm_backward = cpu_rmsnorm_backward,
        .rope_forward = cpu_rope_forward,
        .rope_backward = cpu_rope_backward,
        .attention_forward = cpu_attention_forward,
        .attention_backward = cpu_attention_backward,
        .swiglu_forward = cpu_swiglu_forward,
        .swiglu_backward = cpu_swiglu_backward,
        .relu_forward = cpu_relu_forward,
        .relu_backward = cpu_relu_backward,
        .add = cpu_add,
        .axpy = cpu_axpy,
        .scale = cpu_scale,
        .sumsq = cpu_sumsq,
        .logprob_forward = cpu_logprob_forward,
        .logprob_backward = cpu_logprob_backward,
        .adamw = cpu_adamw,
    };
    return be;
}
